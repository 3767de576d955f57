"""The reference library, in its own environment, pulls from our hub what modelyard pushed.

Skipped when the reference virtualenv (``make reference`` -> ``.venv-ref``) is missing, as in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
import torch

from modelyard import BertConfig, BertForSequenceClassification

ROOT = Path(__file__).resolve().parents[2]
REF_PYTHON = ROOT / ".venv-ref" / "bin" / "python"
pytestmark = pytest.mark.skipif(not REF_PYTHON.exists(), reason="reference environment .venv-ref not built (make reference)")

# Portable custom code: runs under modelyard, and under the reference library where modelyard is absent.
CONFIG_CODE = '''
try:
    from modelyard import PretrainedConfig
except ImportError:
    from transformers import PretrainedConfig


class ScaleConfig(PretrainedConfig):
    model_type = "scale-net"

    def __init__(self, width: int = 4, **kwargs):
        self.width = width
        super().__init__(**kwargs)
'''
MODEL_CODE = '''
import torch

try:
    from modelyard import PreTrainedModel
except ImportError:
    from transformers import PreTrainedModel

from .configuration_scale import ScaleConfig


class ScaleModel(PreTrainedModel):
    config_class = ScaleConfig

    def __init__(self, config):
        super().__init__(config)
        self.proj = torch.nn.Linear(config.width, config.width)
        self.post_init()

    def forward(self, x):
        return {"logits": self.proj(x) * 2}
'''


def _reference(code: str, env: dict[str, str], *args: str) -> dict:
    result = subprocess.run(
        [str(REF_PYTHON), "-c", textwrap.dedent(code), *args],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _reference_env(hub_env, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(
        HF_ENDPOINT=hub_env.url, HF_TOKEN=hub_env.token, HF_HOME=str(tmp_path / "ref-hf"),
        HF_HUB_DISABLE_TELEMETRY="1", DISABLE_SAFETENSORS_CONVERSION="1",
    )
    return env


def test_reference_loads_a_model_pushed_by_modelyard(hub_env, tmp_path: Path) -> None:
    repo = hub_env.repo_id("ref-bert")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=24, num_labels=3)
    model = BertForSequenceClassification(config).eval()
    commit = model.push_to_hub(repo).oid
    ids = [[2, 5, 7, 9, 3]]
    ours = model(torch.tensor(ids)).logits.tolist()

    theirs = _reference(
        """
        import json, sys, torch
        from transformers import AutoModelForSequenceClassification
        repo, commit, ids = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
        model = AutoModelForSequenceClassification.from_pretrained(repo, revision=commit).eval()
        print(json.dumps({"class": type(model).__name__, "logits": model(torch.tensor(ids)).logits.tolist()}))
        """,
        _reference_env(hub_env, tmp_path), repo, commit, json.dumps(ids),
    )
    assert theirs["class"] == "BertForSequenceClassification"
    torch.testing.assert_close(torch.tensor(theirs["logits"]), torch.tensor(ours), rtol=0, atol=1e-6)


def test_reference_runs_custom_code_pushed_by_modelyard(hub_env, tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "code" / "scale_net"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "configuration_scale.py").write_text(CONFIG_CODE)
    (package / "modeling_scale.py").write_text(MODEL_CODE)
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    from scale_net.configuration_scale import ScaleConfig
    from scale_net.modeling_scale import ScaleModel

    ScaleConfig.register_for_auto_class()
    ScaleModel.register_for_auto_class("AutoModel")
    torch.manual_seed(0)
    model = ScaleModel(ScaleConfig(width=4)).eval()
    repo = hub_env.repo_id("ref-custom")
    commit = model.push_to_hub(repo).oid
    files = set(hub_env.api().list_repo_files(repo))
    assert {"configuration_scale.py", "modeling_scale.py", "config.json", "model.safetensors"} <= files
    x = [[1.0, 2.0, 3.0, 4.0]]
    ours = model(torch.tensor(x))["logits"].tolist()

    theirs = _reference(
        """
        import json, sys, torch
        from transformers import AutoModel
        repo, commit, x = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
        model = AutoModel.from_pretrained(repo, trust_remote_code=True, revision=commit).eval()
        print(json.dumps({"class": type(model).__name__, "logits": model(torch.tensor(x))["logits"].tolist()}))
        """,
        _reference_env(hub_env, tmp_path), repo, commit, json.dumps(x),
    )
    assert theirs["class"] == "ScaleModel"
    torch.testing.assert_close(torch.tensor(theirs["logits"]), torch.tensor(ours), rtol=0, atol=1e-6)
