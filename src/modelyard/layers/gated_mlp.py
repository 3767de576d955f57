"""The gated feed-forward block of Llama-style decoders (SwiGLU with ``hidden_act="silu"``)."""

from __future__ import annotations

import torch
from torch import nn

from modelyard.layers.activations import get_activation


class GatedMLP(nn.Module):
    """``down_proj(act(gate_proj(x)) * up_proj(x))``; submodule names are the reference's checkpoint keys."""

    def __init__(self, hidden_size: int, intermediate_size: int, *, hidden_act: str = "silu", bias: bool = False) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=bias)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=bias)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=bias)
        self.act_fn = get_activation(hidden_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


__all__ = ["GatedMLP"]
