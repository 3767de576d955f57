"""Activations computed in place during inference.

Outside autograd (``torch.no_grad`` / ``torch.inference_mode``) nothing needs an activation's input again,
so GELU, ReLU, SiLU and tanh can overwrite it instead of allocating a new map of the same size: a few
percent of a ViT or Wav2Vec2 forward on CPU, where large fresh allocations cost page faults. With autograd
on, the out-of-place module runs, because the backward pass needs the input.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.layers.activations import GELUTanh


def activate(activation: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``activation(x)``; in place when autograd is off. ``x`` must be a temporary nobody reads again
    (e.g. the output of the linear or convolution just before)."""
    if torch.is_grad_enabled():
        return activation(x)
    kind = type(activation)
    if kind is nn.GELU:
        return torch.ops.aten.gelu_(x, approximate=activation.approximate)
    if kind is GELUTanh:
        return torch.ops.aten.gelu_(x, approximate="tanh")
    if kind is nn.ReLU:
        return x.relu_()
    if kind is nn.SiLU:
        return F.silu(x, inplace=True)
    if kind is nn.Tanh:
        return x.tanh_()
    return activation(x)


__all__ = ["activate"]
