"""Activations and residual additions computed in place during inference.

Outside autograd (``torch.no_grad`` / ``torch.inference_mode``) nothing needs an activation's input again,
so GELU, ReLU, SiLU and tanh can overwrite it instead of allocating a new map of the same size, and a
residual can be added into the projection output that precedes it. On CPU, large fresh allocations cost
page faults (the allocator hands freed multi-MiB blocks back to the OS): this is several percent of a
BERT, ViT or Wav2Vec2 forward.

Overwriting is only safe when nobody else holds the tensor. The tensor is a temporary made inside the
``owner`` module's forward by its children, so the only code that can have kept a reference is a forward
hook on one of those children (or a global forward hook): when any is registered, or autograd is on, or a
tracer/compiler records the pass, the out-of-place operations run. An activation module with hooks is
always called as a module, so its hooks fire.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules import module as _module

from modelyard.layers.activations import GELUTanh
from modelyard.layers.tracing import tracing


def may_overwrite(owner: nn.Module) -> bool:
    """Whether temporaries made by ``owner``'s children may be overwritten (see the module doc)."""
    if torch.is_grad_enabled() or tracing():
        return False
    if getattr(_module, "_global_forward_hooks", None) or getattr(_module, "_global_forward_hooks_always_called", None):
        return False
    return not any(m._forward_hooks for m in owner.modules())


def activate(activation: nn.Module, x: torch.Tensor, *, owner: nn.Module) -> torch.Tensor:
    """``activation(x)``; in place when :func:`may_overwrite` allows it. ``x`` must be a temporary made by a
    child of ``owner`` (e.g. the output of the linear or convolution just before)."""
    if activation._forward_hooks or activation._forward_pre_hooks or not may_overwrite(owner):
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


def add_residual(x: torch.Tensor, residual: torch.Tensor, *, owner: nn.Module) -> torch.Tensor:
    """``x + residual``; into ``x`` when :func:`may_overwrite` allows it (``x`` must be a temporary made by a
    child of ``owner``). Out of place when the sum would not fit ``x``: another shape (broadcasting) or
    dtype (``+`` promotes, ``add_`` would not)."""
    if x.shape != residual.shape or x.dtype != residual.dtype or not may_overwrite(owner):
        return x + residual
    return x.add_(residual)


__all__ = ["activate", "add_residual", "may_overwrite"]
