# Browser tests (tests/server/test_web_browser.py) drive Debian's chromium package through Playwright's Python
# package (in the test extra; Playwright's own browser download is never used). `make test` installs the
# browser where it is missing and apt is usable; a failed install is tolerated: the browser tests then skip
# and say why.
CHROMIUM ?= /usr/bin/chromium
APT_GET := env DEBIAN_FRONTEND=noninteractive apt-get -y -qq

.PHONY: browser

browser:
	@if [ -x "$(CHROMIUM)" ]; then \
		:; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "browser: no $(CHROMIUM) and no apt-get; the browser tests will be skipped"; \
	else \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
		echo "browser: installing Debian's chromium for the browser tests"; \
		{ $$sudo $(APT_GET) install chromium >/dev/null 2>&1 || \
		  { $$sudo $(APT_GET) update >/dev/null 2>&1 && $$sudo $(APT_GET) install chromium >/dev/null 2>&1; }; } || \
		echo "browser: could not install chromium; the browser tests will be skipped"; \
	fi
