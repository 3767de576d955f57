"""The runner of huggingface_hub's own suite (tools/hub_client_suite): its counting and its exclusion list."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "hub_client_suite"


def _runner():
    spec = importlib.util.spec_from_file_location("run_suite", TOOL / "run_suite.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_counts_per_module_tell_excluded_from_skipped(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="tests.test_hf_api.TestA" name="test_ok"/>'
        '<testcase classname="tests.test_hf_api.TestA" name="test_bad"><failure message="boom"/></testcase>'
        '<testcase classname="tests.test_hf_api.TestB" name="test_err"><error message="setup"/></testcase>'
        '<testcase classname="tests.test_lfs" name="test_skip"><skipped message="needs git-lfs"/></testcase>'
        '<testcase classname="tests.test_lfs" name="test_prod"><skipped message="[excluded] production"/>'
        '</testcase></testsuite></testsuites>')
    counts = _runner()._counts(junit)
    assert dict(counts["test_hf_api.py"]) == {"passed": 1, "failed": 2}
    assert dict(counts["test_lfs.py"]) == {"skipped": 1, "excluded": 1}


def test_every_exclusion_names_a_selected_module_and_gives_a_reason() -> None:
    modules = set(_runner().MODULES)
    for line in (TOOL / "excluded.txt").read_text().splitlines():
        entry, _, reason = line.partition("#")
        if not entry.strip():
            continue
        assert reason.strip(), f"no reason given for {entry.strip()!r}"
        assert entry.split("::")[0].strip() in modules, entry


def test_excluded_tests_are_listed_with_their_reasons(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="tests.test_hf_api.TestCollectionAPI" name="test_a"><skipped message="[excluded] '
        'collections are not offered"/></testcase>'
        '<testcase classname="tests.test_lfs" name="test_b[x]"><skipped message="needs git-lfs"/></testcase>'
        '<testcase classname="tests.test_lfs" name="test_c"><skipped message="[excluded] production: reads"/>'
        '</testcase><testcase classname="tests.test_lfs" name="test_d"/></testsuite></testsuites>')
    assert _runner()._excluded(junit) == [
        ("test_hf_api.py::TestCollectionAPI::test_a", "collections are not offered"),
        ("test_lfs.py::test_c", "production: reads")]
