"""OPT: a decoder with learned positions (offset by two), pre- or post-norm blocks and ReLU feed-forwards.

Reads top to bottom: positions, attention, layer, the decoder, the base model, then the heads. Submodule
names equal the checkpoint keys of Hugging Face OPT checkpoints (``model.decoder.embed_tokens.weight``,
``model.decoder.embed_positions.weight``, ``model.decoder.layers.0.self_attn.k_proj.weight``,
``model.decoder.layers.0.fc1.weight``, ``model.decoder.final_layer_norm.weight``, ``lm_head.weight`` tied to
the token embeddings). The layer loop is :class:`~modelyard.layers.stack.LayerStack`'s (LayerDrop, head masks,
gradient checkpointing); attention, masks, caches and the task heads are the decoders' shared pieces.

Positions are counted over the attention mask (``cumsum(mask) - 1``), so a left-padded row starts at 0 as
it would alone, and are looked up two rows further down the table (OPT's embedding keeps two reserved rows).
Where the token embeddings are narrower than the layers (opt-350m: 512 and 1024) the decoder projects in
(``project_in``) and back out (``project_out``), and the heads read the narrow width.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.layers.activations import get_activation
from modelyard.layers.attention import attention_head_size
from modelyard.layers.causal_mask import build_causal_mask
from modelyard.layers.decoder_attention import causal_attention, uses_eager
from modelyard.layers.decoder_heads import CausalLMHead, QuestionAnsweringHead, SequenceClassificationHead
from modelyard.layers.init import init_normal_
from modelyard.layers.rotary_decoder import TokenEmbeddingAccess, as_cache, forward_switches, mask_sizes
from modelyard.layers.stack import LayerStack
from modelyard.modeling import PreTrainedModel
from modelyard.models.opt.configuration_opt import OPTConfig
from modelyard.outputs import BaseModelOutputWithPast

Tensor = torch.Tensor


class OPTLearnedPositionalEmbedding(nn.Embedding):
    """The position table: ``max_position_embeddings`` rows plus OPT's two reserved ones at the start."""

    offset = 2

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__(num_embeddings + self.offset, embedding_dim)

    def forward(  # the reference's signature: positions come from the mask
        self, attention_mask: Tensor, past_key_values_length: int = 0, position_ids: Tensor | None = None
    ) -> Tensor:
        """Embeddings of ``position_ids`` (batch, seq), or of the positions the (batch, past + seq) padding mask
        gives the tokens after the first ``past_key_values_length``."""
        if position_ids is None:
            position_ids = mask_positions(attention_mask)[:, past_key_values_length:]
        return super().forward(position_ids + self.offset)


def mask_positions(attention_mask: Tensor) -> Tensor:
    """(batch, length) 1/0 mask -> each token's position among the real tokens of its row (padding: -1)."""
    counted = attention_mask.long().cumsum(-1)
    return counted * attention_mask.long() - 1


