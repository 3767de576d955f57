"""Loading options of the reference library that modelyard takes without a model-loading setting of its own.

Code written for the reference passes them, and so do the reference's own Auto classes when they load a
modelyard-based class shared as custom code (``_from_auto=True``, ``_commit_hash=...``). Each option is
either taken and ignored (with the reason here), or refused with what to do instead: none is silently
half-honoured.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from modelyard.errors import ConfigurationError, UnexpectedArgumentError

logger = logging.getLogger(__name__)

# Taken and ignored; the value says why ignoring them is right.
IGNORED: dict[str, str] = {
    "_from_auto": "the reference's Auto classes mark their calls with it; loading is the same either way",
    "_from_pipeline": "the reference's pipelines mark their calls with it",
    "_commit_hash": "the file source already pins one commit for every file of the load",
    "trust_remote_code": "only the Auto classes run custom code; a concrete class is already chosen",
    "code_revision": "only the Auto classes fetch custom code",
    "low_cpu_mem_usage": "modelyard always loads without a second copy of the weights (meta-device build)",
    "resume_download": "interrupted downloads always resume",
    "mirror": "choose the hub with HF_ENDPOINT",
    "offload_state_dict": "weights are read one tensor at a time; there is nothing to offload",
    "use_kernels": "modelyard's layers are plain PyTorch",
    "adapter_name": "only meaningful with an adapter, and adapters are refused (see adapter_kwargs)",
}

# Refused, with the way forward.
UNSUPPORTED: dict[str, str] = {
    "quantization_config": "quantised loading is not supported; load in a float dtype (dtype='bfloat16')",
    "load_in_8bit": "8-bit loading is not supported; load in a float dtype (dtype='bfloat16')",
    "load_in_4bit": "4-bit loading is not supported; load in a float dtype (dtype='bfloat16')",
    "gguf_file": "GGUF files are not supported; load a safetensors checkpoint",
    "tp_plan": "tensor parallelism is not supported; load on one device (device= or device_map=)",
    "offload_folder": "disk offloading is not supported; load on one device (device= or device_map=)",
    "max_memory": "memory budgets per device are not supported; load on one device (device= or device_map=)",
}

ATTENTION_IMPLEMENTATIONS = ("eager", "sdpa")


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


def device_from_map(device_map: Any, device: str | torch.device | None) -> torch.device | None:
    """The one device a ``device_map`` names, or ``device`` when no map is given.

    Accepted: a device (``"cpu"``, ``"cuda:1"``, ``torch.device``, an int GPU index), ``{"": device}``, a
    dict that puts every module on the same device, and ``"auto"`` / ``"balanced"`` / ``"sequential"``,
    which mean the first GPU when there is one, else the CPU. Splitting a model across devices is refused.
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
            f"device_map places parts of the model on several devices ({sorted(targets)}); modelyard loads a "
            "model onto one device. Use device_map={'': 'cuda:0'} (or device=...), or shard the model yourself "
            "with accelerate after loading."
        )
    return _as_device(device_map)


def _as_device(value: Any) -> torch.device:
    if isinstance(value, int) and not isinstance(value, bool):
        return torch.device("cuda", value)
    if value in ("disk",):
        raise ConfigurationError("device_map entries on 'disk' (offloading) are not supported; load on one device.")
    try:
        return torch.device(value)
    except (RuntimeError, TypeError) as err:
        raise ConfigurationError(
            f"device_map value {value!r} is not a device; use 'cpu', 'cuda', 'cuda:0', an int GPU index or 'auto'."
        ) from err


def check_attn_implementation(value: str | None) -> str | None:
    if value is None or value in ATTENTION_IMPLEMENTATIONS:
        return value
    raise ConfigurationError(
        f"attn_implementation={value!r} is not available; use one of {list(ATTENTION_IMPLEMENTATIONS)}. "
        "'sdpa' (the default) already picks flash or memory-efficient kernels where the device has them."
    )
