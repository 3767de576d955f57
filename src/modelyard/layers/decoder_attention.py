"""Causal self-attention of decoder models: grouped-query heads, rotary positions and a KV cache.

:class:`GroupedQueryAttention` is the attention block of Llama, Mistral and Qwen2 (``q_proj``/``k_proj``/
``v_proj``/``o_proj``, the reference's checkpoint keys); :func:`causal_attention` is the math every decoder
family calls, on torch's SDPA or the explicit ("eager") path.

Grouped-query attention (fewer key/value heads than query heads) runs on SDPA's ``enable_gqa`` when there
is no mask, so the shared key/value heads are never copied; with a mask the heads are expanded first
(SDPA's GQA path has no fast masked kernel on CPU).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.errors import ConfigurationError
from modelyard.layers.rotary_embedding import apply_rotary


def repeat_kv(states: torch.Tensor, groups: int) -> torch.Tensor:
    """(batch, kv_heads, seq, head_dim) -> (batch, kv_heads * groups, seq, head_dim), each head repeated in place."""
    if groups == 1:
        return states
    batch, kv_heads, seq, head_dim = states.shape
    return states[:, :, None].expand(batch, kv_heads, groups, seq, head_dim).reshape(batch, kv_heads * groups, seq, head_dim)


def causal_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None,
    *,
    scale: float,
    dropout_p: float = 0.0,
    eager: bool = False,
    head_mask: torch.Tensor | None = None,
    softmax_in_float32: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Attention of (batch, heads, q, head_dim) queries over (batch, kv_heads, k, head_dim) keys/values.

    ``mask``: from :func:`modelyard.layers.causal_mask.build_causal_mask`, in the form of the path taken
    (None: causal by the kernel's ``is_causal``; bool for SDPA; additive float for eager). Returns
    ``(context (batch, q, heads, head_dim), probabilities or None)``.
    """
    groups = query.shape[1] // key.shape[1]
    if not eager and head_mask is None:
        is_causal = mask is None and query.shape[2] > 1
        if groups > 1 and mask is None:
            context = F.scaled_dot_product_attention(
                query, key, value, dropout_p=dropout_p, scale=scale, is_causal=is_causal, enable_gqa=True
            )
        else:
            key, value = repeat_kv(key, groups), repeat_kv(value, groups)
            if mask is not None and mask.shape[-1] != key.shape[-2]:
                mask = mask[..., : key.shape[-2]]
            context = F.scaled_dot_product_attention(
                query, key, value, attn_mask=mask, dropout_p=dropout_p, scale=scale, is_causal=is_causal
            )
        return context.transpose(1, 2), None
    key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    scores = torch.matmul(query, key.transpose(2, 3)) * scale
    if mask is not None:
        scores = scores + mask[:, :, :, : key.shape[-2]]
    if softmax_in_float32:
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    else:
        probs = F.softmax(scores, dim=-1).to(value.dtype)
    if dropout_p > 0.0:
        probs = F.dropout(probs, p=dropout_p)
    if head_mask is not None:
        probs = probs * head_mask
    return torch.matmul(probs, value).transpose(1, 2), probs


def uses_eager(config: Any, output_attentions: bool) -> bool:
    """The explicit path runs for ``attn_implementation="eager"`` and whenever probabilities are returned."""
    return output_attentions or getattr(config, "_attn_implementation", None) == "eager"


class GroupedQueryAttention(nn.Module):
    """Rotary, grouped-query, cached causal self-attention (the Llama block's ``self_attn``)."""

    def __init__(
        self,
        config: Any,
        layer_idx: int,
        *,
        qkv_bias: bool = False,
        output_bias: bool = False,
        sliding_window: int | None = None,
    ) -> None:
        super().__init__()
        self.config = config  # read at call time: attn_implementation can change after loading
        self.layer_idx = layer_idx
        heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
        # A model whose head counts do not divide can still be built and inspected (as with the reference);
        # running attention needs whole groups, so forward() refuses it, saying which numbers to change.
        self._groups_error = None if heads % kv_heads == 0 else (
            f"num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kv_heads}); change one "
            "of them in the config."
        )
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        self.num_key_value_groups = heads // kv_heads
        self.scaling = self.head_dim**-0.5
        self.attention_dropout = config.attention_dropout
        self.sliding_window = sliding_window
        self.is_causal = True
        self.q_proj = nn.Linear(config.hidden_size, heads * self.head_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(config.hidden_size, kv_heads * self.head_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(config.hidden_size, kv_heads * self.head_dim, bias=qkv_bias)
        self.o_proj = nn.Linear(heads * self.head_dim, config.hidden_size, bias=output_bias)

    def forward(
        self,
        hidden_states: torch.Tensor,
        position_embeddings: tuple[torch.Tensor, torch.Tensor],
        attention_mask: torch.Tensor | None,
        past_key_values: Any = None,
        cache_position: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self._groups_error is not None:
            raise ConfigurationError(self._groups_error)
        batch, seq = hidden_states.shape[:2]
        shape = (batch, seq, -1, self.head_dim)
        query = self.q_proj(hidden_states).view(shape).transpose(1, 2)  # (batch, heads, seq, head_dim)
        key = self.k_proj(hidden_states).view(shape).transpose(1, 2)  # (batch, kv_heads, seq, head_dim)
        value = self.v_proj(hidden_states).view(shape).transpose(1, 2)
        cos, sin = position_embeddings
        query, key = apply_rotary(query, key, cos, sin)
        if past_key_values is not None:
            cache_kwargs = {"sin": sin, "cos": cos, "cache_position": cache_position}
            key, value = past_key_values.update(key, value, self.layer_idx, cache_kwargs)
        context, probs = causal_attention(
            query,
            key,
            value,
            attention_mask,
            scale=self.scaling,
            dropout_p=self.attention_dropout if self.training else 0.0,
            eager=uses_eager(self.config, output_attentions),
        )
        return self.o_proj(context.reshape(batch, seq, -1)), probs  # (batch, seq, hidden)


__all__ = ["GroupedQueryAttention", "causal_attention", "repeat_kv", "uses_eager"]
