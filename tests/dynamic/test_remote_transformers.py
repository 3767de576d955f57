"""``import transformers`` inside remote code, and only there (issue 11, section 3).

Remote code written for the transformers library gets modelyard's compatibility namespace for its
``transformers`` imports; the user's own imports, ``sys.modules`` and ``builtins`` never see it. What the
namespace lacks is reported with file and line, before anything runs (imports) or when it is read
(attributes). ``MODELYARD_REMOTE_TRANSFORMERS`` picks the installed transformers library instead.
"""

from __future__ import annotations

import builtins
import dataclasses
import importlib
import importlib.util
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
from _corpus_runner import REFERENCE_PYTHON, build
from _dynamic_helpers import marker_code, write_files
from _reference_corpus import BY_NAME

import modelyard
from modelyard import AutoConfig, AutoModel
from modelyard.dynamic_modules import cache, clear_module_cache, set_remote_transformers
from modelyard.errors import (
    ConfigurationError,
    MissingCompatibilityAttributeError,
    MissingDependencyError,
    RemoteCodeCompatibilityError,
)

ROOT = Path(__file__).resolve().parents[2]
HAS_REFERENCE = REFERENCE_PYTHON.exists()
_skip_without_reference = pytest.mark.skipif(not HAS_REFERENCE, reason="the reference environment .venv-ref is not built")


def needs_reference(test: Any) -> Any:
    return pytest.mark.reference(_skip_without_reference(test))

CONFIG = '''
from transformers import PretrainedConfig


class ProbeConfig(PretrainedConfig):
    model_type = "probe"

    def __init__(self, width=4, **kwargs):
        self.width = width
        super().__init__(**kwargs)
'''


def _repo(folder: Path, model_code: str, *, extra: dict[str, str] | None = None) -> Path:
    files = {
        "configuration_probe.py": CONFIG,
        "modeling_probe.py": model_code,
        "config.json": json.dumps(
            {"model_type": "probe", "auto_map": {"AutoConfig": "configuration_probe.ProbeConfig",
                                                 "AutoModel": "modeling_probe.ProbeModel"}}
        ),
        **(extra or {}),
    }
    return write_files(folder, files)


MODEL_TEMPLATE = '''
import torch
from transformers import PreTrainedModel

from .configuration_probe import ProbeConfig
{imports}


class ProbeModel(PreTrainedModel):
    config_class = ProbeConfig

    def __init__(self, config):
        super().__init__(config)
        self.linear = torch.nn.Linear(config.width, config.width)
        self.post_init()

    def forward(self, x):
{body}
        return self.linear(x)
'''


def _model(imports: str = "", body: str = "        pass") -> str:
    return MODEL_TEMPLATE.format(imports=imports, body=body)


def _remote_module(obj: Any) -> Any:
    return sys.modules[type(obj).__module__]


# ------------------------------------------------------------------ scoping
def test_transformers_resolves_to_the_compatibility_namespace_inside_remote_code_only(tmp_path: Path) -> None:
    import modelyard.compat.transformers as compat

    code = _model("import transformers\nimport transformers.modeling_outputs as outputs_module")
    config = AutoConfig.from_pretrained(_repo(tmp_path / "repo", code), trust_remote_code=True)
    model = AutoModel.from_config(config)
    module = _remote_module(model)
    assert module.transformers is compat
    assert module.outputs_module is compat.modeling_outputs
    assert module.PreTrainedModel is modelyard.PreTrainedModel  # modelyard's own class, not a copy
    assert isinstance(model, modelyard.PreTrainedModel)
    assert "transformers" not in sys.modules and not any(name.startswith("transformers.") for name in sys.modules)
    assert builtins.__import__.__module__ == "builtins"  # the user's builtins are untouched
    assert importlib.util.find_spec("transformers") is None  # nothing installed a "transformers" for the user
    with pytest.raises(ModuleNotFoundError):
        import transformers  # noqa: F401


def test_every_import_form_resolves(tmp_path: Path) -> None:
    imports = '''
import transformers.models.bert.modeling_bert as modeling_bert_alias
import transformers.utils.logging
from transformers import models, BertModel, AutoModel as AutoModelThere
from transformers.models import bert as bert_package
from transformers.models.bert import modeling_bert, BertConfig
from transformers.utils import logging as hf_logging
from transformers.utils.generic import ModelOutput
from transformers.configuration_utils import PretrainedConfig as ConfigBase
from transformers.tokenization_utils import PreTrainedTokenizer
from transformers.tokenization_utils_fast import PreTrainedTokenizerFast
from transformers.feature_extraction_utils import BatchFeature
from transformers.image_processing_utils import BaseImageProcessor
from transformers.processing_utils import ProcessorMixin
from transformers.file_utils import add_start_docstrings
from transformers import __version__ as reference_version
'''
    config = AutoConfig.from_pretrained(_repo(tmp_path / "repo", _model(imports)), trust_remote_code=True)
    module = _remote_module(AutoModel.from_config(config))
    assert module.modeling_bert_alias.BertModel is modelyard.BertModel is module.BertModel
    assert module.modeling_bert.BertPreTrainedModel is modelyard.BertPreTrainedModel
    assert module.bert_package.BertConfig is modelyard.BertConfig is module.BertConfig
    assert module.models.bert is module.bert_package
    assert module.AutoModelThere is modelyard.AutoModel
    assert module.transformers.utils.logging is module.hf_logging
    assert module.ModelOutput is modelyard.ModelOutput and module.ConfigBase is modelyard.PretrainedConfig
    assert module.PreTrainedTokenizer is modelyard.PreTrainedTokenizer
    assert module.reference_version == "4.57.6"


