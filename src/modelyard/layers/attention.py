"""Scaled dot-product attention shared by every family.

Families whose checkpoints name the projections ``query`` / ``key`` / ``value`` (BERT, ViT) use
:class:`QueryKeyValueAttention`; the others keep their own projection modules (so submodule names equal
checkpoint keys), check their sizes with :func:`attention_head_size` and call :func:`attend` for the math. The fast path is ``torch.nn.functional.scaled_dot_product_attention``; the
explicit path runs only when attention probabilities are needed (``output_attentions``) or a head mask
must scale them, because SDPA exposes neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.errors import ConfigurationError
from modelyard.layers.pruning import heads_to_keep_index, prune_linear
from modelyard.layers.tracing import tracing as _tracing


def attention_head_size(hidden_size: int, num_heads: int, *, names: tuple[str, str] = ("hidden_size", "num_attention_heads")) -> int:
    """``hidden_size // num_heads``; an error naming the config fields when it does not divide evenly."""
    if hidden_size % num_heads != 0:
        raise ConfigurationError(
            f"{names[0]} ({hidden_size}) must be a multiple of {names[1]} ({num_heads}); change one of them "
            "in the config."
        )
    return hidden_size // num_heads


def uses_eager_attention(config: Any) -> bool:
    """Whether the config asks for the explicit attention path (read at call time: it can change after loading)."""
    return getattr(config, "_attn_implementation", None) == "eager"


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



def self_attention(
    owner: nn.Module,
    hidden_states: torch.Tensor,
    projections: tuple[nn.Module, nn.Module, nn.Module],
    num_heads: int,
    dropout: float,
    additive_mask: torch.Tensor | None = None,
    head_mask: torch.Tensor | None = None,
    output_attentions: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Self-attention of (batch, seq, hidden) states through a family's (query, key, value) ``projections``
    on ``num_heads`` heads: the (batch, seq, heads * head_dim) context, before the output projection, and
    the probabilities (None unless ``output_attentions``). ``owner`` is the calling module: ``dropout`` applies
    only while it trains, and its ``config`` may ask for the eager path."""
    query, key, value = (split_heads(project(hidden_states), num_heads) for project in projections)
    context, probs = attend(
        query,  # (batch, heads, seq, head_dim)
        key,
        value,
        additive_mask=additive_mask,
        dropout_p=dropout if owner.training else 0.0,
        head_mask=head_mask,
        output_attentions=output_attentions,
        eager=uses_eager_attention(owner.config),
    )
    return merge_heads(context), probs


class QueryKeyValueAttention(nn.Module):
    """Bidirectional self-attention with ``query`` / ``key`` / ``value`` projections (BERT's and ViT's
    checkpoint names); the output projection belongs to the family's block. Reads ``hidden_size``,
    ``num_attention_heads`` and ``attention_probs_dropout_prob`` from the config."""

    def __init__(self, config: Any, *, bias: bool = True) -> None:
        super().__init__()
        self.config = config  # read at call time: attn_implementation can change after loading
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = attention_head_size(config.hidden_size, config.num_attention_heads)
        all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, all_head_size, bias=bias)
        self.key = nn.Linear(config.hidden_size, all_head_size, bias=bias)
        self.value = nn.Linear(config.hidden_size, all_head_size, bias=bias)
        self.dropout_prob = config.attention_probs_dropout_prob

    def prune(self, heads: Iterable[int], pruned_heads: set[int]) -> torch.Tensor | None:
        """Remove ``heads`` (numbered as in the unpruned layer; ``pruned_heads`` are gone already and get these
        added) from the projections; returns the kept input indices for the output projection, or None."""
        removed, index = heads_to_keep_index(heads, self.num_attention_heads, self.attention_head_size, pruned_heads)
        if not removed:
            return None
        self.query = prune_linear(self.query, index)
        self.key = prune_linear(self.key, index)
        self.value = prune_linear(self.value, index)
        self.num_attention_heads -= len(removed)
        pruned_heads |= removed
        return index

    def forward(
        self,
        hidden_states: torch.Tensor,
        additive_mask: torch.Tensor | None,
        head_mask: torch.Tensor | None,
        output_attentions: bool,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        projections = (self.query, self.key, self.value)
        return self_attention(self, hidden_states, projections, self.num_attention_heads, self.dropout_prob,
                              additive_mask, head_mask, output_attentions)
