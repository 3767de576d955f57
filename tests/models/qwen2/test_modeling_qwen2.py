"""Qwen2: the common decoder tester on every class (full attention in layer 0, a sliding window in layer 1),
reference parity of every head, q/k/v biases and layer kinds, and our saves loading in the reference
library."""

from __future__ import annotations

from pathlib import Path

import pytest
from common.decoder_tester import (
    REF_PY,
    DecoderTesterMixin,
    check_decoder_fixture,
    check_saves_load_in_reference,
)
from common.parity import model_case_names

from modelyard import Qwen2Config
from modelyard.errors import ConfigurationError
from modelyard.models.qwen2.modeling_qwen2 import (
    Qwen2ForCausalLM,
    Qwen2ForQuestionAnswering,
    Qwen2ForSequenceClassification,
    Qwen2ForTokenClassification,
    Qwen2Model,
)

ALL_CLASSES = (Qwen2Model, Qwen2ForCausalLM, Qwen2ForSequenceClassification, Qwen2ForTokenClassification,
               Qwen2ForQuestionAnswering)


def tiny_config(**overrides: object) -> Qwen2Config:
    values: dict[str, object] = dict(
        vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, use_sliding_window=True, sliding_window=3, max_window_layers=1, pad_token_id=0,
        use_cache=False, num_labels=3,
    )
    values.update(overrides)
    return Qwen2Config(**values)


class TestQwen2Common(DecoderTesterMixin):
    all_model_classes = ALL_CLASSES

    def get_config(self) -> Qwen2Config:
        return tiny_config()


@pytest.mark.parametrize("case_name", model_case_names("qwen2"))
def test_qwen2_parity_with_reference_fixture(case_name: str) -> None:
    check_decoder_fixture(case_name)


def test_layer_kinds_and_biases() -> None:
    config = tiny_config()
    assert config.layer_types == ["full_attention", "sliding_attention"]
    model = Qwen2Model(config)
    attn = model.layers[0].self_attn
    assert attn.q_proj.bias is not None and attn.k_proj.bias is not None and attn.o_proj.bias is None
    assert [layer.self_attn.sliding_window for layer in model.layers] == [None, 3]
    # without use_sliding_window the window is dropped, as in the reference
    plain = tiny_config(use_sliding_window=False)
    assert plain.sliding_window is None and plain.layer_types == ["full_attention"] * 2
    with pytest.raises(ConfigurationError, match="layer_types"):
        tiny_config(layer_types=["full_attention", "local"])


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_our_saves_load_in_the_reference_library(tmp_path: Path) -> None:
    check_saves_load_in_reference(TestQwen2Common(), tmp_path)
