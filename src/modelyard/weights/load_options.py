"""How a model is loaded: :class:`LoadOptions`, and the reference's model-loading flags modelyard meets.

``LoadOptions`` is the single declaration of the keywords ``PreTrainedModel.from_pretrained`` takes about the
load itself (where the files come from is :class:`~modelyard.options.HubOptions`; every other keyword
overrides a config attribute or goes to the model's ``__init__``).

Code written for the reference passes more flags, and so do the reference's own Auto classes when they load
a modelyard-based class shared as custom code. Each is either taken and ignored (with the reason here), or
refused with what to do instead: none is silently half-honoured.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from typing import Any

import torch

from modelyard.errors import ConfigurationError, UnexpectedArgumentError
from modelyard.options import IGNORED_FLAGS
from modelyard.weights.placement import DISK, SplitPlacement, as_placement_device

logger = logging.getLogger(__name__)

# Taken and ignored where a model is loaded (name -> why ignoring it is right; one table with the reference's
# general private flags, _from_auto and the like, which modelyard.options.HubOptions.take drops for every kind).
IGNORED: dict[str, str] = {name: flag.why for name, flag in IGNORED_FLAGS.items() if flag.models_only}

# Refused, with the way forward.
UNSUPPORTED: dict[str, str] = {
    "quantization_config": "quantised loading is not supported; load in a float dtype (dtype='bfloat16')",
    "load_in_8bit": "8-bit loading is not supported; load in a float dtype (dtype='bfloat16')",
    "load_in_4bit": "4-bit loading is not supported; load in a float dtype (dtype='bfloat16')",
    "gguf_file": "GGUF files are not supported; load a safetensors checkpoint",
    "tp_plan": "tensor parallelism is not supported; load on one device (device= or device_map=)",
    "max_memory": "memory budgets per device are not supported; give device_map an explicit map of modules",
}

ATTENTION_IMPLEMENTATIONS = ("eager", "sdpa")


@dataclass(frozen=True)
class LoadOptions:
    """How ``PreTrainedModel.from_pretrained`` loads the weights.

    Attributes:
        config: a config to use instead of the saved one.
        dtype: ``None`` loads in float32, ``"auto"`` keeps the checkpoint's dtype, or a dtype / its name.
        torch_dtype: the reference's older name for ``dtype``.
        device: the device to load onto (default: CPU).
        device_map: one device as a map (``"cpu"``, ``"cuda:1"``, ``{"": 0}``, ``"auto"``: the first GPU if any),
            or modules on several devices and on ``"disk"`` (``{"encoder": 0, "lm_head": "disk"}``, see
            :mod:`~modelyard.weights.placement`).
        offload_folder: where weights of modules mapped to ``"disk"`` are written when they cannot be read from
            the checkpoint's own safetensors files.
        offload_buffers: offload the buffers of ``"disk"`` modules too (by default they stay in memory).
        attn_implementation: ``"sdpa"`` (default) or ``"eager"``.
        torchscript: return tuples and untie shared weights, for ``torch.jit``.
        ignore_mismatched_sizes: re-initialise weights whose shape differs instead of failing.
        output_loading_info: also return the :class:`~modelyard.weights.report.LoadReport`.
        use_safetensors: ``True`` refuses pickle files, ``False`` reads only them (default: safetensors first).
        variant: read ``model.<variant>.safetensors`` (e.g. ``"fp16"``).
        state_dict: weights to use instead of the files' (the config still comes from the location).
    """

    config: Any = None
    dtype: Any = None
    torch_dtype: Any = None
    device: Any = None
    device_map: Any = None
    offload_folder: str | os.PathLike[str] | None = None
    offload_buffers: bool = False
    attn_implementation: str | None = None
    torchscript: bool = False
    ignore_mismatched_sizes: bool = False
    output_loading_info: bool = False
    use_safetensors: bool | None = None
    variant: str | None = None
    state_dict: Any = None

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))

    @classmethod
    def take(cls, kwargs: dict[str, Any], *, where: str) -> LoadOptions:
        """Remove this class's fields, and the reference's model flags (ignored or refused), from ``kwargs``."""
        take_reference_options(where, kwargs)
        options = cls(**{name: kwargs.pop(name) for name in cls.field_names() & set(kwargs)})
        check_attn_implementation(options.attn_implementation)
        return options

    @classmethod
    def accepted_names(cls) -> frozenset[str]:
        """The load options plus the reference's model flags this module takes."""
        return cls.field_names() | frozenset(IGNORED) | frozenset(UNSUPPORTED) | {"adapter_kwargs"}

    def target_device(self) -> torch.device | None:
        return device_from_map(self.device_map, self.device)

    def split_placement(self) -> SplitPlacement | None:
        """The placement of a ``device_map`` that splits the model (several devices, or ``"disk"``), else ``None``."""
        if not is_split_map(self.device_map):
            return None
        if self.device is not None:
            raise ConfigurationError(
                f"Pass either device={self.device!r} or device_map={self.device_map!r}, not both: device_map already "
                "places every module."
            )
        device_map = {"": DISK} if self.device_map == DISK else self.device_map
        return SplitPlacement.from_map(
            device_map, offload_folder=self.offload_folder, offload_buffers=self.offload_buffers
        )


