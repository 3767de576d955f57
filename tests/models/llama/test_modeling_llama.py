"""Llama: the common decoder tester on every class, reference parity (every head and every rope_scaling
kind), the rope_scaling errors, grouped-query attention, and our saves loading in the reference library."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from common.decoder_tester import (
    REF_PY,
    DecoderTesterMixin,
    check_decoder_fixture,
    check_saves_load_in_reference,
)
from common.parity import load_model_case, model_case_names

from modelyard import AutoConfig, AutoModelForCausalLM, LlamaConfig
from modelyard.errors import ConfigurationError
from modelyard.layers.rotary import ROPE_KINDS
from modelyard.models.llama.modeling_llama import (
    LlamaForCausalLM,
    LlamaForQuestionAnswering,
    LlamaForSequenceClassification,
    LlamaForTokenClassification,
    LlamaModel,
)

ALL_CLASSES = (LlamaModel, LlamaForCausalLM, LlamaForSequenceClassification, LlamaForTokenClassification,
               LlamaForQuestionAnswering)


def tiny_config(**overrides: object) -> LlamaConfig:
    values: dict[str, object] = dict(
        vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, pad_token_id=0, use_cache=False, num_labels=3,
    )
    values.update(overrides)
    return LlamaConfig(**values)


class TestLlamaCommon(DecoderTesterMixin):
    all_model_classes = ALL_CLASSES

    def get_config(self) -> LlamaConfig:
        return tiny_config()


class TestLlamaBiasesAndHeadDimCommon(TestLlamaCommon):
    """attention_bias, mlp_bias, a head_dim other than hidden/heads, and tied embeddings."""

    all_model_classes = (LlamaModel, LlamaForCausalLM)

    def get_config(self) -> LlamaConfig:
        return tiny_config(attention_bias=True, mlp_bias=True, head_dim=16, tie_word_embeddings=True)


# ------------------------------------------------------------------------------------------------ parity
@pytest.mark.parametrize("case_name", model_case_names("llama"))
def test_llama_parity_with_reference_fixture(case_name: str) -> None:
    check_decoder_fixture(case_name)


def test_every_rope_kind_has_a_parity_case() -> None:
    kinds = {load_model_case(n).config_overrides.get("rope_scaling", {}).get("rope_type", "default")
             for n in model_case_names("llama")}
    assert kinds == set(ROPE_KINDS)


# ------------------------------------------------------------------------------------------------ details
def test_unknown_or_incomplete_rope_scaling_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown rope_scaling kind 'ntk'.*dynamic.*linear.*llama3.*yarn"):
        tiny_config(rope_scaling={"rope_type": "ntk", "factor": 2.0})
    with pytest.raises(ConfigurationError, match=r"needs the keys \['factor'\]"):
        tiny_config(rope_scaling={"rope_type": "linear"})
    with pytest.raises(ConfigurationError, match="must be a dict"):
        tiny_config(rope_scaling="linear")
    # the older key name "type" is still read, and copied to "rope_type" as the reference does
    config = tiny_config(rope_scaling={"type": "linear", "factor": 2.0})
    assert config.rope_scaling == {"type": "linear", "factor": 2.0, "rope_type": "linear"}


def test_linear_rope_equals_scaled_positions() -> None:
    """Linear scaling by 2 is plain RoPE at half the positions."""
    torch.manual_seed(0)
    plain = LlamaModel(tiny_config()).eval()
    scaled = LlamaModel(tiny_config(rope_scaling={"rope_type": "linear", "factor": 2.0})).eval()
    scaled.load_state_dict(plain.state_dict())
    ids = torch.randint(1, 99, (1, 6))
    positions = torch.arange(0, 12, 2)[None]
    mask = torch.ones_like(ids)  # with neither a mask nor a cache, positions that skip would read as packed rows
    with torch.no_grad():
        torch.testing.assert_close(scaled(ids, attention_mask=mask, position_ids=positions).last_hidden_state,
                                   plain(ids, attention_mask=mask, position_ids=positions // 2).last_hidden_state,
                                   atol=1e-5, rtol=0)


def test_dynamic_rope_grows_and_resets_like_the_reference() -> None:
    model = LlamaModel(tiny_config(max_position_embeddings=6, rope_scaling={"rope_type": "dynamic", "factor": 2.0}))
    rotary = model.rotary_emb
    trained = rotary.inv_freq.clone()
    with torch.no_grad():
        model(torch.ones(1, 9, dtype=torch.long))
    assert rotary.max_seq_len_cached == 9 and (rotary.inv_freq < trained).any()
    with torch.no_grad():
        model(torch.ones(1, 3, dtype=torch.long))
    assert rotary.max_seq_len_cached == 6 and torch.equal(rotary.inv_freq, trained)


def test_grouped_query_attention_shares_key_value_heads() -> None:
    config = tiny_config()
    model = LlamaModel(config)
    attn = model.layers[0].self_attn
    assert attn.k_proj.out_features == 2 * attn.head_dim and attn.q_proj.out_features == 4 * attn.head_dim
    # built as the reference builds it (to inspect, to fix the config); running it says what to change
    uneven = LlamaModel(tiny_config(num_key_value_heads=3))
    with pytest.raises(ConfigurationError, match=r"num_attention_heads \(4\) must be a multiple of num_key_value_heads \(3\)"):
        uneven(torch.ones(1, 3, dtype=torch.long))


def test_causal_lm_loss_shifts_labels_inside() -> None:
    torch.manual_seed(0)
    model = LlamaForCausalLM(tiny_config()).eval()
    ids = torch.randint(1, 99, (2, 6))
    out = model(ids, labels=ids)
    expected = torch.nn.functional.cross_entropy(out.logits[:, :-1].reshape(-1, 99), ids[:, 1:].reshape(-1))
    torch.testing.assert_close(out.loss, expected)
    # num_items_in_batch (gradient accumulation): a sum divided by the count instead of a mean
    summed = model(ids, labels=ids, num_items_in_batch=torch.tensor(5)).loss
    torch.testing.assert_close(summed, expected * 10 / 5)
    # logits_to_keep=1 computes the last position only
    torch.testing.assert_close(model(ids, logits_to_keep=1).logits, out.logits[:, -1:])


def test_auto_classes_pick_llama(tmp_path: Path) -> None:
    config = AutoConfig.for_model("llama", vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2)
    model = AutoModelForCausalLM.from_config(config)
    assert type(model) is LlamaForCausalLM
    model.save_pretrained(tmp_path)
    loaded, report = AutoModelForCausalLM.from_pretrained(tmp_path, output_loading_info=True)
    assert type(loaded) is LlamaForCausalLM and report.verdict == "complete"


# ------------------------------------------------------------------------------------------------ reference
@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_our_saves_load_in_the_reference_library(tmp_path: Path) -> None:
    check_saves_load_in_reference(TestLlamaCommon(), tmp_path / "plain")
    check_saves_load_in_reference(TestLlamaBiasesAndHeadDimCommon(), tmp_path / "biases")
