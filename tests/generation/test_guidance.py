"""Classifier-free guidance (``guidance_scale``, ``negative_prompt_ids``) against the reference (fixture of
tools/reference/gen_decoding.py), and settings that must change the output."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from _tiny_lm import modelyard_classes
from common.parity import load_json_fixture, parity_dir
from common.tolerance import assert_close_kernels

import modelyard
from modelyard.errors import ConfigurationError
from modelyard.generation import GenerationConfig

GUIDANCE = load_json_fixture("decoding/guidance.json")


def _load(name: str) -> Any:
    if name == "tiny":
        return modelyard_classes().TinyForCausalLM.from_pretrained(parity_dir() / "generation" / "tiny_lm").eval()
    return modelyard.LlamaForCausalLM.from_pretrained(parity_dir() / "models" / "llama-for-causal-lm").eval()


def _tensor(rows: list[list[Any]]) -> torch.Tensor:
    return torch.tensor([[-math.inf if v == "-inf" else math.inf if v == "inf" else v for v in row] for row in rows])


@pytest.mark.parametrize("case", GUIDANCE["cases"], ids=lambda c: c["name"])
def test_guidance_parity(case: dict[str, Any]) -> None:
    model = _load(case["model"])
    ids = torch.tensor(case["prompts"])
    negative = torch.tensor(case["negative"]) if "negative" in case else None
    if "seed" in case:
        torch.manual_seed(case["seed"])
    result = model.generate(ids, attention_mask=torch.ones_like(ids), negative_prompt_ids=negative, **case["settings"])
    sequences = result if isinstance(result, torch.Tensor) else result.sequences
    assert sequences.tolist() == case["sequences"]
    for actual, expected in zip(result.scores if "scores" in case else (), case.get("scores", ()), strict=True):
        expected_t = _tensor(expected)
        assert torch.equal(torch.isinf(actual), torch.isinf(expected_t))
        finite = torch.isfinite(expected_t)
        assert_close_kernels(actual[finite], expected_t[finite], depth=6, width=24)


def test_guidance_scale_and_negative_prompt_change_the_output() -> None:
    model = _load("tiny")
    ids = torch.tensor([[1, 5, 7, 9]])
    plain = model.generate(ids, max_new_tokens=10)
    guided = model.generate(ids, max_new_tokens=10, guidance_scale=3.0)
    negative = model.generate(ids, max_new_tokens=10, guidance_scale=3.0, negative_prompt_ids=torch.tensor([[1, 12]]))
    assert len({tuple(plain[0].tolist()), tuple(guided[0].tolist()), tuple(negative[0].tolist())}) == 3
    assert model.generate(ids, max_new_tokens=10, guidance_scale=1.0).tolist() == plain.tolist()


def test_bad_guidance_scale() -> None:
    with pytest.raises(ConfigurationError, match="guidance_scale"):
        GenerationConfig(guidance_scale=-2.0)
