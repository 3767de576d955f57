"""The public API is lazy: importing modelyard, configs and Auto classes never imports torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

import modelyard


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_and_configs_do_not_import_torch() -> None:
    out = _run(
        "import sys\n"
        "import modelyard\n"
        "from modelyard import AutoConfig, DistilBertConfig, PretrainedConfig\n"
        "c = DistilBertConfig(n_layers=2); str(c); AutoConfig.for_model('bert')\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('modelyard.models.bert')))"
    )
    assert out == "['modelyard.models.bert', 'modelyard.models.bert.configuration_bert']"


def test_auto_class_import_imports_no_family() -> None:
    out = _run(
        "import sys\n"
        "from modelyard import AutoModel, AutoModelForSequenceClassification\n"
        "print(any(m.startswith('modelyard.models.') for m in sys.modules), 'torch' in sys.modules)"
    )
    assert out == "False False"


def test_every_public_name_resolves() -> None:
    missing = []
    for name in modelyard.__all__:
        try:
            getattr(modelyard, name)
        except (AttributeError, ImportError) as err:
            missing.append(f"{name}: {err}")
    assert not missing, "\n".join(missing)


def test_unknown_name_is_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        modelyard.NoSuchThing  # noqa: B018


def test_training_arguments_import_neither_torch_nor_accelerate() -> None:
    out = _run(
        "import sys\n"
        "from modelyard import TrainingArguments, TrainerCallback\n"
        "a = TrainingArguments('out', learning_rate=1e-4)\n"
        "print('torch' in sys.modules, 'accelerate' in sys.modules)"
    )
    assert out == "False False"


def test_the_auto_classes_are_one_list() -> None:
    """``modelyard.auto.__all__`` is a literal list because type checkers read the root's
    ``from modelyard.auto import *`` from it: it must be the package's lazy table, and the root must export
    exactly those names from it."""
    import modelyard.auto as auto

    assert auto.__all__ == sorted(auto._EXPORTS)
    assert {name for name, module in modelyard._EXPORTS.items() if module == "modelyard.auto"} == set(auto.__all__)


@pytest.mark.parametrize("package", ["generation", "pipelines", "tokenization", "training"])
def test_lazy_packages_serve_their_table_from_one_call(package: str) -> None:
    # lazy_package gives each package its three hooks: __all__ is the table's names, sorted; a name loads its
    # module on first access only (then it is a plain global); an unknown name is an AttributeError naming both
    out = _run(
        "import importlib, sys\n"
        f"pkg = importlib.import_module('modelyard.{package}')\n"
        "table = pkg._EXPORTS\n"
        "name, module = next(iter(table.items()))\n"
        "before = module in sys.modules\n"
        "value = getattr(pkg, name)\n"
        "print(pkg.__all__ == sorted(table), before, module in sys.modules, vars(pkg)[name] is value,\n"
        "      set(table) <= set(dir(pkg)))\n"
        "try:\n"
        "    pkg.NoSuchThing\n"
        "except AttributeError as err:\n"
        "    print(err)\n"
    )
    assert out.splitlines() == [
        "True False True True True",
        f"module 'modelyard.{package}' has no attribute 'NoSuchThing'",
    ]