class OPTAttention(nn.Module):
    """Causal self-attention (``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``, biases per ``enable_bias``)."""

    def __init__(self, config: OPTConfig, layer_idx: int | None = None) -> None:
        super().__init__()
        self.config = config  # read at call time: attn_implementation can change after loading
        self.embed_dim = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = attention_head_size(self.embed_dim, self.num_heads)
        self.dropout = config.attention_dropout
        self.layer_idx = layer_idx
        self.is_causal = True
        self.scaling = self.head_dim**-0.5
        bias = config.enable_bias
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=bias)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=bias)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=bias)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=bias)

    def forward(
        self, hidden_states: Tensor, attention_mask: Tensor | None, past_key_values: Any = None,
        cache_position: Tensor | None = None, head_mask: Tensor | None = None, output_attentions: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """``attention_mask`` as the decoder builds it; returns (batch, seq, hidden) and the probabilities
        (with ``output_attentions`` or eager attention, else None)."""
        batch, seq = hidden_states.shape[:2]
        shape = (batch, seq, self.num_heads, self.head_dim)
        # the queries are scaled before the product, as the reference does (the kernel then scales by 1)
        query = (self.q_proj(hidden_states) * self.scaling).view(shape).transpose(1, 2)  # (batch, heads, seq, dim)
        key = self.k_proj(hidden_states).view(shape).transpose(1, 2)
        value = self.v_proj(hidden_states).view(shape).transpose(1, 2)
        if past_key_values is not None:
            key, value = past_key_values.update(key, value, self.layer_idx, {"cache_position": cache_position})
        context, probs = causal_attention(
            query, key, value, attention_mask, scale=1.0, dropout_p=self.dropout if self.training else 0.0,
            eager=uses_eager(self.config, output_attentions) or head_mask is not None, head_mask=head_mask,
        )
        return self.out_proj(context.reshape(batch, seq, self.embed_dim)), probs


class OPTDecoderLayer(nn.Module):
    """``x + attn(norm(x))`` then ``x + fc2(act(fc1(norm(x))))`` (pre-norm), or each norm after its residual sum
    (post-norm, ``do_layer_norm_before=False``: opt-350m)."""

    def __init__(self, config: OPTConfig, layer_idx: int | None = None) -> None:
        super().__init__()
        self.embed_dim = config.hidden_size
        self.self_attn = OPTAttention(config, layer_idx)
        self.do_layer_norm_before = config.do_layer_norm_before
        self.dropout = config.dropout
        self.activation_fn = get_activation(config.activation_function)
        affine = config.layer_norm_elementwise_affine
        self.self_attn_layer_norm = nn.LayerNorm(self.embed_dim, elementwise_affine=affine)
        self.fc1 = nn.Linear(self.embed_dim, config.ffn_dim, bias=config.enable_bias)
        self.fc2 = nn.Linear(config.ffn_dim, self.embed_dim, bias=config.enable_bias)
        self.final_layer_norm = nn.LayerNorm(self.embed_dim, elementwise_affine=affine)

    def forward(self, hidden_states: Tensor, *attention_inputs: Any) -> tuple[Tensor, Tensor | None]:
        """``attention_inputs``: the mask, cache, cache position, head mask and ``output_attentions``, in the
        order :meth:`OPTAttention.forward` takes them (the layer contract of :class:`LayerStack`)."""
        pre_norm = self.do_layer_norm_before
        residual = hidden_states
        if pre_norm:
            hidden_states = self.self_attn_layer_norm(hidden_states)
        attended, probs = self.self_attn(hidden_states, *attention_inputs)
        hidden_states = residual + F.dropout(attended, p=self.dropout, training=self.training)
        if not pre_norm:
            hidden_states = self.self_attn_layer_norm(hidden_states)
        residual = hidden_states
        if pre_norm:
            hidden_states = self.final_layer_norm(hidden_states)
        hidden_states = self.fc2(self.activation_fn(self.fc1(hidden_states)))
        hidden_states = residual + F.dropout(hidden_states, p=self.dropout, training=self.training)
        if not pre_norm:
            hidden_states = self.final_layer_norm(hidden_states)
        return hidden_states, probs


class OPTPreTrainedModel(PreTrainedModel):
    """Weight initialisation and loading rules shared by every OPT class."""

    config_class = OPTConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["OPTDecoderLayer"]
    _inplace_activations = ("activation_fn",)  # applied to fc1's output, a temporary
    backbone_extra_inputs = ("head_mask",)  # what the shared heads pass on to OPTModel besides the common inputs

    def _make_backbone(self, config: OPTConfig) -> nn.Module:
        return OPTModel(config)

    def head_input_size(self, config: OPTConfig) -> int:
        """The heads read the decoder's output at the token-embedding width (after ``project_out``)."""
        return config.word_embed_proj_dim

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.LayerNorm) and module.weight is None:
            return  # layer_norm_elementwise_affine=False: nothing to initialise
        init_normal_(module, self.config.init_std)


