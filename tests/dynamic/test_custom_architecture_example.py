"""The guide's walkthrough runs as a user would run it (against the test hub), and what it saved loads in a
fresh interpreter where ``resnet_model`` cannot be imported: the code comes from the saved folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _dynamic_helpers import EXAMPLE, run_python

pytest.importorskip("uvicorn")


@pytest.mark.slow
def test_walkthrough_then_load_where_the_package_is_absent(hub_server: Any, tmp_path: Path) -> None:
    workdir = tmp_path / "walkthrough"
    env = {
        **os.environ,
        "HF_ENDPOINT": hub_server.url,
        "HF_TOKEN": hub_server.token,
        "HF_HUB_DISABLE_XET": "1",
        "PYTHONUNBUFFERED": "1",
    }
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "walkthrough.py"), "--tiny", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "validation: `block_type` must be 'basic' or bottleneck', got wide." in out
    assert "outputs: ['logits', 'loss']" in out
    assert "configuration_resnet.py', 'model.safetensors', 'modeling_resnet.py', 'resnet.py']" in out
    assert '"AutoModelForImageClassification": "modeling_resnet.ResnetModelForImageClassification"' in out
    assert "imports tying the saved code to modelyard: none" in out  # portable: the transformers library loads it too
    assert "without trust_remote_code: The folder" in out and "unknown to ResNetConfig" in out
    assert "identical weights: True same logits: True" in out
    assert "pushed to alice/custom-resnet50d at commit" in out and "from the hub: modelyard_modules.hub.n_alice" in out
    assert "pinned to commit" in out and out.count("identical weights: True same logits: True") >= 3
    assert "refused: model_type 'resnet' is already used" in out
    assert "refused: ResnetModel.config_class is ResnetConfig" in out
    assert "registered classes: CustomResnetConfig CustomResnetModelForImageClassification" in out
    assert "walkthrough finished" in out

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    loaded = run_python(
        f"""
        import importlib.util, torch
        assert importlib.util.find_spec("resnet_model") is None, "resnet_model must not be importable here"
        from modelyard import AutoModelForImageClassification
        model = AutoModelForImageClassification.from_pretrained({str(workdir / "custom-resnet50d")!r}, trust_remote_code=True)
        out = model(torch.randn(2, 3, 64, 64), labels=torch.tensor([0, 1]))
        print(type(model).__module__, sorted(out), tuple(out["logits"].shape))
        model.save_pretrained("again")
        import os
        print(sorted(os.listdir("again")))
        """,
        env={"MODELYARD_HOME": str(tmp_path / "fresh-home"), "HF_HUB_OFFLINE": "1"},
        cwd=elsewhere,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    first, second = loaded.stdout.strip().splitlines()
    assert first.startswith("modelyard_modules.local.l_custom_2d_resnet50d_")
    assert first.endswith("['logits', 'loss'] (2, 10)")
    assert second == "['config.json', 'configuration_resnet.py', 'model.safetensors', 'modeling_resnet.py', 'resnet.py']"