def test_everything_missing_is_reported_at_once_before_anything_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    imports = '''
from transformers import WatermarkDetector
from transformers.onnx import OnnxConfig
import transformers.models.t5.modeling_t5
from transformers.modeling_outputs import ModelOutput, Seq2SeqTSModelOutput
from transformers.models.bert.modeling_bert import BertModel, load_tf_weights_in_bert
'''
    folder = _repo(tmp_path / "repo", marker_code(marker) + _model(imports))
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    with pytest.raises(RemoteCodeCompatibilityError) as info:
        AutoModel.from_config(config)
    message = str(info.value)
    lines = (folder / "modeling_probe.py").read_text().splitlines()

    def line_of(text: str) -> int:
        return next(number for number, line in enumerate(lines, 1) if line.startswith(text))

    for expected in (
        f"modeling_probe.py line {line_of('from transformers import WatermarkDetector')}: transformers.WatermarkDetector",
        f"modeling_probe.py line {line_of('from transformers.onnx')}: module transformers.onnx",
        f"modeling_probe.py line {line_of('import transformers.models.t5')}: module transformers.models.t5.modeling_t5",
        f"modeling_probe.py line {line_of('from transformers.modeling_outputs')}: "
        "transformers.modeling_outputs.Seq2SeqTSModelOutput",
        f"modeling_probe.py line {line_of('from transformers.models.bert')}: "
        "transformers.models.bert.modeling_bert.load_tf_weights_in_bert",
        "MODELYARD_REMOTE_TRANSFORMERS=transformers",
        str(folder),
    ):
        assert expected in message, (expected, message)
    assert "ModelOutput," not in message and ": transformers.modeling_outputs.ModelOutput" not in message
    assert isinstance(info.value, ImportError)
    assert not marker.exists(), "remote code ran before its imports were checked"


def test_an_attribute_read_at_run_time_names_itself_and_the_file(tmp_path: Path) -> None:
    body = '''        if hasattr(transformers, "WatermarkDetector"):
            raise AssertionError("hasattr must see the name as missing")
        mixin = transformers.WatermarkDetector'''
    folder = _repo(tmp_path / "repo", _model("import transformers", body))
    model = AutoModel.from_config(AutoConfig.from_pretrained(folder, trust_remote_code=True))
    with pytest.raises(MissingCompatibilityAttributeError) as info:
        model(torch.ones(1, 4))
    message = str(info.value)
    lines = (folder / "modeling_probe.py").read_text().splitlines()
    line = next(number for number, text in enumerate(lines, 1) if "mixin = transformers.WatermarkDetector" in text)
    assert "transformers.WatermarkDetector" in message
    assert f"modeling_probe.py (line {line}) of folder {str(folder)!r}" in message, message
    assert isinstance(info.value, AttributeError)


def test_optional_imports_of_what_is_missing_fall_back_as_written(tmp_path: Path) -> None:
    imports = '''
try:
    from transformers.cache_utils import HybridCache
except ImportError:
    HybridCache = None
try:
    from transformers import WatermarkDetector
except ImportError:
    WatermarkDetector = object
from transformers.utils import is_flash_attn_2_available
if is_flash_attn_2_available():
    from flash_attn import flash_attn_func  # noqa: F401
'''
    folder = _repo(tmp_path / "repo", _model(imports))
    module = _remote_module(AutoModel.from_config(AutoConfig.from_pretrained(folder, trust_remote_code=True)))
    assert module.HybridCache is None and module.WatermarkDetector is object


def test_a_package_other_than_transformers_is_still_reported_missing(tmp_path: Path) -> None:
    folder = _repo(tmp_path / "repo", _model("import einops_not_installed_xyz"))
    with pytest.raises(MissingDependencyError, match="pip install einops_not_installed_xyz"):
        AutoModel.from_config(AutoConfig.from_pretrained(folder, trust_remote_code=True))


