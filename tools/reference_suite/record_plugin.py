"""pytest plugin used by both runs: applies the selection and the exclusion list, and writes each test's
outcome to ``REFSUITE_RESULTS`` (JSON: node id -> {"outcome", "reason"}).

Outcomes: ``passed``, ``failed`` (a failure or an error in set-up/tear-down), ``skipped``, ``network`` (failed
with an error that says the Hub could not be reached: the run is offline, so such a test is counted apart).
Collection errors are recorded per file under ``<file>::<collection>``.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
import selection

_NETWORK = re.compile(
    r"OfflineModeIsEnabled|LocalEntryNotFoundError|offline mode|HF_HUB_OFFLINE|ConnectionError|"
    r"couldn't connect to|Cannot find the requested files in the disk cache|MaxRetryError|NameResolutionError|"
    r"Temporary failure in name resolution|Failed to resolve|We couldn't connect"
)

_results: dict[str, dict[str, str]] = {}


def _reason(report: Any) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0][:300] if crash.message else ""
    text = str(report.longrepr)
    return text.strip().splitlines()[-1][:300] if text.strip() else ""


# The markers the reference's repository-level conftest.py registers (that file is not part of the tree).
_MARKERS = ("is_pipeline_test", "is_staging_test", "accelerate_tests", "not_device_test", "torch_compile_test",
            "torch_export_test", "generate", "flash_attn_test", "flash_attn_3_test", "bitsandbytes", "training_ci", "order")


def pytest_configure(config: pytest.Config) -> None:
    for marker in _MARKERS:
        config.addinivalue_line("markers", f"{marker}: registered by the reference suite")


def _only() -> set[str] | None:
    """``REFSUITE_ONLY``: a file of node ids (one a line) to run, the tests the reference passes; the others are
    outside the score, and the network-only ones among them would wait on time-outs for nothing."""
    path = os.environ.get("REFSUITE_ONLY")
    if not path:
        return None
    with open(path) as handle:
        return {line.strip() for line in handle if line.strip()}


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    excluded = selection.exclusions()
    only = _only()
    kept, dropped = [], []
    for item in items:
        wanted = selection.keep(item.nodeid) and item.nodeid not in excluded and (only is None or item.nodeid in only)
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _results[f"{report.nodeid}::<collection>"] = {"outcome": "failed", "reason": _reason(report)}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _results.get(report.nodeid)
    if report.when == "call" or (report.when == "setup" and not report.passed) or (report.when == "teardown" and report.failed):
        if report.passed:
            outcome = "passed"
        elif report.skipped:
            outcome = "skipped"
        else:
            text = str(report.longrepr)
            outcome = "network" if _NETWORK.search(text) else "failed"
        if entry is None or entry["outcome"] == "passed":  # a failing tear-down turns a pass into a failure
            _results[report.nodeid] = {"outcome": outcome, "reason": "" if outcome == "passed" else _reason(report)}
    if report.when == "teardown" and len(_results) % 25 == 0:
        _write()  # now and then, for a look at a long run


def _write() -> None:
    path = os.environ.get("REFSUITE_RESULTS")
    if path:
        with open(path, "w") as handle:
            json.dump(_results, handle, indent=0, sort_keys=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _write()
