# huggingface_hub's own test suite against a loopback hub: `make hub-client-suite` downloads the sdist of the
# installed huggingface_hub (pip download, cached under build/hub-client-suite/), starts `modelyard hub serve`
# with the users and tokens the tests expect, runs the API modules (tools/hub_client_suite/run_suite.py says
# which, and excluded.txt which tests cannot pass here and why) and prints passed/failed/skipped per module.
# SUITE_ARGS passes options on, e.g. SUITE_ARGS="--module test_hf_api.py -k likes", or SUITE_ARGS="--backend
# postgres+s3" to run the hub on PostgreSQL and S3 (moto) instead of SQLite and files (needs `make servers`).

.PHONY: hub-client-suite

hub-client-suite: install
	$(PY) tools/hub_client_suite/run_suite.py $(SUITE_ARGS)
