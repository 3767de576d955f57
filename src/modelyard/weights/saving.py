"""Writing state dicts: one ``model.safetensors``, or shards + an index with a sha256 per shard.

Output is deterministic: the same weights give the same bytes (safetensors orders tensors itself; the
metadata and index are written with sorted keys).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from modelyard.atomic_write import replacing, write_bytes
from modelyard.errors import WeightsError
from modelyard.weights.checkpoint import (
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    WEIGHTS_INDEX_NAME,
    WEIGHTS_NAME,
    sha256_of_file,
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


def _shard(state_dict: dict[str, torch.Tensor], max_bytes: int) -> list[dict[str, torch.Tensor]]:
    shards: list[dict[str, torch.Tensor]] = [{}]
    current = 0
    for key in sorted(state_dict):  # sorted: deterministic shard contents
        size = _tensor_bytes(state_dict[key])
        if shards[-1] and current + size > max_bytes:
            shards.append({})
            current = 0
        shards[-1][key] = state_dict[key]
        current += size
    return shards


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
) -> list[Path]:
    """Write ``state_dict`` into ``directory``; returns the files written."""
    max_bytes = parse_size(max_shard_size)
    tensors = {k: v.detach().contiguous() for k, v in state_dict.items()}
    shards = _shard(tensors, max_bytes)
    single_name = SAFE_WEIGHTS_NAME if safe_serialization else WEIGHTS_NAME
    stem, ext = single_name.rsplit(".", 1)
    if len(shards) == 1:
        names = [single_name]
    else:
        names = [f"{stem}-{i + 1:05d}-of-{len(shards):05d}.{ext}" for i in range(len(shards))]
    index_name = SAFE_WEIGHTS_INDEX_NAME if safe_serialization else WEIGHTS_INDEX_NAME
    _remove_stale(directory, set(names) | ({index_name} if len(shards) > 1 else set()))
    written = []
    hashes = {}
    for name, shard in zip(names, shards):
        path = directory / name
        with replacing(path) as temp:  # the model may be a view of the file it replaces (see atomic_write)
            if safe_serialization:
                from safetensors.torch import save_file

                save_file(shard, str(temp), metadata={"format": "pt"})
            else:
                torch.save(shard, str(temp))
        written.append(path)
        if len(shards) > 1:
            hashes[name] = sha256_of_file(path)
    if len(shards) > 1:
        index = {
            "metadata": {"total_size": sum(_tensor_bytes(t) for t in tensors.values()), "shard_sha256": hashes},
            "weight_map": {key: name for name, shard in zip(names, shards) for key in shard},
        }
        index_path = directory / index_name
        write_bytes(index_path, (json.dumps(index, indent=2, sort_keys=True) + "\n").encode("utf-8"))
        written.append(index_path)
    return written
