"""Callbacks: the hooks of the training loop, with the reference's names and order.

Hook order in ``Trainer.train()``::

    on_init_end (in Trainer.__init__)
    on_train_begin
      on_epoch_begin
        on_step_begin                       once per optimizer step
          on_substep_end                    after each accumulated micro-batch but the last
          on_pre_optimizer_step, on_optimizer_step
        on_step_end
          on_log / on_evaluate (after on_prediction_step per batch) / on_save, as control asks
      on_epoch_end, then the same log / evaluate / save checks
    on_train_end

A callback gets ``(args, state, control, **kwargs)`` with ``model``, ``processing_class``, ``optimizer``,
``lr_scheduler``, ``train_dataloader`` and ``eval_dataloader`` in ``kwargs`` (plus ``logs`` or
``metrics`` where relevant); it steers the loop by setting flags on ``control`` or returning a new one.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from tqdm.auto import tqdm

from modelyard.training.arguments import TrainingArguments
from modelyard.training.errors import TrainerError
from modelyard.training.state import TrainerControl, TrainerState

logger = logging.getLogger(__name__)

EVENTS = (
    "on_init_end",
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_step_begin",
    "on_pre_optimizer_step",
    "on_optimizer_step",
    "on_substep_end",
    "on_step_end",
    "on_evaluate",
    "on_predict",
    "on_save",
    "on_log",
    "on_prediction_step",
)

# called inside each optimizer step: the loop checks whether anyone listens before dispatching
STEP_EVENTS = frozenset({"on_step_begin", "on_substep_end", "on_pre_optimizer_step", "on_optimizer_step"})


class TrainerCallback:
    """Base class: override the hooks you need; each is a no-op here."""

    def on_init_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """At the end of ``Trainer.__init__``."""

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """Before the first epoch of ``Trainer.train()``."""

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """After the last step of training (and the final save, if any)."""

    def on_epoch_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """At the start of every epoch."""

    def on_epoch_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """At the end of every epoch, before its log / evaluate / save checks."""

    def on_step_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """Before the first micro-batch of every optimizer step (gradient accumulation counts as one step)."""

    def on_pre_optimizer_step(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> Any:
        """After the gradients are clipped, just before ``optimizer.step()``."""

    def on_optimizer_step(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """Just after ``optimizer.step()``, before the gradients are zeroed."""

    def on_substep_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """After each accumulated micro-batch but the last of an optimizer step."""

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """After every optimizer step; ``control`` may then ask to log, evaluate, save or stop."""

    def on_evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """After an evaluation, with its results in ``kwargs["metrics"]``."""

    def on_predict(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """After ``Trainer.predict()``, with its results in ``kwargs["metrics"]``."""

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """After a checkpoint is written."""

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        """When the trainer logs, with the values in ``kwargs["logs"]``."""

    def on_prediction_step(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> Any:
        """After every batch of an evaluation or prediction loop."""


class CallbackHandler:
    """Calls every callback's hook in order; a callback returning a ``TrainerControl`` replaces the flags."""

    def __init__(self, callbacks: list[TrainerCallback | type[TrainerCallback]], objects: dict[str, Any]) -> None:
        self.callbacks: list[TrainerCallback] = []
        self._by_event: dict[str, list[TrainerCallback]] = {event: [] for event in EVENTS}
        self.listened: frozenset[str] = frozenset()  # the events some callback overrides
        self.step_hooks: frozenset[str] = frozenset()  # those of them called inside an optimizer step
        self.objects = objects  # model, processing_class, optimizer, lr_scheduler, dataloaders
        for callback in callbacks:
            self.add_callback(callback)

    def _listeners(self, event: str) -> list[TrainerCallback]:
        """The callbacks that override ``event`` (the base class's no-ops are skipped: the loop calls the
        hooks several times per step)."""
        base = getattr(TrainerCallback, event)
        return [c for c in self.callbacks if getattr(type(c), event, base) is not base or event in vars(c)]

    def _index(self) -> None:
        self._by_event = {event: self._listeners(event) for event in EVENTS}
        self.listened = frozenset(event for event, listeners in self._by_event.items() if listeners)
        self.step_hooks = self.listened & STEP_EVENTS

    def add_callback(self, callback: TrainerCallback | type[TrainerCallback]) -> None:
        instance = callback() if isinstance(callback, type) else callback
        if not isinstance(instance, TrainerCallback):
            raise TrainerError(
                f"Callbacks must subclass modelyard.TrainerCallback, got {type(instance).__name__}; "
                "derive your class from TrainerCallback and override the hooks you need."
            )
        if any(type(c) is type(instance) for c in self.callbacks):
            logger.warning("A %s is already registered; the loop now calls both.", type(instance).__name__)
        self.callbacks.append(instance)
        self._index()

    def pop_callback(self, callback: TrainerCallback | type[TrainerCallback]) -> TrainerCallback | None:
        for existing in self.callbacks:
            if existing is callback or (isinstance(callback, type) and type(existing) is callback):
                self.callbacks.remove(existing)
                self._index()
                return existing
        return None

    def remove_callback(self, callback: TrainerCallback | type[TrainerCallback]) -> None:
        self.pop_callback(callback)

    def call(
        self, event: str, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        listeners = self._by_event[event]
        if not listeners:
            return control
        if kwargs:
            kwargs = {**self.objects, **kwargs}
        else:
            kwargs = self.objects
        for callback in listeners:
            result = getattr(callback, event)(args, state, control, **kwargs)
            if result is not None:
                control = result
        return control


def _due(step: int, every: int) -> bool:
    return every > 0 and step % every == 0


class DefaultFlowCallback(TrainerCallback):
    """Turns the logging / evaluation / saving strategies into ``control`` flags; stops at ``max_steps``."""

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        step = state.global_step
        if step == 1 and args.logging_first_step:
            control.should_log = True
        if args.logging_strategy == "steps" and _due(step, state.logging_steps):
            control.should_log = True
        if args.eval_strategy == "steps" and _due(step, state.eval_steps):
            control.should_evaluate = True
        if args.save_strategy == "steps" and _due(step, state.save_steps):
            control.should_save = True
        if step >= state.max_steps:
            control.should_training_stop = True
            if args.save_strategy not in ("no", "best"):
                control.should_save = True  # the last step is always kept
        return control

    def on_epoch_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if args.logging_strategy == "epoch":
            control.should_log = True
        if args.eval_strategy == "epoch":
            control.should_evaluate = True
        if args.save_strategy == "epoch":
            control.should_save = True
        return control


def _progress_disabled(args: TrainingArguments) -> bool:
    if args.disable_tqdm == "auto":
        return not sys.stderr.isatty()
    return bool(args.disable_tqdm)


def _shallow(logs: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in logs.items() if k != "total_flos"}
    if "epoch" in shown and isinstance(shown["epoch"], float):
        shown["epoch"] = round(shown["epoch"], 2)
    return shown


class ProgressCallback(TrainerCallback):
    """One tqdm bar for training (steps, loss, learning rate, samples/s, ETA) and one per evaluation, on the
    main process only; each log record is written above the bar."""

    def __init__(self) -> None:
        self.training_bar: Any = None
        self.prediction_bar: Any = None
        self._samples_per_step = 0
        self._start = (0.0, 0)

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if state.is_world_process_zero:
            self.training_bar = tqdm(total=state.max_steps, initial=state.global_step, dynamic_ncols=True, unit="step")
            self._samples_per_step = kwargs.get("total_train_batch_size") or 0
            self._start = (time.perf_counter(), state.global_step)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if self.training_bar is not None:
            self.training_bar.update(state.global_step - self.training_bar.n)

    def on_prediction_step(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> Any:
        if not state.is_world_process_zero:
            return
        if self.prediction_bar is None:
            dataloader = kwargs.get("eval_dataloader")
            total = _length(dataloader)
            self.prediction_bar = tqdm(total=total, leave=self.training_bar is None, dynamic_ncols=True,
                                       desc="evaluating", unit="batch")
        self.prediction_bar.update(1)

    def _close_prediction(self) -> None:
        if self.prediction_bar is not None:
            self.prediction_bar.close()
            self.prediction_bar = None

    def on_evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        self._close_prediction()

    def on_predict(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        self._close_prediction()

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if not state.is_world_process_zero:
            return
        logs = kwargs.get("logs") or {}
        if self.training_bar is not None:
            if "loss" in logs:
                postfix = {"loss": f"{logs['loss']:.4g}", "lr": f"{logs.get('learning_rate', 0.0):.3g}"}
                started, first_step = self._start
                elapsed = time.perf_counter() - started
                if elapsed > 0 and self._samples_per_step:
                    rate = (state.global_step - first_step) * self._samples_per_step / elapsed
                    postfix["samples/s"] = f"{rate:.1f}"
                self.training_bar.set_postfix(postfix, refresh=False)
            self.training_bar.write(str(_shallow(logs)))
        else:
            tqdm.write(str(_shallow(logs)))

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if self.training_bar is not None:
            self.training_bar.close()
            self.training_bar = None


class PrinterCallback(TrainerCallback):
    """Without progress bars: each log record on its own line (main process only)."""

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if state.is_world_process_zero:
            tqdm.write(str(_shallow(kwargs.get("logs") or {})))


class EarlyStoppingCallback(TrainerCallback):
    """Stop when ``metric_for_best_model`` has not improved by more than ``early_stopping_threshold`` for
    ``early_stopping_patience`` evaluations in a row."""

    def __init__(self, early_stopping_patience: int = 1, early_stopping_threshold: float = 0.0) -> None:
        if early_stopping_patience < 1:
            raise TrainerError(f"early_stopping_patience must be >= 1, got {early_stopping_patience}.")
        if early_stopping_threshold < 0:
            raise TrainerError(f"early_stopping_threshold must be >= 0, got {early_stopping_threshold}.")
        self.early_stopping_patience = early_stopping_patience
        self.early_stopping_threshold = early_stopping_threshold
        self.early_stopping_patience_counter = 0
        self._best: float | None = None

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        if args.metric_for_best_model is None:
            raise TrainerError(
                "EarlyStoppingCallback needs a metric to watch: set metric_for_best_model in TrainingArguments "
                "(e.g. 'loss' or 'accuracy')."
            )
        if args.eval_strategy == "no":
            raise TrainerError(
                "EarlyStoppingCallback decides at evaluations, but eval_strategy is 'no'; set it to 'steps' or 'epoch'."
            )
        saved = state.stateful_callbacks.get(type(self).__name__)
        if saved:  # resumed: continue counting where the interrupted run stopped
            self.early_stopping_patience_counter = int(saved.get("patience_counter", 0))
            self._best = saved.get("best")

    def on_evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> Any:
        metrics = kwargs.get("metrics") or {}
        name = args.metric_for_best_model or "loss"
        key = name if name.startswith("eval_") else f"eval_{name}"
        value = metrics.get(key)
        if value is None:
            logger.warning(
                "Early stopping watches %r, which the evaluation did not report (it reported %s); not stopping.",
                key, sorted(metrics),
            )
            return
        better = args.greater_is_better if args.greater_is_better is not None else not name.endswith("loss")
        improved = self._best is None or (
            value - self._best > self.early_stopping_threshold
            if better
            else self._best - value > self.early_stopping_threshold
        )
        if improved:
            self._best = value
            self.early_stopping_patience_counter = 0
        else:
            self.early_stopping_patience_counter += 1
        state.stateful_callbacks[type(self).__name__] = {
            "patience_counter": self.early_stopping_patience_counter,
            "best": self._best,
        }
        if self.early_stopping_patience_counter >= self.early_stopping_patience:
            control.should_training_stop = True


def _length(loader: Any) -> int | None:
    """The number of batches, or None for a loader over an iterable dataset (its ``__len__`` raises TypeError)."""
    try:
        return len(loader) if loader is not None else None
    except TypeError:
        return None