# ------------------------------------------------------------------ the switch
def test_the_switch_picks_the_installed_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _repo(tmp_path / "repo", _model())
    monkeypatch.setenv("MODELYARD_REMOTE_TRANSFORMERS", "reference")
    with pytest.raises(ConfigurationError, match="MODELYARD_REMOTE_TRANSFORMERS must be 'modelyard'.*'reference'"):
        AutoConfig.from_pretrained(folder, trust_remote_code=True)
    monkeypatch.setenv("MODELYARD_REMOTE_TRANSFORMERS", "transformers")
    if importlib.util.find_spec("transformers") is None:  # as in modelyard's own environment
        with pytest.raises(MissingDependencyError, match="pip install transformers"):
            AutoConfig.from_pretrained(folder, trust_remote_code=True)
    monkeypatch.delenv("MODELYARD_REMOTE_TRANSFORMERS")
    set_remote_transformers("transformers")
    try:
        if importlib.util.find_spec("transformers") is None:
            with pytest.raises(MissingDependencyError):
                AutoConfig.from_pretrained(folder, trust_remote_code=True)
    finally:
        set_remote_transformers(None)
    assert type(AutoConfig.from_pretrained(folder, trust_remote_code=True)).__name__ == "ProbeConfig"


def test_code_imported_under_one_setting_is_not_silently_reused_under_the_other(tmp_path: Path) -> None:
    folder = _repo(tmp_path / "repo", "import torch\n\nVALUE = 1\n" + _model())
    AutoConfig.from_pretrained(folder, trust_remote_code=True)
    set_remote_transformers("transformers")
    try:
        with pytest.raises((ConfigurationError, MissingDependencyError)) as info:
            AutoConfig.from_pretrained(folder, trust_remote_code=True)
        if isinstance(info.value, ConfigurationError):
            assert "clear_module_cache" in str(info.value)
    finally:
        set_remote_transformers(None)
    clear_module_cache()
    assert cache.loaded_module_names() == []
    assert type(AutoConfig.from_pretrained(folder, trust_remote_code=True)).__name__ == "ProbeConfig"


