"""``transformers.training_args``: ``TrainingArguments`` and ``OptimizerNames``."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "TrainingArguments": "modelyard.training.arguments",
        "OptimizerNames": "modelyard.training.choices",
        "IntervalStrategy": "modelyard.training.arguments",
        "SaveStrategy": "modelyard.training.arguments",
        "HubStrategy": "modelyard.training.arguments",
    },
)
