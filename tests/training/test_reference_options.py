"""The reference's Trainer options a script brings along: the accelerator's settings, the optimizer and schedule
built ahead of a run, ReduceLROnPlateau, checkpoint formats and rotation, per-batch metrics, NEFTune, memory
metrics, and the logging and error behaviour users see."""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _toys import DictModel
from torch import nn
from torch.utils.data import IterableDataset

from modelyard import Trainer, TrainingArguments
from modelyard.training import CheckpointError, TrainerError, TrainingArgumentsError
from modelyard.training.accelerator_config import AcceleratorConfig
from modelyard.training.choices import OptimizerNames


def args(tmp_path: Path, **overrides: Any) -> TrainingArguments:
    values: dict[str, Any] = dict(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=8, learning_rate=0.1, num_train_epochs=2,
        logging_steps=4, save_strategy="no", disable_tqdm=True, seed=3,
    )
    values.update(overrides)
    return TrainingArguments(**values)


# ------------------------------------------------------------------ accelerator_config
def test_accelerator_config_reaches_the_accelerator(tmp_path: Path, toy_data: list[dict]) -> None:
    settings = {"split_batches": True, "dispatch_batches": True, "even_batches": False, "use_seedable_sampler": False}
    path = tmp_path / "accelerator.json"
    path.write_text(json.dumps(settings))
    for given in (settings, str(path), AcceleratorConfig(**settings)):
        trainer = Trainer(DictModel(), args(tmp_path, accelerator_config=given), train_dataset=toy_data)
        accelerator = trainer.accelerator
        assert (accelerator.split_batches, accelerator.dispatch_batches) == (True, True)
        assert (accelerator.even_batches, accelerator.use_seedable_sampler) == (False, False)
    defaults = Trainer(DictModel(), args(tmp_path, accelerator_config={"split_batches": True}), train_dataset=toy_data)
    assert defaults.accelerator.split_batches is True and defaults.accelerator.even_batches is True
    assert defaults.args.to_dict()["accelerator_config"]["split_batches"] is True  # JSON-ready in the settings
    trainer = Trainer(DictModel(), args(tmp_path, accelerator_config=AcceleratorConfig(split_batches=True)),
                      train_dataset=toy_data)
    trainer.train()  # a run with split batches (one process: the whole batch)
    assert trainer.state.global_step == 16


def test_accelerator_config_is_checked(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="fully constructed AcceleratorConfig"):
        args(tmp_path, accelerator_config=AcceleratorConfig)
    with pytest.raises(TrainingArgumentsError, match=r"unknown keys \['split_batch'\]"):
        args(tmp_path, accelerator_config={"split_batch": True})
    with pytest.raises(TrainingArgumentsError, match="num_steps"):
        AcceleratorConfig(gradient_accumulation_kwargs={"num_steps": 0})


def test_use_configured_state_needs_a_state(tmp_path: Path) -> None:
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    try:
        with pytest.raises(TrainingArgumentsError, match="none exists"):
            args(tmp_path, accelerator_config={"use_configured_state": True})
        Accelerator(cpu=True)
        assert args(tmp_path, accelerator_config={"use_configured_state": True}).accelerator_config.use_configured_state
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)


def test_gradient_accumulation_from_the_accelerator_config(tmp_path: Path, toy_data: list[dict]) -> None:
    config = {"gradient_accumulation_kwargs": {"num_steps": 4, "sync_each_batch": True}}
    trainer = Trainer(DictModel(), args(tmp_path, accelerator_config=config), train_dataset=toy_data)
    assert trainer.args.gradient_accumulation_steps == 4
    trainer.train()
    assert trainer.state.global_step == 4  # 2 epochs of 8 batches, 4 per step
    clash = args(tmp_path, gradient_accumulation_steps=2, accelerator_config=config)
    with pytest.raises(TrainerError, match="`num_steps` is set but `gradient_accumulation_steps`"):
        Trainer(DictModel(), clash, train_dataset=toy_data)