def take_reference_options(where: str, kwargs: dict[str, Any]) -> None:
    """Remove the reference-only options from ``kwargs`` (in place): ignored ones quietly, refused ones with
    an error. ``adapter_kwargs`` is ignored when empty (the reference's Auto classes always pass it)."""
    for name in [k for k in kwargs if k in IGNORED]:
        logger.debug("%s: ignoring %s=%r (%s)", where, name, kwargs[name], IGNORED[name])
        del kwargs[name]
    adapter = kwargs.pop("adapter_kwargs", None)
    if adapter:
        raise UnexpectedArgumentError(
            f"{where} got adapter_kwargs={adapter!r}: loading adapters (PEFT) is not supported by modelyard. "
            "Merge the adapter into the weights with peft and save the merged model, then load that."
        )
    for name in kwargs:
        if name in UNSUPPORTED and kwargs[name] not in (None, False):
            raise UnexpectedArgumentError(f"{where} got {name}={kwargs[name]!r}: {UNSUPPORTED[name]}.")
    for name in [k for k in kwargs if k in UNSUPPORTED]:
        del kwargs[name]  # given as None / False: the default, nothing to refuse


def is_split_map(device_map: Any) -> bool:
    """Whether ``device_map`` places modules on more than one device, or any on disk."""
    if isinstance(device_map, str) and device_map == DISK:
        return True
    if not isinstance(device_map, dict) or not device_map:
        return False
    targets = {str(as_placement_device(v)) for v in device_map.values()}
    return len(targets) > 1 or DISK in targets


def device_from_map(device_map: Any, device: str | torch.device | None) -> torch.device | None:
    """The one device a ``device_map`` names, or ``device`` when no map is given.

    Accepted: a device (``"cpu"``, ``"cuda:1"``, ``torch.device``, an int GPU index), ``{"": device}``, a
    dict that puts every module on the same device, and ``"auto"`` / ``"balanced"`` / ``"sequential"``,
    which mean the first GPU when there is one, else the CPU. A map that splits the model is a
    :class:`~modelyard.weights.placement.SplitPlacement` (see ``LoadOptions.split_placement``).
    """
    if device_map is None:
        return torch.device(device) if device is not None else None
    if device is not None:
        raise ConfigurationError(
            f"Pass either device={device!r} or device_map={device_map!r}, not both: they say the same thing."
        )
    if isinstance(device_map, str) and device_map in ("auto", "balanced", "balanced_low_0", "sequential"):
        return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    if isinstance(device_map, dict):
        targets = {str(_as_device(v)) for v in device_map.values()}
        if len(targets) == 1:
            return _as_device(next(iter(device_map.values())))
        raise ConfigurationError(
            f"device_map places parts of the model on several devices ({sorted(targets)}): that is a split "
            "placement, loaded by LoadOptions.split_placement, not one device."
        )
    return _as_device(device_map)


def _as_device(value: Any) -> torch.device:
    device = as_placement_device(value)
    if not isinstance(device, torch.device):  # maps with "disk" are split placements, never one device
        raise ConfigurationError(f"device_map value {value!r} is not one device; a map with 'disk' is a split placement.")
    return device


def check_attn_implementation(value: str | None) -> str | None:
    if value is None or value in ATTENTION_IMPLEMENTATIONS:
        return value
    raise ConfigurationError(
        f"attn_implementation={value!r} is not available; use one of {list(ATTENTION_IMPLEMENTATIONS)}. "
        "'sdpa' (the default) already picks flash or memory-efficient kernels where the device has them."
    )
