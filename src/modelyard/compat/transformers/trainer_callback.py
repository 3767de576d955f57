"""``transformers.trainer_callback``: the callback protocol, the Trainer's state and control flags, the stock
callbacks."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

_CALLBACKS = "modelyard.training.callbacks"

__getattr__, __dir__ = declare(
    globals(),
    {
        **{
            name: _CALLBACKS
            for name in ("TrainerCallback", "CallbackHandler", "DefaultFlowCallback", "ProgressCallback",
                         "PrinterCallback", "EarlyStoppingCallback")
        },
        "TrainerState": "modelyard.training.state",
        "TrainerControl": "modelyard.training.state",
    },
)