def test_sync_each_batch_gives_the_same_run(tmp_path: Path, toy_data: list[dict]) -> None:
    results = []
    for sync in (False, True):
        torch.manual_seed(0)
        config = {"gradient_accumulation_kwargs": {"sync_each_batch": sync}}
        trainer = Trainer(DictModel(), args(tmp_path, gradient_accumulation_steps=2, accelerator_config=config),
                          train_dataset=toy_data)
        trainer.train()
        results.append(trainer.model.linear.weight.detach().clone())
    assert torch.equal(results[0], results[1])  # the same run, the same weights bit for bit


# ------------------------------------------------------------------ optimizer and schedule ahead of a run
def test_create_optimizer_and_scheduler_ahead_of_the_run(tmp_path: Path, toy_data: list[dict]) -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3), nn.Linear(3, 2))
    trainer = Trainer(model, args(tmp_path, lr_scheduler_type="polynomial", warmup_steps=2,
                                  lr_scheduler_kwargs={"power": 2.0, "lr_end": 1e-3}, weight_decay=0.1))
    with pytest.raises(TrainerError, match="create_optimizer"):
        trainer.get_learning_rates()
    trainer.create_optimizer_and_scheduler(num_training_steps=10)
    decay, no_decay = trainer.optimizer.param_groups
    assert [p.shape for p in decay["params"]] == [(3, 4), (2, 3)] and decay["weight_decay"] == 0.1
    assert len(no_decay["params"]) == 4 and no_decay["weight_decay"] == 0.0  # biases and the LayerNorm's weight
    assert trainer.get_learning_rates() == [0.0, 0.0]  # warmup starts at 0
    trainer.optimizer.step()  # (no gradients: changes nothing, keeps torch's order of calls)
    for _ in range(10):
        trainer.lr_scheduler.step()
    assert trainer.get_learning_rates() == [pytest.approx(1e-3)] * 2
    assert trainer.get_optimizer_group(model[0].weight) is decay and len(trainer.get_optimizer_group()) == 2
    assert trainer.get_num_trainable_parameters() == 4 * 3 + 3 + 3 + 3 + 3 * 2 + 2
    model[2].requires_grad_(False)
    assert trainer.get_num_trainable_parameters() == 4 * 3 + 3 + 3 + 3


def test_an_overridden_create_scheduler_is_used_by_train(tmp_path: Path, toy_data: list[dict]) -> None:
    class ConstantTrainer(Trainer):
        def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer or self.optimizer, lambda _: 0.5)
            self.seen_steps = num_training_steps
            return self.lr_scheduler

    trainer = ConstantTrainer(DictModel(), args(tmp_path), train_dataset=toy_data)
    trainer.train()
    assert trainer.seen_steps == 16 and trainer.get_learning_rates() == [0.05, 0.05]


