"""CPU inference fast paths, behind one switch: ``model.optimize_for_inference()``.

The model files are plain PyTorch (``self.intermediate_act_fn(self.dense(x))``). The switch changes the class
of some submodules in place (same parameters, same state-dict keys, undone by
``optimize_for_inference(False)``), so that outside autograd:

- **few-row projections** run as ``(W @ x.T).T``: for a handful of rows (short-sequence inference) MKL's
  sgemm repacks the large transposed operand of ``x @ W.T`` on every call, and handing it the weight as
  stored is faster. Which row counts profit depends on the CPU, its thread count and the layer's shape, so
  it is measured on this machine, once per weight shape, when the switch is turned on
  (:func:`transposed_rows`); the results are the same up to float rounding.
- **one-row projections read their weight in the order it is stored**: decoding one token multiplies a single
  row by every weight, a matrix-vector product limited by memory bandwidth. For some shapes (measured: the
  large vocabulary projections of language-model heads) MKL streams a column-major weight (``W.t()`` stored
  contiguously, the same values and shape) about twice as fast as the row-major one. Which layers profit is
  measured once per weight shape with the weights out of cache (:func:`column_major_faster`), and those
  layers' weights are re-laid in place (a tied embedding shares the new layout; saving writes contiguous
  tensors as before).
- **activations overwrite their input** instead of allocating a map of the same size (on CPU a large fresh
  allocation costs page faults). Only the activations a family declares (``_inplace_activations``: modules
  whose input is always a temporary made just before, such as the output of ``dense``) are switched.
- **a family's own blocks** may have a fast subclass (``_inference_classes``: plain class -> subclass whose
  forward, say, adds a residual into a fresh output), kept next to the plain block in the family's file.

Every fast path falls back to the module's own forward with autograd on (training), while a tracer,
compiler or exporter records, for other dtypes and devices, and whenever a forward hook could have kept a
reference to the tensor it would overwrite (a hook anywhere under the module that made it, or a global one).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules import module as _module

from modelyard.layers.activations import GELUTanh
from modelyard.layers.tracing import tracing

# Row counts tried when measuring (batch x sequence of short inference calls).
_CANDIDATE_ROWS = (4, 8, 12, 16, 24, 32, 48, 64)


def _global_hooks() -> bool:
    # torch keeps no public accessor for whether global module hooks are registered.
    return bool(getattr(_module, "_global_forward_hooks", None) or getattr(_module, "_global_forward_pre_hooks", None))


def may_overwrite(owner: nn.Module) -> bool:
    """Whether temporaries made by ``owner``'s children may be overwritten: autograd off, nothing recording,
    and no forward hook (global, or under ``owner``) that could hold one of them."""
    if torch.is_grad_enabled() or tracing() or _global_hooks():
        return False
    return not any(m._forward_hooks for m in owner.modules())


# ---------------------------------------------------------------------------------------------- projections
@functools.cache
def transposed_rows(out_features: int, in_features: int, threads: int) -> frozenset[int]:
    """The row counts for which ``(W @ x.T).T`` beats ``F.linear`` on this machine for this shape (best of
    five timings each, at least 5% faster), and everything in between. Empty without MKL."""
    if not torch.backends.mkl.is_available():
        return frozenset()
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(out_features, in_features, generator=generator)
    bias = torch.randn(out_features, generator=generator)
    faster = []
    with torch.inference_mode():
        for rows in _CANDIDATE_ROWS:
            x = torch.randn(rows, in_features, generator=generator)
            standard = _best_time(lambda x=x: F.linear(x, weight, bias))
            transposed = _best_time(lambda x=x: torch.addmm(bias[:, None], weight, x.t()).t().contiguous())
            if transposed < 0.95 * standard:
                faster.append(rows)
    return frozenset(range(min(faster), max(faster) + 1)) if faster else frozenset()


def _best_time(call: object, runs: int = 5) -> float:
    call()  # type: ignore[operator]  # warm: first calls pay for allocation and packing
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


# Bytes of weights cycled through when timing one-row products, so that every call reads from memory, as in
# a model whose layers together outgrow the CPU's caches.
_COLD_BYTES = 64 * 2**20


@functools.cache
def column_major_faster(out_features: int, in_features: int, threads: int) -> bool:
    """Whether a one-row ``F.linear`` reads a column-major weight of this shape at least 10% faster than a
    row-major one on this machine (weights cycled out of cache), without being more than 5% slower for an
    8-row input (a batch decoding step). Large row counts (a prefill) are compute-bound and differ by a few
    percent either way."""
    if not torch.backends.mkl.is_available():
        return False
    generator = torch.Generator().manual_seed(0)
    copies = max(1, -(-_COLD_BYTES // (4 * out_features * in_features)))
    weights = [torch.randn(out_features, in_features, generator=generator) for _ in range(copies)]
    one = torch.randn(1, in_features, generator=generator)
    many = torch.randn(8, in_features, generator=generator)

    def cycle(x: torch.Tensor) -> None:
        for weight in weights:
            F.linear(x, weight)

    with torch.inference_mode():
        row_major = _best_time(lambda: cycle(one))
        for i, weight in enumerate(weights):  # one at a time: at most one extra copy alive
            weights[i] = weight.t().contiguous().t()
            del weight
        if _best_time(lambda: cycle(one)) >= 0.9 * row_major:
            return False
        # A batch decoding step (8 rows) must not lose what a single row gains.
        column = weights[0]
        row = column.contiguous()
        return _best_time(lambda: F.linear(many, column)) <= 1.05 * _best_time(lambda: F.linear(many, row))


def _relayout(linear: nn.Linear, *, column_major: bool) -> None:
    """Store ``linear``'s weight column- or row-major (same values, shape and Parameter object)."""
    weight = linear.weight
    if weight.device.type != "cpu" or weight.dtype != torch.float32 or weight.dim() != 2:
        return
    laid = weight.data.t().contiguous().t() if column_major else weight.data.contiguous()
    if laid.data_ptr() != weight.data.data_ptr():
        weight.data = laid


