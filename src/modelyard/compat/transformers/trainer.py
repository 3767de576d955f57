"""``transformers.trainer``: the ``Trainer`` and the file names of its checkpoints."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

_CHECKPOINTS = "modelyard.training.checkpointing"

__getattr__, __dir__ = declare(
    globals(),
    {
        "Trainer": "modelyard.training.trainer",
        "TrainingArguments": "modelyard.training.arguments",
        "TrainerState": "modelyard.training.state",
        "TRAINER_STATE_NAME": "modelyard.training.state",
        "OPTIMIZER_NAME": _CHECKPOINTS,
        "SCHEDULER_NAME": _CHECKPOINTS,
        "SCALER_NAME": _CHECKPOINTS,
        "TRAINING_ARGS_NAME": f"{_CHECKPOINTS}:ARGS_NAME",  # our settings file (JSON, not a pickle)
    },
)