def test_reduce_lr_on_plateau_steps_on_the_evaluation_metric(tmp_path: Path, toy_data: list[dict]) -> None:
    class Frozen(DictModel):  # no learning: the evaluation loss never improves
        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, Any]:
            out = super().forward(x, labels)
            return {**out, "loss": out["loss"] * 0 + 1.0 + 0 * out["logits"].sum()} if labels is not None else out

    with pytest.raises(TrainingArgumentsError, match="eval_strategy is 'no'"):
        args(tmp_path, lr_scheduler_type="reduce_lr_on_plateau")
    settings = args(tmp_path, lr_scheduler_type="reduce_lr_on_plateau", eval_strategy="epoch", num_train_epochs=4,
                    lr_scheduler_kwargs={"patience": 0, "factor": 0.5})
    assert settings.metric_for_best_model == "loss"  # the reference's default for this schedule
    trainer = Trainer(Frozen(), settings, train_dataset=toy_data, eval_dataset=toy_data[:16])
    trainer.train()
    assert isinstance(trainer.lr_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    # 4 evaluations of the same loss: the first sets the best, the next three each halve the rate
    assert trainer.get_learning_rates() == [pytest.approx(0.1 * 0.5**3)] * 2


def test_reduce_lr_on_plateau_of_the_user_needs_the_metric(tmp_path: Path, toy_data: list[dict]) -> None:
    model = DictModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    settings = args(tmp_path, eval_strategy="epoch", metric_for_best_model="accuracy")
    trainer = Trainer(model, settings, train_dataset=toy_data, eval_dataset=toy_data[:16],
                      optimizers=(optimizer, scheduler))
    with pytest.raises(TrainerError, match="reported no 'eval_accuracy'"):
        trainer.train()


# ------------------------------------------------------------------ TrainingArguments
def test_reference_arguments_are_accepted_and_checked(tmp_path: Path) -> None:
    settings = args(tmp_path, eval_strategy="epoch", do_train=True, report_to=[], log_level="error")
    assert settings.do_eval is True and settings.do_train is True and settings.report_to == []
    assert settings.get_process_log_level() == logging.ERROR
    assert settings.save_safetensors is True and settings.skip_memory_metrics is True
    with pytest.raises(TrainingArgumentsError, match="log_level"):
        args(tmp_path, log_level="loud")
    with pytest.raises(TrainingArgumentsError, match="eval_accumulation_steps"):
        args(tmp_path, eval_accumulation_steps=0)
    with pytest.raises(TrainingArgumentsError, match="neftune_noise_alpha"):
        args(tmp_path, neftune_noise_alpha=-1.0)
    assert args(tmp_path, optim=OptimizerNames.ADEMAMIX).optim == "ademamix"


def test_to_dict_writes_dtypes_by_name(tmp_path: Path) -> None:
    import dataclasses

    @dataclasses.dataclass
    class WithDtype(TrainingArguments):
        dtype: Any = torch.bfloat16

    assert WithDtype(output_dir=str(tmp_path)).to_dict()["dtype"] == "bfloat16"
    assert json.loads(WithDtype(output_dir=str(tmp_path)).to_json_string())["dtype"] == "bfloat16"


def test_best_checkpoints_need_a_metric(tmp_path: Path, toy_data: list[dict]) -> None:
    settings = args(tmp_path, eval_strategy="epoch", save_strategy="best")
    with pytest.raises(TrainerError, match="`args.metric_for_best_model` must be provided"):
        Trainer(DictModel(), settings, train_dataset=toy_data, eval_dataset=toy_data)


def test_log_level_sets_the_library_level(tmp_path: Path, toy_data: list[dict]) -> None:
    library = logging.getLogger("modelyard")
    before = library.level
    try:
        Trainer(DictModel(), args(tmp_path, log_level="debug"), train_dataset=toy_data)
        assert library.getEffectiveLevel() == logging.DEBUG
        Trainer(DictModel(), args(tmp_path, log_level="passive"), train_dataset=toy_data)
        assert library.getEffectiveLevel() == logging.DEBUG  # passive: left as it was
    finally:
        library.setLevel(before)


# ------------------------------------------------------------------ checkpoints
def test_save_safetensors_false_writes_and_resumes_from_pytorch_bin(tmp_path: Path, toy_data: list[dict]) -> None:
    settings = args(tmp_path, save_strategy="steps", save_steps=8, save_safetensors=False)
    first = Trainer(DictModel(), settings, train_dataset=toy_data)
    first.train()
    checkpoint = tmp_path / "out" / "checkpoint-8"
    names = {p.name for p in checkpoint.iterdir()}
    assert "pytorch_model.bin" in names and "model.safetensors" not in names
    assert {"training_args.json", "training_args.bin", "optimizer.pt", "scheduler.pt"} <= names
    saved = json.loads((checkpoint / "training_args.json").read_text())
    assert saved["save_safetensors"] is False and saved["learning_rate"] == 0.1
    first.save_model()
    final = {p.name for p in (tmp_path / "out").iterdir() if p.is_file()}
    assert "pytorch_model.bin" in final and {"training_args.json", "training_args.bin"} <= final
    resumed = Trainer(DictModel(), settings, train_dataset=toy_data)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert torch.equal(resumed.model.linear.weight, first.model.linear.weight)  # exact resume: weights bit for bit


def test_rotation_counts_every_checkpoint_folder(tmp_path: Path, toy_data: list[dict]) -> None:
    out = tmp_path / "out"
    trainer = Trainer(DictModel(), args(tmp_path, save_total_limit=2), train_dataset=toy_data)
    for step in (5, 10, 15, 20, 25):
        (out / f"checkpoint-{step}").mkdir(parents=True)
    trainer.state.best_model_checkpoint = str(out / "checkpoint-5")
    trainer._rotate_checkpoints(output_dir=out)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-25", "checkpoint-5"]


def test_resume_errors_name_what_is_missing(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path), train_dataset=toy_data)
    with pytest.raises(CheckpointError, match="Can't find a valid checkpoint at"):
        trainer.train(resume_from_checkpoint=str(tmp_path / "nowhere"))
    with pytest.raises(CheckpointError, match="No valid checkpoint found in output directory"):
        trainer.train(resume_from_checkpoint=True)


