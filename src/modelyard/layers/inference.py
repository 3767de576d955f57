"""CPU inference fast paths, behind one switch: ``model.optimize_for_inference()``.

The model files are plain PyTorch (``self.intermediate_act_fn(self.dense(x))``). The switch changes the class
of some submodules in place (same parameters, same state-dict keys, undone by
``optimize_for_inference(False)``), so that outside autograd:

- **projections over packed weights**: where oneDNN's product over a weight packed once into its kernel's layout
  beats the best of the others on this machine for the layer's shape (:func:`packing_wins`, measured over the
  row counts the model computes: decoding steps and prompts for a model that generates, prompts for an
  encoder), the layer keeps a packed copy of its weight and computes every
  product through it (:mod:`modelyard.layers.onednn`: the parameter stays as it was, the copy follows it).
- otherwise **few-row projections** run as ``(W @ x.T).T`` over the row-major ``(out, in)`` weight: for a handful of
  rows (decoding steps, short-sequence inference) MKL's sgemm repacks the large operand of ``x @ W.T`` on
  every call, and its single-row product (a matrix-vector product, the whole of a decoding step at batch 1)
  streams the weight at about half the memory bandwidth of a two-column product, so one row is padded to
  two (:func:`transposed_product`). GPT-2's ``Conv1D`` keeps its weight as ``(in, out)``: where the
  transposed product wins, that weight is re-laid column-major in place (same values and shape; saving
  writes contiguous tensors as before; the memory-mapped pages of the old layout are given back). Which row
  counts profit depends on the CPU, its thread count and the layer's shape, so it is measured on this
  machine, once per weight shape, with the weights out of cache, when the switch is turned on
  (:func:`transposed_rows`); the results are the same up to float rounding.
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
import math
import time
from collections.abc import Iterable, Mapping

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules import module as _module

from modelyard.layers import onednn
from modelyard.layers.activations import GELUTanh
from modelyard.layers.conv1d import Conv1D
from modelyard.layers.memory_release import file_mappings, release_file_pages, trim_heap
from modelyard.layers.tracing import tracing

# Row counts tried when measuring (batch x sequence of short inference calls).
_CANDIDATE_ROWS = (1, 2, 4, 8, 16, 32, 64)


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
def transposed_rows(out_features: int, in_features: int, threads: int, *, stored_transposed: bool = False
                    ) -> frozenset[int]:
    """The row counts for which :func:`transposed_product` over a row-major ``(out, in)`` weight beats the
    layer's own product on this machine for this shape: ``F.linear`` over the same weight for an
    ``nn.Linear``, or, with ``stored_transposed``, ``x @ W`` over a row-major ``(in, out)`` weight (GPT-2's
    ``Conv1D``). Timed with the weights out of cache (best of three, at least 5% faster), and everything in
    between the row counts that won. Empty without MKL."""
    if not torch.backends.mkl.is_available():
        return frozenset()
    faster = _measure_transposed(out_features, in_features, stored_transposed=stored_transposed)
    trim_heap()  # the weights measured were as large as the layer's: do not keep them resident
    return frozenset(range(min(faster), max(faster) + 1)) if faster else frozenset()


def transposed_product(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` for a 2-d ``x`` computed as ``(weight @ x.T).T``. One row is padded to
    two: MKL reads the weight with a single-row product (a matrix-vector product) at about half the memory
    bandwidth of a two-column matrix product, and the zero row costs next to nothing."""
    rows = x.shape[0]
    columns = torch.cat((x, x.new_zeros(1, x.shape[1]))).t() if rows == 1 else x.t()
    out = torch.mm(weight, columns) if bias is None else torch.addmm(bias[:, None], weight, columns)
    return out[:, :rows].t().contiguous()


