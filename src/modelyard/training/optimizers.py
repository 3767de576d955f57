"""The optimizer ``TrainingArguments.optim`` names, built on the parameter groups the Trainer prepared."""

from __future__ import annotations

from typing import Any

import torch

from modelyard.training.adafactor import Adafactor
from modelyard.training.errors import TrainerError


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


def build_optimizer(name: str, groups: list[dict[str, Any]], args: Any) -> torch.optim.Optimizer:
    """``name`` in adamw_torch, adamw_torch_fused, sgd, adagrad, rmsprop, adafactor (TrainingArguments checked it)."""
    extra = parse_optim_args(getattr(args, "optim_args", None))
    lr = args.learning_rate
    try:
        if name == "sgd":
            return torch.optim.SGD(groups, lr=lr, **extra)
        if name == "adagrad":
            return torch.optim.Adagrad(groups, lr=lr, **extra)
        if name == "rmsprop":
            return torch.optim.RMSprop(groups, lr=lr, **extra)
        if name == "adafactor":  # the reference's Trainer: a fixed lr, no relative step or parameter scaling
            return Adafactor(groups, lr=lr, **{"scale_parameter": False, "relative_step": False, **extra})
        return torch.optim.AdamW(
            groups, lr=lr, betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon,
            fused=True if name == "adamw_torch_fused" else None, **extra,
        )
    except TypeError as err:
        raise TrainerError(f"optim={name!r} does not take optim_args {sorted(extra)}: {err}") from err
