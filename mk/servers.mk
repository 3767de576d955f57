# Backing servers of the hub's scale-out tests (tests/_backing_servers.py): Debian's postgresql package (the
# tests initdb a throwaway cluster in a temp folder on a free port and stop it at the end) and moto's
# S3-compatible server (moto[server], in the test extra). `make test` installs PostgreSQL where it is missing
# and apt is usable; a failed install is tolerated and the PostgreSQL tests then skip, saying why.
# `make test-pg` runs the hub suite again with every test hub on PostgreSQL (MODELYARD_TEST_HUB_BACKEND).
# `make s3rver` installs the npm package s3rver into .s3rver/ (needs Node.js and npm): a file-backed S3 server
# that streams large objects, which benchmarks/bench_hub_scale.py --s3 s3rver measures the 1 GiB presigned
# download on (moto reads an object whole for every GET, ranged ones included). MODELYARD_TEST_S3=s3rver runs the
# tests' S3 server on it too (the tests' default stays moto: s3rver lacks ListMultipartUploads and strict
# multipart completion, see tests/_backing_servers.py).

S3RVER_VERSION = 3.7.1

.PHONY: servers test-pg s3rver

servers:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then \
		:; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "servers: no PostgreSQL and no apt-get; the PostgreSQL tests will be skipped"; \
	else \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
		echo "servers: installing Debian's postgresql for the hub's scale-out tests"; \
		{ $$sudo $(APT_GET) install postgresql >/dev/null 2>&1 || \
		  { $$sudo $(APT_GET) update >/dev/null 2>&1 && $$sudo $(APT_GET) install postgresql >/dev/null 2>&1; }; } || \
		echo "servers: could not install postgresql; the PostgreSQL tests will be skipped"; \
	fi

test-pg: install servers
	MODELYARD_TEST_HUB_BACKEND=postgres $(VENV)/bin/pytest -q -p no:cacheprovider tests/server

s3rver: .s3rver/node_modules/.bin/s3rver

.s3rver/node_modules/.bin/s3rver:
	@command -v npm >/dev/null 2>&1 || { echo "s3rver: npm is missing (apt-get install npm)"; exit 1; }
	npm install --prefix .s3rver --no-audit --no-fund --no-save s3rver@$(S3RVER_VERSION)
