"""``TrainingArguments``: every setting of a training run, checked when it is built.

Names and defaults are the reference library's for what this covers, so a script written against it runs
unchanged. A setting that is unknown (a typo gets "did you mean"), out of range or in contradiction with
another one fails at construction with a message that names it and says how to fix it, not steps later in
the middle of a run.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import UnexpectedArgumentError
from modelyard.training.choices import BUILT_OPTIMIZERS, OptimizerNames, SchedulerType
from modelyard.training.errors import TrainingArgumentsError

if TYPE_CHECKING:
    import torch


class IntervalStrategy(str, Enum):
    NO = "no"
    STEPS = "steps"
    EPOCH = "epoch"


class SaveStrategy(str, Enum):
    NO = "no"
    STEPS = "steps"
    EPOCH = "epoch"
    BEST = "best"


class HubStrategy(str, Enum):
    END = "end"
    EVERY_SAVE = "every_save"
    CHECKPOINT = "checkpoint"
    ALL_CHECKPOINTS = "all_checkpoints"


SCHEDULER_TYPES = tuple(kind.value for kind in SchedulerType)
OPTIMIZERS = BUILT_OPTIMIZERS  # what create_optimizer builds (those of optional packages when installed)
REPORTERS = ("none", "tensorboard", "csv", "all")
LOG_LEVELS = ("passive", "debug", "info", "warning", "error", "critical")

# Names users bring from older releases of the reference library, with the name that replaced them.
_RENAMED = {
    "evaluation_strategy": "eval_strategy",
    "no_cuda": "use_cpu",
    "overwrite_output_dir": None,  # checkpoints are never overwritten in place here: nothing to set
}


@dataclass
class TrainingArguments:
    """The settings of a :class:`~modelyard.Trainer` run (see the field comments; defaults as the reference's)."""

    output_dir: str | None = None  # checkpoints and the final model go here; "trainer_output" when None
    # -- length of the run
    num_train_epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides num_train_epochs (required for iterable datasets)
    # -- batches
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 8
    auto_find_batch_size: bool = False  # on an out-of-memory error, retry with a 10% smaller train batch size
    gradient_accumulation_steps: int = 1
    # -- optimiser and schedule
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float | None = 1.0  # 0 or None: no clipping
    optim: str = "adamw_torch_fused"  # the reference's default with torch >= 2.8 (fused kernels, CPU and GPU)
    lr_scheduler_type: str = "linear"
    lr_scheduler_kwargs: dict[str, Any] = field(default_factory=dict)  # the schedule's own settings (num_cycles, ...)
    optim_args: str | None = None  # "key=value,key=value" for the optimizer, as the reference
    warmup_steps: int = 0
    warmup_ratio: float = 0.0  # used when warmup_steps is 0: ceil(ratio * total steps)
    # -- when to log, evaluate and save ("no", "steps", "epoch"); *_steps < 1 is a fraction of the run
    eval_strategy: str = "no"
    eval_steps: float | None = None  # defaults to logging_steps
    logging_strategy: str = "steps"
    logging_steps: float = 500
    logging_first_step: bool = False
    logging_nan_inf_filter: bool = True
    save_strategy: str = "steps"
    save_steps: float = 500
    save_total_limit: int | None = None  # older checkpoints are deleted, never the best one
    save_only_model: bool = False  # no optimizer/scheduler/RNG state: smaller, but cannot resume
    load_best_model_at_end: bool = False
    metric_for_best_model: str | None = None  # "loss" when load_best_model_at_end is set
    greater_is_better: bool | None = None  # default: False for names ending in "loss", else True
    # -- reproducibility
    seed: int = 42
    data_seed: int | None = None  # the sampler's seed; defaults to seed
    # -- devices and precision
    use_cpu: bool = False
    bf16: bool = False
    fp16: bool = False
    torch_compile: bool = False
    gradient_checkpointing: bool = False
    gradient_checkpointing_kwargs: dict[str, Any] | None = None
    # -- data
    dataloader_num_workers: int = 0
    dataloader_drop_last: bool = False
    dataloader_pin_memory: bool = True
    dataloader_persistent_workers: bool = False
    remove_unused_columns: bool = True
    label_names: list[str] | None = None
    prediction_loss_only: bool = False
    # -- reporting
    report_to: str | list[str] = "none"  # "tensorboard", "csv", "all" or a list; the reference's v5 default
    logging_dir: str | None = None  # default: <output_dir>/runs/<date>_<host>
    run_name: str | None = None
    disable_tqdm: bool | str | None = None  # None: bars on; True: off; "auto": off when not a terminal
    # -- hub
    push_to_hub: bool = False
    hub_model_id: str | None = None  # default: the output_dir's name in your namespace
    hub_strategy: str = "every_save"
    hub_token: str | None = None
    hub_private_repo: bool | None = None
    # -- resuming
    resume_from_checkpoint: str | None = None
    # -- what a script runs (the Trainer does not read these; example scripts do, as the reference's)
    do_train: bool = False
    do_eval: bool = False  # set when eval_strategy is not "no"
    do_predict: bool = False
    # -- checkpoint format
    save_safetensors: bool = True  # False: weights in pytorch_model.bin (torch.save) instead of model.safetensors
    # -- evaluation
    # the reference keeps predictions on the device for this many steps (None: all); this loop moves each batch's
    # to the CPU at once, which any value allows (checked, accepted for the reference's scripts)
    eval_accumulation_steps: int | None = None
    batch_eval_metrics: bool = False  # compute_metrics(pred, compute_result=...) per batch instead of on the whole set
    eval_use_gather_object: bool = False  # gather non-tensor outputs (lists, strings) across processes
    # -- logging
    log_level: str = "passive"  # the library's log level in the main process ("passive": leave it as set)
    log_level_replica: str = "warning"  # in the other processes
    skip_memory_metrics: bool = True  # False: report CPU (and GPU) memory deltas of each stage in the metrics
    # -- regularisation
    neftune_noise_alpha: float | None = None  # NEFTune: uniform noise on the input embeddings while training
    # -- accelerate
    accelerator_config: Any = None  # AcceleratorConfig, a dict of its fields, or a JSON file's path

    def __post_init__(self) -> None:
        if self.output_dir is None:
            self.output_dir = "trainer_output"
        self.output_dir = os.fspath(self.output_dir)
        self._check_ranges()
        self._check_evaluation_and_logging()
        self._check_strategies()
        self._check_precision()
        self._check_reporting()
        if self.logging_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            self.logging_dir = os.path.join(self.output_dir, "runs", f"{stamp}_{socket.gethostname()}")
        if self.run_name is None:
            self.run_name = self.output_dir

    # ------------------------------------------------------------------ validation
    def _check_ranges(self) -> None:
        positive_ints = ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise TrainingArgumentsError(f"{name} must be a whole number >= 1, got {value!r}.")
        if self.max_steps == 0 or (isinstance(self.max_steps, int) and self.max_steps < -1):
            raise TrainingArgumentsError(
                f"max_steps must be > 0 (or -1 to train for num_train_epochs), got {self.max_steps}."
            )
        if self.max_steps < 0 and not self.num_train_epochs > 0:
            raise TrainingArgumentsError(
                f"num_train_epochs must be > 0 when max_steps is not set, got {self.num_train_epochs}; set one of them."
            )
        if not 0.0 <= self.warmup_ratio <= 1.0:
            raise TrainingArgumentsError(
                f"warmup_ratio must lie in [0, 1] (a fraction of the training steps), got {self.warmup_ratio}; "
                "for a number of steps use warmup_steps."
            )
        for name in ("warmup_steps", "dataloader_num_workers"):
            if getattr(self, name) < 0:
                raise TrainingArgumentsError(f"{name} must be >= 0, got {getattr(self, name)}.")
        for name in ("learning_rate", "weight_decay", "adam_epsilon"):
            if getattr(self, name) < 0:
                raise TrainingArgumentsError(f"{name} must be >= 0, got {getattr(self, name)}.")
        for name in ("adam_beta1", "adam_beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise TrainingArgumentsError(f"{name} must lie in [0, 1), got {getattr(self, name)}.")
        if self.max_grad_norm is not None and self.max_grad_norm < 0:
            raise TrainingArgumentsError(
                f"max_grad_norm must be >= 0 (0 or None switches clipping off), got {self.max_grad_norm}."
            )
        if self.save_total_limit is not None and self.save_total_limit < 1:
            raise TrainingArgumentsError(
                f"save_total_limit must be >= 1 (or None to keep every checkpoint), got {self.save_total_limit}; "
                "to save no checkpoint at all, set save_strategy='no'."
            )
        _choose("lr_scheduler_type", self.lr_scheduler_type, SCHEDULER_TYPES)
        self.optim = self.optim.value if isinstance(self.optim, OptimizerNames) else self.optim
        if self.optim in {o.value for o in OptimizerNames} - set(OPTIMIZERS):
            raise TrainingArgumentsError(
                f"optim={self.optim!r} needs packages or model changes this Trainer does not drive; choose one of "
                f"{', '.join(OPTIMIZERS)}, or build the optimizer yourself and pass Trainer(optimizers=(opt, None))."
            )
        _choose("optim", self.optim, OPTIMIZERS)
        if isinstance(self.lr_scheduler_kwargs, str):  # the command line's JSON form
            self.lr_scheduler_kwargs = json.loads(self.lr_scheduler_kwargs)
        if self.dataloader_persistent_workers and self.dataloader_num_workers == 0:
            raise TrainingArgumentsError(
                "dataloader_persistent_workers=True needs worker processes; set dataloader_num_workers >= 1."
            )

    def _check_evaluation_and_logging(self) -> None:
        from modelyard.training import accelerator_config

        if self.eval_accumulation_steps is not None and (
            not isinstance(self.eval_accumulation_steps, int) or self.eval_accumulation_steps < 1
        ):
            raise TrainingArgumentsError(
                f"eval_accumulation_steps must be a whole number >= 1 or None, got {self.eval_accumulation_steps!r}."
            )
        if self.neftune_noise_alpha is not None and not self.neftune_noise_alpha > 0:
            raise TrainingArgumentsError(
                f"neftune_noise_alpha must be > 0 (or None for no noise), got {self.neftune_noise_alpha!r}."
            )
        self.log_level = _choose("log_level", self.log_level, LOG_LEVELS)
        self.log_level_replica = _choose("log_level_replica", self.log_level_replica, LOG_LEVELS)
        self.accelerator_config = accelerator_config.coerce(self.accelerator_config)
        if self.accelerator_config.use_configured_state:
            accelerator_config.check_configured_state()

    def get_process_log_level(self) -> int:
        """The ``logging`` level for this process: ``log_level`` on the main one, ``log_level_replica`` on the others
        ("passive" keeps the library's current level)."""
        import logging

        main = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) == 0
        name = self.log_level if main else self.log_level_replica
        if name == "passive":
            return logging.getLogger("modelyard").getEffectiveLevel()
        return logging.getLevelName(name.upper()) if name != "critical" else logging.CRITICAL

    def _check_strategies(self) -> None:
        self.eval_strategy = _choose("eval_strategy", self.eval_strategy, [s.value for s in IntervalStrategy])
        if self.eval_strategy != "no":
            self.do_eval = True
        self.logging_strategy = _choose("logging_strategy", self.logging_strategy, [s.value for s in IntervalStrategy])
        self.save_strategy = _choose("save_strategy", self.save_strategy, [s.value for s in SaveStrategy])
        self.hub_strategy = _choose("hub_strategy", self.hub_strategy, [s.value for s in HubStrategy])
        if self.eval_strategy == "steps" and self.eval_steps is None:
            self.eval_steps = self.logging_steps  # the reference's default
        for kind in ("logging", "eval", "save"):
            if getattr(self, f"{kind}_strategy") == "steps":
                steps = getattr(self, f"{kind}_steps")
                if steps is None or steps <= 0 or (steps > 1 and steps != int(steps)):
                    raise TrainingArgumentsError(
                        f"{kind}_strategy='steps' needs {kind}_steps to be a whole number >= 1 or a fraction of "
                        f"the run in (0, 1), got {steps!r}."
                    )
        if self.save_strategy == "best" and self.metric_for_best_model is None and self.eval_strategy == "no":
            raise TrainingArgumentsError(
                "save_strategy='best' saves when the evaluation metric improves, but eval_strategy is 'no'; "
                "set eval_strategy to 'steps' or 'epoch'."
            )
        if self.load_best_model_at_end:
            if self.eval_strategy == "no":
                raise TrainingArgumentsError(
                    "load_best_model_at_end=True needs evaluations to pick the best model, but eval_strategy is "
                    "'no'; set eval_strategy (and save_strategy) to 'steps' or 'epoch'."
                )
            if self.save_strategy != "best" and self.save_strategy != self.eval_strategy:
                raise TrainingArgumentsError(
                    f"load_best_model_at_end=True needs checkpoints at the evaluations, but eval_strategy is "
                    f"{self.eval_strategy!r} and save_strategy is {self.save_strategy!r}; set both to the same "
                    "strategy."
                )
            if (
                self.eval_strategy == "steps"
                and self.save_strategy == "steps"
                and self.eval_steps is not None  # set from logging_steps above when the strategy is steps
                and self.eval_steps >= 1
                and self.save_steps >= 1
                and self.save_steps % self.eval_steps != 0
            ):
                raise TrainingArgumentsError(
                    f"load_best_model_at_end=True needs every save to follow an evaluation, but save_steps "
                    f"({self.save_steps}) is not a multiple of eval_steps ({self.eval_steps}); make it one."
                )
        if self.lr_scheduler_type == "reduce_lr_on_plateau" and self.eval_strategy == "no":
            raise TrainingArgumentsError(
                "lr_scheduler_type='reduce_lr_on_plateau' lowers the learning rate when the evaluation metric stops "
                "improving, but eval_strategy is 'no'; set eval_strategy to 'steps' or 'epoch'."
            )
        if (self.load_best_model_at_end or self.lr_scheduler_type == "reduce_lr_on_plateau") and (
            self.metric_for_best_model is None
        ):
            self.metric_for_best_model = "loss"
        if self.metric_for_best_model is not None and self.greater_is_better is None:
            self.greater_is_better = not self.metric_for_best_model.endswith("loss")

    def _check_precision(self) -> None:
        if self.fp16 and self.bf16:
            raise TrainingArgumentsError("fp16=True and bf16=True were both set; choose one mixed precision.")
        if self.fp16:
            import torch

            if self.use_cpu or not torch.cuda.is_available():
                raise TrainingArgumentsError(
                    "fp16=True needs a CUDA GPU (float16 training relies on a gradient scaler on the GPU); "
                    "on this machine use bf16=True for mixed precision, or leave both off."
                )
        if self.bf16:
            import torch

            if not self.use_cpu and torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
                raise TrainingArgumentsError(
                    "bf16=True but this GPU does not support bfloat16; use fp16=True, or use_cpu=True."
                )

    def _check_reporting(self) -> None:
        targets = [self.report_to] if isinstance(self.report_to, str) else list(
            ["none"] if self.report_to is None else self.report_to
        )
        for target in targets:
            _choose("report_to", target, REPORTERS)
        if "none" in targets and len(targets) > 1:
            raise TrainingArgumentsError(f"report_to={targets!r} mixes 'none' with other targets; drop 'none'.")
        self.report_to = targets
        if self.disable_tqdm not in (None, True, False, "auto"):
            raise TrainingArgumentsError(f"disable_tqdm must be True, False, None or 'auto', got {self.disable_tqdm!r}.")

    # ------------------------------------------------------------------ derived values
    @property
    def reporters(self) -> list[str]:
        """The logging integrations to use ("all" expanded to those available)."""
        targets = list(self.report_to)
        if "all" in targets:
            targets = ["csv"] + (["tensorboard"] if _tensorboard_available() else [])
        return [t for t in targets if t != "none"]

    @property
    def output_path(self) -> Path:
        """``output_dir`` as a path (``__post_init__`` has set it: "trainer_output" when None)."""
        return Path(self.output_dir or "trainer_output")

    @property
    def train_batch_size(self) -> int:
        """Examples per training step before gradient accumulation: the per-device size, since this Trainer runs
        one device per process (the reference multiplies by the GPUs one process drives with DataParallel)."""
        return self.per_device_train_batch_size

    @property
    def n_gpu(self) -> int:
        """GPUs this process trains on: 1 on a CUDA device, else 0 (one device per process; the reference
        also counts the GPUs one process drives with DataParallel, which this Trainer does not use)."""
        import torch

        return 1 if torch.cuda.is_available() and not self.use_cpu else 0

    @property
    def device(self) -> torch.device:
        """The ``torch.device`` this process trains on, the one the Trainer's accelerator picks: the process's GPU
        (``cuda:<LOCAL_RANK>``, or XPU), else the CPU (``use_cpu=True``, or no GPU)."""
        import torch

        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if not self.use_cpu and torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if not self.use_cpu and hasattr(torch, "xpu") and torch.xpu.is_available():
            return torch.device("xpu", local_rank)
        return torch.device("cpu")

    @property
    def eval_batch_size(self) -> int:
        """Examples per evaluation step (the per-device size; see :attr:`train_batch_size`)."""
        return self.per_device_eval_batch_size

    @property
    def effective_data_seed(self) -> int:
        return self.seed if self.data_seed is None else self.data_seed

    def get_warmup_steps(self, num_training_steps: int) -> int:
        return self.warmup_steps if self.warmup_steps > 0 else math.ceil(num_training_steps * self.warmup_ratio)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict; the hub token is masked."""
        result = {f.name: _json_ready(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if result.get("hub_token"):
            result["hub_token"] = "<HUB_TOKEN>"
        return result

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingArguments:
        return cls(**values)


def _json_ready(value: Any) -> Any:
    """Enums as their values, torch dtypes by name ("bfloat16"), nested configs as dicts."""
    if isinstance(value, Enum):
        return value.value
    if type(value).__module__ == "torch" and type(value).__name__ == "dtype":
        return str(value).removeprefix("torch.")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _json_ready(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return value


def _choose(name: str, value: Any, choices: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if value not in choices:
        hint = difflib.get_close_matches(str(value), list(choices), n=1)
        suggestion = f" Did you mean {hint[0]!r}?" if hint else ""
        raise TrainingArgumentsError(f"{name}={value!r} is not supported; choose one of {list(choices)}.{suggestion}")
    return value


@functools.cache
def _tensorboard_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboardX") is not None


def _guard_unknown_arguments(cls: type[TrainingArguments]) -> None:
    """Wrap the dataclass ``__init__`` so an unknown keyword gets a "did you mean" instead of a bare TypeError."""
    generated = cls.__init__
    names = [f.name for f in dataclasses.fields(cls)]

    @functools.wraps(generated)
    def __init__(self: TrainingArguments, *args: Any, **kwargs: Any) -> None:
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            messages = []
            for key in unknown:
                if key in _RENAMED:
                    new = _RENAMED[key]
                    messages.append(f"{key!r} is an old name: use {new!r}." if new else f"{key!r} has no effect here; drop it.")
                    continue
                close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
                messages.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise UnexpectedArgumentError(
                "TrainingArguments got unknown settings: " + "; ".join(messages) + " See the fields of TrainingArguments."
            )
        generated(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[method-assign]  # the dataclass __init__ wrapped so keyword typos name the intended field


_guard_unknown_arguments(TrainingArguments)
