"""``transformers.trainer_utils``: seeding, the enums of the training settings, the result types, checkpoint names."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "set_seed": "modelyard.training.seed:set_seed",
        "enable_full_determinism": "modelyard.training.seed",
        "PREFIX_CHECKPOINT_DIR": "modelyard.training.checkpointing:PREFIX",
        "get_last_checkpoint": "modelyard.training.checkpointing",
        "check_target_module_exists": "modelyard.training.targets",
        "EvalPrediction": "modelyard.training.outputs",
        "EvalLoopOutput": "modelyard.training.outputs",
        "PredictionOutput": "modelyard.training.outputs",
        "TrainOutput": "modelyard.training.outputs",
        "SchedulerType": "modelyard.training.choices",
        "IntervalStrategy": "modelyard.training.arguments",
        "SaveStrategy": "modelyard.training.arguments",
        "HubStrategy": "modelyard.training.arguments",
    },
)
