"""Scaled dot-product attention shared by every family.

Families keep their own projection modules (so submodule names equal checkpoint keys) and call
:func:`attend` for the math. The fast path is ``torch.nn.functional.scaled_dot_product_attention``; the
explicit path runs only when attention probabilities are needed (``output_attentions``) or a head mask
must scale them, because SDPA exposes neither.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from modelyard.layers.tracing import tracing as _tracing


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(batch, seq, hidden) -> (batch, heads, seq, head_dim)"""
    batch, seq, hidden = x.shape
    return x.view(batch, seq, num_heads, hidden // num_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(batch, heads, seq, head_dim) -> (batch, seq, hidden)"""
    batch, heads, seq, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, seq, heads * head_dim)


def padding_mask_to_additive(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """A (batch, seq) 1/0 padding mask -> an additive (batch, 1, 1, seq) mask, or None when nothing is masked.

    Returning None for an all-ones mask lets SDPA pick its fastest kernel.
    """
    if attention_mask is None:
        return None
    if attention_mask.dim() == 2:
        # The shortcut reads the mask's values, a data-dependent branch that tracers and exporters cannot
        # follow: when tracing, the mask is always applied (same result).
        if not _tracing() and bool(attention_mask.all()):
            return None
        mask = attention_mask[:, None, None, :]
    elif attention_mask.dim() == 3:  # (batch, query, key)
        mask = attention_mask[:, None, :, :]
    else:
        mask = attention_mask
    if mask.dtype == torch.bool:
        keep = mask
    else:
        keep = mask > 0
    additive = torch.zeros(keep.shape, dtype=dtype, device=keep.device)
    return additive.masked_fill(~keep, torch.finfo(dtype).min)


def attend(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    *,
    additive_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    head_mask: torch.Tensor | None = None,
    output_attentions: bool = False,
    scale: float | None = None,
    eager: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Attention over (batch, heads, seq, head_dim) tensors; returns (context, probabilities or None).

    ``head_mask`` is broadcastable to (batch, heads, query, key) and multiplies the probabilities, as the
    reference implementation does. ``dropout_p`` should already be 0.0 in eval mode. ``eager`` forces the
    explicit path (``attn_implementation="eager"``), e.g. to compare with SDPA or for exporters that lack it.
    """
    if not output_attentions and head_mask is None and not eager:
        context = F.scaled_dot_product_attention(
            query, key, value, attn_mask=additive_mask, dropout_p=dropout_p, scale=scale
        )
        return context, None
    scale = scale if scale is not None else query.shape[-1] ** -0.5
    scores = torch.matmul(query, key.transpose(-1, -2)) * scale
    if additive_mask is not None:
        scores = scores + additive_mask
    probs = scores.softmax(dim=-1)
    if dropout_p > 0.0:
        probs = F.dropout(probs, p=dropout_p)
    if head_mask is not None:
        probs = probs * head_mask
    return torch.matmul(probs, value), probs


def expand_head_mask(head_mask: torch.Tensor | None, num_layers: int) -> list[torch.Tensor | None]:
    """A (heads,) or (layers, heads) 1/0 mask -> one (1, heads, 1, 1) tensor (or None) per layer."""
    if head_mask is None:
        return [None] * num_layers
    if head_mask.dim() == 1:
        head_mask = head_mask.unsqueeze(0).expand(num_layers, -1)
    if head_mask.dim() != 2 or head_mask.shape[0] != num_layers:
        raise ValueError(
            f"head_mask must have shape (num_heads,) or ({num_layers}, num_heads), got {tuple(head_mask.shape)}"
        )
    return [head_mask[i][None, :, None, None] for i in range(num_layers)]