# ------------------------------------------------------------------ evaluation
class _Stream(IterableDataset):
    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def __iter__(self):  # noqa: ANN204
        return iter(self.rows)


def test_iterable_datasets_train_and_evaluate_with_progress_bars(tmp_path: Path, toy_data: list[dict]) -> None:
    settings = args(tmp_path, max_steps=5, disable_tqdm=False)
    trainer = Trainer(DictModel(), settings, train_dataset=_Stream(toy_data), eval_dataset=_Stream(toy_data[:20]))
    trainer.train()
    assert trainer.state.global_step == 5
    metrics = trainer.evaluate()
    assert math.isfinite(metrics["eval_loss"])
    assert trainer.predict(_Stream(toy_data[:20])).predictions.shape == (20, 2)


def test_batch_eval_metrics_sees_each_batch(tmp_path: Path, toy_data: list[dict]) -> None:
    calls: list[tuple[int, bool]] = []
    correct: list[float] = []

    def batched_accuracy(prediction: Any, compute_result: bool) -> dict[str, float] | None:
        logits, labels = prediction
        assert isinstance(logits, torch.Tensor)  # per batch: tensors, as the reference
        calls.append((len(labels), compute_result))
        correct.extend((logits.argmax(-1) == labels).float().tolist())
        return {"accuracy": float(np.mean(correct))} if compute_result else None

    trainer = Trainer(DictModel(), args(tmp_path, batch_eval_metrics=True, per_device_eval_batch_size=8),
                      eval_dataset=toy_data[:20], compute_metrics=batched_accuracy)
    metrics = trainer.evaluate()
    assert calls == [(8, False), (8, False), (4, True)]
    whole = trainer.predict(toy_data[:20])
    expected = float((whole.predictions.argmax(-1) == whole.label_ids).mean())
    assert metrics["eval_accuracy"] == pytest.approx(expected)


def test_eval_drop_last_follows_dataloader_drop_last(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, dataloader_drop_last=True, per_device_eval_batch_size=16),
                      eval_dataset=toy_data[:20])
    assert len(trainer.get_eval_dataloader()) == 1


def test_loaders_without_set_epoch_train(tmp_path: Path, toy_data: list[dict]) -> None:
    class Chained:
        def __init__(self, loaders: list[Any]) -> None:
            self.loaders = loaders

        def __len__(self) -> int:
            return sum(len(loader) for loader in self.loaders)

        def __iter__(self):  # noqa: ANN204
            for loader in self.loaders:
                yield from loader

    class TwiceTrainer(Trainer):
        def get_train_dataloader(self) -> Any:
            return Chained([super().get_train_dataloader(), super().get_train_dataloader()])

    trainer = TwiceTrainer(DictModel(), args(tmp_path, num_train_epochs=1), train_dataset=toy_data)
    trainer.train()
    assert trainer.state.global_step == 16


