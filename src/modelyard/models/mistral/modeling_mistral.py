"""Mistral: the Llama decoder with sliding-window attention and no biases.

Every layer attends over the last ``config.sliding_window`` tokens (all of them when it is ``None``); the
blocks are the shared ones of :mod:`modelyard.layers.rotary_decoder`. Submodule names equal the checkpoint
keys of Hugging Face Mistral checkpoints.
"""

from __future__ import annotations

from modelyard.layers.decoder_heads import (
    CausalLMHead,
    QuestionAnsweringHead,
    SequenceClassificationHead,
    TokenClassificationHead,
)
from modelyard.layers.rotary_decoder import RotaryDecoderBackbone, RotaryDecoderPreTrainedModel
from modelyard.models.mistral.configuration_mistral import MistralConfig


class MistralPreTrainedModel(RotaryDecoderPreTrainedModel):
    """Weight initialisation and loading rules shared by every Mistral class."""

    config_class = MistralConfig


class MistralModel(RotaryDecoderBackbone, MistralPreTrainedModel):
    """The bare Mistral decoder (the shared blocks' defaults: no biases, sliding-window layers)."""


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
