"""A ``device_map`` that splits a model: modules on several devices, on the CPU or on disk (offloading).

``from_pretrained(device_map={"encoder": "cuda:0", "decoder": "cpu", "lm_head": "disk"})`` loads each weight
straight onto its module's device. Weights of modules mapped to ``"disk"`` are never held in memory: they
are read again at each forward of their module, either from the checkpoint's own safetensors files (when the
checkpoint is safetensors) or from ``offload_folder``, where they are written in accelerate's offload format
(``index.json`` plus one raw ``<name>.dat`` file per tensor, as the reference writes them). accelerate's hooks
(``dispatch_model``) then move inputs and weights to the execution device around each module's forward, as
the reference does; a module mapped to ``"cpu"`` is offloaded the same way when the model runs on a GPU.

A map that puts the whole model on one device does not come here (see
:func:`~modelyard.weights.load_options.device_from_map`): it is a plain load onto that device.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from modelyard.errors import ConfigurationError, MissingDependencyError

logger = logging.getLogger(__name__)

DISK = "disk"
OFFLOAD_INDEX_NAME = "index.json"


def as_placement_device(value: Any) -> torch.device | str:
    """A ``device_map`` value as a device, or ``"disk"``."""
    if value == DISK:
        return DISK
    if isinstance(value, int) and not isinstance(value, bool):
        return torch.device("cuda", value)
    try:
        return torch.device(value)
    except (RuntimeError, TypeError) as err:
        raise ConfigurationError(
            f"device_map value {value!r} is not a device; use 'cpu', 'cuda', 'cuda:0', an int GPU index, 'disk' "
            "or 'auto'."
        ) from err


@dataclass
class SplitPlacement:
    """Where each module of a model goes: module name (``""`` is the whole model) -> device or ``"disk"``.

    A tensor belongs to the longest module name that prefixes it, as in accelerate.
    """

    modules: dict[str, torch.device | str]
    offload_folder: Path | None = None
    offload_buffers: bool = False
    # Filled while loading: tensor name -> where to read it at each forward (accelerate's offload index).
    offload_index: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Tensors of disk modules tied to a tensor kept in memory: served from memory, not read from disk.
    in_memory: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def from_map(
        cls, device_map: dict[str, Any], *, offload_folder: str | os.PathLike[str] | None, offload_buffers: bool
    ) -> SplitPlacement:
        modules = {str(name): as_placement_device(value) for name, value in device_map.items()}
        for name, device in modules.items():
            if isinstance(device, torch.device) and device.type == "cuda" and not torch.cuda.is_available():
                raise ConfigurationError(
                    f"device_map puts {name or 'the model'!r} on {device}, but no CUDA device is available here. "
                    "Map it to 'cpu' (or 'disk', with offload_folder=...) instead."
                )
        folder = Path(offload_folder) if offload_folder is not None else None
        return cls(modules=modules, offload_folder=folder, offload_buffers=offload_buffers)

    def check_covers(self, model: nn.Module) -> None:
        """Every parameter and buffer of ``model`` must have a place; a name that is no module is an error."""
        module_names = {name for name, _ in model.named_modules()}
        unknown = sorted(name for name in self.modules if name and name not in module_names)
        if unknown:
            raise ConfigurationError(
                f"device_map names {unknown}, which are not modules of {type(model).__name__}. Use module names "
                f"from model.named_modules(), e.g. {sorted(n for n in module_names if n and '.' not in n)[:8]}."
            )
        unplaced = [key for key in model.state_dict() if self.module_of(key) is None]
        if unplaced:
            raise ConfigurationError(
                f"device_map gives no device for {len(unplaced)} weights of {type(model).__name__} "
                f"({', '.join(unplaced[:6])}). Add their modules to the map, or map '' to a default device."
            )

    def module_of(self, key: str) -> str | None:
        """The map entry that places tensor ``key``: the longest module name prefixing it."""
        best: str | None = None
        for name in self.modules:
            if name == "" or key == name or key.startswith(name + "."):
                if best is None or len(name) > len(best):
                    best = name
        return best

    def device_of(self, key: str) -> torch.device | str:
        module = self.module_of(key)
        assert module is not None  # check_covers ran first
        return self.modules[module]

    @property
    def has_disk(self) -> bool:
        return DISK in self.modules.values()

    @property
    def main_device(self) -> torch.device:
        """Where the model runs: the first accelerator in the map, else the CPU (accelerate's rule)."""
        for device in self.modules.values():
            if isinstance(device, torch.device) and device.type != "cpu":
                return device
        return torch.device("cpu")

    def load_device(self, key: str, *, is_buffer: bool) -> torch.device | None:
        """Where to read tensor ``key`` to; ``None``: it stays on disk (offloaded)."""
        device = self.device_of(key)
        if device == DISK:
            return None if (self.offload_buffers or not is_buffer) else self.main_device
        assert isinstance(device, torch.device)
        return device

    # ---------------------------------------------------------------- the offload index
    def offload_from_safetensors(self, key: str, *, file: Path, name_in_file: str, dtype: torch.dtype) -> None:
        """Read ``key`` from the checkpoint file itself at each forward (nothing is copied)."""
        self.offload_index[key] = {
            "safetensors_file": str(file), "weight_name": name_in_file, "dtype": str(dtype).removeprefix("torch."),
        }

    def offload_to_folder(self, key: str, tensor: torch.Tensor) -> None:
        """Write ``tensor`` to ``offload_folder/<key>.dat`` (raw, memory-mappable) and index it."""
        folder = self.require_folder(f"the weight {key!r}")
        folder.mkdir(parents=True, exist_ok=True)
        dtype_name = str(tensor.dtype).removeprefix("torch.")
        data = tensor.detach().to("cpu").contiguous()
        if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: the bits are kept as int16
            data = data.view(torch.int16)
        elif dtype_name.startswith("float8_"):  # nor float8: the bits are kept as int8
            data = data.view(torch.int8)
        array = data.numpy()
        if array.ndim == 0:  # a memory map needs at least one dimension
            array = array[None]
        target = np.memmap(folder / f"{key}.dat", dtype=array.dtype, mode="w+", shape=array.shape)
        target[:] = array[:]
        target.flush()
        del target
        stored = dtype_name if dtype_name == "bfloat16" or dtype_name.startswith("float8_") else str(array.dtype)
        self.offload_index[key] = {"dtype": stored, "shape": list(tensor.shape)}

    def read_offloaded(self, entry: dict[str, Any]) -> torch.Tensor:
        """The tensor an offload-index entry points to (a checkpoint's safetensors entry or a ``.dat`` file)."""
        if "safetensors_file" in entry:
            from safetensors import safe_open

            with safe_open(entry["safetensors_file"], framework="pt") as handle:
                return handle.get_tensor(entry["weight_name"]).to(getattr(torch, entry["dtype"]))
        key = next(k for k, v in self.offload_index.items() if v is entry)
        stored = "int16" if entry["dtype"] == "bfloat16" else "int8" if entry["dtype"].startswith("float8_") else entry["dtype"]
        shape = tuple(entry["shape"]) or (1,)
        array = np.memmap(self.require_folder(key) / f"{key}.dat", dtype=stored, mode="r", shape=shape)
        tensor = torch.from_numpy(np.array(array))
        if stored != entry["dtype"]:
            tensor = tensor.view(getattr(torch, entry["dtype"]))
        return tensor.reshape(entry["shape"])

    def require_folder(self, what: str) -> Path:
        if self.offload_folder is None:
            raise ConfigurationError(
                f"The device_map offloads {what} to the disk, which needs a folder to write them to: pass "
                "offload_folder='<a folder>' to from_pretrained (a safetensors checkpoint's own weights are read "
                "from its files and need none)."
            )
        return self.offload_folder

    def save_folder_index(self) -> None:
        """Write ``index.json`` for the tensors written to ``offload_folder`` (merged with an existing one)."""
        written = {k: v for k, v in self.offload_index.items() if "safetensors_file" not in v}
        if not written:
            return
        path = self.require_folder("weights") / OFFLOAD_INDEX_NAME
        index = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        index.update(written)
        path.write_text(json.dumps(index, indent=2), encoding="utf-8")

    # ---------------------------------------------------------------- dispatch
    def accelerate_map(self) -> dict[str, Any]:
        """The map in accelerate's terms: ``"cpu"``, ``"disk"`` or a torch device."""
        return {
            name: device if not isinstance(device, torch.device) else ("cpu" if device.type == "cpu" else device)
            for name, device in self.modules.items()
        }

    def dispatch(self, model: nn.Module) -> None:
        """Attach accelerate's hooks: each forward of an offloaded module reads its weights, then drops them."""
        try:
            from accelerate import dispatch_model
        except ImportError as err:
            raise MissingDependencyError(
                "A device_map that splits the model or offloads it needs accelerate: pip install 'accelerate>=1.0' "
                "(or modelyard[train])."
            ) from err
        self.save_folder_index()
        index = self.offload_index or None
        in_memory: dict[str, torch.Tensor] | None = None
        if self.in_memory:
            in_memory = dict(self.in_memory)
            if self.main_device.type != "cpu":  # accelerate serves the "cpu" modules from the same dict then
                in_memory.update(
                    (k, t) for k, t in model.state_dict().items() if self.device_of(k) == torch.device("cpu")
                )
        # Each offloaded module of the map is loaded whole at its forward (accelerate's "preload"): a forward may
        # read a child's weight without calling the child (an embedding table sliced, a fused projection).
        offloaded = ("disk",) if self.main_device.type == "cpu" else ("disk", "cpu")
        blocks = sorted({type(model.get_submodule(name)).__name__ for name, device in self.accelerate_map().items()
                         if device in offloaded})
        dispatch_model(
            model,
            device_map=self.accelerate_map(),
            main_device=self.main_device if self.main_device.type != "cpu" else None,
            state_dict=in_memory,
            preload_module_classes=blocks,
            offload_dir=str(self.offload_folder) if self.offload_folder is not None else None,
            offload_index=index,
            offload_buffers=self.offload_buffers,
            skip_keys=getattr(model, "_skip_keys_device_placement", None),
        )


def offloaded_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model.state_dict()`` with each offloaded tensor (meta in the model) read from where it is kept: the
    weights map of the accelerate hook on its module or on the nearest enclosing block."""
    state = model.state_dict()
    if not any(t.device.type == "meta" for t in state.values()):
        return state
    modules = dict(model.named_modules())
    for key, tensor in state.items():
        if tensor.device.type != "meta":
            continue
        owner = key.rpartition(".")[0]
        while True:
            weights = getattr(getattr(modules.get(owner), "_hf_hook", None), "weights_map", None)
            if weights is not None:
                state[key] = weights[key[len(owner) + 1:] if owner else key].to("cpu")
                break
            if not owner:
                break  # not offloaded: the caller reports the meta tensor
            owner = owner.rpartition(".")[0]
    return state
