"""``Conv1D``: GPT-2's linear layer, whose weight is stored (in_features, out_features), transposed from
``nn.Linear``'s. The layout is the checkpoint's: GPT-2 checkpoints load without any transposing."""

from __future__ import annotations

import torch
from torch import nn


class Conv1D(nn.Module):
    """``y = x @ weight + bias`` with ``weight`` of shape (nx, nf): ``Conv1D(nf, nx)`` maps nx -> nf features."""

    def __init__(self, nf: int, nx: int) -> None:
        super().__init__()
        self.nf = nf
        self.nx = nx
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight)
        return out.view(*x.shape[:-1], self.nf)

    def extra_repr(self) -> str:
        return f"nf={self.nf}, nx={self.nx}"


__all__ = ["Conv1D"]
