"""Activation functions by the names config files use ("gelu", "relu", "gelu_new", ...)."""

from __future__ import annotations

import math

import torch
from torch import nn


class GELUTanh(nn.Module):
    """GELU with the tanh approximation (the "gelu_new" / "gelu_pytorch_tanh" names)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(x, approximate="tanh")


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class GELUFast(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


class GELUErf(nn.Module):
    """Exact GELU written out (the "gelu_python" name)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "gelu": nn.GELU,
    "gelu_python": GELUErf,
    "gelu_new": GELUTanh,
    "gelu_pytorch_tanh": GELUTanh,
    "gelu_fast": GELUFast,
    "quick_gelu": QuickGELU,
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "mish": nn.Mish,
    "linear": nn.Identity,
}


def get_activation(name: str) -> nn.Module:
    """A new activation module for a config name; unknown names list the known ones."""
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        known = ", ".join(sorted(_ACTIVATIONS))
        raise ValueError(f"Unknown activation function {name!r}; known names: {known}.") from None
