"""Where the log records go besides the progress bar: TensorBoard event files and a CSV file.

Both write on the main process only. TensorBoard files are written with ``tensorboardX`` (no TensorFlow or
``tensorboard`` install needed to write them; ``tensorboard --logdir <logging_dir>`` reads them).
"""

from __future__ import annotations

import csv
import json
import numbers
from pathlib import Path
from typing import Any

from modelyard.errors import MissingDependencyError
from modelyard.training.arguments import TrainingArguments
from modelyard.training.callbacks import TrainerCallback
from modelyard.training.state import TrainerControl, TrainerState

CSV_NAME = "metrics.csv"


def _tag(key: str) -> str:
    """``eval_loss`` -> ``eval/loss``, ``loss`` -> ``train/loss`` (the reference's TensorBoard layout)."""
    for prefix in ("eval_", "test_"):
        if key.startswith(prefix):
            return f"{prefix[:-1]}/{key[len(prefix):]}"
    return f"train/{key}"


class TensorBoardCallback(TrainerCallback):
    """Scalars of every log record, and the run's settings as text, in TensorBoard event files."""

    def __init__(self) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError as err:
            raise MissingDependencyError(
                "report_to='tensorboard' needs tensorboardX: pip install 'modelyard[train]' (or tensorboardX)."
            ) from err
        self._writer_class = SummaryWriter
        self.writer: Any = None

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if not state.is_world_process_zero:
            return
        if self.writer is None:
            self.writer = self._writer_class(logdir=args.logging_dir)
        self.writer.add_text("args", f"```json\n{args.to_json_string()}\n```")

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if not state.is_world_process_zero:
            return
        if self.writer is None:  # evaluate() called outside train()
            self.writer = self._writer_class(logdir=args.logging_dir)
        for key, value in (kwargs.get("logs") or {}).items():
            if isinstance(value, numbers.Real) and not isinstance(value, bool) and key != "epoch":
                self.writer.add_scalar(_tag(key), float(value), state.global_step)
        self.writer.flush()

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class CSVLoggerCallback(TrainerCallback):
    """Appends every logged value to ``<logging_dir>/metrics.csv`` as ``step,epoch,name,value`` rows (one
    row per value, so training and evaluation records with different fields share one file)."""

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if not state.is_world_process_zero:
            return
        path = (Path(args.logging_dir) if args.logging_dir else args.output_path) / CSV_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        with path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["step", "epoch", "name", "value"])
            for key, value in (kwargs.get("logs") or {}).items():
                if key in ("epoch", "step"):
                    continue
                shown = value if isinstance(value, numbers.Real | str) else json.dumps(value, default=str)
                writer.writerow([state.global_step, state.epoch, key, shown])


def reporting_callbacks(args: TrainingArguments) -> list[TrainerCallback]:
    callbacks: list[TrainerCallback] = []
    for target in args.reporters:
        callbacks.append(TensorBoardCallback() if target == "tensorboard" else CSVLoggerCallback())
    return callbacks
