"""Learning-rate schedules (multipliers of the optimizer's learning rate, as ``LambdaLR`` lambdas).

The formulas and names are the reference library's (``transformers.optimization``): a linear warm-up from 0
over ``num_warmup_steps``, then constant, linear decay to 0 at ``num_training_steps``, a half cosine to 0
(or to a floor), cosine with hard restarts, polynomial decay to ``lr_end``, inverse square root, or
warm-up/stable/decay. The lambdas are module-level ``functools.partial`` objects (not closures), so a
scheduler's ``state_dict`` stays plain data and a checkpoint resumes with the same curve.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from modelyard.training.choices import SchedulerType
from modelyard.training.errors import TrainerError


def _warmup(step: int, num_warmup_steps: int) -> float:
    return float(step) / float(max(1, num_warmup_steps))


def _progress(step: int, num_warmup_steps: int, num_training_steps: int) -> float:
    return float(step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))


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
    progress = _progress(step, num_warmup_steps, num_training_steps)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))


def cosine_with_restarts_lambda(step: int, *, num_warmup_steps: int, num_training_steps: int,
                                num_cycles: int = 1) -> float:
    if step < num_warmup_steps:
        return _warmup(step, num_warmup_steps)
    progress = _progress(step, num_warmup_steps, num_training_steps)
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(num_cycles) * progress) % 1.0))))


def cosine_with_min_lr_lambda(step: int, *, num_warmup_steps: int, num_training_steps: int, num_cycles: float,
                              min_lr_rate: float) -> float:
    if step < num_warmup_steps:
        return _warmup(step, num_warmup_steps)
    progress = _progress(step, num_warmup_steps, num_training_steps)
    factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    return max(0.0, factor * (1.0 - min_lr_rate) + min_lr_rate)


def cosine_warmup_with_min_lr_lambda(step: int, *, num_warmup_steps: int, num_training_steps: int,
                                     num_cycles: float, min_lr_rate: float, warmup_lr_rate: float | None) -> float:
    """The reference's ``cosine_warmup_with_min_lr``: the warm-up ends at 1 on its last step (it starts at
    ``warmup_lr_rate``, or at 1/num_warmup_steps), and the cosine is one step ahead of ``cosine_with_min_lr``'s."""
    if step < num_warmup_steps:
        if warmup_lr_rate is None:
            return (step + 1.0) / max(1.0, float(num_warmup_steps))
        return warmup_lr_rate + (1.0 - warmup_lr_rate) * float(step) / float(max(1, num_warmup_steps - 1))
    progress = (step - num_warmup_steps + 1.0) / max(1.0, float(num_training_steps - num_warmup_steps))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    return max(0.0, factor * (1.0 - min_lr_rate) + min_lr_rate)


def polynomial_lambda(step: int, *, num_warmup_steps: int, num_training_steps: int, lr_end: float, power: float,
                      lr_init: float) -> float:
    if step < num_warmup_steps:
        return _warmup(step, num_warmup_steps)
    if step > num_training_steps:
        return lr_end / lr_init
    remaining = 1.0 - (step - num_warmup_steps) / (num_training_steps - num_warmup_steps)
    return ((lr_init - lr_end) * remaining**power + lr_end) / lr_init


def inverse_sqrt_lambda(step: int, *, num_warmup_steps: int, timescale: int) -> float:
    if step < num_warmup_steps:
        return _warmup(step, num_warmup_steps)
    return 1.0 / math.sqrt((step + timescale - num_warmup_steps) / timescale)


def wsd_lambda(step: int, *, num_warmup_steps: int, num_stable_steps: int, num_decay_steps: int, warmup_type: str,
               decay_type: str, min_lr_ratio: float, num_cycles: float) -> float:
    if step < num_warmup_steps:
        progress = float(step) / float(max(1, num_warmup_steps))
        factor = _shape(warmup_type, progress, num_cycles, rising=True)
        return factor * (1.0 - min_lr_ratio) + min_lr_ratio
    if step < num_warmup_steps + num_stable_steps:
        return 1.0
    if step < num_warmup_steps + num_stable_steps + num_decay_steps:
        progress = float(step - num_warmup_steps - num_stable_steps) / float(max(1, num_decay_steps))
        factor = _shape(decay_type, progress, num_cycles, rising=False)
        return factor * (1.0 - min_lr_ratio) + min_lr_ratio
    return min_lr_ratio


def _shape(kind: str, progress: float, num_cycles: float, *, rising: bool) -> float:
    """The warm-up (rising) or decay curve of the warm-up/stable/decay schedule at ``progress`` in [0, 1]."""
    if kind == "linear":
        return progress if rising else 1.0 - progress
    if kind == "cosine" and rising:
        return 0.5 * (1.0 - math.cos(math.pi * progress))
    if kind == "cosine":
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
    # 1-sqrt
    return 1.0 - math.sqrt(1.0 - progress) if rising else 1.0 - math.sqrt(progress)


