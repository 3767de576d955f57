"""Training on accelerate: ``Trainer``, ``TrainingArguments``, callbacks, collators (``pip install 'modelyard[train]'``).

Public names are imported lazily: ``import modelyard.training`` imports neither torch nor accelerate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import by_module, lazy_package

_EXPORTS = by_module({
    "modelyard.training.trainer": ("Trainer",),
    "modelyard.training.arguments": ("TrainingArguments", "IntervalStrategy", "SaveStrategy", "HubStrategy"),
    "modelyard.training.state": ("TrainerState", "TrainerControl"),
    "modelyard.training.callbacks": (
        "TrainerCallback", "CallbackHandler", "DefaultFlowCallback", "ProgressCallback", "PrinterCallback",
        "EarlyStoppingCallback",
    ),
    "modelyard.training.reporting": ("TensorBoardCallback", "CSVLoggerCallback"),
    "modelyard.training.collators": (
        "default_data_collator", "DataCollatorWithPadding", "DataCollatorForLanguageModeling",
    ),
    "modelyard.training.schedulers": ("get_scheduler",),
    "modelyard.training.seed": ("set_seed",),
    "modelyard.training.outputs": ("EvalPrediction", "PredictionOutput", "TrainOutput"),
    "modelyard.training.checkpointing": ("get_last_checkpoint",),
    "modelyard.training.errors": ("TrainingArgumentsError", "TrainerError", "CheckpointError"),
})

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