class OPTDecoder(TokenEmbeddingAccess, OPTPreTrainedModel, LayerStack):
    """The decoder stack: token and position embeddings, the layers, the final norm and projections.

    Takes the decoders' common inputs (``input_ids`` or ``inputs_embeds``, ``attention_mask``, ``position_ids``,
    ``past_key_values``, ``use_cache``, ``cache_position``, ``output_attentions``, ``output_hidden_states``,
    ``return_dict``) and ``head_mask`` ((heads,) or (layers, heads), 1 keeps a head, 0 silences it).
    """

    def __init__(self, config: OPTConfig) -> None:
        super().__init__(config)  # LayerStack's part comes later in the MRO: it sets gradient_checkpointing
        self.layers_take_head_mask = True
        self.dropout = config.dropout
        self.layerdrop = config.layerdrop
        self.padding_idx = config.pad_token_id
        self.max_target_positions = config.max_position_embeddings
        self.vocab_size = config.vocab_size
        self.embed_tokens: nn.Module = nn.Embedding(config.vocab_size, config.word_embed_proj_dim, self.padding_idx)
        self.embed_positions = OPTLearnedPositionalEmbedding(config.max_position_embeddings, config.hidden_size)
        projected = config.word_embed_proj_dim != config.hidden_size
        self.project_out = nn.Linear(config.hidden_size, config.word_embed_proj_dim, bias=False) if projected else None
        self.project_in = nn.Linear(config.word_embed_proj_dim, config.hidden_size, bias=False) if projected else None
        self.final_layer_norm = (
            nn.LayerNorm(config.hidden_size, elementwise_affine=config.layer_norm_elementwise_affine)
            if config.do_layer_norm_before and not config._remove_final_layer_norm else None
        )
        self.layers = nn.ModuleList(OPTDecoderLayer(config, layer_idx=i) for i in range(config.num_hidden_layers))
        self.post_init()

    def _finish(self, hidden_states: Tensor) -> Tensor:
        """After the last layer: the final norm (pre-norm decoders) and the projection to the embedding width."""
        if self.final_layer_norm is not None:
            hidden_states = self.final_layer_norm(hidden_states)
        if self.project_out is not None:
            hidden_states = self.project_out(hidden_states)
        return hidden_states

    def _positions(self, attention_mask: Tensor | None, position_ids: Tensor | None, cache_position: Tensor,
                   past: int, seq: int) -> Tensor:
        """Each new token's position: given, counted over the 2-D padding mask of past and new tokens, or the
        cache position (no mask: no padding)."""
        if position_ids is not None:
            position_ids = position_ids.view(-1, seq)
            last = int(position_ids.max()) if position_ids.numel() else 0
        elif attention_mask is not None and attention_mask.dim() == 2:
            if attention_mask.shape[-1] < past + seq:
                raise ValueError(
                    f"attention_mask covers {attention_mask.shape[-1]} tokens, but the cache holds {past} and "
                    f"{seq} are new: pass the mask of all {past + seq} tokens, past and new."
                )
            position_ids, last = mask_positions(attention_mask)[:, past : past + seq], past + seq - 1
        else:
            position_ids, last = cache_position.unsqueeze(0), past + seq - 1
        if last >= self.config.max_position_embeddings:
            raise ValueError(
                f"Position {last} is past the position table of this OPT model (max_position_embeddings = "
                f"{self.config.max_position_embeddings}): the prompt plus the cached tokens hold {past + seq} tokens. "
                f"Truncate the input to at most {self.config.max_position_embeddings} tokens (tokenizer: "
                "truncation=True, max_length=...) or lower max_new_tokens."
            )
        return position_ids

    def forward(  # type: ignore[override]  # a model's forward (the reference's arguments), not a bare stack's
        self, input_ids: Tensor | None = None, attention_mask: Tensor | None = None, head_mask: Tensor | None = None,
        past_key_values: Any = None, inputs_embeds: Tensor | None = None, use_cache: bool | None = None,
        output_attentions: bool | None = None, output_hidden_states: bool | None = None,
        return_dict: bool | None = None, position_ids: Tensor | None = None, cache_position: Tensor | None = None,
        **kwargs: Any,
    ) -> BaseModelOutputWithPast | tuple[Any, ...]:
        config = self.config
        output_attentions, output_hidden_states, use_cache = forward_switches(
            self, input_ids, inputs_embeds, output_attentions, output_hidden_states, use_cache
        )
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids.view(-1, input_ids.shape[-1]))  # type: ignore[union-attr]  # checked above
        cache = as_cache(past_key_values, use_cache=use_cache, config=config)
        batch, seq = inputs_embeds.shape[:2]
        past = cache.get_seq_length() if cache is not None else 0
        if cache_position is None:
            cache_position = torch.arange(past, past + seq, device=inputs_embeds.device)
        position_ids = self._positions(attention_mask, position_ids, cache_position, past, seq)
        if self.project_in is not None:
            inputs_embeds = self.project_in(inputs_embeds)
        hidden_states = inputs_embeds + self.embed_positions(attention_mask, past, position_ids=position_ids)

        kv_length, kv_offset = mask_sizes(cache, cache_position, 0, seq)
        mask = build_causal_mask(
            batch_size=batch, cache_position=cache_position, kv_length=kv_length, kv_offset=kv_offset,
            attention_mask=attention_mask, dtype=hidden_states.dtype,
            additive=uses_eager(config, output_attentions) or head_mask is not None,
            allow_skip=not getattr(cache, "is_compileable", False),
        )
        # the layers' cache is None under gradient checkpointing (use_cache is off there)
        out = self.run_layers(
            self.layers, hidden_states, mask, cache, cache_position, head_mask=head_mask,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states,
            layerdrop=self.layerdrop, final_norm=self._finish,
        )
        result = BaseModelOutputWithPast(
            last_hidden_state=out.last_hidden_state,
            past_key_values=cache if use_cache else None,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
        )
        return result if (config.use_return_dict if return_dict is None else return_dict) else result.to_tuple()


