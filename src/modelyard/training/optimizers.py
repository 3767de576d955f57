"""The optimizer ``TrainingArguments.optim`` names: which class, with which settings.

:func:`optimizer_cls_and_kwargs` answers "which class and keyword arguments" the way the reference's
``Trainer.get_optimizer_cls_and_kwargs`` does, so code that inspects or builds the optimizer itself gets the
same answer. torch's optimizers and our Adafactor are always there; the others live in optional packages
(bitsandbytes, apex, torchdistx, torch_xla, torch_npu), imported only when named: a missing one is a
:class:`~modelyard.training.errors.TrainerError` (a ``ValueError``, as the reference raises) naming the package
to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import torch

from modelyard.training.adafactor import Adafactor
from modelyard.training.choices import BNB_OPTIMIZERS, BUILT_OPTIMIZERS
from modelyard.training.errors import TrainerError

_BNB = "bitsandbytes"
_ELSEWHERE: dict[str, tuple[str, str, str]] = {  # name -> (module, class, how to install)
    "adamw_apex_fused": ("apex.optimizers", "FusedAdam", "apex (NVIDIA's, https://github.com/NVIDIA/apex)"),
    "adamw_anyprecision": ("torchdistx.optimizers", "AnyPrecisionAdamW", "torchdistx (https://github.com/pytorch/torchdistx)"),
    "adamw_torch_xla": ("torch_xla.amp.syncfree", "AdamW", "torch_xla (pip install torch_xla)"),
    "adamw_torch_npu_fused": ("torch_npu.optim", "NpuFusedAdamW", "torch_npu (pip install torch_npu)"),
}


def parse_optim_args(text: str | None) -> dict[str, Any]:
    """``"key=value,key=value"`` (the reference's ``optim_args``) -> typed values (numbers, booleans, None)."""
    settings: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise TrainerError(f"optim_args item {item!r} is not key=value; write e.g. 'momentum=0.9,nesterov=True'.")
        settings[key.strip()] = _value(raw.strip())
    return settings


def _value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def _import(module: str, name: str, optim: str, install: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise TrainerError(
            f"optim={optim!r} uses {module}.{name}, which cannot be imported ({err}); install {install}, or "
            "choose a torch optimizer such as optim='adamw_torch'."
        ) from err


def optimizer_cls_and_kwargs(
    args: Any, *, name: str | None = None
) -> tuple[Callable[..., torch.optim.Optimizer], dict[str, Any]]:
    """The optimizer class ``args.optim`` (or ``name``) names and its keyword arguments (``lr`` and the rest,
    without the parameters), as the reference's ``Trainer.get_optimizer_cls_and_kwargs``; ``optim_args`` fill
    in or override the settings the optimizer takes."""
    name = str(getattr(args.optim, "value", args.optim) if name is None else name)
    extra = parse_optim_args(getattr(args, "optim_args", None))
    kwargs: dict[str, Any] = {"lr": args.learning_rate}
    adam = {"betas": (args.adam_beta1, args.adam_beta2), "eps": args.adam_epsilon}
    cls: Any
    if name == "adafactor":  # the reference's Trainer: a fixed lr, no relative step or parameter scaling
        cls, kwargs = Adafactor, {**kwargs, "scale_parameter": False, "relative_step": False, **extra}
    elif name in ("adamw_torch", "adamw_torch_fused"):
        cls, kwargs = torch.optim.AdamW, {**kwargs, **adam, **extra}
        if name == "adamw_torch_fused":
            kwargs["fused"] = True
    elif name in ("sgd", "adagrad", "rmsprop"):
        cls = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop}[name]
        kwargs.update(extra)
    elif name in _ELSEWHERE:
        module, class_name, install = _ELSEWHERE[name]
        cls = _import(module, class_name, name, install)
        kwargs.update(adam)
        if name == "adamw_anyprecision":  # the buffers' precisions, named as torch dtypes in optim_args
            kwargs.update(
                use_kahan_summation=bool(extra.pop("use_kahan_summation", False)),
                momentum_dtype=_dtype(extra.pop("momentum_dtype", "float32"), name),
                variance_dtype=_dtype(extra.pop("variance_dtype", "float32"), name),
                compensation_buffer_dtype=_dtype(extra.pop("compensation_buffer_dtype", "bfloat16"), name),
            )
        kwargs.update(extra)
    elif name in BNB_OPTIMIZERS:
        cls, settings = _bitsandbytes(name, args, extra)
        kwargs.update(settings)
    else:
        raise TrainerError(f"optim={name!r} is not an optimizer this Trainer builds; choose one of {', '.join(BUILT_OPTIMIZERS)}.")
    return cls, kwargs


def _bitsandbytes(name: str, args: Any, extra: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """bitsandbytes' optimizers: 8 or 32-bit states, optionally paged to CPU memory."""
    install = "bitsandbytes (pip install bitsandbytes)"
    settings: dict[str, Any] = {"optim_bits": 8 if "8bit" in name else 32}
    if "rmsprop" in name:
        return _import(f"{_BNB}.optim", "RMSprop", name, install), {**extra, **settings}
    settings["is_paged"] = "paged" in name
    if "ademamix" in name:
        # AdEMAMix: a slow third momentum (beta3) mixed in with weight alpha, each optionally warmed up
        cls = _import(f"{_BNB}.optim", "AdEMAMix", name, install + " >= 0.44")
        settings.update(
            betas=(float(extra.pop("beta1", args.adam_beta1)), float(extra.pop("beta2", args.adam_beta2)),
                   float(extra.pop("beta3", 0.9999))),
            alpha=float(extra.pop("alpha", 5.0)),
            eps=float(extra.pop("eps", args.adam_epsilon)),
        )
        for warmup in ("t_alpha", "t_beta3"):
            if warmup in extra:
                settings[warmup] = int(extra.pop(warmup))
        return cls, {**extra, **settings}
    if "lion" in name:
        cls = _import(f"{_BNB}.optim", "Lion", name, install)
        return cls, {"betas": (args.adam_beta1, args.adam_beta2), **extra, **settings}
    cls = _import(f"{_BNB}.optim", "AdamW", name, install)
    return cls, {"betas": (args.adam_beta1, args.adam_beta2), "eps": args.adam_epsilon, **extra, **settings}


def _dtype(value: Any, optim: str) -> torch.dtype:
    dtype = getattr(torch, str(value), None)
    if not isinstance(dtype, torch.dtype):
        raise TrainerError(f"optim={optim!r}: {value!r} in optim_args is not a torch dtype; write e.g. 'bfloat16'.")
    return dtype


def build_optimizer(name: str, groups: list[dict[str, Any]], args: Any) -> torch.optim.Optimizer:
    """The optimizer ``name`` over the parameter groups ``groups``, with the settings of ``args``."""
    cls, kwargs = optimizer_cls_and_kwargs(args, name=name)
    try:
        return cls(groups, **kwargs)
    except TypeError as err:
        raise TrainerError(f"optim={name!r} does not take the settings {sorted(kwargs)}: {err}") from err