def _lambda(optimizer: Optimizer, schedule: Any, last_epoch: int, **kwargs: Any) -> LambdaLR:
    return LambdaLR(optimizer, functools.partial(schedule, **kwargs), last_epoch)


# ---------------------------------------------------------------- the reference's factory functions
def get_constant_schedule(optimizer: Optimizer, last_epoch: int = -1) -> LambdaLR:
    return LambdaLR(optimizer, constant_lambda, last_epoch)


def get_constant_schedule_with_warmup(optimizer: Optimizer, num_warmup_steps: int, last_epoch: int = -1) -> LambdaLR:
    return _lambda(optimizer, constant_with_warmup_lambda, last_epoch, num_warmup_steps=num_warmup_steps)


def get_linear_schedule_with_warmup(optimizer: Optimizer, num_warmup_steps: int, num_training_steps: int,
                                    last_epoch: int = -1) -> LambdaLR:
    return _lambda(optimizer, linear_lambda, last_epoch, num_warmup_steps=num_warmup_steps,
                   num_training_steps=num_training_steps)


def get_cosine_schedule_with_warmup(optimizer: Optimizer, num_warmup_steps: int, num_training_steps: int,
                                    num_cycles: float = 0.5, last_epoch: int = -1) -> LambdaLR:
    return _lambda(optimizer, cosine_lambda, last_epoch, num_warmup_steps=num_warmup_steps,
                   num_training_steps=num_training_steps, num_cycles=num_cycles)


def get_cosine_with_hard_restarts_schedule_with_warmup(optimizer: Optimizer, num_warmup_steps: int,
                                                       num_training_steps: int, num_cycles: int = 1,
                                                       last_epoch: int = -1) -> LambdaLR:
    return _lambda(optimizer, cosine_with_restarts_lambda, last_epoch, num_warmup_steps=num_warmup_steps,
                   num_training_steps=num_training_steps, num_cycles=num_cycles)


def _min_lr_rate(optimizer: Optimizer, min_lr: float | None, min_lr_rate: float | None) -> float:
    if min_lr is not None and min_lr_rate is None:
        return float(min_lr) / optimizer.defaults["lr"]
    if min_lr_rate is not None and min_lr is None:
        return float(min_lr_rate)
    raise TrainerError(
        "The cosine_with_min_lr schedule needs exactly one of min_lr (an absolute floor) and min_lr_rate "
        f"(a fraction of the learning rate); got min_lr={min_lr}, min_lr_rate={min_lr_rate}. Pass one in "
        "lr_scheduler_kwargs, e.g. {'min_lr_rate': 0.1}."
    )


def get_cosine_with_min_lr_schedule_with_warmup(optimizer: Optimizer, num_warmup_steps: int,
                                                num_training_steps: int, num_cycles: float = 0.5,
                                                last_epoch: int = -1, min_lr: float | None = None,
                                                min_lr_rate: float | None = None) -> LambdaLR:
    return _lambda(optimizer, cosine_with_min_lr_lambda, last_epoch, num_warmup_steps=num_warmup_steps,
                   num_training_steps=num_training_steps, num_cycles=num_cycles,
                   min_lr_rate=_min_lr_rate(optimizer, min_lr, min_lr_rate))


def get_cosine_with_min_lr_schedule_with_warmup_lr_rate(optimizer: Optimizer, num_warmup_steps: int,
                                                        num_training_steps: int, num_cycles: float = 0.5,
                                                        last_epoch: int = -1, min_lr: float | None = None,
                                                        min_lr_rate: float | None = None,
                                                        warmup_lr_rate: float | None = None) -> LambdaLR:
    return _lambda(optimizer, cosine_warmup_with_min_lr_lambda, last_epoch, num_warmup_steps=num_warmup_steps,
                   num_training_steps=num_training_steps, num_cycles=num_cycles,
                   min_lr_rate=_min_lr_rate(optimizer, min_lr, min_lr_rate), warmup_lr_rate=warmup_lr_rate)


def get_polynomial_decay_schedule_with_warmup(optimizer: Optimizer, num_warmup_steps: int, num_training_steps: int,
                                              lr_end: float = 1e-7, power: float = 1.0,
                                              last_epoch: int = -1) -> LambdaLR:
    lr_init = optimizer.defaults["lr"]
    if not lr_init > lr_end:
        raise TrainerError(
            f"lr_end ({lr_end}) must be smaller than the initial learning rate ({lr_init}) for a polynomial decay; "
            "lower lr_end or raise learning_rate."
        )
    return _lambda(optimizer, polynomial_lambda, last_epoch, num_warmup_steps=num_warmup_steps,
                   num_training_steps=num_training_steps, lr_end=lr_end, power=power, lr_init=lr_init)


