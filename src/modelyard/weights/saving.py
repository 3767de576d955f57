"""Writing state dicts: one ``model.safetensors``, or shards + an index with a sha256 per shard.

Output is deterministic: the same weights give the same bytes (safetensors orders tensors itself; the
metadata and index are written with sorted keys). Shards follow the state dict's order, as the reference's do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from tqdm.auto import tqdm

from modelyard.atomic_write import replacing, write_bytes
from modelyard.errors import WeightsError
from modelyard.logging import progress_bars_enabled
from modelyard.weights.checkpoint import (
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    WEIGHTS_INDEX_NAME,
    WEIGHTS_NAME,
    sha256_of_file,
    with_variant,
)

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(size: int | str) -> int:
    """``"5GB"`` -> 5_000_000_000; ints pass through (bytes)."""
    if isinstance(size, int) and not isinstance(size, bool):
        if size <= 0:
            raise WeightsError(f"max_shard_size must be positive, got {size}.")
        return size
    match = _SIZE_RE.match(str(size))
    if not match:
        raise WeightsError(f"max_shard_size {size!r} is not a size; use bytes (int) or a string like '500MB' or '2GiB'.")
    value, unit = float(match.group(1)), (match.group(2) or "").upper()
    return int(value * _UNITS[unit])


def _tensor_bytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def _shard(state_dict: dict[str, torch.Tensor], max_bytes: int, pattern: str) -> dict[str, list[str]]:
    """File name -> tensor names, planned as the reference library plans them (huggingface_hub's splitter):
    tensors in state-dict order, a new shard when the next tensor would overflow, an oversized tensor alone.
    The same model therefore gives the same files, shard for shard, in both libraries."""
    from huggingface_hub import split_torch_state_dict_into_shards

    split = split_torch_state_dict_into_shards(state_dict, filename_pattern=pattern, max_shard_size=max_bytes)
    return dict(split.filename_to_tensors)


def _remove_stale(directory: Path, keep: set[str]) -> None:
    """Drop weight files of an earlier save that this save does not rewrite (e.g. fewer shards now)."""
    pattern = re.compile(r"^(model|pytorch_model)(-\d{5}-of-\d{5})?\.(safetensors|bin)(\.index\.json)?$")
    for path in directory.iterdir():
        if path.is_file() and pattern.match(path.name) and path.name not in keep:
            path.unlink()


def save_state_dict(
    state_dict: dict[str, torch.Tensor],
    directory: Path,
    *,
    max_shard_size: int | str = "5GB",
    safe_serialization: bool = True,
    variant: str | None = None,
) -> list[Path]:
    """Write ``state_dict`` into ``directory``; returns the files written.

    ``variant`` (e.g. ``"fp16"``) names the files ``model.fp16.safetensors`` and so on, next to the default ones.
    """
    max_bytes = parse_size(max_shard_size)
    tensors = {k: v.detach().contiguous() for k, v in state_dict.items()}
    single_name = with_variant(SAFE_WEIGHTS_NAME if safe_serialization else WEIGHTS_NAME, variant)
    stem, ext = single_name.rsplit(".", 1)
    plan = _shard(tensors, max_bytes, f"{stem}{{suffix}}.{ext}")
    index_name = with_variant(SAFE_WEIGHTS_INDEX_NAME if safe_serialization else WEIGHTS_INDEX_NAME, variant)
    sharded = len(plan) > 1
    if variant is None:  # a variant save sits next to the default weights: it leaves them alone
        _remove_stale(directory, set(plan) | ({index_name} if sharded else set()))
    written = []
    hashes = {}
    shards = tqdm(plan.items(), desc="Saving checkpoint shards", unit="shard", disable=not sharded or not progress_bars_enabled())
    for name, keys in shards:
        path = directory / name
        shard = {key: tensors[key] for key in keys}
        with replacing(path) as temp:  # the model may be a view of the file it replaces (see atomic_write)
            if safe_serialization:
                from safetensors.torch import save_file

                save_file(shard, str(temp), metadata={"format": "pt"})
            else:
                torch.save(shard, str(temp))
        written.append(path)
        if sharded:
            hashes[name] = sha256_of_file(path)
    if sharded:
        index = {
            "metadata": {"total_size": sum(_tensor_bytes(t) for t in tensors.values()), "shard_sha256": hashes},
            "weight_map": {key: name for name, keys in plan.items() for key in keys},
        }
        index_path = directory / index_name
        write_bytes(index_path, (json.dumps(index, indent=2, sort_keys=True) + "\n").encode("utf-8"))
        written.append(index_path)
    return written
