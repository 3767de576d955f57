"""generate() on the decoder families' tiny checkpoints against the reference's tokens (fixture of
tools/reference/gen_decoders.py: greedy and beam search, one prompt and a left-padded batch)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from common.parity import load_json_fixture, parity_dir

import modelyard

FIXTURE = load_json_fixture("decoders/generation.json")


@pytest.mark.parametrize("case", FIXTURE["cases"],
                         ids=lambda c: f"{c['checkpoint']}-{c['mode']}-{c['prompt']}")
def test_decoder_generate_parity(case: dict[str, Any]) -> None:
    model = getattr(modelyard, case["class"]).from_pretrained(parity_dir() / "models" / case["checkpoint"])
    out = model.generate(torch.tensor(case["input_ids"]), attention_mask=torch.tensor(case["attention_mask"]),
                         eos_token_id=FIXTURE["eos_token_id"], pad_token_id=FIXTURE["pad_token_id"],
                         **case["options"])
    assert out.tolist() == case["sequences"]
