"""Learning-rate schedules (multipliers of the optimizer's learning rate, as ``LambdaLR`` lambdas).

The formulas are the reference library's: a linear warm-up from 0 over ``num_warmup_steps``, then
constant, linear decay to 0 at ``num_training_steps``, or a half cosine to 0. The lambdas are module-level
``functools.partial`` objects (not closures), so a scheduler's ``state_dict`` stays plain data.
"""

from __future__ import annotations

import functools
import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from modelyard.training.errors import TrainerError


def _warmup(step: int, num_warmup_steps: int) -> float:
    return float(step) / float(max(1, num_warmup_steps))


def constant_lambda(step: int) -> float:
    return 1.0


def constant_with_warmup_lambda(step: int, *, num_warmup_steps: int) -> float:
    return _warmup(step, num_warmup_steps) if step < num_warmup_steps else 1.0


def linear_lambda(step: int, *, num_warmup_steps: int, num_training_steps: int) -> float:
    if step < num_warmup_steps:
        return _warmup(step, num_warmup_steps)
    return max(0.0, float(num_training_steps - step) / float(max(1, num_training_steps - num_warmup_steps)))


def cosine_lambda(step: int, *, num_warmup_steps: int, num_training_steps: int, num_cycles: float = 0.5) -> float:
    if step < num_warmup_steps:
        return _warmup(step, num_warmup_steps)
    progress = float(step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))


def get_scheduler(
    name: str, optimizer: Optimizer, *, num_warmup_steps: int = 0, num_training_steps: int | None = None
) -> LambdaLR:
    """A ``LambdaLR`` for ``name`` in linear, cosine, constant, constant_with_warmup."""
    if name == "constant":
        return LambdaLR(optimizer, constant_lambda)
    if name == "constant_with_warmup":
        return LambdaLR(optimizer, functools.partial(constant_with_warmup_lambda, num_warmup_steps=num_warmup_steps))
    if name not in ("linear", "cosine"):
        raise TrainerError(f"Unknown lr_scheduler_type {name!r}; use linear, cosine, constant or constant_with_warmup.")
    if num_training_steps is None:
        raise TrainerError(f"The {name!r} schedule needs the number of training steps.")
    schedule = linear_lambda if name == "linear" else cosine_lambda
    return LambdaLR(
        optimizer,
        functools.partial(schedule, num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps),
    )
