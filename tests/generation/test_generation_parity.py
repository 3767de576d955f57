"""Parity with the reference (fixtures of tools/reference/gen_generation.py): every logits processor's scores on
fixed inputs, and generate() on the tiny LM saved by the reference: greedy and beam token ids, sampling with a
fixed seed (the same draws and the same processed distributions), beam scores."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from _tiny_lm import modelyard_classes
from common.parity import load_json_fixture, parity_dir
from common.tolerance import assert_close_kernels

import modelyard.generation as generation

PROCESSORS = load_json_fixture("generation/processors.json")
GENERATE = load_json_fixture("generation/generate.json")


def _tensor(rows: list[list[Any]]) -> torch.Tensor:
    return torch.tensor([[-math.inf if v == "-inf" else math.inf if v == "inf" else v for v in row] for row in rows])


def _same_scores(actual: torch.Tensor, expected: torch.Tensor, *, width: int = 24, depth: int = 4) -> None:
    """Equal infinities in the same places; finite values within reordered-arithmetic bounds."""
    assert torch.equal(torch.isinf(actual), torch.isinf(expected)), (actual, expected)
    finite = torch.isfinite(expected)
    assert_close_kernels(actual[finite], expected[finite], depth=depth, width=width)


@pytest.mark.parametrize("case", PROCESSORS["cases"], ids=lambda c: c["name"])
def test_processor_parity(case: dict[str, Any]) -> None:
    input_ids = torch.tensor(PROCESSORS["input_ids"])
    scores = _tensor(PROCESSORS["scores"])
    processor = getattr(generation, case["class"])(**case["kwargs"])
    result = processor(input_ids.clone(), scores.clone())
    _same_scores(result, _tensor(case["output"]), depth=1)
    # the inputs are not changed in place
    assert torch.equal(scores, _tensor(PROCESSORS["scores"]))


@pytest.fixture(scope="module")
def tiny_model() -> Any:
    classes = modelyard_classes()
    return classes.TinyForCausalLM.from_pretrained(parity_dir() / "generation" / "tiny_lm")


def test_reference_checkpoint_loads_with_its_generation_config(tiny_model: Any) -> None:
    config = tiny_model.generation_config
    assert (config.bos_token_id, config.eos_token_id, config.pad_token_id) == (1, 21, 0)
    assert config._from_model_config is True


@pytest.mark.parametrize("case", GENERATE["cases"], ids=lambda c: c["name"])
def test_generate_parity(tiny_model: Any, case: dict[str, Any]) -> None:
    if "seed" in case:
        torch.manual_seed(case["seed"])
    result = tiny_model.generate(torch.tensor(case["input_ids"]), attention_mask=torch.tensor(case["attention_mask"]),
                                 **case["settings"])
    sequences = result if isinstance(result, torch.Tensor) else result.sequences
    assert sequences.tolist() == case["sequences"]
    if "scores" in case:
        assert len(result.scores) == len(case["scores"])
        for actual, expected in zip(result.scores, case["scores"], strict=True):
            _same_scores(actual, _tensor(expected))
    if "sequences_scores" in case:
        assert_close_kernels(result.sequences_scores, torch.tensor(case["sequences_scores"]), depth=12, width=24)
    if "beam_indices" in case:
        assert result.beam_indices.tolist() == case["beam_indices"]