# ------------------------------------------------------------------ with the real transformers installed
def _modelyard_on_the_reference_interpreter(code: str, tmp_path: Path, **env: str) -> dict[str, Any]:
    """modelyard from this source tree, run by the reference's interpreter (where transformers is installed)."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "HF_HOME": str(tmp_path / "hf"),
        "MODELYARD_HOME": str(tmp_path / "modelyard"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src"),
        "TRANSFORMERS_VERBOSITY": "error", "PYTHONWARNINGS": "ignore", **env,
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([str(REFERENCE_PYTHON), "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=300, env=full_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


PROBE_SCRIPT = '''
import json, sys, torch
import modelyard
from modelyard import AutoModelForSequenceClassification, AutoTokenizer
model = AutoModelForSequenceClassification.from_pretrained(sys.argv[1], trust_remote_code=True)
import transformers
tokenizer = AutoTokenizer.from_pretrained(sys.argv[2], trust_remote_code=True)
ids = torch.tensor([[2, 5, 7, 9, 11, 3], [2, 6, 8, 3, 0, 0]])
with torch.no_grad():
    logits = model(ids, attention_mask=(ids != 0).long()).logits
print(json.dumps({
    "modelyard_model": isinstance(model, modelyard.PreTrainedModel),
    "transformers_model": isinstance(model, transformers.PreTrainedModel),
    "transformers_tokenizer": isinstance(tokenizer, transformers.PreTrainedTokenizerBase),
    "user_transformers": transformers.__file__,
    "remote_sees": sys.modules[type(model).__module__].SequenceClassifierOutput.__module__,
    "logits": logits.tolist(),
    "tokens": tokenizer(["the cat sat"])["input_ids"],
}))
'''


@needs_reference
def test_with_transformers_installed_remote_code_still_gets_modelyard_by_default(tmp_path: Path) -> None:
    folders = {name: build(BY_NAME[name], tmp_path / name) for name in ("sequence_classification", "tokenizer_with_auto_map")}
    script = [PROBE_SCRIPT, str(folders["sequence_classification"]), str(folders["tokenizer_with_auto_map"])]
    default = _modelyard_on_the_reference_interpreter("\n".join(["import sys", f"sys.argv[1:] = {script[1:]!r}", script[0]]),
                                                      tmp_path / "default")
    assert default["modelyard_model"] and not default["transformers_model"] and not default["transformers_tokenizer"]
    assert default["remote_sees"] == "modelyard.outputs"
    assert "site-packages/transformers" in default["user_transformers"]  # the user's import: the real library

    installed = _modelyard_on_the_reference_interpreter(
        "\n".join(["import sys", f"sys.argv[1:] = {script[1:]!r}", script[0]]), tmp_path / "installed",
        MODELYARD_REMOTE_TRANSFORMERS="transformers",
    )
    assert installed["transformers_model"] and not installed["modelyard_model"] and installed["transformers_tokenizer"]
    assert installed["remote_sees"] == "transformers.modeling_outputs"
    assert installed["tokens"] == default["tokens"]
    expected = torch.tensor(installed["logits"])
    torch.testing.assert_close(torch.tensor(default["logits"]), expected, rtol=1e-5, atol=1e-5 * max(1.0, float(expected.abs().max())))


# ------------------------------------------------------------------ the namespace claims only what the reference has
def _compat_names() -> dict[str, list[str]]:
    import modelyard.compat.transformers as compat
    import modelyard.models as families

    names: dict[str, list[str]] = {"transformers": [n for n in compat.__all__ if n not in compat._LEGACY]}
    legacy: dict[str, list[str]] = {"transformers": sorted(compat._LEGACY)}
    for info in pkgutil.walk_packages(compat.__path__, prefix="modelyard.compat.transformers."):
        in_a_family = ".models." in info.name and not info.name.startswith("modelyard.compat.transformers.models.auto")
        if info.name.rsplit(".", 1)[-1].startswith("_") or info.name.endswith(".models") or in_a_family:
            continue
        module = importlib.import_module(info.name)
        reference = "transformers" + info.name[len("modelyard.compat.transformers") :]
        allowed = set(getattr(module, "_LEGACY", ()))
        names[reference] = [n for n in module.__all__ if n not in allowed]
        legacy[reference] = sorted(allowed)
    for family in (info for info in pkgutil.iter_modules(families.__path__) if info.ispkg):
        package = importlib.import_module(f"modelyard.compat.transformers.models.{family.name}")
        names[f"transformers.models.{family.name}"] = dir(package)
        for module_info in pkgutil.iter_modules(importlib.import_module(f"modelyard.models.{family.name}").__path__):
            alias = importlib.import_module(f"modelyard.compat.transformers.models.{family.name}.{module_info.name}")
            names[f"transformers.models.{family.name}.{module_info.name}"] = dir(alias)
    assert legacy["transformers.modeling_utils"], "the legacy table is read"
    return names


@needs_reference
def test_the_namespace_offers_only_names_the_reference_has_at_the_same_paths(tmp_path: Path) -> None:
    from modelyard.compat.transformers import activations, modeling_outputs

    names = _compat_names()
    fields = {
        name: [f.name for f in dataclasses.fields(getattr(modeling_outputs, name))]
        for name in modeling_outputs.__all__
        if dataclasses.is_dataclass(getattr(modeling_outputs, name))
    }
    spec = tmp_path / "names.json"
    spec.write_text(json.dumps({"names": names, "fields": fields, "activations": sorted(activations.ACT2FN)}))
    checked = _modelyard_on_the_reference_interpreter(
        '''
        import dataclasses, importlib, json, sys
        spec = json.loads(open(sys.argv[1]).read())
        missing = {}
        for module_name, names in spec["names"].items():
            module = importlib.import_module(module_name)
            absent = [n for n in names if not hasattr(module, n)]
            if absent:
                missing[module_name] = absent
        import transformers.modeling_outputs as outputs, transformers.activations as activations
        fields = {n: [f.name for f in dataclasses.fields(getattr(outputs, n))] for n in spec["fields"]}
        print(json.dumps({"missing": missing, "fields": fields, "activations": sorted(activations.ACT2FN)}))
        '''.replace("sys.argv[1]", repr(str(spec))),
        tmp_path,
        PYTHONPATH="",
    )
    assert checked["missing"] == {}, f"the namespace offers names the reference lacks: {checked['missing']}"
    assert checked["fields"] == fields, "output classes must have the reference's fields, in its order"
    assert set(json.loads(spec.read_text())["activations"]) <= set(checked["activations"])
    assert len(names) >= 30


@needs_reference
def test_every_activation_computes_what_the_reference_computes(tmp_path: Path) -> None:
    from modelyard.compat.transformers.activations import ACT2FN

    x = (torch.arange(-40, 41, dtype=torch.float32) / 8).reshape(9, 9)
    ours = {name: ACT2FN[name](x) for name in ACT2FN if name != "prelu"}  # prelu's weight is a parameter
    theirs = _modelyard_on_the_reference_interpreter(
        f'''
        import json, torch
        from transformers.activations import ACT2FN
        x = (torch.arange(-40, 41, dtype=torch.float32) / 8).reshape(9, 9)
        print(json.dumps({{name: ACT2FN[name](x).tolist() for name in {sorted(ours)!r}}}))
        ''',
        tmp_path,
        PYTHONPATH="",
    )
    for name, value in ours.items():
        torch.testing.assert_close(value, torch.tensor(theirs[name]), rtol=1e-6, atol=1e-6, msg=name)