# ------------------------------------------------------------------ logging, NEFTune, memory
def test_a_window_without_finite_losses_logs_zero(tmp_path: Path, toy_data: list[dict]) -> None:
    class Diverged(DictModel):
        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, Any]:
            out = super().forward(x, labels)
            return {**out, "loss": out["loss"] * float("nan")}

    for nan_filter, check in ((True, lambda v: v == 0.0), (False, math.isnan)):
        trainer = Trainer(Diverged(), args(tmp_path, logging_nan_inf_filter=nan_filter, max_grad_norm=None),
                          train_dataset=toy_data)
        trainer.train()
        losses = [record["loss"] for record in trainer.state.log_history if "loss" in record]
        assert losses and all(check(value) for value in losses)


class _Embedder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.head = nn.Linear(6, 2)

    def get_input_embeddings(self) -> nn.Module:
        return self.embed

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, Any]:
        logits = self.head(self.embed(input_ids).mean(1))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return {"loss": loss, "logits": logits}


def test_neftune_adds_noise_while_training_only(tmp_path: Path) -> None:
    data = [{"input_ids": torch.tensor([i % 10, (i + 1) % 10, 3]), "labels": i % 2} for i in range(16)]
    model = _Embedder()
    trainer = Trainer(model, args(tmp_path, neftune_noise_alpha=5.0, max_steps=2), train_dataset=data)
    ids = torch.tensor([[1, 2, 3]])
    trainer._activate_neftune(model)
    model.train()
    noisy = model.embed(ids) - model.embed.weight[ids]
    magnitude = 5.0 / math.sqrt(3 * 6)
    assert 0 < noisy.abs().max() <= magnitude
    model.eval()
    torch.testing.assert_close(model.embed(ids), model.embed.weight[ids])
    trainer._deactivate_neftune(model)
    trainer.train()
    assert not model.embed._forward_hooks  # removed when training ends
    with pytest.raises(TrainerError, match="get_input_embeddings"):
        Trainer(DictModel(), args(tmp_path, neftune_noise_alpha=5.0), train_dataset=data).train()


def test_memory_metrics_per_stage(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, skip_memory_metrics=False), train_dataset=toy_data,
                      eval_dataset=toy_data[:16])
    metrics = trainer.train().metrics
    for stage in ("init", "train"):
        assert isinstance(metrics[f"{stage}_mem_cpu_alloc_delta"], int)
        assert metrics[f"{stage}_mem_cpu_peaked_delta"] >= 0
    assert "eval_mem_cpu_alloc_delta" in trainer.evaluate()
    assert "test_mem_cpu_alloc_delta" in trainer.predict(toy_data[:8]).metrics
    quiet = Trainer(DictModel(), args(tmp_path), train_dataset=toy_data)
    assert not any("_mem_" in key for key in quiet.train().metrics)


def test_evaluation_datasets_by_name(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path), eval_dataset={"small": toy_data[:8], "large": toy_data[:24]})
    assert len(trainer.get_eval_dataloader("small")) == 1 and len(trainer.get_eval_dataloader("large")) == 3
    # a new loader per call, over the user's own dataset; reused only with persistent workers (as the reference)
    assert trainer.get_eval_dataloader("small") is not trainer.get_eval_dataloader("small")
    assert trainer.get_eval_dataloader("small").dataset is trainer.eval_dataset["small"]
    persistent = Trainer(DictModel(), args(tmp_path, dataloader_num_workers=1, dataloader_persistent_workers=True),
                         eval_dataset={"small": toy_data[:8]})
    assert persistent.get_eval_dataloader("small") is persistent.get_eval_dataloader("small")
    assert set(trainer.evaluate()) >= {"eval_small_loss", "eval_large_loss"}
    assert "eval_loss" in trainer.evaluate("large")
    with pytest.raises(TrainerError, match=r"names no evaluation dataset .*\['large', 'small'\]"):
        trainer.get_eval_dataloader("medium")


