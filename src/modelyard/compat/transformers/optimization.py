"""``transformers.optimization``: the learning-rate schedules, ``get_scheduler`` and ``Adafactor``."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

_SCHEDULES = "modelyard.training.schedulers"

__getattr__, __dir__ = declare(
    globals(),
    {
        **{
            name: _SCHEDULES
            for name in (
                "get_scheduler", "get_constant_schedule", "get_constant_schedule_with_warmup",
                "get_linear_schedule_with_warmup", "get_cosine_schedule_with_warmup",
                "get_cosine_with_hard_restarts_schedule_with_warmup", "get_cosine_with_min_lr_schedule_with_warmup",
                "get_cosine_with_min_lr_schedule_with_warmup_lr_rate", "get_polynomial_decay_schedule_with_warmup",
                "get_inverse_sqrt_schedule", "get_reduce_on_plateau_schedule", "get_wsd_schedule",
                "TYPE_TO_SCHEDULER_FUNCTION",
            )
        },
        "SchedulerType": "modelyard.training.choices",
        "Adafactor": "modelyard.training.adafactor",
        "AdafactorSchedule": "modelyard.training.adafactor",
        "get_adafactor_schedule": "modelyard.training.adafactor",
    },
)
