# ---- the reference's own test suite, run against the reference and against modelyard (tools/reference_suite/) ----
# The reference's test files are fetched at run time, never committed: the shared tests/test_*_common.py from
# its PyPI sdist, the rest from a checkout or git directory of its repository:
#   MODELYARD_REFERENCE_TESTS=/path/to/transformers-checkout   or
#   MODELYARD_REFERENCE_GIT=/path/to/transformers.git [MODELYARD_REFERENCE_REV=v4.57.6]
# Without them the target prints how to provide them and succeeds (skipped), so it is not part of `make test`.
# The reference's results are cached per tree (its run needs .venv-ref: `make reference`); REFSUITE_ARGS passes
# options to tools/reference_suite/run.py (--paths tests/models/bert, --rerun-reference, --report-only, -- -n 2).
.PHONY: reference-suite

REFSUITE_ARGS ?=

reference-suite: install
	$(PY) tools/reference_suite/run.py --reference-python $(REF_PY) $(REFSUITE_ARGS)
