"""What a user's type checker and IDE see of modelyard: mypy, with the project's settings, on the typing claims
in ``tests/typing/`` (the same check ``make lint`` runs) and on code written the way users write it."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"

pytest.importorskip("mypy", reason="mypy is in the test extra (make install)")

USER_CODE = '''\
from modelyard import AutoModel, AutoTokenizer, BertConfig, BertModel, BertTokenizerFast, GPT2LMHeadModel

model = BertModel.from_pretrained("some/repo")
reveal_type(model)
reveal_type(GPT2LMHeadModel.from_pretrained("some/repo", revision="main").generation_config)
reveal_type(BertTokenizerFast.from_pretrained("some/repo"))
reveal_type(BertConfig.from_pretrained("some/repo", return_unused_kwargs=True))
model.num_parameters(only_trainable="yes")
BertConfig().hidden_size.upper()
reveal_type(AutoModel.from_pretrained("some/repo"))
reveal_type(AutoTokenizer.from_pretrained("some/repo"))
'''


def mypy(*paths: Path) -> tuple[int, str]:
    """mypy's exit status and report, with the settings of pyproject.toml (its cache is the lint run's)."""
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(PYPROJECT), "--no-pretty", "--no-error-summary",
         *map(str, paths)],
        cwd=ROOT, capture_output=True, text=True, timeout=280,
    )
    return run.returncode, run.stdout + run.stderr


@pytest.mark.slow
def test_loading_entry_points_are_typed_for_ides(tmp_path: Path) -> None:
    user_code = tmp_path / "user_code.py"
    user_code.write_text(USER_CODE, encoding="utf-8")
    status, report = mypy(ROOT / "tests" / "typing", user_code)

    claims = [line for line in report.splitlines() if line.startswith(str(ROOT / "tests" / "typing"))
              or line.startswith("tests/typing")]
    assert claims == [], "the typing claims in tests/typing do not hold:\n" + "\n".join(claims)

    revealed = re.findall(r'user_code\.py:\d+: note: Revealed type is "(.*)"', report)
    assert revealed == [
        "modelyard.models.bert.modeling_bert.BertModel",
        "modelyard.generation.configuration_utils.GenerationConfig | None",
        "modelyard.models.bert.tokenization_bert_fast.BertTokenizerFast",
        "tuple[modelyard.models.bert.configuration_bert.BertConfig, dict[str, Any]]",
        "modelyard.modeling.PreTrainedModel",
        "modelyard.tokenization.base.PreTrainedTokenizerBase",
    ], report
    # a wrong argument to a loaded model's method and a misuse of a config attribute are caught, not waved
    # through as Any
    assert re.search(r'user_code\.py:8: error: Argument "only_trainable" .* incompatible type "str"', report), report
    assert re.search(r'user_code\.py:9: error: "int" has no attribute "upper"', report), report
    assert status == 1  # the user code's two errors, and nothing else
    assert len(re.findall(r": error: ", report)) == 2, report


def _type_checking_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in ast.walk(node):
                if isinstance(statement, ast.ImportFrom):
                    for alias in statement.names:
                        if alias.name == "*":
                            names.update(_star_names(statement.module or ""))
                        else:
                            names.add(alias.asname or alias.name)
    return names


def _star_names(module: str) -> set[str]:
    """What a type checker takes from ``from module import *``: the module's ``__all__`` when it is a literal
    list (mypy reads no other kind), else nothing that this test counts."""
    path = ROOT / "src" / Path(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                return set(ast.literal_eval(node.value))
            except ValueError:
                return set()
    return set()


def _exports(tree: ast.Module, package: str) -> dict[str, str] | None:
    """The package's lazy table ``_EXPORTS`` (read from the imported package: it may be built, not literal)."""
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(target, ast.Name) and target.id == "_EXPORTS" for target in targets):
            return dict(importlib.import_module(package)._EXPORTS)
    return None


def test_lazy_packages_name_their_exports_for_type_checkers() -> None:
    """A lazy package (PEP 562 ``__getattr__``) is opaque to a type checker: every name it serves must also be
    imported under ``if TYPE_CHECKING:``, or ``from modelyard.auto import AutoConfig`` is ``Any`` to an IDE; and
    only those names."""
    checked = 0
    for init in sorted((ROOT / "src" / "modelyard").rglob("__init__.py")):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        package = ".".join(init.parent.relative_to(ROOT / "src").parts)
        exports = _exports(tree, package)
        if exports is None:
            continue
        served = {name for name, module in exports.items() if module != f"{package}.{name}"}  # not submodules
        missing = sorted(served - _type_checking_names(tree))
        assert missing == [], f"{init.relative_to(ROOT)}: import {missing} under `if TYPE_CHECKING:`"
        # and nothing more (a star import brings a module's whole __all__): a name a type checker accepts that is
        # not served would fail at run time
        extra = sorted(_type_checking_names(tree) - set(importlib.import_module(package).__all__))
        assert extra == [], f"{init.relative_to(ROOT)}: {extra} are imported under `if TYPE_CHECKING:` but not served"
        checked += 1
    assert checked >= 4


IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)$")


def test_every_ignore_names_its_error_and_why() -> None:
    """A ``# type: ignore`` in the package names the error it silences (mypy enforces that too) and says why
    right after it (``# type: ignore[code]  # reason``), so a reader can judge whether it still holds."""
    undocumented = []
    for path in sorted((ROOT / "src" / "modelyard").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = IGNORE.search(line)
            if found is None:
                continue
            reason = found["rest"].strip().lstrip("#").strip()
            if not found["codes"] or not reason:
                undocumented.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert undocumented == [], "write `# type: ignore[code]  # reason`:\n" + "\n".join(undocumented)
