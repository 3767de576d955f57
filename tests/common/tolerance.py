"""Comparisons that hold on any x86-64 machine: weights bit for bit, outputs within an arithmetic bound.

Why: the same float32 weights through the same model give outputs that differ in the last bits between
CPUs (other SIMD widths, FMA, MKL/oneDNN code paths) and even on one CPU between freshly allocated and
memory-mapped tensors (kernels pick blocking by alignment). Summation order changes rounding; nothing
else does. So:

- a save/load round trip promises the same **weights**: compare them with ``torch.equal``;
- outputs of a computation are compared within :func:`kernel_tolerance`: a float32 dot product of length
  ``width`` reordered is off by at most about ``width * eps`` of the magnitude of its terms (in practice
  ``sqrt(width) * eps``, errors being random), and ``depth`` such stages (layers) add up. The bound below
  takes ``4 * depth * sqrt(width) * eps * scale``, ``scale`` being the largest magnitude of the expected
  output (at least 1, since LayerNorm-ed activations are O(1)). It is orders of magnitude below any real
  bug (a wrong mask, a missing bias or a swapped weight moves outputs by ~1e-2 or more), and orders of
  magnitude above what a reordered sum can produce.
"""

from __future__ import annotations

import math
from typing import Any

import torch


def kernel_tolerance(expected: torch.Tensor, *, depth: int = 1, width: int = 64) -> float:
    """Absolute tolerance for ``expected`` computed through ``depth`` stages of ``width``-long reductions."""
    eps = torch.finfo(expected.dtype if expected.is_floating_point() else torch.float32).eps
    scale = max(float(expected.detach().abs().max()) if expected.numel() else 0.0, 1.0)
    return 4.0 * depth * math.sqrt(width) * eps * scale


def assert_close_kernels(actual: torch.Tensor, expected: torch.Tensor, *, depth: int = 1, width: int = 64,
                         what: str = "") -> None:
    """``actual`` equals ``expected`` up to reordered float32 sums (see the module doc)."""
    atol = kernel_tolerance(expected, depth=depth, width=width)
    torch.testing.assert_close(actual, expected, atol=atol, rtol=0,
                               msg=lambda m: f"{what + ': ' if what else ''}{m} (tolerance {atol:.2e})")


def assert_same_weights(a: torch.nn.Module | dict[str, torch.Tensor], b: torch.nn.Module | dict[str, torch.Tensor]
                        ) -> None:
    """Same keys, and every tensor bit for bit equal (the round-trip promise)."""
    sa = a.state_dict() if isinstance(a, torch.nn.Module) else a
    sb = b.state_dict() if isinstance(b, torch.nn.Module) else b
    assert sa.keys() == sb.keys(), f"different keys: {sorted(set(sa) ^ set(sb))}"
    for key, value in sa.items():
        assert value.dtype == sb[key].dtype and torch.equal(value, sb[key]), f"{key} differs"


def model_depth(model: Any) -> int:
    """Stages to budget for: the number of layers the config declares, plus embeddings and head."""
    config = getattr(model, "config", None)
    layers = 0
    for name in ("num_hidden_layers", "n_layers"):
        layers = getattr(config, name, 0) or layers
    if hasattr(config, "depths"):
        layers = sum(config.depths)
    return int(layers) + 2
