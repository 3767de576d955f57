"""Poolers: one vector per sequence from a base model's hidden states (the reference's ``pooler`` modules)."""

from __future__ import annotations

import torch
from torch import nn

from modelyard.layers.activations import get_activation


class FirstTokenPooler(nn.Module):
    """``activation(dense(hidden_states[:, 0]))``: the first ([CLS]) token projected, the sentence summary that
    BERT-style classification heads read (checkpoint keys ``pooler.dense.*``)."""

    def __init__(self, hidden_size: int, output_size: int | None = None, activation: str = "tanh") -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, output_size or hidden_size)
        self.activation = get_activation(activation)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))


__all__ = ["FirstTokenPooler"]