class FewRowLinear(nn.Linear):
    """An ``nn.Linear`` that computes few-row inputs as ``(W @ x.T).T`` where that was measured faster."""

    _rows: frozenset[int] = frozenset()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.numel() // max(x.shape[-1], 1) if x.dim() else 0
        if (
            rows not in self._rows
            or torch.is_grad_enabled()
            or tracing()
            or x.device.type != "cpu"
            or x.dtype != torch.float32
            or self.weight.dtype != torch.float32
            or x.shape[-1] != self.in_features
            or not self.weight.is_contiguous()
        ):
            return super().forward(x)
        flat = x.reshape(-1, x.shape[-1]).t()
        out = torch.mm(self.weight, flat) if self.bias is None else torch.addmm(self.bias[:, None], self.weight, flat)
        return out.t().contiguous().view(*x.shape[:-1], self.out_features)


# ---------------------------------------------------------------------------------------------- activations
class _InPlace:
    """Mixin: the activation overwrites its input when :func:`may_overwrite` allows it for its owner."""

    # The module whose forward calls this activation (set with object.__setattr__: a plain reference, not a
    # submodule, so copies of the model point at their own owner).
    _owner: nn.Module | None = None

    def _inplace(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        owner = self._owner
        hooked = self._forward_hooks or self._forward_pre_hooks  # type: ignore[attr-defined]
        if owner is None or hooked or not may_overwrite(owner):
            return super().forward(x)  # type: ignore[misc]
        return self._inplace(x)


class InPlaceGELU(_InPlace, nn.GELU):
    def _inplace(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.aten.gelu_(x, approximate=self.approximate)


class InPlaceGELUTanh(_InPlace, GELUTanh):
    def _inplace(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.aten.gelu_(x, approximate="tanh")


class InPlaceReLU(_InPlace, nn.ReLU):
    def _inplace(self, x: torch.Tensor) -> torch.Tensor:
        return x.relu_()


class InPlaceSiLU(_InPlace, nn.SiLU):
    def _inplace(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(x, inplace=True)


class InPlaceTanh(_InPlace, nn.Tanh):
    def _inplace(self, x: torch.Tensor) -> torch.Tensor:
        return x.tanh_()


_INPLACE = {nn.GELU: InPlaceGELU, GELUTanh: InPlaceGELUTanh, nn.ReLU: InPlaceReLU, nn.SiLU: InPlaceSiLU,
            nn.Tanh: InPlaceTanh}
_PLAIN = {fast: plain for plain, fast in _INPLACE.items()}


# ---------------------------------------------------------------------------------------------- the switch
# Fast classes a family declares (``_inference_classes``) -> the plain class they replace, for restore().
_FAMILY_PLAIN: dict[type, type] = {}


def optimize(model: nn.Module, inplace_activations: Iterable[str], classes: Mapping[type, type] | None = None) -> None:
    """Switch ``model``'s plain linear layers, the named activation attributes and the family's own
    ``classes`` (plain block class -> its fast subclass) to their fast forms."""
    names = tuple(inplace_activations)
    threads = torch.get_num_threads()
    for plain, fast in (classes or {}).items():
        _FAMILY_PLAIN[fast] = plain
    for module in model.modules():
        fast_block = (classes or {}).get(type(module))
        if fast_block is not None:
            module.__class__ = fast_block
        if type(module) is nn.Linear:
            module.__class__ = FewRowLinear
            module._rows = transposed_rows(module.out_features, module.in_features, threads)
            if column_major_faster(module.out_features, module.in_features, threads):
                _relayout(module, column_major=True)
        for name in names:
            activation = module._modules.get(name)
            fast = _INPLACE.get(type(activation)) if activation is not None else None
            if fast is not None:
                activation.__class__ = fast  # type: ignore[union-attr]
                object.__setattr__(activation, "_owner", module)


def restore(model: nn.Module) -> None:
    """Undo :func:`optimize`: every switched module gets its plain class back."""
    for module in model.modules():
        if type(module) is FewRowLinear:
            module.__class__ = nn.Linear
            module.__dict__.pop("_rows", None)
            _relayout(module, column_major=False)
        elif type(module) in _PLAIN:
            module.__class__ = _PLAIN[type(module)]
            module.__dict__.pop("_owner", None)
        elif type(module) in _FAMILY_PLAIN:
            module.__class__ = _FAMILY_PLAIN[type(module)]


def is_optimized(model: nn.Module) -> bool:
    return any(type(m) is FewRowLinear or type(m) in _PLAIN or type(m) in _FAMILY_PLAIN for m in model.modules())


__all__ = ["FewRowLinear", "is_optimized", "may_overwrite", "optimize", "restore", "transposed_rows"]
