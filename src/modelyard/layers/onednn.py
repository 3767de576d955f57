"""Projections over weights packed once for oneDNN, for CPU inference (see :mod:`modelyard.layers.inference`).

``F.linear`` hands a row-major weight to MKL's sgemm, which re-arranges (packs) blocks of it into the layout its
kernel reads on every call. oneDNN can do that once: ``torch.ops.mkldnn._reorder_linear_weight`` returns the
weight in the blocked layout of its inner-product kernel, and ``torch.ops.mkldnn._linear_pointwise`` multiplies
by it (the pair PyTorch's own compiler uses when it freezes a CPU model). Measured on a 2-core AVX-512 machine
with the weights out of cache, that is about twice as fast at 8 rows and 1.2-1.5x at 256.

A packed weight is a copy, held outside the module's parameters: the parameter stays what it was (state-dict,
saving, training and the plain forward read it), and the copy is made again whenever the parameter changed
since (a new tensor, or ``_version`` moved: ``load_state_dict``, an optimizer step, any in-place write). When
the parameter is a view of a memory-mapped checkpoint, its pages are given back once packed, so the process
holds the weight about once; a weight in anonymous memory (a model built in memory) is held twice.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from modelyard.layers.conv1d import Conv1D
from modelyard.layers.memory_release import file_mappings, release_file_pages
from modelyard.layers.tracing import tracing


@functools.cache
def available() -> bool:
    """Whether this PyTorch build has oneDNN and the two operators (x86-64 and aarch64 wheels do)."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        weight = torch.ones(2, 2)
        packed = torch.ops.mkldnn._reorder_linear_weight(weight, None)
        out = torch.ops.mkldnn._linear_pointwise(torch.ones(1, 2), packed, None, "none", [], "")
    except (AttributeError, RuntimeError, NotImplementedError):
        return False
    return bool(torch.equal(out, torch.full((1, 2), 2.0)))


def pack(weight: torch.Tensor) -> torch.Tensor:
    """``weight`` (``(out, in)``, float32, CPU) in oneDNN's blocked layout."""
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach().contiguous(), None)


def packed_product(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` over the packed weight; ``x`` of any leading shape."""
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), packed, bias, "none", [], "")


def _applies(x: torch.Tensor, weight: torch.Tensor, in_features: int) -> bool:
    return (
        not torch.is_grad_enabled()
        and not tracing()
        and x.device.type == "cpu"
        and weight.device.type == "cpu"
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and x.dim() >= 1
        and x.shape[-1] == in_features
        and x.numel() > 0
    )


# The attributes that hold a packed copy: copies, pickles and the plain class (restore) drop them.
PACKED_ATTRIBUTES = ("_packed", "_packed_from")


def _identity(weight: torch.Tensor) -> tuple[int, int, int]:
    # A replaced parameter is a new object; `.data = ...` moves the address; in-place writes bump _version.
    return id(weight), weight.data_ptr(), weight._version


class _Packed:
    """Mixin for a projection module whose weight is packed for oneDNN; see the module docstring."""

    weight: Any  # the parameter of the class this mixes into (Linear: Tensor, Conv1D: Parameter)
    # The packed copy, and the (object, storage address, version) of the parameter it was made from.
    _packed: torch.Tensor | None = None
    _packed_from: tuple[int, int, int] = (0, 0, -1)

    def _dense_out_in(self) -> torch.Tensor:
        """The weight as ``(out, in)``."""
        raise NotImplementedError

    def repack(self, *, release_pages: bool = False) -> torch.Tensor:
        """Pack the current weight; with ``release_pages``, give back its memory-mapped pages afterwards."""
        weight = self.weight
        packed = pack(self._dense_out_in())
        self.__dict__["_packed"] = packed  # plain attributes: not parameters, not in the state dict
        self.__dict__["_packed_from"] = _identity(weight)
        if release_pages and weight.is_contiguous():
            mappings = file_mappings()
            if mappings:
                release_file_pages(weight.detach(), mappings)
        return packed

    def _current_packed(self) -> torch.Tensor:
        weight = self.weight
        if self._packed is None or self._packed_from != _identity(weight):
            return self.repack()
        return self._packed

    def __getstate__(self) -> dict[str, Any]:
        # Copies and pickles carry the parameter only; they pack their own on first use.
        return {name: value for name, value in self.__dict__.items() if name not in PACKED_ATTRIBUTES}


class PackedLinear(_Packed, nn.Linear):
    """An ``nn.Linear`` computing through its weight packed for oneDNN outside autograd."""

    def _dense_out_in(self) -> torch.Tensor:
        return self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _applies(x, self.weight, self.in_features):
            return super().forward(x)
        return packed_product(x, self._current_packed(), self.bias)


class PackedConv1D(_Packed, Conv1D):
    """GPT-2's ``Conv1D`` (weight ``(in, out)``) computing through the transposed weight packed for oneDNN."""

    def _dense_out_in(self) -> torch.Tensor:
        return self.weight.t()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _applies(x, self.weight, self.nx):
            return super().forward(x)
        return packed_product(x, self._current_packed(), self.bias)


__all__ = ["PackedConv1D", "PackedLinear", "available", "pack", "packed_product", "PACKED_ATTRIBUTES"]
