"""``transformers.trainer``: the ``Trainer`` and the file names of its checkpoints."""

from __future__ import annotations

from modelyard._lazy import by_module
from modelyard.compat.transformers._namespace import declare

_CHECKPOINTS = "modelyard.training.checkpointing"

__getattr__, __dir__ = declare(
    globals(),
    {
        **by_module({
            "modelyard.training.trainer": ("Trainer",),
            "modelyard.training.arguments": ("TrainingArguments",),
            "modelyard.training.state": ("TrainerState", "TRAINER_STATE_NAME"),
            _CHECKPOINTS: ("OPTIMIZER_NAME", "SCHEDULER_NAME", "SCALER_NAME"),
        }),
        "TRAINING_ARGS_NAME": f"{_CHECKPOINTS}:ARGS_NAME",  # our settings file (JSON, not a pickle)
    },
)
