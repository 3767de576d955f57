"""Reading ``.safetensors`` files: one validated header, one copy-on-write map, a view per tensor.

The format is an 8-byte little-endian header length, a JSON header (``{name: {"dtype", "shape",
"data_offsets": [begin, end]}, "__metadata__": {str: str}}``) and the tensor bytes, packed back to back.

Each tensor is a view of a private (copy-on-write) map of the file, made with ``torch.frombuffer``: nothing
is read until a weight is used, writing to a weight never reaches the file, and every tensor keeps its own
storage (as the ``safetensors`` package's tensors do), so saving them again needs no de-aliasing. The map
is unmapped once the file object and the last tensor viewing it are gone. The header is checked as strictly as the
``safetensors`` package checks it: known dtypes, byte lengths that match the shapes, tensors that tile the
data section exactly.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import struct
import sys
from pathlib import Path
from typing import Any

import torch

from modelyard.errors import WeightsError

_MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors package's own limit
_BIG_ENDIAN_HOST = sys.byteorder == "big"

# safetensors dtype name -> torch attribute name (looked up at run time: old torch builds lack some).
_DTYPE_NAMES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
    "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2", "F8_E8M0": "float8_e8m0fnu",
    "C64": "complex64", "C128": "complex128",
}


def torch_dtype(name: str, *, path: Path, key: str) -> torch.dtype:
    dtype = getattr(torch, _DTYPE_NAMES.get(name, ""), None)
    if not isinstance(dtype, torch.dtype):
        known = sorted(n for n, attr in _DTYPE_NAMES.items() if hasattr(torch, attr))
        raise WeightsError(
            f"{str(path)!r}: tensor {key!r} has dtype {name!r}, which this torch build cannot hold "
            f"(known: {', '.join(known)}). Upgrade torch or convert the checkpoint."
        )
    return dtype


class SafetensorsFile:
    """An opened ``.safetensors`` file: ``shapes`` and ``metadata`` at once, tensors on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        raw_header, self._map = _open(path)
        self.entries, self.metadata, self.data_start = _parse_header(path, raw_header, len(self._map))
        self.shapes = {key: entry[1] for key, entry in self.entries.items()}

    def tensor(self, key: str) -> torch.Tensor:
        """The tensor ``key`` as a view of the file (copied only when the file leaves it misaligned)."""
        dtype, shape, begin, end = self.entries[key]
        if begin == end:  # frombuffer refuses empty views
            return torch.empty(shape, dtype=dtype)
        offset = self.data_start + begin
        count = (end - begin) // dtype.itemsize
        flat = torch.frombuffer(self._map, dtype=dtype, count=count, offset=offset)
        if _BIG_ENDIAN_HOST and dtype.itemsize > 1:  # the file is little-endian: reverse each element's bytes
            flat = flat.view(torch.uint8).view(count, dtype.itemsize).flip(1).contiguous().view(dtype).view(count)
        elif offset % dtype.itemsize:  # kernels may assume element alignment; writers normally keep it
            flat = flat.clone()
        return flat.view(shape)


def _open(path: Path) -> tuple[bytes, mmap.mmap]:
    """The raw JSON header, read with ``read()``, and a private writable map of the same open file.

    The header is read rather than taken from the map: parsing it through the map made cold-cache loads
    of BERT-large ~1.7x slower here (the read's readahead appears to carry over to the map's faults). No POSIX_FADV_SEQUENTIAL either (the safetensors package sets it): a model
    visits its weights in module order, not the file's alphabetical order, and the doubled read-around
    window cost ~1.5x (benchmarks/bench_models.py, cold rows).
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise WeightsError(f"{str(path)!r} is not a safetensors file: it has only {size} bytes.")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > min(_MAX_HEADER_BYTES, size - 8):
                raise WeightsError(
                    f"{str(path)!r} is not a valid safetensors file: its header claims {header_len} bytes but "
                    f"the file has {size}. The file is truncated or not safetensors; download or save it again."
                )
            raw = handle.read(header_len)
            # ACCESS_COPY: private and writable, so torch gets a writable buffer that never writes back.
            return raw, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
    except OSError as err:
        raise WeightsError(f"Could not read {str(path)!r}: {err}") from err


def _parse_header(
    path: Path, raw: bytes, size: int
) -> tuple[dict[str, tuple[torch.dtype, tuple[int, ...], int, int]], dict[str, str], int]:
    """Parse and validate the header; returns (entries, metadata, offset of the data section)."""
    header_len = len(raw)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WeightsError(f"{str(path)!r} has a corrupt safetensors header (not JSON: {err}).") from err
    if not isinstance(header, dict):
        raise WeightsError(f"{str(path)!r} has a corrupt safetensors header: expected a JSON object.")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise WeightsError(f"{str(path)!r}: '__metadata__' must map strings to strings, got {metadata!r}.")
    data_start = 8 + header_len
    entries = {key: _entry(path, key, value) for key, value in header.items()}
    _check_tiling(path, entries, size - data_start)
    return entries, metadata, data_start


def _entry(path: Path, key: str, value: Any) -> tuple[torch.dtype, tuple[int, ...], int, int]:
    if not isinstance(value, dict) or not {"dtype", "shape", "data_offsets"} <= value.keys():
        raise WeightsError(f"{str(path)!r}: header entry {key!r} needs 'dtype', 'shape' and 'data_offsets'.")
    shape, offsets = value["shape"], value["data_offsets"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise WeightsError(f"{str(path)!r}: tensor {key!r} has an invalid shape {shape!r}.")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise WeightsError(f"{str(path)!r}: tensor {key!r} has invalid data_offsets {offsets!r}.")
    dtype = torch_dtype(str(value["dtype"]), path=path, key=key)
    expected = math.prod(shape) * dtype.itemsize
    if offsets[1] - offsets[0] != expected:
        raise WeightsError(
            f"{str(path)!r}: tensor {key!r} of shape {tuple(shape)} and dtype {value['dtype']} needs {expected} "
            f"bytes but its data_offsets {offsets} span {offsets[1] - offsets[0]}. The file is corrupt."
        )
    return dtype, tuple(shape), offsets[0], offsets[1]


def _check_tiling(path: Path, entries: dict[str, tuple[torch.dtype, tuple[int, ...], int, int]], data_len: int) -> None:
    """Tensors must cover the data section exactly, without gaps or overlaps (as the format requires)."""
    position = 0
    for key, (_, _, begin, end) in sorted(entries.items(), key=lambda item: (item[1][2], item[1][3])):
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else f"leaves a gap at byte {position}"
            raise WeightsError(f"{str(path)!r}: tensor {key!r} at bytes {begin}-{end} {problem}. The file is corrupt.")
        position = end
    if position != data_len:
        raise WeightsError(
            f"{str(path)!r}: the tensors cover {position} bytes of data but the file holds {data_len}. "
            "The file is truncated or has trailing bytes; download or save it again."
        )
