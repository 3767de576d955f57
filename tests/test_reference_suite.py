"""The harness of ``make reference-suite`` (tools/reference_suite/): its fairness rule, selection, sources and table.

The reference's own test files are not here (they are never committed); these tests build small stand-ins for
them and check what the harness does with them.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tools" / "reference_suite"
sys.path.insert(0, str(HARNESS))

import run  # noqa: E402 - the harness's modules live in tools/, not in the package
import selection  # noqa: E402
import sources  # noqa: E402

# ---------------------------------------------------------------- the fairness rule (redirect_plugin.py)

_TESTING_UTILS = """\
from .utils import is_torch_available  # resolves through the redirect: modelyard's probe

HELPER_ORIGIN = "reference helper"
"""
_IMPORT_UTILS = """\
def is_fancyaccel_available():
    return "reference probe"

FANCYACCEL_MIN_VERSION = "1.2"

def is_torch_available():
    return "reference's own probe, which must not win over modelyard's"
"""
# Run as a file of the reference's tests (under <tree>/tests): what the rule gives to such a file.
_TEST_FILE = """\
import sys

import transformers
from transformers import BertConfig, NotAModelyardClass
from transformers.models.auto.modeling_auto import MODEL_FOR_PRETRAINING_MAPPING_NAMES, MODEL_MAPPING_NAMES
from transformers.testing_utils import HELPER_ORIGIN
import transformers.models.notafamily.modeling_notafamily as absent_module
from transformers.models.notafamily.modeling_notafamily import NotAFamilyModel

import modelyard.compat.transformers as compat
from modelyard.models.bert.configuration_bert import BertConfig as modelyard_bert_config

results = {}
results["top module is the compat namespace"] = transformers is compat
results["library class is modelyard's"] = BertConfig is modelyard_bert_config
results["testing_utils from the reference helper file"] = HELPER_ORIGIN == "reference helper"
results["testing_utils imports resolve to modelyard"] = (
    sys.modules["transformers.testing_utils"].is_torch_available is compat.utils.is_torch_available)
results["modelyard's own probe wins"] = transformers.is_torch_available() is True
results["probe modelyard lacks comes from the reference"] = transformers.utils.is_fancyaccel_available() == "reference probe"
results["min version constant from the reference"] = transformers.utils.import_utils.FANCYACCEL_MIN_VERSION == "1.2"
results["missing family type reads as None"] = MODEL_FOR_PRETRAINING_MAPPING_NAMES["notafamily"] is None
results["present family type reads modelyard's"] = MODEL_MAPPING_NAMES["bert"] == "BertModel"
results["library code does not see the placeholder"] = not hasattr(transformers, "NotAModelyardClass")
for name, placeholder in (("class", NotAModelyardClass), ("module name", NotAFamilyModel)):
    try:
        placeholder()
    except RuntimeError as error:
        results[f"{name} placeholder fails when used"] = "does not provide" in str(error)
    else:
        results[f"{name} placeholder fails when used"] = False
results["absent module placeholder"] = absent_module.__name__ == "transformers.models.notafamily.modeling_notafamily"
"""
# Run as library code (outside <tree>/tests): no placeholders.
_LIBRARY_FILE = """\
try:
    from transformers import NotAModelyardClass
except ImportError:
    results["library import of a missing name fails"] = True
try:
    import transformers.models.notafamily.configuration_notafamily  # noqa: F401
except ModuleNotFoundError:
    results["library import of a missing module fails"] = True
