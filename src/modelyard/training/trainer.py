"""``Trainer``: the training and evaluation loop on ``accelerate``.

``accelerate.Accelerator`` places the model and batches on the device, wraps the model for distributed
data parallelism (gloo on CPU, nccl on GPU) when the script was started by ``torchrun`` or
``accelerate launch``, shards the data, applies mixed precision and gathers evaluation results without
the padding samples it added. This module adds what a run needs around it: the optimizer and schedule,
gradient accumulation (micro-batches before the last one skip the gradient all-reduce through
``accelerator.no_sync``), callbacks, logging, checkpoints that resume bit for bit, and hub pushes.
Only the main process writes files or talks to the hub.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, SequentialSampler

from modelyard.hub.push import PushTarget
from modelyard.training import checkpointing as ckpt
from modelyard.training import publishing
from modelyard.training.arguments import TrainingArguments
from modelyard.training.callbacks import (
    CallbackHandler,
    DefaultFlowCallback,
    PrinterCallback,
    ProgressCallback,
    TrainerCallback,
    _progress_disabled,
)
from modelyard.training.collators import DataCollatorWithPadding, default_data_collator
from modelyard.training.data import (
    EpochShuffleSampler,
    IndexedDataset,
    IndexedIterableDataset,
    RemoveColumnsCollator,
    SeededCollator,
    check_dataset,
    default_label_names,
    is_hf_dataset,
    is_iterable,
    kept_columns,
    needs_seeding,
    nothing_to_drop,
    remove_unused_hf_columns,
    seeded_torch,
)
from modelyard.training.errors import CheckpointError, TrainerError
from modelyard.training.memory import MemoryTracker
from modelyard.training.optimizers import build_optimizer, optimizer_cls_and_kwargs
from modelyard.training.outputs import (
    EvalLoopOutput,
    EvalPrediction,
    PredictionOutput,
    TrainOutput,
    extract_loss,
    has_labels,
    nested_concat,
    predictions_of,
    speed_metrics,
    to_numpy,
)
from modelyard.training.reporting import reporting_callbacks
from modelyard.training.schedulers import get_scheduler
from modelyard.training.seed import load_rng_state, save_rng_state, set_seed
from modelyard.training.state import TRAINER_STATE_NAME, TrainerControl, TrainerState

logger = logging.getLogger(__name__)


def _require_accelerate() -> Any:
    try:
        import accelerate
    except ImportError as err:
        from modelyard.errors import MissingDependencyError

        raise MissingDependencyError(
            "The Trainer runs on accelerate, which is not installed: pip install 'modelyard[train]'."
        ) from err
    return accelerate


class Trainer:
    """Train, evaluate and predict with a model; see the module docstring and ``TrainingArguments``.

    ``model`` may return a ``ModelOutput``, a dict with ``"loss"`` or a tuple with the loss first when labels
    are passed. ``optimizers`` is ``(optimizer, lr_scheduler)``; either may be None to get the default
    (AdamW with weight decay off for biases and LayerNorm weights; the ``lr_scheduler_type`` schedule).
    """

    def __init__(
        self,
        model: nn.Module | None = None,
        args: TrainingArguments | None = None,
        data_collator: Callable[[list[Any]], Any] | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        *,
        compute_metrics: Callable[[EvalPrediction], dict[str, float]] | None = None,
        callbacks: list[TrainerCallback | type[TrainerCallback]] | None = None,
        optimizers: tuple[torch.optim.Optimizer | None, torch.optim.lr_scheduler.LRScheduler | None] = (None, None),
        preprocess_logits_for_metrics: Callable[[Any, Any], Any] | None = None,
        model_init: Callable[[], nn.Module] | None = None,
    ) -> None:
        if args is None:
            args = TrainingArguments()
            logger.info("No TrainingArguments given; using the defaults with output_dir=%r.", args.output_dir)
        if not isinstance(args, TrainingArguments):
            raise TrainerError(f"args must be a modelyard.TrainingArguments, got {type(args).__name__}.")
        self._memory = MemoryTracker(not args.skip_memory_metrics)
        self._memory.start("init")
        if (args.save_strategy == "best" or args.load_best_model_at_end) and args.metric_for_best_model is None:
            raise TrainerError(
                "`args.metric_for_best_model` must be provided when save_strategy='best' or load_best_model_at_end is "
                "set: name the evaluation metric that decides which checkpoint is best (e.g. 'loss', 'accuracy')."
            )
        if args.log_level != "passive":
            logging.getLogger("modelyard").setLevel(args.get_process_log_level())
        self.model_init = model_init
        if model_init is not None:
            if optimizers != (None, None):
                raise TrainerError("model_init builds a new model at each train(), so optimizers=(...) made for one "
                                   "model cannot be used with it; pass model=... instead, or leave optimizers out.")
            if model is not None:
                logger.warning("Trainer got both model and model_init: the model comes from model_init (called "
                               "again, with the seed set, at each train()).")
            set_seed(args.seed)
            model = self._call_model_init()
        if model is None:
            raise TrainerError("Trainer needs a model: Trainer(model=..., args=...) or Trainer(model_init=..., args=...).")
        if not isinstance(model, nn.Module):
            raise TrainerError(f"model must be a torch.nn.Module (e.g. a PreTrainedModel), got {type(model).__name__}.")
        check_dataset(train_dataset, "train_dataset")
        for name, dataset in (eval_dataset.items() if isinstance(eval_dataset, Mapping) else [("", eval_dataset)]):
            check_dataset(dataset, f"eval_dataset[{name!r}]" if name else "eval_dataset")
        self.args = args
        self.model = model
        self.processing_class = processing_class
        self.train_dataset = train_dataset
        self.eval_dataset = eval_dataset
        self.compute_metrics = compute_metrics
        self.preprocess_logits_for_metrics = preprocess_logits_for_metrics
        self.optimizer, self.lr_scheduler = optimizers
        self._given_optimizers = optimizers
        # per device; auto_find_batch_size lowers it when a step runs out of memory
        self._train_batch_size = args.train_batch_size
        if data_collator is None:
            data_collator = (
                DataCollatorWithPadding(processing_class)
                if callable(getattr(processing_class, "pad", None))
                else default_data_collator
            )
        self.data_collator = data_collator
        self.label_names = list(args.label_names) if args.label_names else default_label_names(model)
        self.accelerator = self._create_accelerator()
        # fixed with the accelerator; read here once, not through accelerate's properties at every step
        self._mixed_precision = self.accelerator.mixed_precision != "no"
        self._clip_params: list[nn.Parameter] | None = None  # the parameters clipped, listed once per train()
        set_seed(args.seed)
        self.is_in_train = False
        self._prepared_model: nn.Module | None = None
        self._eval_loaders: dict[int, Any] = {}
        self._hub_target: PushTarget | None = None  # the run's repository, once created
        self._loader_generator: torch.Generator | None = None
        self._epoch_aware: list[Any] = []  # the training sampler and dataset, told each epoch (set_epoch)
        self._last_eval_metrics: dict[str, float] | None = None

        self.state = TrainerState(
            is_local_process_zero=self.accelerator.is_local_main_process,
            is_world_process_zero=self.accelerator.is_main_process,
        )
        self.control = TrainerControl()
        progress: type[TrainerCallback] = PrinterCallback if _progress_disabled(args) else ProgressCallback
        defaults: list[TrainerCallback | type[TrainerCallback]] = [DefaultFlowCallback, *reporting_callbacks(args)]
        self.callback_handler = CallbackHandler(
            [*defaults, *(callbacks or []), progress],
            {"model": self.model, "processing_class": processing_class, "optimizer": None, "lr_scheduler": None,
             "train_dataloader": None, "eval_dataloader": None},
        )
        self.control = self.callback_handler.call("on_init_end", args, self.state, self.control)
        self._init_memory: dict[str, int] = self._memory.stop("init")  # reported with the first train()

    # ------------------------------------------------------------------ setup
    def _create_accelerator(self) -> Any:
        accelerate = _require_accelerate()
        from accelerate.state import AcceleratorState
        from accelerate.utils import DataLoaderConfiguration

        args = self.args
        config = args.accelerator_config
        accumulation = dict(config.gradient_accumulation_kwargs or {})
        if "num_steps" in accumulation:  # the accelerator config's way to set gradient accumulation
            if args.gradient_accumulation_steps > 1 and accumulation["num_steps"] != args.gradient_accumulation_steps:
                raise TrainerError(
                    "The `AcceleratorConfig`'s `num_steps` is set but `gradient_accumulation_steps` is greater than 1 "
                    f"in the TrainingArguments ({accumulation['num_steps']} vs {args.gradient_accumulation_steps}); "
                    "set only one of them."
                )
            args.gradient_accumulation_steps = accumulation["num_steps"]
        # micro-batches before the last of a step all-reduce their gradients too (less memory, more traffic)
        self._sync_each_batch = bool(accumulation.get("sync_each_batch", False))
        fixed = [k for k in ("adjust_scheduler", "sync_with_dataloader") if accumulation.get(k, True) is False]
        if fixed:
            logger.warning(
                "accelerator_config gradient_accumulation_kwargs %s=False has no effect: the Trainer's loop ends an "
                "accumulation at the end of the data and steps the schedule once per optimizer step.", fixed,
            )
        if config.non_blocking and not args.dataloader_pin_memory:
            logger.warning("accelerator_config non_blocking=True has little effect without dataloader_pin_memory=True.")
        # Settings such as mixed precision live in a process-wide AcceleratorState; a new Trainer in the same
        # process starts from a clean one (the reference resets it the same way), unless the user configured
        # it (use_configured_state). The distributed process group (PartialState) is kept.
        if not config.use_configured_state:
            AcceleratorState._reset_state(reset_partial_state=False)
        on_accelerator = torch.cuda.is_available() or (hasattr(torch, "xpu") and torch.xpu.is_available())
        options: dict[str, Any] = {}
        if not config.use_configured_state:
            options.update(
                cpu=args.use_cpu or not on_accelerator,
                mixed_precision="bf16" if args.bf16 else "fp16" if args.fp16 else "no",
                dynamo_backend="inductor" if args.torch_compile else None,
            )
        return accelerate.Accelerator(
            dataloader_config=DataLoaderConfiguration(
                split_batches=config.split_batches, dispatch_batches=config.dispatch_batches,
                even_batches=config.even_batches, use_seedable_sampler=config.use_seedable_sampler,
                non_blocking=config.non_blocking, data_seed=args.effective_data_seed,
            ),
            step_scheduler_with_optimizer=False,
            **options,
        )

    @property
    def is_world_process_zero(self) -> bool:
        return self.accelerator.is_main_process

    def add_callback(self, callback: TrainerCallback | type[TrainerCallback]) -> None:
        self.callback_handler.add_callback(callback)

    def pop_callback(self, callback: TrainerCallback | type[TrainerCallback]) -> TrainerCallback | None:
        return self.callback_handler.pop_callback(callback)

    def remove_callback(self, callback: TrainerCallback | type[TrainerCallback]) -> None:
        self.callback_handler.remove_callback(callback)

    def _unwrapped(self) -> nn.Module:
        model = self._prepared_model if self._prepared_model is not None else self.model
        return _unwrap(model)

    # ------------------------------------------------------------------ data
    def _collator_for(self, dataset: Any, role: str) -> Callable[[list[Any]], Any]:
        collator = self.data_collator
        if self.args.remove_unused_columns and not is_hf_dataset(dataset):
            keep = kept_columns(self.model, self.label_names)
            if keep is not None and not nothing_to_drop(dataset, keep):
                return RemoveColumnsCollator(collator, keep, self.model, role)
        return collator

    def _prepare_dataset(self, dataset: Any, role: str) -> Any:
        if self.args.remove_unused_columns and is_hf_dataset(dataset):
            dataset = remove_unused_hf_columns(dataset, self.model, self.label_names, role)
        if is_hf_dataset(dataset) and hasattr(dataset, "with_format") and type(dataset).__name__ == "Dataset":
            dataset = dataset.with_format(None)  # plain Python rows; the collator makes the tensors
        return dataset

    def _indexed(self, dataset: Any, collate: Callable[[list[Any]], Any]) -> tuple[Any, Callable[[list[Any]], Any]]:
        if not needs_seeding(dataset, collate):
            return dataset, collate
        seed = self.args.effective_data_seed
        wrapped = IndexedIterableDataset(dataset, seed) if is_iterable(dataset) else IndexedDataset(dataset, seed)
        return wrapped, SeededCollator(collate, wrapped)

    def _loader_options(self, batch_size: int, generator: torch.Generator) -> dict[str, Any]:
        args = self.args
        options: dict[str, Any] = {
            "batch_size": batch_size,
            # a generator of its own: creating an iterator never draws from the global RNG, so evaluating
            # (or resuming) leaves the training randomness (dropout, masking) untouched
            "generator": generator,
            "num_workers": args.dataloader_num_workers,
            "pin_memory": args.dataloader_pin_memory and self.accelerator.device.type == "cuda",
        }
        if args.dataloader_num_workers > 0:
            options["persistent_workers"] = args.dataloader_persistent_workers
        return options

    def get_train_dataloader(self) -> Any:
        if self.train_dataset is None:
            raise TrainerError("Trainer.train() needs a train_dataset; pass it to Trainer(train_dataset=...).")
        dataset, collate = self._indexed(self._prepare_dataset(self.train_dataset, "training"),
                                         self._collator_for(self.train_dataset, "training"))
        self._loader_generator = torch.Generator()
        options = self._loader_options(self._train_batch_size, self._loader_generator)
        self._epoch_aware = [dataset] if callable(getattr(dataset, "set_epoch", None)) else []
        if is_iterable(dataset):
            loader = DataLoader(dataset, collate_fn=collate, drop_last=self.args.dataloader_drop_last, **options)
        else:
            # seeded with data_seed + epoch: the order of every epoch is reproducible, the same on every process
            # (accelerate shards the batches), and independent of the global RNG
            sampler = EpochShuffleSampler(dataset, seed=self.args.effective_data_seed)
            self._epoch_aware.append(sampler)
            loader = DataLoader(dataset, sampler=sampler, collate_fn=collate,
                                drop_last=self.args.dataloader_drop_last, **options)
        return self._prepare_loader(loader)

    def _prepare_loader(self, loader: DataLoader) -> Any:
        # batches are moved to the device by _on_device (nothing to do on CPU: accelerate's loader would
        # walk every batch for that)
        return self.accelerator.prepare_data_loader(loader, device_placement=False)

    def _on_device(self, batches: Iterator[Any]) -> Iterator[Any]:
        if self.accelerator.device.type == "cpu":
            return batches
        from accelerate.utils import send_to_device

        device = self.accelerator.device
        return (send_to_device(batch, device, non_blocking=True) for batch in batches)

    def get_eval_dataloader(self, eval_dataset: Any = None) -> Any:
        """The evaluation loader over ``eval_dataset``: a dataset, the name of one in the Trainer's dict of
        evaluation datasets, or None for the Trainer's own. A new loader each call, as in the reference, but
        with ``dataloader_persistent_workers`` one per dataset, kept with its worker processes and reused."""
        dataset = self._eval_dataset_named(eval_dataset)
        if isinstance(dataset, Mapping):
            raise TrainerError(
                f"get_eval_dataloader() takes one dataset, or the name of one of {sorted(dataset)}; evaluate() "
                "handles the dict of them."
            )
        key = id(dataset)
        reuse = self.args.dataloader_persistent_workers
        if reuse and key in self._eval_loaders:
            return self._eval_loaders[key][1]
        # the user's dataset itself (columns are removed by the collator), read in order: see evaluation_loop
        prepared = self._prepare_dataset(dataset, "evaluation")
        collate = self._collator_for(dataset, "evaluation")
        generator = torch.Generator().manual_seed(self.args.effective_data_seed)
        options = self._loader_options(self.args.per_device_eval_batch_size, generator)
        sampler = None if is_iterable(prepared) else SequentialSampler(prepared)
        loader = self._prepare_loader(DataLoader(prepared, sampler=sampler, collate_fn=collate,
                                                 drop_last=self.args.dataloader_drop_last, **options))
        if reuse:
            self._eval_loaders[key] = (dataset, loader)  # the dataset is kept alive with it: its id stays its own
        return loader

    def _eval_dataset_named(self, eval_dataset: Any) -> Any:
        if isinstance(eval_dataset, str):
            if not isinstance(self.eval_dataset, Mapping) or eval_dataset not in self.eval_dataset:
                names = sorted(self.eval_dataset) if isinstance(self.eval_dataset, Mapping) else []
                raise TrainerError(
                    f"eval_dataset={eval_dataset!r} names no evaluation dataset of this Trainer (it has "
                    f"{names or 'no dict of them'}); pass Trainer(eval_dataset={{name: dataset, ...}})."
                )
            return self.eval_dataset[eval_dataset]
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        if dataset is None:
            raise TrainerError("evaluate() needs an eval_dataset; pass it to Trainer(eval_dataset=...) or to evaluate().")
        return dataset

    def get_test_dataloader(self, test_dataset: Any) -> Any:
        check_dataset(test_dataset, "test_dataset")
        return self.get_eval_dataloader(test_dataset)

    # ------------------------------------------------------------------ optimizer and schedule
    @staticmethod
    def get_optimizer_cls_and_kwargs(args: TrainingArguments, model: nn.Module | None = None) -> tuple[Any, dict[str, Any]]:
        """The optimizer class ``args.optim`` names and its keyword arguments but the parameters (``lr``,
        betas, ...); an optimizer from a package that is not installed is an error naming it. ``model`` is
        accepted for the reference's signature (its low-rank optimizers need it; these do not)."""
        return optimizer_cls_and_kwargs(args)

    @staticmethod
    def get_decay_parameter_names(model: nn.Module) -> list[str]:
        """The parameters weight decay applies to: all but biases and the weights of normalisation layers."""
        no_decay: set[str] = set()
        for module_name, module in model.named_modules():
            is_norm = "norm" in type(module).__name__.lower()
            for param_name, _ in module.named_parameters(recurse=False):
                if is_norm or param_name == "bias":
                    no_decay.add(f"{module_name}.{param_name}" if module_name else param_name)
        return [name for name, _ in model.named_parameters() if name not in no_decay]

    def create_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer ``args.optim`` names over two groups (with and without weight decay), unless one was
        given to the Trainer."""
        if self.optimizer is not None:
            return self.optimizer
        args = self.args
        model = self._unwrapped()
        decay = set(self.get_decay_parameter_names(model))
        params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not params:
            raise TrainerError(f"{type(model).__name__} has no trainable parameters (every requires_grad is False).")
        groups = [
            {"params": [p for n, p in params if n in decay], "weight_decay": args.weight_decay},
            {"params": [p for n, p in params if n not in decay], "weight_decay": 0.0},
        ]
        groups = [g for g in groups if g["params"]]
        self.optimizer = build_optimizer(args.optim, groups, args)
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None) -> Any:
        """The ``lr_scheduler_type`` schedule over ``num_training_steps``, unless one was given to the Trainer."""
        if self.lr_scheduler is None:
            optimizer = optimizer if optimizer is not None else self.optimizer
            if optimizer is None:
                raise TrainerError("create_scheduler() needs an optimizer: call create_optimizer() first.")
            self.lr_scheduler = get_scheduler(
                self.args.lr_scheduler_type, optimizer,
                num_warmup_steps=self.args.get_warmup_steps(num_training_steps), num_training_steps=num_training_steps,
                scheduler_specific_kwargs=self.args.lr_scheduler_kwargs,
            )
        return self.lr_scheduler

    def create_optimizer_and_scheduler(self, num_training_steps: int) -> None:
        """Build the optimizer and the schedule a run of ``num_training_steps`` uses (``train()`` calls it; call
        it yourself to inspect them first, or override :meth:`create_optimizer` / :meth:`create_scheduler`)."""
        optimizer = self.create_optimizer()
        self.create_scheduler(num_training_steps=num_training_steps, optimizer=optimizer)

    def _require_optimizer(self, what: str) -> torch.optim.Optimizer:
        if self.optimizer is None:
            raise TrainerError(f"{what} needs the optimizer: call create_optimizer() (or train()) first.")
        return self.optimizer

    def get_learning_rates(self) -> list[float]:
        """The current learning rate of each parameter group."""
        return [group["lr"] for group in self._require_optimizer("get_learning_rates()").param_groups]

    def get_optimizer_group(self, param: torch.Tensor | None = None) -> dict[str, Any] | list[dict[str, Any]]:
        """The optimizer's parameter group holding ``param``, or every group when ``param`` is None."""
        groups = self._require_optimizer("get_optimizer_group()").param_groups
        if param is None:
            return groups
        for group in groups:
            if any(p is param for p in group["params"]):
                return group
        raise TrainerError(f"The optimizer holds no group with this parameter (shape {tuple(param.shape)}).")

    def get_num_trainable_parameters(self) -> int:
        """How many parameter values the optimizer would train (those with requires_grad)."""
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    # ------------------------------------------------------------------ loss
    def _has_labels(self, inputs: Mapping[str, Any]) -> bool:
        return has_labels(inputs, self.label_names)

    def compute_loss(
        self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        """The model's loss on ``inputs`` (override for a custom loss); ``(loss, outputs)`` when asked."""
        outputs = model(**inputs)
        loss = outputs.get("loss") if isinstance(outputs, dict) else None  # a dict or ModelOutput: the common case
        if not (isinstance(loss, torch.Tensor) and loss.dim() == 0):
            loss = extract_loss(outputs, inputs=inputs, model=self.model, label_names=self.label_names)
        return (loss, outputs) if return_outputs else loss

    def training_step(self, model: nn.Module, inputs: dict[str, Any], num_micro_batches: int = 1) -> torch.Tensor:
        """Forward and backward on one micro-batch; returns the detached loss of that micro-batch."""
        if not model.training:  # train() walks every module: only when evaluation switched it off
            model.train()
        if type(inputs) is not dict and not isinstance(inputs, Mapping):
            raise TrainerError(
                f"A training batch must be a dict of model inputs, got {type(inputs).__name__}; use a collator "
                "that returns a dict (e.g. default_data_collator)."
            )
        if self._mixed_precision:
            with self.accelerator.autocast():
                loss = self.compute_loss(model, dict(inputs))
        else:
            loss = self.compute_loss(model, dict(inputs))
        scaled = loss / num_micro_batches if num_micro_batches > 1 else loss
        if self._direct:
            scaled.backward()
        else:
            self.accelerator.backward(scaled)
        return loss.detach()

    # accelerate's backward / optimizer wrapper / clipping look up an optional package (importlib find_spec)
    # on every call, ~0.2 ms each; where they would do nothing but call torch (no gradient scaler, no
    # DeepSpeed/XLA), the loop calls torch directly. Mixed precision fp16 keeps accelerate's path.
    @functools.cached_property
    def _direct(self) -> bool:
        return self.accelerator.scaler is None and self.accelerator.distributed_type.value in (
            "NO", "MULTI_CPU", "MULTI_GPU", "MULTI_XPU", "MULTI_NPU", "MULTI_MLU", "MULTI_MUSA", "MULTI_HPU")

    # ------------------------------------------------------------------ training
    def _call_model_init(self) -> nn.Module:
        assert self.model_init is not None
        model = self.model_init()
        if not isinstance(model, nn.Module):
            raise TrainerError(f"model_init must return a torch.nn.Module, got {type(model).__name__}.")
        return model

    def _activate_neftune(self, model: nn.Module) -> nn.Module:
        """NEFTune (Jain et al., 2023): while training, the input embeddings get uniform noise of magnitude
        ``neftune_noise_alpha / sqrt(sequence length * hidden size)``; evaluation sees them clean."""
        embeddings = _input_embeddings(_unwrap(model))
        alpha = self.args.neftune_noise_alpha
        if alpha is None:
            raise TrainerError("NEFTune needs neftune_noise_alpha > 0 in the TrainingArguments.")
        self._neftune_hook: Any = embeddings.register_forward_hook(functools.partial(_neftune_noise, alpha=alpha))
        return model

    def _deactivate_neftune(self, model: nn.Module) -> nn.Module:
        """Remove the NEFTune noise from the input embeddings (train() does at its end)."""
        hook = getattr(self, "_neftune_hook", None)
        if hook is not None:
            hook.remove()
            self._neftune_hook = None
        return model

    def train(self, resume_from_checkpoint: str | os.PathLike[str] | bool | None = None, **kwargs: Any) -> TrainOutput:
        """Train the model; ``resume_from_checkpoint=True`` continues from the latest complete checkpoint in
        ``output_dir`` (or the hub's ``last-checkpoint`` with ``hub_strategy="checkpoint"``), a path from that
        checkpoint."""
        if kwargs:
            raise TrainerError(f"train() got unexpected arguments {sorted(kwargs)}; it takes resume_from_checkpoint.")
        if resume_from_checkpoint is None:
            resume_from_checkpoint = self.args.resume_from_checkpoint
        checkpoint = self._resolve_checkpoint(resume_from_checkpoint)
        if self.model_init is not None:  # a fresh model for each run, built with the run's seed
            set_seed(self.args.seed)
            self.model = self._call_model_init()
            self._prepared_model = None
            self.optimizer, self.lr_scheduler = None, None
        self.is_in_train = True
        self._memory.start("train")
        if self.args.neftune_noise_alpha is not None:
            self.model = self._activate_neftune(self.model)
        try:
            if self.args.auto_find_batch_size:
                return self._train_finding_batch_size(checkpoint)
            return self._train(checkpoint)
        finally:
            self.is_in_train = False
            self._clip_params = None
            self._memory.stop("train")  # (a no-op when _train reported it)
            if self.args.neftune_noise_alpha is not None:
                self.model = self._deactivate_neftune(self.model)

    def _train_finding_batch_size(self, checkpoint: Path | None) -> TrainOutput:
        """auto_find_batch_size: train with the largest per-device batch size that fits, from
        per_device_train_batch_size (or the size the checkpoint ran with) down by 10% at each out-of-memory
        error (accelerate's find_executable_batch_size). A retry starts the run again from its beginning (or the
        checkpoint) with a fresh optimizer and schedule; the model keeps what the failed attempt changed, as the
        reference's."""
        from accelerate.utils import find_executable_batch_size

        if checkpoint is not None:
            saved = TrainerState.load_from_json(checkpoint / TRAINER_STATE_NAME).train_batch_size
            self._train_batch_size = saved or self._train_batch_size

        def attempt(batch_size: int) -> TrainOutput:
            if batch_size != self._train_batch_size:
                logger.warning("Out of memory with a per-device batch size of %d; trying %d.",
                               self._train_batch_size, batch_size)
                self._train_batch_size = batch_size
                self.optimizer, self.lr_scheduler = self._given_optimizers
            return self._train(checkpoint)

        result: TrainOutput = find_executable_batch_size(attempt, starting_batch_size=self._train_batch_size)()
        return result

    def _resolve_checkpoint(self, resume: str | os.PathLike[str] | bool | None) -> Path | None:
        if resume is None or resume is False:
            return None
        if resume is True:
            found = ckpt.get_last_checkpoint(self.args.output_path)
            if found is None and self.args.push_to_hub and self.args.hub_strategy in ("checkpoint", "all_checkpoints"):
                found = self._fetch_hub_checkpoint()
            if found is None:
                raise CheckpointError(
                    f"No valid checkpoint found in output directory {self.args.output_dir!r}: resume_from_checkpoint="
                    "True but it holds no complete checkpoint (checkpoint-<step> with a trainer_state.json); train "
                    "without resuming, or point to one."
                )
            return found
        path = Path(resume)
        if not (path / TRAINER_STATE_NAME).is_file():
            raise CheckpointError(
                f"Can't find a valid checkpoint at {str(path)!r}: it is not a complete checkpoint (no "
                f"{TRAINER_STATE_NAME}). "
                "Pass a checkpoint-<step> folder, or True for the latest one in output_dir."
            )
        return path

    def _fetch_hub_checkpoint(self) -> Path | None:
        found: Path | None = None
        if self.accelerator.is_main_process:
            found = publishing.fetch_last_checkpoint(self.args)
        self.accelerator.wait_for_everyone()
        candidate = self.args.output_path / publishing.LAST_CHECKPOINT
        return found or (candidate if (candidate / TRAINER_STATE_NAME).is_file() else None)

    def num_examples(self, dataloader: Any) -> int:
        """How many examples ``dataloader`` gives per epoch: its dataset's length, else batches x batch size."""
        dataset = getattr(dataloader, "dataset", None)
        inner = getattr(dataset, "dataset", None)  # our seeding wrapper holds the user's dataset
        for candidate in (inner, dataset):
            if candidate is None:
                continue
            try:
                return len(candidate)
            except TypeError:  # an iterable dataset
                continue
        return len(dataloader) * self._train_batch_size

    def set_initial_training_values(
        self, args: TrainingArguments, dataloader: Any, total_train_batch_size: int
    ) -> tuple[int, int, int, int, bool, int | None, int]:
        """What a run over ``dataloader`` amounts to, as the reference's method of this name returns it:
        ``(num_train_epochs, num_update_steps_per_epoch, num_examples, num_train_samples, epoch_based,
        len_dataloader, max_steps)``; ``epoch_based`` is True when ``num_train_epochs`` sets the length."""
        if args is not self.args:
            raise TrainerError("set_initial_training_values() answers for this Trainer's own args (trainer.args).")
        batches, per_epoch, max_steps, epochs = self._step_counts(dataloader)
        if batches:
            examples = self.num_examples(dataloader)
            samples = max_steps * total_train_batch_size if args.max_steps > 0 else int(examples * args.num_train_epochs)
            return epochs, per_epoch or 1, examples, samples, args.max_steps <= 0, batches, max_steps
        samples = max_steps * total_train_batch_size
        return sys.maxsize, max_steps, samples, samples, False, batches, max_steps

    def _step_counts(self, dataloader: Any) -> tuple[int | None, int | None, int, int]:
        """(batches per epoch, optimizer steps per epoch, max_steps, number of epochs) for this run."""
        args = self.args
        try:
            batches = len(dataloader)
        except TypeError:
            batches = None
        if batches is None or batches == 0:
            if args.max_steps <= 0:
                raise TrainerError(
                    "train_dataset has no length (an iterable dataset), so the number of steps is unknown: set "
                    "max_steps in TrainingArguments."
                    if batches is None
                    else "train_dataset gives no batch (empty, or smaller than a batch with dataloader_drop_last)."
                )
            return batches, None, args.max_steps, max(1, math.ceil(args.num_train_epochs)) if batches else 1_000_000
        per_epoch = max(1, math.ceil(batches / args.gradient_accumulation_steps))
        if args.max_steps > 0:
            return batches, per_epoch, args.max_steps, math.ceil(args.max_steps / per_epoch)
        max_steps = math.ceil(args.num_train_epochs * per_epoch)
        return batches, per_epoch, max_steps, math.ceil(args.num_train_epochs)

    def _every(self, value: float | None, max_steps: int) -> int:
        if value is None:
            return 0
        return math.ceil(max_steps * value) if value < 1 else int(value)

    def _setup_model(self) -> nn.Module:
        args = self.args
        if args.gradient_checkpointing:
            enable = getattr(self.model, "gradient_checkpointing_enable", None)
            if enable is None or not getattr(self.model, "supports_gradient_checkpointing", True):
                raise TrainerError(
                    f"gradient_checkpointing=True but {type(self.model).__name__} does not support it; set it to False."
                )
            try:
                enable(gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs)
            except NotImplementedError as err:
                raise TrainerError(f"gradient_checkpointing=True: {err} Set it to False.") from err
        if self._prepared_model is None:
            self._prepared_model = self.accelerator.prepare(self.model)
        return self._prepared_model

    def _train(self, checkpoint: Path | None) -> TrainOutput:
        args = self.args
        accelerator = self.accelerator
        start_time = time.perf_counter()
        if checkpoint is None:
            set_seed(args.seed)  # a fresh run is reproducible whatever ran before in this process
        train_loader = self.get_train_dataloader()
        batches_per_epoch, steps_per_epoch, max_steps, num_epochs = self._step_counts(train_loader)
        model = self._setup_model()
        self.create_optimizer_and_scheduler(num_training_steps=max_steps)
        optimizer, scheduler = self.optimizer, self.lr_scheduler
        if not self._direct:  # fp16's gradient scaler (and DeepSpeed/XLA) step through accelerate's wrapper
            self.optimizer = optimizer = accelerator.prepare(optimizer)
        self.callback_handler.objects.update(
            model=model, optimizer=optimizer, lr_scheduler=scheduler, train_dataloader=train_loader
        )
        total_batch_size = self._train_batch_size * args.gradient_accumulation_steps * accelerator.num_processes

        self.state = TrainerState(
            max_steps=max_steps, num_train_epochs=num_epochs, train_batch_size=self._train_batch_size,
            logging_steps=self._every(args.logging_steps, max_steps), eval_steps=self._every(args.eval_steps, max_steps),
            save_steps=self._every(args.save_steps, max_steps),
            is_local_process_zero=accelerator.is_local_main_process, is_world_process_zero=accelerator.is_main_process,
        )
        if checkpoint is not None:
            self._load_checkpoint(checkpoint, optimizer, scheduler)
        self._clip_params = list(model.parameters())
        if args.push_to_hub and accelerator.is_main_process and self._hub_target is None:
            self._hub_target = publishing.init_repo(args)

        logger.info(
            "Running training: %s examples, %d epochs, %d steps, %d per device x %d processes x %d accumulation = %d per step",
            batches_per_epoch * self._train_batch_size * accelerator.num_processes if batches_per_epoch else "?",
            num_epochs, max_steps, self._train_batch_size, accelerator.num_processes,
            args.gradient_accumulation_steps, total_batch_size,
        )
        self.control = TrainerControl()
        self.control = self.callback_handler.call("on_train_begin", args, self.state, self.control,
                                                  total_train_batch_size=total_batch_size)
        self._losses = LossWindow()
        self._total_loss = 0.0
        self._logged_steps = self.state.global_step
        self._last_grad_norm: torch.Tensor | None = None
        start_step = self.state.global_step
        self.control.should_training_stop = self.state.global_step >= max_steps

        accumulation = args.gradient_accumulation_steps
        epoch = self.state.epochs_completed
        while epoch < num_epochs and not self.control.should_training_stop:
            skipped = self.state.batches_in_epoch
            batches = self._epoch_batches(train_loader, epoch, skip=skipped)
            self.control = self.callback_handler.call("on_epoch_begin", args, self.state, self.control)
            finished = False
            steps_before = self.state.global_step
            while not (self.control.should_training_stop or self.control.should_epoch_stop):
                if accumulation == 1:  # (the common case without a call)
                    batch = next(batches, _END)
                    group = [] if batch is _END else [batch]
                else:
                    group = self._next_group(batches)
                if not group:
                    if not skipped and self.state.global_step == steps_before:
                        raise TrainerError(
                            f"train_dataset gave no batch in epoch {epoch} (it is empty, or smaller than one batch "
                            "with dataloader_drop_last=True); give it examples."
                        )
                    finished = True
                    break
                self._optimizer_step(model, optimizer, scheduler, group)
                self.state.global_step += 1
                self.state.batches_in_epoch += len(group)
                fraction = self.state.batches_in_epoch / batches_per_epoch if batches_per_epoch else 0.0
                self.state.epoch = epoch + min(1.0, fraction)
                self.control = control = self.callback_handler.call("on_step_end", args, self.state, self.control)
                if control.should_log or control.should_evaluate or control.should_save or control.should_training_stop:
                    self._maybe_log_save_evaluate(model)  # (with no flag set it would do nothing)
            if finished or self.control.should_epoch_stop:
                # the next epoch starts at its first batch (what a checkpoint saved from here on records)
                self.state.epochs_completed = epoch + 1
                self.state.batches_in_epoch = 0
                self.state.epoch = float(epoch + 1)
            self.control._new_epoch()
            self.control = self.callback_handler.call("on_epoch_end", args, self.state, self.control)
            self._maybe_log_save_evaluate(model)
            epoch += 1

        if args.load_best_model_at_end and self.state.best_model_checkpoint is not None:
            accelerator.wait_for_everyone()
            logger.info("Loading the best model from %s (score: %s).", self.state.best_model_checkpoint,
                        self.state.best_metric)
            ckpt.load_model_files(self._unwrapped(), Path(self.state.best_model_checkpoint))

        best = self.state.best_model_checkpoint
        if args.save_total_limit == 1 and best is not None and accelerator.is_main_process:
            # the newest checkpoint was kept beside the best one only to resume from; the run is over
            for folder in ckpt.sorted_checkpoints(args.output_path, complete_only=False):
                if folder.resolve() != Path(best).resolve():
                    logger.info("Deleting %s (save_total_limit=1 keeps the best checkpoint once training ends)", folder)
                    shutil.rmtree(folder, ignore_errors=True)

        steps_done = self.state.global_step - start_step
        metrics = speed_metrics("train", start_time, num_samples=steps_done * total_batch_size, num_steps=steps_done)
        metrics["total_flos"] = float(self.state.total_flos)
        metrics["train_loss"] = self._total_loss / max(steps_done, 1)
        metrics.update(self._init_memory)
        self._init_memory = {}
        metrics.update(self._memory.stop("train"))
        self.log(metrics)
        self.control = self.callback_handler.call("on_train_end", args, self.state, self.control)
        if args.push_to_hub:
            self.push_to_hub(commit_message="End of training")
        return TrainOutput(self.state.global_step, metrics["train_loss"], metrics)

    def _epoch_batches(self, loader: Any, epoch: int, *, skip: int) -> Iterator[Any]:
        """The batches of ``epoch``, from batch ``skip`` on (a resumed run skips indices, not data loading)."""
        if self._loader_generator is not None:
            # workers' seeds come from this generator: reseeded per epoch, never from the global RNG
            self._loader_generator.manual_seed(_epoch_seed(self.args.effective_data_seed, epoch))
        _set_epoch(loader, epoch)  # (a loader of the user's, from an overridden get_train_dataloader, may lack it)
        if skip:
            loader = self.accelerator.skip_first_batches(loader, skip)
            _set_epoch(loader, epoch)
        # told here, whatever wraps them: accelerate's set_epoch reaches a sampler below its shard and skip
        # wrappers only where it put one itself, and the dataset only where it found no sampler
        for target in self._epoch_aware:
            target.set_epoch(epoch)
        return self._on_device(iter(loader))

    def _next_group(self, batches: Iterator[Any]) -> list[Any]:
        group = []
        for _ in range(self.args.gradient_accumulation_steps):
            try:
                group.append(next(batches))
            except StopIteration:
                break
        return group

    def _optimizer_step(self, model: nn.Module, optimizer: Any, scheduler: Any, group: list[Any]) -> None:
        """One optimizer step over ``group`` (1 .. gradient_accumulation_steps micro-batches)."""
        args, handler = self.args, self.callback_handler
        hooks = handler.step_hooks  # the hooks within a step that some callback overrides (usually none)
        if hooks and "on_step_begin" in hooks:
            self.control = handler.call("on_step_begin", args, self.state, self.control)
        if len(group) == 1:
            step_loss = self.training_step(model, group[0], 1)
        else:
            step_loss = torch.zeros((), device=self.accelerator.device)
            last = len(group) if self._sync_each_batch else len(group) - 1
            for index, batch in enumerate(group):
                # micro-batches before the last skip DDP's gradient all-reduce
                with self.accelerator.no_sync(model) if index < last else _NO_CONTEXT:
                    step_loss += self.training_step(model, batch, len(group))
                if index < len(group) - 1 and "on_substep_end" in hooks:
                    self.control = handler.call("on_substep_end", args, self.state, self.control)
            step_loss /= len(group)
        self._losses.add(step_loss)
        if args.max_grad_norm:
            # the parameters are listed once per train() (walking the module tree each step costs more than
            # clipping a small model); a run cannot add parameters mid-way: the optimizer would not know them
            params = self._clip_params
            if self._direct:
                self._last_grad_norm = torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)  # type: ignore[arg-type]  # set whenever gradients are clipped
            else:
                self._last_grad_norm = self.accelerator.clip_grad_norm_(params, args.max_grad_norm)
        if hooks and "on_pre_optimizer_step" in hooks:
            self.control = handler.call("on_pre_optimizer_step", args, self.state, self.control)
        optimizer.step()
        if hooks and "on_optimizer_step" in hooks:
            self.control = handler.call("on_optimizer_step", args, self.state, self.control)
        # ReduceLROnPlateau steps on the evaluation metric instead (_evaluate)
        if (self._direct or not self.accelerator.optimizer_step_was_skipped) and not self._on_plateau:
            scheduler.step()
        optimizer.zero_grad(set_to_none=True)

    def _current_lr(self) -> float:
        scheduler = self.lr_scheduler
        if scheduler is not None and hasattr(scheduler, "get_last_lr"):
            return float(scheduler.get_last_lr()[0])
        return float(self.optimizer.param_groups[0]["lr"]) if self.optimizer is not None else 0.0

    def _maybe_log_save_evaluate(self, model: nn.Module) -> None:
        control = self.control
        if control.should_log and self.state.global_step > self._logged_steps:
            window_mean, window_sum = self._losses.take(self.args.logging_nan_inf_filter)
            mean_loss = self.accelerator.reduce(window_mean, reduction="mean").item()
            self._total_loss += window_sum.item()  # this process's sum (the summary is per process)
            logs: dict[str, float] = {"loss": round(mean_loss, 4)}
            if self._last_grad_norm is not None:
                logs["grad_norm"] = float(self._last_grad_norm)
            logs["learning_rate"] = self._current_lr()
            self._logged_steps = self.state.global_step
            self.log(logs)
        elif control.should_training_stop and self.state.global_step > self._logged_steps:
            self._total_loss += self._losses.take(self.args.logging_nan_inf_filter)[1].item()
            self._logged_steps = self.state.global_step
        metrics = None
        if control.should_evaluate:
            metrics = self._evaluate(None, None)
            new_best = self._update_best(metrics)
            if self.args.save_strategy == "best" and new_best:
                self.control.should_save = True
        if self.control.should_save:
            self._save_checkpoint()
            self.control = self.callback_handler.call("on_save", self.args, self.state, self.control)
        self.control._new_step()

    def _evaluate(self, trial: Any, ignore_keys_for_eval: list[str] | None, skip_scheduler: bool = False) -> dict[str, float]:
        """The evaluation during training (each eval dataset when there are several); then a ReduceLROnPlateau
        schedule steps on ``metric_for_best_model``. ``trial`` is the reference's hyperparameter-search trial
        (unused here)."""
        if isinstance(self.eval_dataset, Mapping):
            metrics: dict[str, float] = {}
            for name, dataset in self.eval_dataset.items():
                metrics.update(self.evaluate(dataset, ignore_keys_for_eval, metric_key_prefix=f"eval_{name}"))
        else:
            metrics = self.evaluate(ignore_keys=ignore_keys_for_eval)
        if self._on_plateau and not skip_scheduler:
            name = self.args.metric_for_best_model or "loss"
            key = name if name.startswith("eval_") else f"eval_{name}"
            if key not in metrics:
                raise TrainerError(
                    f"The ReduceLROnPlateau schedule steps on metric_for_best_model={name!r}, but the evaluation "
                    f"reported no {key!r} (it reported {sorted(metrics)}); set metric_for_best_model to one of "
                    "those, or make compute_metrics return it."
                )
            plateau: Any = self.lr_scheduler  # a ReduceLROnPlateau (_on_plateau), whose step takes the metric
            plateau.step(metrics[key])
        return metrics

    @property
    def _on_plateau(self) -> bool:
        return isinstance(self.lr_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)

    def _update_best(self, metrics: dict[str, float]) -> bool:
        name = self.args.metric_for_best_model
        if name is None:
            return False
        key = name if name.startswith("eval_") else f"eval_{name}"
        if key not in metrics:
            raise TrainerError(
                f"metric_for_best_model={name!r} but the evaluation reported no {key!r} (it reported "
                f"{sorted(metrics)}); set metric_for_best_model to one of those, or make compute_metrics return it."
            )
        value = float(metrics[key])
        best = self.state.best_metric
        better = best is None or (value > best if self.args.greater_is_better else value < best)
        if better:
            self.state.best_metric = value
            self.state.best_global_step = self.state.global_step
            saved = self.args.output_path / ckpt.checkpoint_name(self.state.global_step)
            if (saved / TRAINER_STATE_NAME).is_file():  # saved at this step before the evaluation ran
                self.state.best_model_checkpoint = str(saved)
        return better

    # ------------------------------------------------------------------ logging
    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Record ``logs`` in ``state.log_history`` and hand them to the callbacks (bars, TensorBoard, CSV)."""
        if self.state.epoch is not None:
            logs = {**logs, "epoch": self.state.epoch}
        self.state.log_history.append({**logs, "step": self.state.global_step})
        self.control = self.callback_handler.call("on_log", self.args, self.state, self.control, logs=logs)

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self) -> Path:
        args, accelerator = self.args, self.accelerator
        step = self.state.global_step
        output_dir = args.output_path
        final = output_dir / ckpt.checkpoint_name(step)
        temporary = ckpt.temporary_folder(output_dir, step)
        if accelerator.is_main_process:
            shutil.rmtree(temporary, ignore_errors=True)  # leftovers of a save that was killed
            temporary.mkdir(parents=True)
        accelerator.wait_for_everyone()
        if not args.save_only_model:
            save_rng_state(temporary / ckpt.rng_file_name(accelerator.process_index, accelerator.num_processes))
        best = self.state.best_global_step
        if best == step or (best and (output_dir / ckpt.checkpoint_name(best)).is_dir()):
            # (a checkpoint saved at the best step before the evaluation that found it best counts too)
            self.state.best_model_checkpoint = str(output_dir / ckpt.checkpoint_name(best))
        if accelerator.is_main_process:
            ckpt.save_model_files(self._unwrapped(), temporary, processing_class=self.processing_class,
                                  safetensors=self.args.save_safetensors)
            if not args.save_only_model:
                torch.save(self.optimizer.state_dict(), temporary / ckpt.OPTIMIZER_NAME)  # type: ignore[union-attr]  # created before the first step
                torch.save(self.lr_scheduler.state_dict(), temporary / ckpt.SCHEDULER_NAME)  # type: ignore[union-attr]  # created before the first step
                if accelerator.scaler is not None:
                    torch.save(accelerator.scaler.state_dict(), temporary / ckpt.SCALER_NAME)
            ckpt.save_training_args(args, temporary)
            self.state.save_to_json(temporary / TRAINER_STATE_NAME)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            ckpt.commit_folder(temporary, final)
            self._rotate_checkpoints(output_dir=output_dir)
            if args.push_to_hub and args.hub_strategy != "end":
                self._push_checkpoint(final)
        accelerator.wait_for_everyone()
        return final

    def _rotate_checkpoints(self, use_mtime: bool = False, output_dir: str | os.PathLike[str] | None = None) -> None:
        """Delete the oldest checkpoints beyond ``save_total_limit``, never the best one nor the newest (override
        to change which are kept)."""
        ckpt.rotate_checkpoints(output_dir if output_dir is not None else self.args.output_path,
                                self.args.save_total_limit, keep=[self.state.best_model_checkpoint], use_mtime=use_mtime)

    def _compare_with_checkpoint(self, saved: TrainerState) -> None:
        """Warn when this run's step intervals or batch size differ from those the checkpoint was trained with
        (the run goes on with this run's settings)."""
        ours = {"logging_steps": self.state.logging_steps, "eval_steps": self.state.eval_steps,
                "save_steps": self.state.save_steps, "per_device_train_batch_size": self._train_batch_size}
        theirs = {"logging_steps": saved.logging_steps, "eval_steps": saved.eval_steps, "save_steps": saved.save_steps,
                  "per_device_train_batch_size": saved.train_batch_size}
        differences = [f"\t{name}: {ours[name]} (from args) != {theirs[name]} (from {TRAINER_STATE_NAME})"
                       for name in ours if theirs[name] is not None and theirs[name] != ours[name]]
        if differences:
            logger.warning(
                "The following settings differ from those in the checkpoint's %s; the run goes on with this run's "
                "(a different batch size also changes the data order and the results):\n%s",
                TRAINER_STATE_NAME, "\n".join(differences),
            )

    def _load_checkpoint(self, folder: Path, optimizer: Any, scheduler: Any) -> None:
        accelerator = self.accelerator
        saved = TrainerState.load_from_json(folder / TRAINER_STATE_NAME)
        rng_file = folder / ckpt.rng_file_name(accelerator.process_index, accelerator.num_processes)
        if not (folder / ckpt.OPTIMIZER_NAME).is_file() or not rng_file.is_file():
            raise CheckpointError(
                f"{folder} cannot be resumed from exactly: it lacks {ckpt.OPTIMIZER_NAME} or {rng_file.name} (saved "
                f"with save_only_model=True, or by a run with a different number of processes). Load its weights "
                "with from_pretrained and start a new run instead."
            )
        self._compare_with_checkpoint(saved)
        ckpt.load_model_files(self._unwrapped(), folder)
        optimizer.load_state_dict(ckpt.load_torch_file(folder / ckpt.OPTIMIZER_NAME))
        scheduler.load_state_dict(ckpt.load_torch_file(folder / ckpt.SCHEDULER_NAME))
        if accelerator.scaler is not None and (folder / ckpt.SCALER_NAME).is_file():
            accelerator.scaler.load_state_dict(ckpt.load_torch_file(folder / ckpt.SCALER_NAME))
        load_rng_state(rng_file)
        keep = ("max_steps", "num_train_epochs", "logging_steps", "eval_steps", "save_steps",
                "is_local_process_zero", "is_world_process_zero")
        for name in TrainerState.__dataclass_fields__:
            if name not in keep:
                setattr(self.state, name, getattr(saved, name))
        logger.info("Resuming from %s at step %d (epoch %s).", folder, self.state.global_step, self.state.epoch)

    # ------------------------------------------------------------------ evaluation
    def prediction_step(
        self, model: nn.Module, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys: list[str] | None = None
    ) -> tuple[torch.Tensor | None, Any, Any]:
        """``(loss, predictions, labels)`` for one batch, without gradients."""
        inputs = dict(inputs)
        has_labels = self._has_labels(inputs)
        labels: Any = None
        if has_labels:
            found = tuple(inputs[name] for name in self.label_names if inputs.get(name) is not None)
            labels = found[0] if len(found) == 1 else found
        with torch.no_grad(), self.accelerator.autocast():
            if has_labels:
                loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
                loss = loss.detach()
            else:
                loss, outputs = None, model(**inputs)
        if prediction_loss_only:
            return loss, None, None
        return loss, predictions_of(outputs, ignore_keys=ignore_keys, has_loss=loss is not None), labels

    def _gather(self, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, torch.Tensor) and self.args.eval_use_gather_object:
            # lists of strings or other objects: every process's, concatenated (eval_use_gather_object)
            return self.accelerator.gather_for_metrics(value, use_gather_object=True)
        if isinstance(value, tuple | list):
            return type(value)(self._gather(v) for v in value)
        if value.dim() >= 2:  # sequence outputs may differ in length between processes
            value = self.accelerator.pad_across_processes(value, dim=1, pad_index=-100)
        return self.accelerator.gather_for_metrics(value)

    def evaluation_loop(
        self, dataloader: Any, description: str, prediction_loss_only: bool | None = None,
        ignore_keys: list[str] | None = None, metric_key_prefix: str = "eval",
    ) -> EvalLoopOutput:
        model = self._prepared_model if self._prepared_model is not None else self._setup_model()
        model.eval()
        loss_only = prediction_loss_only if prediction_loss_only is not None else (
            self.args.prediction_loss_only or self.compute_metrics is None
        )
        losses = predictions = labels = None
        # batch_eval_metrics: compute_metrics sees each batch (as tensors) and returns the result at the last one,
        # so metrics need not hold the whole set's outputs at once
        per_batch = self.args.batch_eval_metrics and self.compute_metrics is not None
        batch_metrics: Mapping[str, Any] | None = None
        self.callback_handler.objects["eval_dataloader"] = dataloader
        # Evaluation loaders read the user's dataset as it is (as the reference's do); what a random collator or
        # __getitem__ draws comes from torch's generator seeded with data_seed for the pass and put back after
        # it: two evaluations see the same batches, and evaluating never shifts the training's randomness.
        with seeded_torch(self.args.effective_data_seed):
            for batch in self._on_device(iter(dataloader)):
                # accelerate's loader looks one batch ahead and flags the last one (gather_for_metrics trims by it)
                is_last = self.accelerator.gradient_state.end_of_dataloader
                loss, logits, batch_labels = self.prediction_step(model, batch, loss_only, ignore_keys)
                size = _batch_size(batch)
                if loss is not None:
                    gathered = self.accelerator.gather_for_metrics(loss.float().reshape(1).repeat(size))
                    losses = nested_concat(losses, to_numpy(gathered))
                if logits is not None:
                    logits = self._gather(logits)
                    batch_labels = self._gather(batch_labels)
                    if self.preprocess_logits_for_metrics is not None:
                        logits = self.preprocess_logits_for_metrics(logits, batch_labels)
                    if per_batch and batch_labels is not None:
                        batch_metrics = self.compute_metrics(  # type: ignore[misc,call-arg]  # per_batch: set, and takes it
                            EvalPrediction(predictions=logits, label_ids=batch_labels), compute_result=is_last
                        )
                    predictions = nested_concat(predictions, to_numpy(logits))
                    labels = nested_concat(labels, to_numpy(batch_labels)) if batch_labels is not None else labels
                self.control = self.callback_handler.call("on_prediction_step", self.args, self.state, self.control)
        metrics: dict[str, float] = {}
        if per_batch:
            metrics = dict(batch_metrics or {})
        elif self.compute_metrics is not None and predictions is not None and labels is not None:
            metrics = dict(self.compute_metrics(EvalPrediction(predictions=predictions, label_ids=labels)))
        num_samples = len(losses) if losses is not None else _num_rows(predictions)
        if losses is not None:
            metrics["loss"] = float(losses.mean())
        metrics = {
            (k if k.startswith(f"{metric_key_prefix}_") else f"{metric_key_prefix}_{k}"): _plain(v)
            for k, v in metrics.items()
        }
        return EvalLoopOutput(predictions, labels, metrics, num_samples)

    def _measured_loop(
        self,
        stage: str,
        make_loader: Callable[[], Any],
        description: str,
        prediction_loss_only: bool | None,
        ignore_keys: list[str] | None,
        metric_key_prefix: str,
        *,
        steps_per_second: bool,
    ) -> tuple[EvalLoopOutput, dict[str, float]]:
        """:meth:`evaluation_loop` over the loader ``make_loader`` builds, its metrics joined by the memory
        tracker's for ``stage`` ("eval" or "test") and the speed metrics (steps per second for evaluation)."""
        self._memory.start(stage)
        start = time.perf_counter()
        output = self.evaluation_loop(make_loader(), description, prediction_loss_only, ignore_keys, metric_key_prefix)
        metrics = dict(output.metrics)
        metrics.update(self._memory.stop(stage))
        steps = None
        if steps_per_second:
            steps = math.ceil(output.num_samples / (self.args.per_device_eval_batch_size * self.accelerator.num_processes))
        metrics.update(speed_metrics(metric_key_prefix, start, num_samples=output.num_samples, num_steps=steps))
        return output, metrics

    def evaluate(
        self, eval_dataset: Any = None, ignore_keys: list[str] | None = None, metric_key_prefix: str = "eval"
    ) -> dict[str, float]:
        """Loss (and ``compute_metrics``) over the evaluation set, every sample counted once across processes."""
        dataset = self._eval_dataset_named(eval_dataset)
        if isinstance(dataset, Mapping):
            metrics: dict[str, float] = {}
            for name, part in dataset.items():
                metrics.update(self.evaluate(part, ignore_keys, f"{metric_key_prefix}_{name}"))
            return metrics
        _, metrics = self._measured_loop(
            "eval", lambda: self.get_eval_dataloader(dataset), "Evaluation", None, ignore_keys, metric_key_prefix,
            steps_per_second=True,
        )
        self.log(metrics)
        self.control = self.callback_handler.call("on_evaluate", self.args, self.state, self.control, metrics=metrics)
        self._last_eval_metrics = metrics
        return metrics

    def predict(
        self, test_dataset: Any, ignore_keys: list[str] | None = None, metric_key_prefix: str = "test"
    ) -> PredictionOutput:
        """Predictions (everything the model returns but the loss, as NumPy), labels and metrics."""
        output, metrics = self._measured_loop(
            "test", lambda: self.get_test_dataloader(test_dataset), "Prediction", False, ignore_keys, metric_key_prefix,
            steps_per_second=False,
        )
        self.control = self.callback_handler.call("on_predict", self.args, self.state, self.control, metrics=metrics)
        return PredictionOutput(output.predictions, output.label_ids, metrics)

    # ------------------------------------------------------------------ saving and sharing
    def save_model(self, output_dir: str | os.PathLike[str] | None = None) -> None:
        """Save the model (and processing class) in the ``save_pretrained`` format; main process only."""
        folder = Path(output_dir) if output_dir is not None else self.args.output_path
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            ckpt.save_model_files(self._unwrapped(), folder, processing_class=self.processing_class,
                                  safetensors=self.args.save_safetensors)
            ckpt.save_training_args(self.args, folder)
        self.accelerator.wait_for_everyone()

    def create_model_card(self, **card_options: Any) -> str:
        """Write ``README.md`` in output_dir: training settings, evaluation results, results table."""
        eval_metrics = self._last_eval_metrics
        text = publishing.model_card(
            self.args, self.state, model=self._unwrapped(), eval_metrics=eval_metrics,
            num_processes=self.accelerator.num_processes, mixed_precision=str(self.accelerator.mixed_precision),
            total_train_batch_size=self._train_batch_size * self.args.gradient_accumulation_steps
            * self.accelerator.num_processes, **card_options,
        )
        if self.accelerator.is_main_process:
            path = self.args.output_path / publishing.CARD_NAME
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return text

    @property
    def hub_model_id(self) -> str | None:
        """The repository the run pushes to (``namespace/name``), once created; None before (the reference's
        attribute of that name)."""
        return self._hub_target.repo_id if self._hub_target is not None else None

    def push_to_hub(self, commit_message: str = "End of training", blocking: bool = True, **card_options: Any) -> Any:
        """Save the final model with a model card to output_dir and upload it (main process); returns the
        commit info there, None elsewhere."""
        self.save_model()
        if not self.accelerator.is_main_process:
            return None
        self.create_model_card(**card_options)
        target = self._hub_target = self._hub_target or publishing.init_repo(self.args)
        result = target.commit_folder(self.args.output_path, message=commit_message,
                                      ignore_patterns=_HUB_IGNORE)
        logger.info("Pushed the model to %s at commit %s.", target.repo_id, getattr(result, "oid", "?"))
        return result

    def _push_checkpoint(self, checkpoint: Path) -> None:
        args = self.args
        target = self._hub_target = self._hub_target or publishing.init_repo(args)
        folder = args.output_path
        ckpt.save_model_files(self._unwrapped(), folder, processing_class=self.processing_class,
                             safetensors=self.args.save_safetensors)
        ckpt.save_training_args(args, folder)  # pushed with the model, as the reference does
        step = self.state.global_step
        target.commit_folder(folder, message=f"Training in progress, step {step}", ignore_patterns=_HUB_IGNORE)
        if args.hub_strategy == "checkpoint":
            target.commit_folder(checkpoint, path_in_repo=publishing.LAST_CHECKPOINT,
                                 message=f"Latest checkpoint, step {step}", delete_patterns=["*"])
        elif args.hub_strategy == "all_checkpoints":
            target.commit_folder(checkpoint, path_in_repo=checkpoint.name, message=f"Checkpoint {step}")


_NO_CONTEXT = contextlib.nullcontext()
_END = object()  # what next() returns at the end of the batches
_HUB_IGNORE = [f"{ckpt.PREFIX}-*", f"tmp-{ckpt.PREFIX}-*", f"{publishing.LAST_CHECKPOINT}/*", "runs/*", "*.replaced/*",
               ".cache/*"]


class LossWindow:
    """Step losses since the last log, kept as tensors (no device sync per step), folded every FOLD_EVERY
    steps."""

    FOLD_EVERY = 256

    def __init__(self) -> None:
        self.pending: list[torch.Tensor] = []
        self.folded: list[torch.Tensor] = []  # [sum of finite, count of finite, sum of all, count of all]

    def add(self, loss: torch.Tensor) -> None:
        self.pending.append(loss)
        if len(self.pending) >= self.FOLD_EVERY:
            self.fold()

    def fold(self) -> None:
        self.folded.append(self._fold(self.pending))
        self.pending = []

    @staticmethod
    def _fold(losses: list[torch.Tensor]) -> torch.Tensor:
        values = torch.stack(losses).float()
        finite = torch.isfinite(values)
        return torch.stack([values.where(finite, 0).sum(), finite.sum().float(), values.sum(),
                            torch.tensor(float(len(losses)), device=values.device)])

    def take(self, filter_non_finite: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean loss of the window, sum of its losses). With the filter, non-finite steps count as the mean
        of the finite ones, 0 when none was (the reference's logging_nan_inf_filter)."""
        parts = self.folded + ([self._fold(self.pending)] if self.pending else [])
        self.pending, self.folded = [], []
        if not parts:
            return torch.zeros(()), torch.zeros(())
        finite_sum, finite_count, total_sum, count = torch.stack(parts).sum(0)
        if filter_non_finite:
            # a window where no step was finite logs 0, as the reference (the logs stay finite, as asked)
            mean = finite_sum / finite_count.clamp(min=1)
            return mean, mean * count
        return total_sum / count, total_sum


def _unwrap(model: nn.Module) -> nn.Module:
    """The user's model inside DDP / compile wrappers. (accelerate's unwrap_model imports torch._dynamo,
    1.5-3 s, even when nothing was compiled.)"""
    from torch.nn.parallel import DistributedDataParallel

    while True:
        if isinstance(model, DistributedDataParallel | nn.DataParallel):
            model = model.module
        elif isinstance(compiled := getattr(model, "_orig_mod", None), nn.Module):  # torch.compile's wrapper
            model = compiled
        else:
            return model


def _input_embeddings(model: nn.Module) -> nn.Module:
    get = getattr(model, "get_input_embeddings", None)
    embeddings = get() if callable(get) else None
    if not isinstance(embeddings, nn.Module):
        raise TrainerError(
            f"neftune_noise_alpha is set but {type(model).__name__} has no get_input_embeddings() returning its "
            "embedding layer (NEFTune adds its noise there); unset neftune_noise_alpha for this model."
        )
    return embeddings


def _neftune_noise(module: nn.Module, inputs: Any, output: torch.Tensor, *, alpha: float) -> torch.Tensor:
    if not module.training:
        return output
    magnitude = alpha / math.sqrt(output.size(1) * output.size(2))
    return output + torch.zeros_like(output).uniform_(-magnitude, magnitude)


def _set_epoch(loader: Any, epoch: int) -> None:
    set_epoch = getattr(loader, "set_epoch", None)
    if callable(set_epoch):
        set_epoch(epoch)


def _epoch_seed(data_seed: int, epoch: int) -> int:
    return (data_seed * 1_000_003 + epoch) % 2**63


def _batch_size(batch: Any) -> int:
    values = batch.values() if isinstance(batch, Mapping) else batch
    for value in values:
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            return value.shape[0]
    raise TrainerError("Cannot tell the batch size: the batch holds no tensor with a batch dimension.")


def _num_rows(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, tuple | list):
        return _num_rows(value[0])
    return len(value)


def _plain(value: Any) -> Any:
    """NumPy scalars in metrics become Python numbers (JSON-ready logs)."""
    return value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value
