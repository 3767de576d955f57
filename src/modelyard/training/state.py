"""``TrainerState`` (saved as ``trainer_state.json`` in every checkpoint) and ``TrainerControl`` (the flags
callbacks set to ask the loop to log, evaluate, save or stop)."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.atomic_write import write_bytes
from modelyard.training.errors import CheckpointError

TRAINER_STATE_NAME = "trainer_state.json"


@dataclass
class TrainerState:
    """Where a run stands; the field names are the reference's, so its ``trainer_state.json`` reads the same."""

    epoch: float | None = None  # fractional: 1.5 is half-way through the second epoch
    global_step: int = 0  # optimizer steps taken
    max_steps: int = 0
    logging_steps: int = 500
    eval_steps: int = 500
    save_steps: int = 500
    train_batch_size: int | None = None  # per device
    num_train_epochs: int = 0
    num_input_tokens_seen: int = 0
    total_flos: float = 0.0
    log_history: list[dict[str, Any]] = field(default_factory=list)
    best_metric: float | None = None
    best_global_step: int | None = None
    best_model_checkpoint: str | None = None
    is_local_process_zero: bool = True
    is_world_process_zero: bool = True
    is_hyper_param_search: bool = False
    trial_name: str | None = None
    trial_params: dict[str, Any] | None = None
    stateful_callbacks: dict[str, Any] = field(default_factory=dict)
    # where the data stream stands (modelyard's addition; the reference recomputes it from global_step)
    epochs_completed: int = 0
    batches_in_epoch: int = 0

    def save_to_json(self, path: str | os.PathLike[str]) -> None:
        text = json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"
        write_bytes(Path(path), text.encode("utf-8"))

    @classmethod
    def load_from_json(cls, path: str | os.PathLike[str]) -> TrainerState:
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise CheckpointError(f"Cannot read the trainer state {str(path)!r}: {err}") from err
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass
class TrainerControl:
    """Flags a callback sets (on the object it is handed) to steer the loop; each is reset once acted on."""

    should_training_stop: bool = False
    should_epoch_stop: bool = False
    should_save: bool = False
    should_evaluate: bool = False
    should_log: bool = False

    def _new_training(self) -> None:
        self.should_training_stop = False

    def _new_epoch(self) -> None:
        self.should_epoch_stop = False

    def _new_step(self) -> None:
        self.should_save = False
        self.should_evaluate = False
        self.should_log = False
