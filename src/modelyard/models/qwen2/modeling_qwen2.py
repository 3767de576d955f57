"""Qwen2: the Llama decoder with query/key/value biases and optional sliding-window layers.

``config.layer_types`` says which layers attend over a sliding window; the blocks are the shared ones of
:mod:`modelyard.layers.rotary_decoder`. Submodule names equal the checkpoint keys of Hugging Face Qwen2
checkpoints.
"""

from __future__ import annotations

from modelyard.layers.decoder_heads import (
    CausalLMHead,
    SequenceClassificationHead,
    TokenClassificationHead,
    TransformerQuestionAnsweringHead,
)
from modelyard.layers.rotary_decoder import RotaryDecoderBackbone, RotaryDecoderPreTrainedModel
from modelyard.models.qwen2.configuration_qwen2 import Qwen2Config


class Qwen2PreTrainedModel(RotaryDecoderPreTrainedModel):
    """Weight initialisation and loading rules shared by every Qwen2 class."""

    config_class = Qwen2Config


class Qwen2Model(RotaryDecoderBackbone, Qwen2PreTrainedModel):
    """The bare Qwen2 decoder."""

    qkv_bias = True  # biases on the query, key and value projections (none on the others)


class Qwen2ForCausalLM(CausalLMHead, Qwen2PreTrainedModel):
    """Qwen2 with the language-modelling head."""


class Qwen2ForSequenceClassification(SequenceClassificationHead, Qwen2PreTrainedModel):
    """Qwen2 scoring each sequence at its last non-padding token."""


class Qwen2ForTokenClassification(TokenClassificationHead, Qwen2PreTrainedModel):
    """Qwen2 with a classifier on every token."""


class Qwen2ForQuestionAnswering(TransformerQuestionAnsweringHead, Qwen2PreTrainedModel):
    """Qwen2 predicting answer spans (the base model under ``transformer``, as in the reference)."""


__all__ = [
    "Qwen2ForCausalLM",
    "Qwen2ForQuestionAnswering",
    "Qwen2ForSequenceClassification",
    "Qwen2ForTokenClassification",
    "Qwen2Model",
    "Qwen2PreTrainedModel",
]
