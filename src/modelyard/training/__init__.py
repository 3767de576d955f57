"""Training on accelerate: ``Trainer``, ``TrainingArguments``, callbacks, collators (``pip install 'modelyard[train]'``).

Public names are imported lazily: ``import modelyard.training`` imports neither torch nor accelerate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_package

_EXPORTS: dict[str, str] = {
    "Trainer": "modelyard.training.trainer",
    "TrainingArguments": "modelyard.training.arguments",
    "IntervalStrategy": "modelyard.training.arguments",
    "SaveStrategy": "modelyard.training.arguments",
    "HubStrategy": "modelyard.training.arguments",
    "TrainerState": "modelyard.training.state",
    "TrainerControl": "modelyard.training.state",
    "TrainerCallback": "modelyard.training.callbacks",
    "CallbackHandler": "modelyard.training.callbacks",
    "DefaultFlowCallback": "modelyard.training.callbacks",
    "ProgressCallback": "modelyard.training.callbacks",
    "PrinterCallback": "modelyard.training.callbacks",
    "EarlyStoppingCallback": "modelyard.training.callbacks",
    "TensorBoardCallback": "modelyard.training.reporting",
    "CSVLoggerCallback": "modelyard.training.reporting",
    "default_data_collator": "modelyard.training.collators",
    "DataCollatorWithPadding": "modelyard.training.collators",
    "DataCollatorForLanguageModeling": "modelyard.training.collators",
    "get_scheduler": "modelyard.training.schedulers",
    "set_seed": "modelyard.training.seed",
    "EvalPrediction": "modelyard.training.outputs",
    "PredictionOutput": "modelyard.training.outputs",
    "TrainOutput": "modelyard.training.outputs",
    "get_last_checkpoint": "modelyard.training.checkpointing",
    "TrainingArgumentsError": "modelyard.training.errors",
    "TrainerError": "modelyard.training.errors",
    "CheckpointError": "modelyard.training.errors",
}

__getattr__, __dir__, __all__ = lazy_package(globals(), _EXPORTS)

if TYPE_CHECKING:
    from modelyard.training.arguments import HubStrategy, IntervalStrategy, SaveStrategy, TrainingArguments  # noqa: F401
    from modelyard.training.callbacks import (  # noqa: F401
        CallbackHandler,
        DefaultFlowCallback,
        EarlyStoppingCallback,
        PrinterCallback,
        ProgressCallback,
        TrainerCallback,
    )
    from modelyard.training.checkpointing import get_last_checkpoint  # noqa: F401
    from modelyard.training.collators import (  # noqa: F401
        DataCollatorForLanguageModeling,
        DataCollatorWithPadding,
        default_data_collator,
    )
    from modelyard.training.errors import CheckpointError, TrainerError, TrainingArgumentsError  # noqa: F401
    from modelyard.training.outputs import EvalPrediction, PredictionOutput, TrainOutput  # noqa: F401
    from modelyard.training.reporting import CSVLoggerCallback, TensorBoardCallback  # noqa: F401
    from modelyard.training.schedulers import get_scheduler  # noqa: F401
    from modelyard.training.seed import set_seed  # noqa: F401
    from modelyard.training.state import TrainerControl, TrainerState  # noqa: F401
    from modelyard.training.trainer import Trainer  # noqa: F401