def test_resuming_with_other_intervals_warns(tmp_path: Path, toy_data: list[dict],
                                             caplog: pytest.LogCaptureFixture) -> None:
    first = Trainer(DictModel(), args(tmp_path, save_strategy="steps", save_steps=4), train_dataset=toy_data)
    first.train()
    second = Trainer(DictModel(), args(tmp_path, save_strategy="steps", save_steps=8, logging_steps=2),
                     train_dataset=toy_data)
    with caplog.at_level(logging.WARNING, logger="modelyard.training.trainer"):
        second.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-4"))
    assert "save_steps: 8 (from args) != 4 (from trainer_state.json)" in caplog.text
    assert "logging_steps: 2 (from args) != 4 (from trainer_state.json)" in caplog.text
    assert "per_device_train_batch_size" not in caplog.text


def test_set_initial_training_values(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, gradient_accumulation_steps=3), train_dataset=toy_data)
    loader = trainer.get_train_dataloader()
    assert trainer.num_examples(loader) == 64
    epochs, per_epoch, examples, samples, epoch_based, batches, max_steps = trainer.set_initial_training_values(
        trainer.args, loader, 24)
    assert (epochs, per_epoch, examples, samples, epoch_based, batches, max_steps) == (2, 3, 64, 128, True, 8, 6)
    stream = Trainer(DictModel(), args(tmp_path, max_steps=5), train_dataset=_Stream(toy_data))
    values = stream.set_initial_training_values(stream.args, stream.get_train_dataloader(), 8)
    assert values[1:] == (5, 40, 40, False, None, 5)


def test_the_best_checkpoint_is_found_when_saved_before_its_evaluation(tmp_path: Path, toy_data: list[dict]) -> None:
    scores = iter([0.9, 0.5])

    class Scripted(Trainer):
        def _evaluate(self, trial: Any, ignore_keys_for_eval: Any, skip_scheduler: bool = False) -> dict[str, float]:
            return {"eval_accuracy": next(scores)}

    # saves every step, evaluates at each epoch's end (after that step's save)
    settings = args(tmp_path, eval_strategy="epoch", save_strategy="steps", save_steps=1,
                    metric_for_best_model="accuracy", save_total_limit=1)
    trainer = Scripted(DictModel(), settings, train_dataset=toy_data, eval_dataset=toy_data)
    trainer.train()
    assert trainer.state.best_global_step == 8
    assert trainer.state.best_model_checkpoint == str(tmp_path / "out" / "checkpoint-8")
    # save_total_limit=1: the newest checkpoint stayed beside the best one for resuming, until the run ended
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name.startswith("checkpoint")) == ["checkpoint-8"]


def test_auto_find_batch_size_lowers_the_batch_size_on_out_of_memory(tmp_path: Path, toy_data: list[dict]) -> None:
    from modelyard import TrainerCallback

    class OutOfMemoryAbove(TrainerCallback):
        """Fails a step the way CUDA's allocator does while the batch is larger than ``limit``."""

        def __init__(self, limit: int) -> None:
            self.limit = limit
            self.sizes: list[int] = []

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.sizes.append(state.train_batch_size)
            if state.train_batch_size > self.limit:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    watcher = OutOfMemoryAbove(limit=6)
    settings = args(tmp_path, auto_find_batch_size=True, save_strategy="steps", save_steps=4, num_train_epochs=1)
    trainer = Trainer(DictModel(), settings, train_dataset=toy_data, callbacks=[watcher])
    trainer.train()
    assert watcher.sizes[:2] == [8, 7] and watcher.sizes[2] == 6  # 8 -> int(8 * 0.9) = 7 -> 6, which fits
    assert trainer.state.train_batch_size == 6 and trainer.state.global_step == math.ceil(64 / 6)
    resumed = Trainer(DictModel(), settings, train_dataset=toy_data)
    assert resumed._train_batch_size == 8
    resumed.train(resume_from_checkpoint=True)  # goes on with the size the checkpoint ran with
    assert resumed.state.train_batch_size == 6
    with pytest.raises(RuntimeError, match="out of memory"):  # without the option the error reaches the user
        Trainer(DictModel(), args(tmp_path), train_dataset=toy_data, callbacks=[OutOfMemoryAbove(6)]).train()