def _timing_operands(
    out_features: int, in_features: int, row_counts: tuple[int, ...], *, cold_bytes: int, stored_transposed: bool
) -> tuple[list[torch.Tensor], torch.Tensor, list[torch.Tensor]]:
    """Seeded operands of a timing: enough weight copies (as the layer stores them) to fill ``cold_bytes``, so
    each product reads its weight from memory rather than cache, a bias, and one input per row count."""
    generator = torch.Generator().manual_seed(0)
    copies = min(_MAX_COPIES, max(1, -(-cold_bytes // (4 * out_features * in_features))))
    shape = (in_features, out_features) if stored_transposed else (out_features, in_features)
    weights = [torch.randn(*shape, generator=generator) for _ in range(copies)]
    bias = torch.randn(out_features, generator=generator)
    inputs = [torch.randn(rows, in_features, generator=generator) for rows in row_counts]
    return weights, bias, inputs


def _own_products(x: torch.Tensor, weights: list[torch.Tensor], bias: torch.Tensor, stored_transposed: bool) -> None:
    """The layer's own product of ``x`` with each weight copy (``addmm`` for a Conv1D-style (in, out) weight)."""
    for weight in weights:
        torch.addmm(bias, x, weight) if stored_transposed else F.linear(x, weight, bias)


def _measure_transposed(out_features: int, in_features: int, *, stored_transposed: bool) -> list[int]:
    weights, bias, inputs = _timing_operands(out_features, in_features, _CANDIDATE_ROWS, cold_bytes=_COLD_BYTES,
                                             stored_transposed=stored_transposed)

    def own(x: torch.Tensor) -> None:
        _own_products(x, weights, bias, stored_transposed)

    def transposed(x: torch.Tensor) -> None:
        for weight in weights:
            transposed_product(x, weight, bias)

    with torch.inference_mode():
        plain = [_best_time(lambda x=x: own(x), runs=3) for x in inputs]
        if stored_transposed:  # the transposed product reads the (out, in) weight row-major
            for i, weight in enumerate(weights):  # one at a time: at most one extra copy alive
                weights[i] = weight.t().contiguous()
                del weight
        return [rows for rows, x, standard in zip(_CANDIDATE_ROWS, inputs, plain, strict=True)
                if _best_time(lambda x=x: transposed(x), runs=3) < 0.95 * standard]


@functools.cache
def packing_wins(out_features: int, in_features: int, threads: int, *, stored_transposed: bool = False,
                 decodes: bool = True) -> bool:
    """Whether products over the weight packed for oneDNN (:mod:`modelyard.layers.onednn`) beat the best of
    the layer's own product and the transposed one on this machine for this shape, over the row counts the
    model computes: the geometric mean of the time ratios at least 5% lower. A model that ``decodes`` (one
    that generates, a step of one or a few rows per sequence) is timed at the rows of decoding steps and prompts
    (:data:`_PACKING_ROWS`) and may lose at most 5% at one row (decoding a single sequence, the commonest CPU
    case); a model that does not (an encoder: batch x sequence rows per call) only at prompt-sized row counts
    (:data:`_PROMPT_ROWS`). A packed layer computes every row count that way (keeping a second form would hold
    the weight twice). Timed with the weights out of cache; the vocabulary projection is timed on a slice of its
    rows (its products stream the weight, so the ratio holds) to keep the measurement's memory small."""
    if not onednn.available():
        return False
    rows = _PACKING_ROWS if decodes else _PROMPT_ROWS
    ratios = _measure_packing(out_features, in_features, stored_transposed=stored_transposed, rows=rows)
    trim_heap()
    faster = math.prod(ratios) ** (1 / len(ratios)) < 0.95
    # The one-row ratio sits close to 1 on some CPUs, so it only decides where single rows are computed at all:
    # an encoder judged on it would get packed or plain layers by the chance of one noisy timing.
    return (faster and ratios[0] < 1.05) if decodes else faster


def _measure_packing(out_features: int, in_features: int, *, stored_transposed: bool,
                     rows: tuple[int, ...]) -> list[float]:
    """Time ratios packed / best other form at each of the ``rows`` counts."""
    out_features = min(out_features, max(1, _PACKING_SLICE_BYTES // (4 * in_features)))
    weights, bias, inputs = _timing_operands(out_features, in_features, rows,
                                             cold_bytes=_PACKING_COLD_BYTES, stored_transposed=stored_transposed)

    def own(x: torch.Tensor) -> None:
        _own_products(x, weights, bias, stored_transposed)

    def transposed(x: torch.Tensor) -> None:
        for weight in weights:
            transposed_product(x, weight.t() if stored_transposed else weight, bias)

    with torch.inference_mode():
        best = [_best_time(lambda x=x: own(x), runs=3) for x in inputs]
        if stored_transposed:  # the transposed product reads the (out, in) weight row-major
            for i, weight in enumerate(weights):
                weights[i] = weight.t().contiguous().t()
                del weight
        best = [min(b, _best_time(lambda x=x: transposed(x), runs=3)) if x.shape[0] <= max(_CANDIDATE_ROWS) else b
                for x, b in zip(inputs, best, strict=True)]
        packed = []
        while weights:  # one at a time: at most one extra copy alive
            weight = weights.pop()
            packed.append(onednn.pack(weight.t() if stored_transposed else weight))
            del weight

        def through_packed(x: torch.Tensor) -> None:
            for p in packed:
                onednn.packed_product(x, p, bias)

        return [_best_time(lambda x=x: through_packed(x), runs=3) / b for x, b in zip(inputs, best, strict=True)]


def _best_time(call: object, runs: int = 5) -> float:
    call()  # type: ignore[operator]  # warm: first calls pay for allocation and packing
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        call()  # type: ignore[operator]  # the timed callable
        best = min(best, time.perf_counter() - start)
    return best


# Bytes of weights cycled through when timing, so that every call reads from memory, as in a model whose
# layers together outgrow the CPU's caches.
_COLD_BYTES = 64 * 2**20
# At most this many copies: the weights of small layers stay in cache in a real model too, and timing
# thousands of tiny products would measure Python's call overhead.
_MAX_COPIES = 64
# Row counts the packed form is compared at: decoding steps at batch 1, 2 and 8, prompts of 32 and 256 tokens.
_PACKING_ROWS = (1, 2, 8, 32, 256)
# Those of a model that does not decode step by step (an encoder): a batch of short texts and longer inputs.
_PROMPT_ROWS = (8, 32, 256)
# The packing measurement cycles through this many bytes of weights, each at most _PACKING_SLICE_BYTES: it holds
# them twice for a moment (plain and packed), next to the model it is about to speed up.
_PACKING_COLD_BYTES = 32 * 2**20
_PACKING_SLICE_BYTES = 16 * 2**20
# Bytes of a weight copied at a time when re-laying it (see _relayout).
_RELAYOUT_BLOCK_BYTES = 8 * 2**20


def _relayout(layer: nn.Module, *, column_major: bool) -> None:
    """Store ``layer``'s weight column- or row-major (same values, shape and Parameter object)."""
    weight = layer.weight
    if weight.device.type != "cpu" or weight.dtype != torch.float32 or weight.dim() != 2:
        return
    old = weight.data
    if not column_major:
        if not old.is_contiguous():
            weight.data = old.contiguous()
        return
    if old.t().is_contiguous():
        return
    # Copied a block of rows at a time, each block's pages of a memory-mapped checkpoint given back as soon as
    # it is copied: the process never holds the weight twice (memory_release.py says why they would stay).
    laid = torch.empty(old.shape[1], old.shape[0], dtype=old.dtype).t()
    mappings = file_mappings() if old.is_contiguous() else []
    rows = max(1, _RELAYOUT_BLOCK_BYTES // max(1, old.shape[1] * old.element_size()))
    for start in range(0, old.shape[0], rows):
        laid[start:start + rows].copy_(old[start:start + rows])
        if mappings:
            release_file_pages(old[start:start + rows], mappings)
    weight.data = laid


def _few_rows(x: torch.Tensor, rows_wanted: frozenset[int], weight: torch.Tensor, in_features: int) -> int:
    """The input's row count when the transposed product applies to it, else 0."""
    rows = x.numel() // max(x.shape[-1], 1) if x.dim() else 0
    if (
        rows not in rows_wanted
        or torch.is_grad_enabled()
        or tracing()
        or x.device.type != "cpu"
        or x.dtype != torch.float32
        or weight.dtype != torch.float32
        or x.shape[-1] != in_features
    ):
        return 0
    return rows


class FewRowLinear(nn.Linear):
    """An ``nn.Linear`` that computes few-row inputs as ``(W @ x.T).T`` where that was measured faster."""

    _rows: frozenset[int] = frozenset()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _few_rows(x, self._rows, self.weight, self.in_features) or not self.weight.is_contiguous():
            return super().forward(x)
        out = transposed_product(x.reshape(-1, x.shape[-1]), self.weight, self.bias)
        return out.view(*x.shape[:-1], self.out_features)


class FewRowConv1D(Conv1D):
    """A ``Conv1D`` (weight ``(in, out)``) whose weight is stored column-major, so that few-row inputs are
    computed as ``(W.T @ x.T).T`` over a row-major ``W.T``, where that was measured faster."""

    _rows: frozenset[int] = frozenset()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight_t = self.weight.t()
        if not _few_rows(x, self._rows, self.weight, self.nx) or not weight_t.is_contiguous():
            return super().forward(x)
        return transposed_product(x.reshape(-1, x.shape[-1]), weight_t, self.bias).view(*x.shape[:-1], self.nf)


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
        hooked = self._forward_hooks or self._forward_pre_hooks  # type: ignore[attr-defined]  # nn.Module's hook dicts, on the module this mixin is part of
        if owner is None or hooked or not may_overwrite(owner):
            return super().forward(x)  # type: ignore[misc]  # the plain class's forward, later in the MRO
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


def optimize(model: nn.Module, inplace_activations: Iterable[str], classes: Mapping[type, type] | None = None, *,
             decodes: bool = True) -> None:
    """Switch ``model``'s plain linear layers, the named activation attributes and the family's own
    ``classes`` (plain block class -> its fast subclass) to their fast forms; ``decodes``: whether the model
    generates step by step (which row counts decide packing, :func:`packing_wins`)."""
    names = tuple(inplace_activations)
    threads = torch.get_num_threads()
    for plain_block, fast_subclass in (classes or {}).items():
        _FAMILY_PLAIN[fast_subclass] = plain_block
    # Measured first, while the process holds the least: the timings allocate weights of their own.
    to_pack = [module for module in model.modules() if _packing_pays(module, threads, decodes)]
    # Largest first: packing holds a weight twice until its file pages are given back, so the largest (often the
    # vocabulary projection) is packed while nothing else is packed yet.
    for module in sorted(to_pack, key=lambda m: _weight(m).numel(), reverse=True):
        _pack(module, onednn.PackedLinear if type(module) is nn.Linear else onednn.PackedConv1D)
    for module in model.modules():
        fast_block = (classes or {}).get(type(module))
        if fast_block is not None:
            module.__class__ = fast_block
        if type(module) is nn.Linear:
            _switch(module, FewRowLinear, transposed_rows(module.out_features, module.in_features, threads))
        elif type(module) is Conv1D:
            rows = transposed_rows(module.nf, module.nx, threads, stored_transposed=True)
            if rows:  # re-laid only where the transposed product is used
                _switch(module, FewRowConv1D, rows)
                _relayout(module, column_major=True)
        for name in names:
            activation = module._modules.get(name)
            fast = _INPLACE.get(type(activation)) if activation is not None else None
            if activation is not None and fast is not None:
                activation.__class__ = fast
                object.__setattr__(activation, "_owner", module)
    trim_heap()  # what the measurements and the re-laid weights freed


def _weight(module: nn.Module) -> torch.Tensor:
    weight = module.weight
    if not isinstance(weight, torch.Tensor):  # nn.Module's __getattr__ is typed Tensor | Module
        raise TypeError(f"{type(module).__name__}.weight is not a tensor")
    return weight


def _packing_pays(module: nn.Module, threads: int, decodes: bool) -> bool:
    if type(module) is nn.Linear:
        return _packable(module.weight) and packing_wins(module.out_features, module.in_features, threads,
                                                         decodes=decodes)
    if type(module) is Conv1D:
        return _packable(module.weight) and packing_wins(module.nf, module.nx, threads, stored_transposed=True,
                                                         decodes=decodes)
    return False


def _packable(weight: torch.Tensor) -> bool:
    return weight.device.type == "cpu" and weight.dtype == torch.float32 and weight.dim() == 2


def _pack(module: nn.Module, packed_class: type[onednn.PackedLinear] | type[onednn.PackedConv1D]) -> None:
    module.__class__ = packed_class
    module.repack(release_pages=True)  # type: ignore[operator]  # the packed class's method, class just switched


def _switch(module: nn.Module, fast: type[nn.Module], rows: frozenset[int]) -> None:
    module.__class__ = fast
    module.__dict__["_rows"] = rows  # a plain attribute (nn.Module's __setattr__ is typed for tensors)


_PLAIN_PROJECTIONS: dict[type, type] = {FewRowLinear: nn.Linear, FewRowConv1D: Conv1D,
                                        onednn.PackedLinear: nn.Linear, onednn.PackedConv1D: Conv1D}


def restore(model: nn.Module) -> None:
    """Undo :func:`optimize`: every switched module gets its plain class back."""
    for module in model.modules():
        plain = _PLAIN_PROJECTIONS.get(type(module))
        if plain is not None:
            module.__class__ = plain
            module.__dict__.pop("_rows", None)
            for name in onednn.PACKED_ATTRIBUTES:
                module.__dict__.pop(name, None)
            if plain is Conv1D:
                _relayout(module, column_major=False)
        elif type(module) in _PLAIN:
            module.__class__ = _PLAIN[type(module)]
            module.__dict__.pop("_owner", None)
        elif type(module) in _FAMILY_PLAIN:
            module.__class__ = _FAMILY_PLAIN[type(module)]


def is_optimized(model: nn.Module) -> bool:
    return any(type(m) in _PLAIN_PROJECTIONS or type(m) in _PLAIN or type(m) in _FAMILY_PLAIN for m in model.modules())


__all__ = ["FewRowConv1D", "FewRowLinear", "is_optimized", "may_overwrite", "optimize", "packing_wins", "restore",
           "transposed_product", "transposed_rows"]
