"""Feed-forward pieces of the BERT-style blocks, under the checkpoint names those families share.

A BERT-style layer is attention, then ``intermediate`` (:class:`Intermediate`: ``dense`` to the inner width
and ``intermediate_act_fn``), then ``output`` (:class:`OutputProjection`: ``dense`` back to the hidden width,
``dropout``, the residual, and in post-norm blocks the ``LayerNorm``). The same projection follows the
attention (``attention.output``). ViT uses them without the norm (its norms sit before each block).
"""

from __future__ import annotations

import torch
from torch import nn

from modelyard.layers.activations import get_activation


class Intermediate(nn.Module):
    """``intermediate_act_fn(dense(x))``: hidden -> inner width (``optimize_for_inference()`` may run the
    activation in place: its input is always the fresh output of ``dense``)."""

    def __init__(self, hidden_size: int, intermediate_size: int, activation: str) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, intermediate_size)
        self.intermediate_act_fn = get_activation(activation)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class OutputProjection(nn.Module):
    """``dropout(dense(x))``, plus ``residual`` when given, then ``LayerNorm`` when ``layer_norm_eps`` is given
    (post-norm blocks: BERT's ``attention.output`` and ``output``; ViT's have no norm)."""

    def __init__(self, in_features: int, hidden_size: int, dropout: float, *, layer_norm_eps: float | None = None) -> None:
        super().__init__()
        self.dense = nn.Linear(in_features, hidden_size)
        if layer_norm_eps is not None:
            self.LayerNorm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.post_norm = layer_norm_eps is not None

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        hidden_states = self.dropout(self.dense(hidden_states))
        if residual is not None:
            hidden_states = hidden_states + residual
        return self.LayerNorm(hidden_states) if self.post_norm else hidden_states


__all__ = ["Intermediate", "OutputProjection"]