def test_target_modules_by_name_fragment_or_regex() -> None:
    from modelyard.training.targets import check_target_module_exists

    names = ["model.h.0.ln_1", "model.h.0.attn.q_proj", "model.lm_head", "model.h.0.mlp.up_proj"]
    assert [check_target_module_exists([r".*\.attn\..*", r".*\.mlp\..*"], n, return_is_regex=True) for n in names] == [
        (False, False), (True, True), (False, False), (True, True)]
    assert [check_target_module_exists(["q_proj", "up_proj"], n, return_is_regex=True) for n in names] == [
        (False, False), (True, False), (False, False), (True, False)]
    assert [check_target_module_exists(r".*\.attn\..*", n) for n in names] == [False, True, False, False]
    assert check_target_module_exists("model.lm_head", "model.lm_head", return_is_regex=True) == (True, False)


def test_fixed_accumulation_behaviour_is_said(tmp_path: Path, toy_data: list[dict],
                                              caplog: pytest.LogCaptureFixture) -> None:
    config = {"gradient_accumulation_kwargs": {"sync_with_dataloader": False}}
    with caplog.at_level(logging.WARNING, logger="modelyard.training.trainer"):
        Trainer(DictModel(), args(tmp_path, accelerator_config=config), train_dataset=toy_data)
    assert "['sync_with_dataloader']=False has no effect" in caplog.text


class _Unpickled:
    """A training_args.bin that leaves a folder behind if anything unpickles it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # noqa: ANN204
        return (os.makedirs, (self.path,))


def test_training_args_bin_is_written_as_the_reference_does_but_never_read(tmp_path: Path, toy_data: list[dict]) -> None:
    """The reference pickles its TrainingArguments into training_args.bin (checkpoints, save_model); modelyard writes
    the file for the tools that look for it, without the hub token, and never unpickles it: resuming reads JSON."""
    settings = args(tmp_path, save_strategy="steps", save_steps=8, hub_token="hf_not_a_real_secret")
    first = Trainer(DictModel(), settings, train_dataset=toy_data)
    first.train()
    checkpoint = tmp_path / "out" / "checkpoint-8"
    written = (checkpoint / "training_args.bin").read_bytes()
    with zipfile.ZipFile(checkpoint / "training_args.bin") as archive:  # torch.save's format, read without unpickling
        pickled = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
    imports = [arg for op, arg, _ in pickletools.genops(pickled) if op.name == "GLOBAL"]
    assert imports[0] == "modelyard.training.arguments TrainingArguments"
    assert b"hf_not_a_real_secret" not in written and b"learning_rate" in pickled
    assert settings.hub_token == "hf_not_a_real_secret"  # the run's own arguments keep it

    marker = tmp_path / "unpickled"
    (checkpoint / "training_args.bin").write_bytes(pickle.dumps(_Unpickled(str(marker))))
    resumed = Trainer(DictModel(), settings, train_dataset=toy_data)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert not marker.exists()
    assert torch.equal(resumed.model.linear.weight, first.model.linear.weight)


class _NoisyCollator:
    """A collator that draws from torch's generator (as masking collators do)."""

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        x = torch.stack([r["x"] for r in rows])
        return {"x": x + torch.randn(x.shape), "labels": torch.tensor([r["labels"] for r in rows])}


def test_evaluation_draws_are_repeatable_and_leave_the_training_randomness_alone(tmp_path: Path,
                                                                                toy_data: list[dict]) -> None:
    class Rows(torch.utils.data.Dataset):  # not a list: any dataset object is read as it is
        def __len__(self) -> int:
            return 24

        def __getitem__(self, i: int) -> dict:
            return toy_data[i]

    rows = Rows()
    trainer = Trainer(DictModel(), args(tmp_path), eval_dataset=rows, data_collator=_NoisyCollator())
    assert trainer.get_eval_dataloader().dataset is rows
    torch.manual_seed(11)
    before = torch.get_rng_state()
    first, second = trainer.evaluate(), trainer.evaluate()
    assert torch.equal(torch.get_rng_state(), before)  # evaluating drew nothing from the training's stream
    assert first["eval_loss"] == second["eval_loss"]  # the same noise both times: seeded from data_seed
