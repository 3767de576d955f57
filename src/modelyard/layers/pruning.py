"""Attention-head pruning helpers: drop rows/columns of linear layers for removed heads."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def heads_to_keep_index(
    heads: Iterable[int], num_heads: int, head_size: int, already_pruned: set[int]
) -> tuple[set[int], torch.Tensor]:
    """Heads still to prune (ignoring already pruned ones) and the flat indices of the dimensions to keep.

    Head numbers refer to the original (unpruned) numbering, as in ``config.pruned_heads``.
    """
    heads = set(heads) - already_pruned
    mask = torch.ones(num_heads, head_size)
    for head in heads:
        # shift for heads already removed before this one
        shifted = head - sum(1 for h in already_pruned if h < head)
        mask[shifted] = 0
    index = torch.arange(mask.numel())[mask.view(-1).eq(1)]
    return heads, index


def prune_linear(layer: nn.Linear, index: torch.Tensor, dim: int = 0) -> nn.Linear:
    """A new Linear keeping only ``index`` along ``dim`` (0: output features, 1: input features)."""
    index = index.to(layer.weight.device)
    weight = layer.weight.index_select(dim, index).detach().clone()
    if layer.bias is not None:
        bias = layer.bias.detach().clone() if dim == 1 else layer.bias[index].detach().clone()
    new_size = list(layer.weight.size())
    new_size[dim] = len(index)
    new_layer = nn.Linear(new_size[1], new_size[0], bias=layer.bias is not None).to(
        device=layer.weight.device, dtype=layer.weight.dtype
    )
    with torch.no_grad():
        new_layer.weight.copy_(weight)
        if layer.bias is not None:
            new_layer.bias.copy_(bias)
    new_layer.weight.requires_grad = layer.weight.requires_grad
    return new_layer
