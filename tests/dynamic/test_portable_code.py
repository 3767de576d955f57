"""Custom code saved by modelyard runs where only the transformers library is installed (issue 11, section 3).

Code registered with ``register_for_auto_class`` imports modelyard; saved as is, the reference library asks
for ``pip install modelyard``. ``check_portable_code`` names the imports that tie it to modelyard, and
``save_pretrained(..., portable_code=True)`` / ``push_to_hub(..., portable_code=True)`` write the copies in
the portable form (modelyard where installed, transformers otherwise), leaving the user's files untouched.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
from _corpus_runner import REFERENCE_PYTHON
from _dynamic_helpers import EXAMPLE, write_files

from modelyard import AutoModel, AutoModelForImageClassification
from modelyard.dynamic_modules import check_portable_code
from modelyard.errors import ConfigurationError

HAS_REFERENCE = REFERENCE_PYTHON.exists()
_skip_without_reference = pytest.mark.skipif(not HAS_REFERENCE, reason="the reference environment .venv-ref is not built")


def needs_reference(test: Any) -> Any:
    return pytest.mark.reference(_skip_without_reference(test))

CONFIG_CODE = '''
from modelyard import PretrainedConfig


class ScaleConfig(PretrainedConfig):
    model_type = "scale-portable"

    def __init__(self, width: int = 4, hidden_act: str = "gelu", **kwargs):
        self.width = width
        self.hidden_act = hidden_act
        super().__init__(**kwargs)
'''
MODEL_CODE = '''
import torch
import modelyard
from modelyard.outputs import SequenceClassifierOutput
from modelyard.models.bert.modeling_bert import BertPreTrainedModel as _UnusedBase  # noqa: F401

from .configuration_scale import ScaleConfig
from .helpers import double

try:
    from modelyard.layers.activations import get_activation
except ImportError:  # already guarded by the author: left as written
    get_activation = None


class ScaleModel(modelyard.PreTrainedModel):
    config_class = ScaleConfig

    def __init__(self, config):
        super().__init__(config)
        self.proj = torch.nn.Linear(config.width, config.width)
        self.post_init()

    def forward(self, x):
        return SequenceClassifierOutput(logits=double(self.proj(x)))
'''
HELPERS = '''
def double(x):
    return 2 * x
'''
TIED_TO_MODELYARD = '''
from modelyard.dynamic_modules import clear_module_cache
from modelyard.weights.report import LoadReport
'''


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, extra_model: str = "") -> tuple[Any, Any, Path]:
    name = "portable_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    package = write_files(tmp_path / "src" / name, {"__init__.py": "", "configuration_scale.py": CONFIG_CODE,
                                                    "modeling_scale.py": extra_model + MODEL_CODE, "helpers.py": HELPERS})
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    importlib.invalidate_caches()
    config_class = importlib.import_module(f"{name}.configuration_scale").ScaleConfig
    model_class = importlib.import_module(f"{name}.modeling_scale").ScaleModel
    config_class.register_for_auto_class()
    model_class.register_for_auto_class("AutoModel")
    return config_class, model_class, package


def test_the_checker_names_every_import_that_ties_code_to_modelyard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, model_class, package = _package(tmp_path, monkeypatch, extra_model=TIED_TO_MODELYARD)
    ties = {(tie.file, tie.line): tie for tie in check_portable_code(model_class)}
    described = "\n".join(str(tie) for tie in ties.values())
    assert {file for file, _ in ties} == {"configuration_scale.py", "modeling_scale.py"}, described
    by_statement = {tie.statement: tie for tie in ties.values()}
    assert by_statement["from modelyard import PretrainedConfig"].replacement == "from transformers import PretrainedConfig"
    assert by_statement["import modelyard"].replacement == "import transformers as modelyard"
    assert by_statement["from modelyard.outputs import SequenceClassifierOutput"].replacement == (
        "from transformers.modeling_outputs import SequenceClassifierOutput"
    )
    assert by_statement["from modelyard.models.bert.modeling_bert import BertPreTrainedModel as _UnusedBase"].replacement == (
        "from transformers.models.bert.modeling_bert import BertPreTrainedModel as _UnusedBase"
    )
    assert by_statement["from modelyard.layers.activations import get_activation"].guarded
    blocking = [tie for tie in ties.values() if not tie.portable]
    assert {tie.statement for tie in blocking} == {
        "from modelyard.dynamic_modules import clear_module_cache",
        "from modelyard.weights.report import LoadReport",
    }
    assert all("no equivalent in transformers" in str(tie) and "modeling_scale.py line" in str(tie) for tie in blocking)
    assert check_portable_code(package / "helpers.py") == []
    assert len(check_portable_code(package)) == len(ties)


def test_portable_save_rewrites_the_copies_and_never_the_users_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_class, model_class, package = _package(tmp_path, monkeypatch)
    before = {path.name: path.read_bytes() for path in package.glob("*.py")}
    torch.manual_seed(0)
    model = model_class(config_class(width=4)).eval()
    saved = tmp_path / "saved"
    model.save_pretrained(saved, portable_code=True)
    assert {path.name: path.read_bytes() for path in package.glob("*.py")} == before
    modeling = (saved / "modeling_scale.py").read_text()
    assert "try:  # modelyard where it is installed" in modeling
    assert "    import modelyard\nexcept ImportError:\n    import transformers as modelyard\n" in modeling
    assert "except ImportError:\n    from transformers.modeling_outputs import SequenceClassifierOutput\n" in modeling
    assert "except ImportError:\n    from transformers import PretrainedConfig\n" in (saved / "configuration_scale.py").read_text()
    assert (saved / "helpers.py").read_bytes() == before["helpers.py"]
    assert all(tie.guarded for tie in check_portable_code(saved))
    compile(modeling, "modeling_scale.py", "exec")
    loaded = AutoModel.from_pretrained(saved, trust_remote_code=True)
    x = torch.randn(3, 4)
    torch.testing.assert_close(loaded(x).logits, model(x).logits, rtol=1e-6, atol=1e-6)


def test_portable_save_refuses_code_tied_to_modelyard_and_writes_no_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_class, model_class, _ = _package(tmp_path, monkeypatch, extra_model=TIED_TO_MODELYARD)
    with pytest.raises(ConfigurationError) as info:
        model_class(config_class()).save_pretrained(tmp_path / "saved", portable_code=True)
    message = str(info.value)
    assert "modelyard.dynamic_modules import clear_module_cache" in message and "modelyard.weights.report" in message
    assert "modeling_scale.py line" in message
    assert not list((tmp_path / "saved").glob("*.py"))


def _reference(code: str, tmp_path: Path, **env: str) -> dict[str, Any]:
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "HF_HOME": str(tmp_path / "ref-hf"),
                "TRANSFORMERS_VERBOSITY": "error", "PYTHONWARNINGS": "ignore", "HF_HUB_DISABLE_TELEMETRY": "1", **env}
    tmp_path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([str(REFERENCE_PYTHON), "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=300, env=full_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


LOAD_IN_REFERENCE = '''
import json, sys, torch
from transformers import AutoModel
x = torch.tensor(json.loads(sys.argv[3]))
try:
    model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True, revision=sys.argv[2] or None).eval()
except ImportError as err:
    print(json.dumps({"error": str(err)}))
else:
    print(json.dumps({"class": type(model).__name__, "logits": model(x).logits.tolist()}))
'''


@needs_reference
def test_the_reference_runs_code_saved_portably_from_the_hub_pinned(hub_env: Any, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    config_class, model_class, _ = _package(tmp_path, monkeypatch)
    torch.manual_seed(0)
    model = model_class(config_class(width=4)).eval()
    x = [[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.25, 2.0]]
    ours = model(torch.tensor(x)).logits
    env = {"HF_ENDPOINT": hub_env.url, "HF_TOKEN": hub_env.token, "HF_HUB_DISABLE_XET": "1"}
    script = LOAD_IN_REFERENCE.replace("sys.argv[3]", repr(json.dumps(x)))

    plain = hub_env.repo_id("saved-plain")
    plain_commit = model.push_to_hub(plain).oid
    refused = _reference(script.replace("sys.argv[1]", repr(plain)).replace("sys.argv[2]", repr(plain_commit)),
                         tmp_path / "plain", **env)
    assert "modelyard" in refused.get("error", ""), refused  # the reference asks for pip install modelyard

    portable = hub_env.repo_id("saved-portable")
    commit = model.push_to_hub(portable, portable_code=True).oid
    theirs = _reference(script.replace("sys.argv[1]", repr(portable)).replace("sys.argv[2]", repr(commit)),
                        tmp_path / "portable", **env)
    assert theirs.get("class") == "ScaleModel", theirs
    torch.testing.assert_close(torch.tensor(theirs["logits"]), ours, rtol=1e-5, atol=1e-5)
    again = AutoModel.from_pretrained(portable, trust_remote_code=True, revision=commit)  # and modelyard, pinned
    torch.testing.assert_close(again(torch.tensor(x)).logits, ours, rtol=1e-6, atol=1e-6)


@needs_reference
def test_the_reference_loads_the_examples_saved_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's code is written in the portable form: its saved folder loads in the reference as is."""
    shutil.copytree(EXAMPLE / "resnet_model", tmp_path / "src" / "resnet_model_portable",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    importlib.invalidate_caches()
    configuration = importlib.import_module("resnet_model_portable.configuration_resnet")
    modeling = importlib.import_module("resnet_model_portable.modeling_resnet")
    configuration.ResnetConfig.register_for_auto_class()
    modeling.ResnetModelForImageClassification.register_for_auto_class("AutoModelForImageClassification")
    torch.manual_seed(0)
    config = configuration.ResnetConfig(layers=[1, 1], num_classes=5, stem_type="deep", stem_width=16, avg_down=True)
    model = modeling.ResnetModelForImageClassification(config).eval()
    saved = tmp_path / "custom-resnet"
    model.save_pretrained(saved)
    assert [tie for tie in check_portable_code(saved) if not tie.guarded] == []
    images = (torch.arange(2 * 3 * 32 * 32).reshape(2, 3, 32, 32) % 17 - 8).float() / 8
    ours = AutoModelForImageClassification.from_pretrained(saved, trust_remote_code=True)(images)["logits"]
    theirs = _reference(
        f'''
        import json, torch
        from transformers import AutoModelForImageClassification
        model = AutoModelForImageClassification.from_pretrained({str(saved)!r}, trust_remote_code=True).eval()
        images = (torch.arange(2 * 3 * 32 * 32).reshape(2, 3, 32, 32) % 17 - 8).float() / 8
        print(json.dumps({{"logits": model(images)["logits"].tolist()}}))
        ''',
        tmp_path, HF_HUB_OFFLINE="1",
    )
    expected = torch.tensor(theirs["logits"])
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5 * max(1.0, float(expected.abs().max())))
