"""Tensors that share memory: which ones, and whether they overlap.

A state dict of a model with tied weights holds one tensor under several names. Saving, resizing and the
checks around tying need to know which names alias the same memory: :func:`storage_id` names a tensor's
storage, :func:`split_disjoint` tells names that merely share a storage (slices that never overlap, which can
be saved as separate tensors) from those that overlap, and :func:`split_identical` finds names that are the very
same tensor (one can be dropped and re-tied on load).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

import torch
from torch import nn


def storage_id(tensor: torch.Tensor) -> tuple[torch.device, int, int]:
    """``(device, storage address, storage size in bytes)``: equal for tensors that view the same storage.

    Constant for the storage's lifetime; two storages whose lifetimes do not overlap may get the same id.
    Meta tensors have no memory, so they all share one id per device.
    """
    if tensor.device.type == "meta":
        return tensor.device, 0, 0
    storage = tensor.untyped_storage()
    return tensor.device, storage.data_ptr(), storage.nbytes()


def _memory_span(tensor: torch.Tensor) -> tuple[int, int]:
    """First and one-past-last byte addresses the tensor's elements can reach."""
    start = tensor.data_ptr()
    if tensor.numel() == 0:
        return start, start
    reach = sum((size - 1) * stride for size, stride in zip(tensor.shape, tensor.stride(), strict=True))
    return start, start + (reach + 1) * tensor.element_size()


def split_disjoint(
    groups: Iterable[set[str]], state_dict: Mapping[str, torch.Tensor]
) -> tuple[list[set[str]], list[str]]:
    """Split groups of names that share a storage into ``(overlapping groups, names that overlap nothing)``.

    Within a group, tensors are ordered by address; a tensor that starts after the previous one ends begins a
    new run. Runs of one name are disjoint (safe to save on their own); longer runs stay grouped.
    """
    runs: list[set[str]] = []
    for group in groups:
        if len(group) < 2:
            runs.append(set(group))
            continue
        spans = sorted((*_memory_span(state_dict[name]), name) for name in group)
        _, reached, first = spans[0]
        runs.append({first})
        for start, stop, name in spans[1:]:
            if start >= reached:
                runs.append({name})
            else:
                runs[-1].add(name)
            reached = max(reached, stop)
    overlapping = [run for run in runs if len(run) > 1]
    disjoint = [next(iter(run)) for run in runs if len(run) == 1]
    return overlapping, disjoint


def split_identical(
    groups: Iterable[set[str]], state_dict: Mapping[str, torch.Tensor]
) -> tuple[list[set[str]], list[set[str]]]:
    """Split groups of names that share a storage into ``(groups of different views, groups of one tensor)``:
    a group is identical when every name covers the same memory span on the same device. Single names are dropped."""
    different: list[set[str]] = []
    identical: list[set[str]] = []
    for group in groups:
        if len(group) < 2:
            continue
        spans: dict[tuple[torch.device, int, int], set[str]] = defaultdict(set)
        for name in group:
            tensor = state_dict[name]
            start, stop = _memory_span(tensor)
            spans[(tensor.device, start, stop)].add(name)
        (identical if len(spans) == 1 else different).append(group)
    return different, identical


def tied_weight_keys(module: nn.Module, prefix: str = "") -> list[str]:
    """The declared tied parameter names of ``module`` and its submodules (their ``_tied_weights_keys`` and
    ``_dynamic_tied_weights_keys``), each with its full dotted path."""
    keys: list[str] = []
    for attribute in ("_tied_weights_keys", "_dynamic_tied_weights_keys"):
        declared = getattr(module, attribute, None)
        if declared is not None:
            keys.extend(f"{prefix}.{key}" if prefix else key for key in declared)
    for name, child in module.named_children():
        keys.extend(tied_weight_keys(child, f"{prefix}.{name}" if prefix else name))
    return keys
