"""Mistral: the Llama decoder with sliding-window attention and no biases.

Every layer attends over the last ``config.sliding_window`` tokens (all of them when it is ``None``); the
blocks are the shared ones of :mod:`modelyard.layers.rotary_decoder`. Submodule names equal the checkpoint
keys of Hugging Face Mistral checkpoints.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from modelyard.layers.decoder_heads import (
    CausalLMHead,
    QuestionAnsweringHead,
    SequenceClassificationHead,
    TokenClassificationHead,
)
from modelyard.layers.rotary_decoder import SLIDING, RotaryDecoderBackbone, RotaryDecoderPreTrainedModel
from modelyard.models.mistral.configuration_mistral import MistralConfig


class MistralPreTrainedModel(RotaryDecoderPreTrainedModel):
    """Weight initialisation and loading rules shared by every Mistral class."""

    config_class = MistralConfig

    def _make_backbone(self, config: MistralConfig) -> nn.Module:
        return MistralModel(config)


class MistralModel(RotaryDecoderBackbone, MistralPreTrainedModel):
    """The bare Mistral decoder."""

    def __init__(self, config: MistralConfig) -> None:
        super().__init__(config)
        self.build_backbone(config)
        self.post_init()

    def layer_options(self, config: Any, layer_idx: int, layer_type: str) -> dict[str, Any]:
        return {"sliding_window": config.sliding_window if layer_type == SLIDING else None}


class MistralForCausalLM(CausalLMHead, MistralPreTrainedModel):
    """Mistral with the language-modelling head."""


class MistralForSequenceClassification(SequenceClassificationHead, MistralPreTrainedModel):
    """Mistral scoring each sequence at its last non-padding token."""


class MistralForTokenClassification(TokenClassificationHead, MistralPreTrainedModel):
    """Mistral with a classifier on every token."""


class MistralForQuestionAnswering(QuestionAnsweringHead, MistralPreTrainedModel):
    """Mistral predicting answer spans."""


__all__ = [
    "MistralForCausalLM",
    "MistralForQuestionAnswering",
    "MistralForSequenceClassification",
    "MistralForTokenClassification",
    "MistralModel",
    "MistralPreTrainedModel",
]
