"""Activations and residual additions computed in place during inference.

Outside autograd (``torch.no_grad`` / ``torch.inference_mode``) nothing needs an activation's input again,
so GELU, ReLU, SiLU and tanh can overwrite it instead of allocating a new map of the same size, and a
residual can be added into the projection output that precedes it. On CPU, large fresh allocations cost
page faults (the allocator hands freed multi-MiB blocks back to the OS): this is several percent of a
BERT, ViT or Wav2Vec2 forward. With autograd on, the out-of-place operations run, because the backward
pass needs the inputs; an activation module with hooks is always called as a module, so its hooks fire.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.layers.activations import GELUTanh


def activate(activation: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``activation(x)``; in place when autograd is off. ``x`` must be a temporary nobody reads again
    (e.g. the output of the linear or convolution just before)."""
    if torch.is_grad_enabled() or activation._forward_hooks or activation._forward_pre_hooks:
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


def add_residual(x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """``x + residual``; into ``x`` when autograd is off (``x`` must be a temporary). Out of place when the
    sum would not fit ``x``: another shape (broadcasting) or dtype (``+`` promotes, ``add_`` would not)."""
    if torch.is_grad_enabled() or x.shape != residual.shape or x.dtype != residual.dtype:
        return x + residual
    return x.add_(residual)


__all__ = ["activate", "add_residual"]
