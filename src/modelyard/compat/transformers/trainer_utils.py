"""``transformers.trainer_utils``: ``set_seed`` and the enums of the training settings."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "set_seed": "modelyard.training.seed:set_seed",
        "SchedulerType": "modelyard.training.choices",
        "IntervalStrategy": "modelyard.training.arguments",
        "SaveStrategy": "modelyard.training.arguments",
        "HubStrategy": "modelyard.training.arguments",
    },
)
