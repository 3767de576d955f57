"""Mistral: the common decoder tester on every class (with a sliding window shorter than the inputs, so the
sliding-window cache and masks are exercised), reference parity of every head, the window's reach, and
our saves loading in the reference library."""

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
from common.parity import model_case_names

from modelyard import MistralConfig
from modelyard.models.mistral.modeling_mistral import (
    MistralForCausalLM,
    MistralForQuestionAnswering,
    MistralForSequenceClassification,
    MistralForTokenClassification,
    MistralModel,
)

ALL_CLASSES = (MistralModel, MistralForCausalLM, MistralForSequenceClassification, MistralForTokenClassification,
               MistralForQuestionAnswering)


def tiny_config(**overrides: object) -> MistralConfig:
    values: dict[str, object] = dict(
        vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, sliding_window=3, pad_token_id=0, use_cache=False, num_labels=3,
    )
    values.update(overrides)
    return MistralConfig(**values)


class TestMistralCommon(DecoderTesterMixin):
    all_model_classes = ALL_CLASSES

    def get_config(self) -> MistralConfig:
        return tiny_config()


class TestMistralFullAttentionCommon(TestMistralCommon):
    all_model_classes = (MistralModel, MistralForCausalLM)

    def get_config(self) -> MistralConfig:
        return tiny_config(sliding_window=None)


@pytest.mark.parametrize("case_name", model_case_names("mistral"))
def test_mistral_parity_with_reference_fixture(case_name: str) -> None:
    check_decoder_fixture(case_name)


def test_sliding_window_bounds_what_a_token_sees() -> None:
    """With a window of 3 and 2 layers a token sees at most 4 tokens back: token 0 cannot reach position 5."""
    torch.manual_seed(0)
    model = MistralModel(tiny_config()).eval()
    ids = torch.randint(1, 99, (1, 7))
    changed = ids.clone()
    changed[0, 0] = (ids[0, 0] % 98) + 1
    with torch.no_grad():
        a, b = model(ids).last_hidden_state, model(changed).last_hidden_state
    assert not torch.allclose(a[0, 4], b[0, 4])  # 4 back: still reached through both layers
    torch.testing.assert_close(a[0, 5:], b[0, 5:], atol=1e-6, rtol=0)


def test_the_cache_keeps_only_the_window() -> None:
    model = MistralForCausalLM(tiny_config()).eval()
    with torch.no_grad():
        out = model(torch.ones(1, 6, dtype=torch.long), use_cache=True)
    cache = out.past_key_values
    assert cache.get_seq_length() == 6 and cache.layers[0].keys.shape[-2] < 6


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_our_saves_load_in_the_reference_library(tmp_path: Path) -> None:
    check_saves_load_in_reference(TestMistralCommon(), tmp_path)