class OPTModel(OPTPreTrainedModel):
    """The bare OPT model: the decoder (``decoder``) and its hidden states of every token (and the KV cache
    when ``use_cache``), at the token-embedding width."""

    def __init__(self, config: OPTConfig) -> None:
        super().__init__(config)
        self.decoder: OPTDecoder = OPTDecoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.decoder.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.decoder.set_input_embeddings(value)

    def forward(self, *args: Any, **kwargs: Any) -> BaseModelOutputWithPast | tuple[Any, ...]:
        """The decoder's forward: the same arguments (:meth:`OPTDecoder.forward`) and output."""
        return self.decoder(*args, **kwargs)

    # the decoder's arguments, for tools that read the signature (the Trainer's column filter, generate())
    forward.__signature__ = inspect.signature(OPTDecoder.forward)  # type: ignore[attr-defined]  # functions take it


class OPTForCausalLM(CausalLMHead, OPTPreTrainedModel):
    """OPT with the language-modelling head (``lm_head``, tied to the token embeddings; loss with
    ``labels=input_ids``). ``head_mask`` is passed on to the decoder."""


class OPTForSequenceClassification(SequenceClassificationHead, OPTPreTrainedModel):
    """OPT scoring each sequence at its last non-padding token (``score``, no bias)."""


class OPTForQuestionAnswering(QuestionAnsweringHead, OPTPreTrainedModel):
    """OPT predicting the start and end token of an answer span (``qa_outputs``)."""


__all__ = [
    "OPTDecoder",
    "OPTForCausalLM",
    "OPTForQuestionAnswering",
    "OPTForSequenceClassification",
    "OPTModel",
    "OPTPreTrainedModel",
]
