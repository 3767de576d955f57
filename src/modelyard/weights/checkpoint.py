"""Reading checkpoints lazily: key names and shapes first, tensors one at a time.

A :class:`Checkpoint` lists every tensor name with its shape and file without reading any data, so the
loader can plan (rename keys, detect prefix and shape mismatches) before it reads a single weight; it
then reads each tensor once, straight into the model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from modelyard.errors import IntegrityError, MissingFileError, UnsafeFileError, WeightsError
from modelyard.hub.files import FileSource
from modelyard.logging import progress_bars_enabled

logger = logging.getLogger(__name__)

SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
WEIGHTS_NAME = "pytorch_model.bin"
WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"


@dataclass
class Checkpoint:
    """Tensor names -> (file, shape), over one or more files of one format."""

    files: list[Path]
    format: str  # "safetensors" or "pickle"
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    key_file: dict[str, Path] = field(default_factory=dict)
    dtypes: dict[str, torch.dtype] = field(default_factory=dict)
    _pickled: dict[Path, dict[str, torch.Tensor]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_files(cls, files: list[Path], fmt: str) -> Checkpoint:
        ckpt = cls(files=files, format=fmt)
        for path in files:
            if fmt == "safetensors":
                from safetensors import safe_open

                try:
                    with safe_open(str(path), framework="pt") as handle:
                        for key in handle.keys():
                            tensor_slice = handle.get_slice(key)
                            ckpt.shapes[key] = tuple(tensor_slice.get_shape())
                            ckpt.key_file[key] = path
                            dtype = _SAFETENSORS_DTYPES.get(tensor_slice.get_dtype())
                            if dtype is not None:
                                ckpt.dtypes[key] = dtype
                except Exception as err:  # safetensors raises its own error types
                    raise WeightsError(f"{str(path)!r} is not a readable safetensors file: {err}") from err
            else:
                ckpt._hold(path, _load_pickle_weights(path))
        return ckpt

    @classmethod
    def from_state_dict(cls, state_dict: dict[str, torch.Tensor]) -> Checkpoint:
        ckpt = cls(files=[], format="memory")
        ckpt._hold(Path("<state_dict>"), state_dict)
        return ckpt

    def _hold(self, path: Path, state: dict[str, torch.Tensor]) -> None:
        """Keep the tensors of ``state`` (read whole from ``path``, or given in memory) and note each key's
        shape, dtype and source."""
        self._pickled[path] = state
        for key, tensor in state.items():
            self.shapes[key] = tuple(tensor.shape)
            self.key_file[key] = path
            self.dtypes[key] = tensor.dtype

    def keys(self) -> list[str]:
        return list(self.shapes)

    def read(self, keys: list[str], *, device: str | torch.device = "cpu") -> Iterator[tuple[str, torch.Tensor]]:
        """Yield ``(key, tensor)`` for ``keys``, reading each file once, in file order."""
        by_file: dict[Path, list[str]] = {}
        for key in keys:
            by_file.setdefault(self.key_file[key], []).append(key)
        files = tqdm(by_file.items(), desc="Loading checkpoint shards", unit="shard",
                     disable=len(by_file) < 2 or not progress_bars_enabled())
        for path, file_keys in files:
            if path in self._pickled:
                state = self._pickled[path]
                for key in file_keys:
                    yield key, state[key].to(device)
                continue
            from safetensors import safe_open

            with safe_open(str(path), framework="pt", device=str(device)) as handle:
                for key in file_keys:
                    yield key, handle.get_tensor(key)


def _load_pickle_weights(path: Path) -> dict[str, torch.Tensor]:
    """``torch.load`` restricted to tensors: a pickle that would run code is refused, never executed.

    Zip-format files (``torch.save`` since PyTorch 1.6) are memory-mapped; the older non-zip format cannot
    be, so it is read into memory, with the same ``weights_only`` restriction.
    """
    try:
        mmap = zipfile.is_zipfile(path)
        state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as err:
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            raise UnsafeFileError(
                f"{str(path)!r} is a pickle that holds more than tensors (it would import or call code when "
                "loaded), so modelyard refuses it. Convert it to safetensors with code you trust."
            ) from err
        raise WeightsError(f"Could not read {str(path)!r} as PyTorch weights: {err}") from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{str(path)!r} does not hold a flat state dict of tensors.")
    return state


def load_weights_file(
    path: str | Path, *, map_location: str | torch.device | None = "cpu"
) -> dict[str, torch.Tensor]:
    """Every tensor of one weights file, by name: a ``.safetensors`` file, or a PyTorch pickle read with
    ``weights_only=True`` (a pickle that would import or call code is refused, never executed).

    ``map_location="meta"`` gives empty tensors of the right shapes and dtypes without reading any data
    (safetensors only reads the header; a pickle is read, then its tensors replaced).
    """
    path = Path(path)
    device = torch.device(map_location) if map_location is not None else torch.device("cpu")
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                metadata = handle.metadata()
                if metadata is not None and metadata.get("format") not in (None, "pt", "tf", "flax", "mlx"):
                    raise WeightsError(
                        f"{str(path)!r} says its tensors are in the {metadata.get('format')!r} format; modelyard reads "
                        "PyTorch safetensors files (metadata format 'pt'). Save it again with save_pretrained."
                    )
                if device.type == "meta":
                    return {key: _meta_like(handle.get_slice(key)) for key in handle.keys()}
                return {key: handle.get_tensor(key).to(device) for key in handle.keys()}
        except WeightsError:
            raise
        except Exception as err:  # safetensors raises its own error types
            raise WeightsError(f"{str(path)!r} is not a readable safetensors file: {err}") from err
    state = _load_pickle_weights(path)
    return {key: torch.empty_like(tensor, device="meta") if device.type == "meta" else tensor.to(device)
            for key, tensor in state.items()}


_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool, "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2,
}


def _meta_like(tensor_slice: Any) -> torch.Tensor:
    """An empty meta tensor shaped like a safetensors slice (``PySafeSlice``, untyped), reading no data."""
    dtype_name = tensor_slice.get_dtype()
    if dtype_name not in _SAFETENSORS_DTYPES:
        raise WeightsError(f"Cannot read a safetensors tensor of dtype {dtype_name!r}; known: {sorted(_SAFETENSORS_DTYPES)}.")
    return torch.empty(tensor_slice.get_shape(), dtype=_SAFETENSORS_DTYPES[dtype_name], device="meta")


def _read_index(path: Path) -> dict:
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise WeightsError(f"{str(path)!r} is not valid JSON: {err.msg} at line {err.lineno}.") from err
    if not isinstance(index, dict) or not isinstance(index.get("weight_map"), dict):
        raise WeightsError(f"{str(path)!r} has no 'weight_map' object; it is not a checkpoint index.")
    return index


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def with_variant(filename: str, variant: str | None) -> str:
    """``model.safetensors`` + ``fp16`` -> ``model.fp16.safetensors``; the index gets it before ``.json``."""
    if not variant:
        return filename
    stem, _, ext = filename.rpartition(".")
    return f"{stem}.{variant}.{ext}"


def _single_or_sharded(source: FileSource, single_name: str, index_name: str, kind: str) -> Checkpoint | None:
    """The checkpoint in one file ``single_name`` or, failing that, in the shards ``index_name`` lists."""
    single = source.get(single_name, required=False)
    if single is not None:
        return Checkpoint.from_files([single], kind)
    index_path = source.get(index_name, required=False)
    if index_path is not None:
        return Checkpoint.from_files(_shard_paths(source, index_path), kind)
    return None


def find_checkpoint(
    source: FileSource, *, use_safetensors: bool | None = None, variant: str | None = None
) -> Checkpoint:
    """Locate the weights of ``source``: safetensors first (single, then sharded), then ``.bin``.

    ``use_safetensors=True`` refuses to fall back to pickle files; ``False`` reads only pickle files.
    ``variant`` (e.g. ``"fp16"``) reads ``model.fp16.safetensors`` and its kin instead.
    """
    safe_single, safe_index = with_variant(SAFE_WEIGHTS_NAME, variant), with_variant(SAFE_WEIGHTS_INDEX_NAME, variant)
    bin_single, bin_index = with_variant(WEIGHTS_NAME, variant), with_variant(WEIGHTS_INDEX_NAME, variant)
    if use_safetensors is not False:
        found = _single_or_sharded(source, safe_single, safe_index, "safetensors")
        if found is not None:
            return found
        if use_safetensors:
            raise MissingFileError(
                f"No {safe_single} or {safe_index} in {source.name} and use_safetensors=True. "
                f"Files there: {source.list_files()}."
            )
    found = _single_or_sharded(source, bin_single, bin_index, "pickle")
    if found is not None:
        return found
    hint = (
        f" No files of variant {variant!r}: drop variant= to load the default weights."
        if variant
        else " To build a model with random weights from this config, use Model(config) or "
        "AutoModel.from_config(config)."
    )
    raise MissingFileError(
        f"No weights in {source.name}: expected {safe_single}, {safe_index}, {bin_single} "
        f"or {bin_index}; found {source.list_files() or 'no files'}.{hint}"
    )


def check_shard_name(name: object, index_name: str) -> str:
    """A ``weight_map`` value of the index ``index_name``: a relative file name inside the index's folder.

    An index is data written by whoever published the checkpoint; ``../../outside.safetensors``, an absolute
    path or a backslash path would make the loader read a file outside the checkpoint, so they are refused."""
    if not isinstance(name, str) or not name:
        raise WeightsError(f"{index_name!r} maps a tensor to {name!r}; each weight_map value must be a file name.")
    parts = name.split("/")
    if (
        name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise UnsafeFileError(
            f"{index_name!r} names the shard {name!r}, which is not a file inside the checkpoint's folder; "
            "modelyard reads shards only from the index's own folder. Fix the index's weight_map (plain file "
            "names such as 'model-00001-of-00002.safetensors')."
        )
    return name


def _shard_paths(source: FileSource, index_path: Path) -> list[Path]:
    index = _read_index(index_path)
    names = sorted({check_shard_name(name, index_path.name) for name in index["weight_map"].values()})
    expected_hashes = (index.get("metadata") or {}).get("shard_sha256") or {}
    paths = []
    for name in names:
        path = source.get(name)
        assert path is not None
        expected = expected_hashes.get(name)
        if expected is not None:
            actual = sha256_of_file(path)
            if actual != expected:
                raise IntegrityError(
                    f"Shard {name!r} of {source.name} is corrupt or was replaced: sha256 {actual} differs from "
                    f"{expected} recorded in {index_path.name}. Download or save the checkpoint again."
                )
        paths.append(path)
    return paths