def get_inverse_sqrt_schedule(optimizer: Optimizer, num_warmup_steps: int, timescale: int | None = None,
                              last_epoch: int = -1) -> LambdaLR:
    if timescale is None:
        timescale = num_warmup_steps or 10_000
    return _lambda(optimizer, inverse_sqrt_lambda, last_epoch, num_warmup_steps=num_warmup_steps,
                   timescale=timescale)


def get_reduce_on_plateau_schedule(optimizer: Optimizer, **kwargs: Any) -> ReduceLROnPlateau:
    return ReduceLROnPlateau(optimizer, **kwargs)


def get_wsd_schedule(optimizer: Optimizer, num_warmup_steps: int, num_decay_steps: int,
                     num_training_steps: int | None = None, num_stable_steps: int | None = None,
                     warmup_type: str = "linear", decay_type: str = "cosine", min_lr_ratio: float = 0,
                     num_cycles: float = 0.5, last_epoch: int = -1) -> LambdaLR:
    if num_stable_steps is None:
        if num_training_steps is None:
            raise TrainerError("The warmup_stable_decay schedule needs num_training_steps or num_stable_steps.")
        num_stable_steps = int(num_training_steps) - num_warmup_steps - num_decay_steps
    for name, kind in (("warmup_type", warmup_type), ("decay_type", decay_type)):
        if kind not in ("linear", "cosine", "1-sqrt"):
            raise TrainerError(f"Unknown {name} {kind!r} for the warmup_stable_decay schedule; use linear, "
                               "cosine or 1-sqrt.")
    return _lambda(optimizer, wsd_lambda, last_epoch, num_warmup_steps=num_warmup_steps,
                   num_stable_steps=num_stable_steps, num_decay_steps=num_decay_steps, warmup_type=warmup_type,
                   decay_type=decay_type, min_lr_ratio=min_lr_ratio, num_cycles=num_cycles)


TYPE_TO_SCHEDULER_FUNCTION: dict[SchedulerType, Any] = {
    SchedulerType.LINEAR: get_linear_schedule_with_warmup,
    SchedulerType.COSINE: get_cosine_schedule_with_warmup,
    SchedulerType.COSINE_WITH_RESTARTS: get_cosine_with_hard_restarts_schedule_with_warmup,
    SchedulerType.POLYNOMIAL: get_polynomial_decay_schedule_with_warmup,
    SchedulerType.CONSTANT: get_constant_schedule,
    SchedulerType.CONSTANT_WITH_WARMUP: get_constant_schedule_with_warmup,
    SchedulerType.INVERSE_SQRT: get_inverse_sqrt_schedule,
    SchedulerType.REDUCE_ON_PLATEAU: get_reduce_on_plateau_schedule,
    SchedulerType.COSINE_WITH_MIN_LR: get_cosine_with_min_lr_schedule_with_warmup,
    SchedulerType.COSINE_WARMUP_WITH_MIN_LR: get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
    SchedulerType.WARMUP_STABLE_DECAY: get_wsd_schedule,
}
SCHEDULER_NAMES: tuple[str, ...] = tuple(kind.value for kind in SchedulerType)
_NO_TRAINING_STEPS = {SchedulerType.CONSTANT, SchedulerType.CONSTANT_WITH_WARMUP, SchedulerType.INVERSE_SQRT,
                      SchedulerType.REDUCE_ON_PLATEAU, SchedulerType.WARMUP_STABLE_DECAY}


def get_scheduler(
    name: str | SchedulerType,
    optimizer: Optimizer,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    scheduler_specific_kwargs: dict[str, Any] | None = None,
) -> Any:
    """The schedule called ``name`` (a :class:`SchedulerType` value) for ``optimizer``, as the reference's
    ``get_scheduler``: warm-up and training steps where the schedule needs them, the rest in
    ``scheduler_specific_kwargs`` (e.g. ``{"num_cycles": 2}``, ``{"min_lr_rate": 0.1}``)."""
    try:
        kind = SchedulerType(name)
    except ValueError:
        raise TrainerError(
            f"Unknown lr_scheduler_type {name!r}; use one of {', '.join(SCHEDULER_NAMES)}."
        ) from None
    extra = dict(scheduler_specific_kwargs or {})
    schedule = TYPE_TO_SCHEDULER_FUNCTION[kind]
    if kind is SchedulerType.CONSTANT:
        return schedule(optimizer)
    if kind is SchedulerType.REDUCE_ON_PLATEAU:
        return schedule(optimizer, **extra)
    if num_warmup_steps is None:
        raise TrainerError(f"The {kind.value!r} schedule needs num_warmup_steps; pass it (0 for no warm-up).")
    if kind in (SchedulerType.CONSTANT_WITH_WARMUP, SchedulerType.INVERSE_SQRT):
        return schedule(optimizer, num_warmup_steps=num_warmup_steps, **extra)
    if num_training_steps is None and kind not in _NO_TRAINING_STEPS:
        raise TrainerError(f"The {kind.value!r} schedule needs the number of training steps (num_training_steps).")
    return schedule(optimizer, num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps, **extra)