"""
_DRIVER = """\
import json, runpy, sys
import redirect_plugin  # what `pytest -p redirect_plugin` does first
namespace = runpy.run_path(sys.argv[1])
runpy.run_path(sys.argv[2], init_globals={"results": namespace["results"]})
print(json.dumps(namespace["results"]))
"""


def test_the_fairness_rule_gives_test_files_modelyard_objects_and_reference_helpers(tmp_path: Path) -> None:
    helpers = tmp_path / "tree" / "reference_helpers"
    (helpers / "utils").mkdir(parents=True)
    (helpers / "testing_utils.py").write_text(_TESTING_UTILS)
    (helpers / "utils" / "import_utils.py").write_text(_IMPORT_UTILS)
    tests = tmp_path / "tree" / "tests"
    tests.mkdir()
    (tests / "test_probe.py").write_text(_TEST_FILE)
    (tmp_path / "library.py").write_text(_LIBRARY_FILE)
    (tmp_path / "driver.py").write_text(_DRIVER)
    env = {**os.environ, "REFSUITE_HELPERS": str(helpers),
           "PYTHONPATH": os.pathsep.join([str(HARNESS), str(ROOT / "src")]), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(tests / "test_probe.py"),
                           str(tmp_path / "library.py")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    import json

    results = json.loads(done.stdout.strip().splitlines()[-1])
    failed = [name for name, ok in results.items() if not ok]
    assert not failed, failed
    assert len(results) == 15  # every check above ran


def test_the_redirect_refuses_a_process_that_already_imported_the_reference(tmp_path: Path) -> None:
    stub = tmp_path / "transformers"
    stub.mkdir()
    (stub / "__init__.py").write_text("")
    env = {**os.environ, "REFSUITE_HELPERS": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(HARNESS), str(ROOT / "src"), str(tmp_path)])}
    done = subprocess.run([sys.executable, "-c", "import transformers, redirect_plugin"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode != 0
    assert "transformers was imported before the redirect plugin" in done.stderr


# ---------------------------------------------------------------- selection and exclusions


def test_exclusions_need_a_reason_per_entry(tmp_path: Path) -> None:
    path = tmp_path / "exclusions.txt"
    path.write_text("# comment\n\ntests/a.py::T::test_x | uses the reference's private _hook\n")
    assert selection.exclusions(path) == {"tests/a.py::T::test_x": "uses the reference's private _hook"}
    path.write_text("tests/a.py::T::test_x\n")
    with pytest.raises(ValueError, match=r"exclusions.txt:1: an entry needs"):
        selection.exclusions(path)


def test_the_committed_exclusion_list_parses_and_names_selected_files() -> None:
    for nodeid, reason in selection.exclusions().items():
        assert reason
        assert any(nodeid.startswith(path) for path in selection.TEST_PATHS), nodeid


def test_the_trainer_file_keeps_only_the_trainer_classes() -> None:
    assert selection.keep("tests/trainer/test_trainer.py::TrainerIntegrationTest::test_train")
    assert not selection.keep("tests/trainer/test_trainer.py::TrainerHyperParameterOptunaIntegrationTest::test_x")
    assert selection.keep("tests/models/bert/test_modeling_bert.py::BertModelTest::test_config")


# ---------------------------------------------------------------- the table


def test_the_table_counts_modelyard_only_on_what_the_reference_passes() -> None:
    reference = {
        "tests/a.py::T::test_pass": {"outcome": "passed", "reason": ""},
        "tests/a.py::T::test_fail_here": {"outcome": "passed", "reason": ""},
        "tests/a.py::T::test_network_here": {"outcome": "passed", "reason": ""},
        "tests/a.py::T::test_skip_here": {"outcome": "passed", "reason": ""},
        "tests/a.py::T::test_ref_fails": {"outcome": "failed", "reason": "x"},
        "tests/a.py::T::test_ref_network": {"outcome": "network", "reason": "offline"},
        "tests/a.py::T::test_ref_skips": {"outcome": "skipped", "reason": "no gpu"},
        "tests/b.py::test_never_collected": {"outcome": "passed", "reason": ""},
    }
    modelyard = {
        "tests/a.py::T::test_pass": {"outcome": "passed", "reason": ""},
        "tests/a.py::T::test_fail_here": {"outcome": "failed", "reason": "AssertionError"},
        "tests/a.py::T::test_network_here": {"outcome": "network", "reason": "OfflineModeIsEnabled"},
        "tests/a.py::T::test_skip_here": {"outcome": "skipped", "reason": "needs x"},
        "tests/a.py::T::test_ref_fails": {"outcome": "passed", "reason": ""},  # not in the score
        "tests/b.py::<collection>": {"outcome": "failed", "reason": "ImportError: nope"},
    }
    rows = run.tabulate(reference, modelyard)
    assert rows["tests/a.py"] == Counter(ref_passed=4, passed=1, failed=2, skipped=1, ref_failed=1, ref_network=1,
                                         ref_skipped=1)
    assert rows["tests/b.py"] == Counter(ref_passed=1, failed=1)
    assert run.modelyard_outcome("tests/b.py::test_never_collected", modelyard)["reason"] == "not collected: ImportError: nope"
    assert run.tabulate(reference, modelyard, excluded={"tests/b.py::test_never_collected"}).get("tests/b.py") is None
    lines = run.format_table(rows)
    assert lines[1].split()[:6] == ["tests/a.py", "4", "1", "2", "1", "25.0"]
    assert lines[-1].split()[:6] == ["TOTAL", "5", "1", "3", "1", "20.0"]


def test_without_the_reference_tests_the_harness_says_how_and_succeeds(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("MODELYARD_REFERENCE_TESTS", "MODELYARD_REFERENCE_GIT"):
        monkeypatch.delenv(name, raising=False)
    assert run.main(["--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("reference suite skipped:")
    assert "MODELYARD_REFERENCE_TESTS=" in out and "MODELYARD_REFERENCE_GIT=" in out


# ---------------------------------------------------------------- sources


def _tar_add(archive: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def test_the_tree_takes_the_mixins_and_helpers_from_the_sdist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "tests" / "models" / "bert").mkdir(parents=True)
    (checkout / "tests" / "models" / "bert" / "test_modeling_bert.py").write_text("# repository's\n")
    (checkout / "tests" / "test_modeling_common.py").write_text("# repository's mixin\n")
    (checkout / "tests" / "models" / "llama").mkdir()
    (checkout / "tests" / "models" / "llama" / "test_modeling_llama.py").write_text("# not selected\n")
    sdist = tmp_path / f"transformers-{sources.REFERENCE_VERSION}.tar.gz"
    prefix = f"transformers-{sources.REFERENCE_VERSION}/"
    with tarfile.open(sdist, "w:gz") as archive:
        _tar_add(archive, prefix + "tests/test_modeling_common.py", "# the release's mixin\n")
        _tar_add(archive, prefix + "src/transformers/testing_utils.py", "# helper\n")
        _tar_add(archive, prefix + "src/transformers/utils/import_utils.py", "# probes\n")
        _tar_add(archive, prefix + "src/transformers/modeling_utils.py", "# library: never taken\n")
    monkeypatch.setenv("MODELYARD_REFERENCE_TESTS", str(checkout))
    monkeypatch.delenv("MODELYARD_REFERENCE_GIT", raising=False)
    monkeypatch.setenv("MODELYARD_REFERENCE_SDIST", str(sdist))
    tree = sources.assemble(tmp_path / "cache")
    assert (tree.tests / "test_modeling_common.py").read_text() == "# the release's mixin\n"
    assert (tree.tests / "models" / "bert" / "test_modeling_bert.py").read_text() == "# repository's\n"
    assert not (tree.tests / "models" / "llama").exists()
    assert (tree.helpers / "testing_utils.py").is_file() and (tree.helpers / "utils" / "import_utils.py").is_file()
    assert not list(tree.root.rglob("modeling_utils.py"))
    assert "python_files" in (tree.root / "pytest.ini").read_text()
    assert sources.assemble(tmp_path / "cache") == tree  # reused


def test_a_checkout_without_tests_says_how_to_provide_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sdist = tmp_path / "sdist.tar.gz"
    with tarfile.open(sdist, "w:gz"):
        pass
    monkeypatch.setenv("MODELYARD_REFERENCE_TESTS", str(tmp_path / "empty"))
    monkeypatch.setenv("MODELYARD_REFERENCE_SDIST", str(sdist))
    with pytest.raises(sources.SourcesMissing, match="MODELYARD_REFERENCE_GIT="):
        sources.assemble(tmp_path / "cache")
