"""A BERT decoder's checkpoint crosses between modelyard and the reference in both directions and generates the
same greedy tokens on each side (fixture heads/bert_decoder_round_trip.json, tools/reference/gen_heads.py):

- modelyard -> reference: heads/bert-lm-head-model-saved-by-modelyard/ is what modelyard's ``save_pretrained``
  wrote (tools/reference/modelyard_saves.py); the reference loaded it with no missing or unexpected key and
  recorded its greedy tokens, which modelyard must give too;
- reference -> modelyard: the reference-saved models/bert-lm-head-model-cross-attention/ with the reference's
  greedy tokens.

Both decoders have cross-attention (encoder states given to ``generate()``, one padded) and a left-padded batch;
the modelyard-saved one also relative_key_query positions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from common.parity import load_json_fixture, parity_dir
from safetensors import safe_open

from modelyard import AutoModelForCausalLM, BertLMHeadModel, DynamicCache, EncoderDecoderCache

ROUND_TRIP = load_json_fixture("heads/bert_decoder_round_trip.json")
MODELYARD_SAVED = "heads/bert-lm-head-model-saved-by-modelyard"


def _json_without_version(path: Path) -> dict[str, Any]:
    values = json.loads(path.read_text(encoding="utf-8"))
    values.pop("modelyard_version", None)  # the generator drops it: it changes with every release
    return values


def test_the_committed_modelyard_checkpoint_is_what_modelyard_saves_now(tmp_path: Path) -> None:
    committed = parity_dir() / MODELYARD_SAVED
    BertLMHeadModel.from_pretrained(committed).save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in committed.iterdir())
    for name in ("config.json", "generation_config.json"):
        assert _json_without_version(tmp_path / name) == _json_without_version(committed / name), name
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as ours, \
            safe_open(str(committed / "model.safetensors"), "pt") as theirs:
        assert ours.metadata() == theirs.metadata()
        assert sorted(ours.keys()) == sorted(theirs.keys())
        for key in theirs.keys():
            a, b = ours.get_tensor(key), theirs.get_tensor(key)
            assert a.dtype == b.dtype and torch.equal(a, b), key


def test_the_reference_read_every_key_modelyard_saved() -> None:
    cases = [c for c in ROUND_TRIP["cases"] if c["saved_by"] == "modelyard"]
    assert cases
    for case in cases:
        assert case["reference_loading_info"] == {}, case["reference_loading_info"]
    config = json.loads((parity_dir() / MODELYARD_SAVED / "config.json").read_text(encoding="utf-8"))
    # the checkpoint does hold the decoder-only parts the reference must have read
    assert config["is_decoder"] and config["add_cross_attention"]
    assert config["position_embedding_type"] == "relative_key_query"
    with safe_open(str(parity_dir() / MODELYARD_SAVED / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert "bert.encoder.layer.1.crossattention.self.query.weight" in keys
    assert "bert.encoder.layer.0.attention.self.distance_embedding.weight" in keys


@pytest.mark.parametrize("cache", ["EncoderDecoderCache", "default"])
@pytest.mark.parametrize("case", ROUND_TRIP["cases"], ids=lambda c: f"saved-by-{c['saved_by']}-{c['prompt']}")
def test_greedy_tokens_equal_the_reference_across_the_round_trip(case: dict[str, Any], cache: str) -> None:
    # The reference ran with an EncoderDecoderCache passed in (with the DynamicCache its generate() makes for a
    # decoder-only model, its BERT appends cross-attention keys to the self-attention ones and fails); modelyard
    # gives the same tokens with either.
    assert case["past_key_values"] == "EncoderDecoderCache"
    options: dict[str, Any] = dict(case["options"])
    if cache == "EncoderDecoderCache":
        options["past_key_values"] = EncoderDecoderCache(DynamicCache(), DynamicCache())
    # loaded the way a user would: the Auto class picks the decoder head from the config
    model = AutoModelForCausalLM.from_pretrained(parity_dir() / case["folder"])
    assert isinstance(model, BertLMHeadModel)
    out = model.generate(torch.tensor(case["input_ids"]), attention_mask=torch.tensor(case["attention_mask"]),
                         encoder_hidden_states=torch.tensor(case["encoder_hidden_states"]),
                         encoder_attention_mask=torch.tensor(case["encoder_attention_mask"]),
                         pad_token_id=ROUND_TRIP["pad_token_id"], eos_token_id=ROUND_TRIP["eos_token_id"], **options)
    assert out.tolist() == case["sequences"]
