"""Llama: a pre-norm decoder with RMSNorm, SwiGLU, grouped-query attention and rotary positions.

The blocks live in :mod:`modelyard.layers.rotary_decoder` (Mistral and Qwen2 use the same ones); this file
names them as the reference does. Submodule names equal the checkpoint keys of Hugging Face Llama
checkpoints (``model.layers.0.self_attn.q_proj.weight``, ``model.norm.weight``, ``lm_head.weight``, ...).
"""

from __future__ import annotations

from typing import Any

from modelyard.layers.decoder_heads import (
    CausalLMHead,
    SequenceClassificationHead,
    TokenClassificationHead,
    TransformerQuestionAnsweringHead,
)
from modelyard.layers.rotary_decoder import RotaryDecoderBackbone, RotaryDecoderPreTrainedModel
from modelyard.models.llama.configuration_llama import LlamaConfig


class LlamaPreTrainedModel(RotaryDecoderPreTrainedModel):
    """Weight initialisation and loading rules shared by every Llama class."""

    config_class = LlamaConfig


class LlamaModel(RotaryDecoderBackbone, LlamaPreTrainedModel):
    """The bare Llama decoder: hidden states of every token (and the KV cache when ``use_cache``)."""

    def layer_options(self, config: Any, layer_idx: int, layer_type: str) -> dict[str, Any]:
        return {"qkv_bias": config.attention_bias, "output_bias": config.attention_bias, "mlp_bias": config.mlp_bias}


class LlamaForCausalLM(CausalLMHead, LlamaPreTrainedModel):
    """Llama with the language-modelling head (next-token logits; loss with ``labels=input_ids``)."""


class LlamaForSequenceClassification(SequenceClassificationHead, LlamaPreTrainedModel):
    """Llama scoring each sequence at its last non-padding token."""


class LlamaForTokenClassification(TokenClassificationHead, LlamaPreTrainedModel):
    """Llama with a classifier on every token."""


class LlamaForQuestionAnswering(TransformerQuestionAnsweringHead, LlamaPreTrainedModel):
    """Llama predicting answer spans (the base model under ``transformer``, as in the reference)."""


__all__ = [
    "LlamaForCausalLM",
    "LlamaForQuestionAnswering",
    "LlamaForSequenceClassification",
    "LlamaForTokenClassification",
    "LlamaModel",
    "LlamaPreTrainedModel",
]
