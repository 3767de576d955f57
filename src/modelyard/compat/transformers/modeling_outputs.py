"""``transformers.modeling_outputs``: modelyard's output classes, plus the reference's other common ones.

Field names and order are the reference's (``outputs[0]``, ``to_tuple()`` and unpacking depend on them).
The classes modelyard's own models return are modelyard's; the rest (outputs with past key values, cross
attentions, sequence-to-sequence) are defined here the same way: dataclasses of ``ModelOutput``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from modelyard.compat.transformers._namespace import declare
from modelyard.outputs import ModelOutput

_Tensor = torch.Tensor | None
_Tensors = tuple[torch.Tensor, ...] | None


@dataclass
class BaseModelOutputWithCrossAttentions(ModelOutput):
    last_hidden_state: _Tensor = None
    hidden_states: _Tensors = None
    attentions: _Tensors = None
    cross_attentions: _Tensors = None


@dataclass
class BaseModelOutputWithPoolingAndProjection(ModelOutput):
    last_hidden_state: _Tensor = None
    pooler_output: _Tensor = None
    hidden_states: _Tensors = None
    attentions: _Tensors = None
    projection_state: _Tensors = None


@dataclass
class SemanticSegmenterOutput(ModelOutput):
    loss: _Tensor = None
    logits: _Tensor = None
    hidden_states: _Tensors = None
    attentions: _Tensors = None


@dataclass
class DepthEstimatorOutput(ModelOutput):
    loss: _Tensor = None
    predicted_depth: _Tensor = None
    hidden_states: _Tensors = None
    attentions: _Tensors = None


@dataclass
class Seq2SeqModelOutput(ModelOutput):
    last_hidden_state: _Tensor = None
    past_key_values: object = None
    decoder_hidden_states: _Tensors = None
    decoder_attentions: _Tensors = None
    cross_attentions: _Tensors = None
    encoder_last_hidden_state: _Tensor = None
    encoder_hidden_states: _Tensors = None
    encoder_attentions: _Tensors = None


@dataclass
class Seq2SeqLMOutput(ModelOutput):
    loss: _Tensor = None
    logits: _Tensor = None
    past_key_values: object = None
    decoder_hidden_states: _Tensors = None
    decoder_attentions: _Tensors = None
    cross_attentions: _Tensors = None
    encoder_last_hidden_state: _Tensor = None
    encoder_hidden_states: _Tensors = None
    encoder_attentions: _Tensors = None


@dataclass
class Seq2SeqSequenceClassifierOutput(ModelOutput):
    loss: _Tensor = None
    logits: _Tensor = None
    past_key_values: object = None
    decoder_hidden_states: _Tensors = None
    decoder_attentions: _Tensors = None
    cross_attentions: _Tensors = None
    encoder_last_hidden_state: _Tensor = None
    encoder_hidden_states: _Tensors = None
    encoder_attentions: _Tensors = None


_OUTPUTS = "modelyard.outputs"
__getattr__, __dir__ = declare(
    globals(),
    {
        name: _OUTPUTS
        for name in (
            "ModelOutput",
            "BaseModelOutput",
            "BaseModelOutputWithPooling",
            "BaseModelOutputWithNoAttention",
            "BaseModelOutputWithPoolingAndNoAttention",
            "Wav2Vec2BaseModelOutput",
            "MaskedLMOutput",
            "SequenceClassifierOutput",
            "TokenClassifierOutput",
            "QuestionAnsweringModelOutput",
            "MultipleChoiceModelOutput",
            "ImageClassifierOutput",
            "ImageClassifierOutputWithNoAttention",
            "CausalLMOutput",
            "CausalLMOutputWithPast",
            "BaseModelOutputWithPast",
            "BaseModelOutputWithPastAndCrossAttentions",
            "CausalLMOutputWithCrossAttentions",
            "SequenceClassifierOutputWithPast",
            "BaseModelOutputWithPoolingAndCrossAttentions",
            "NextSentencePredictorOutput",
            "MaskedImageModelingOutput",
            "BackboneOutput",
            "XVectorOutput",
        )
    },
)
