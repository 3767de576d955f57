"""The Trainer in one process: outputs of every kind, data of every kind, accumulation, callbacks,
checkpoints, logs and the errors it promises."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _toys import DictModel, separable
from torch.utils.data import Dataset, IterableDataset

from modelyard import (
    EarlyStoppingCallback,
    EvalPrediction,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from modelyard.training import TrainerError, get_last_checkpoint
from modelyard.training.callbacks import EVENTS
from modelyard.training.errors import CheckpointError


def args(tmp_path: Path, **overrides: Any) -> TrainingArguments:
    values: dict[str, Any] = dict(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=8, learning_rate=0.1, num_train_epochs=2,
        logging_steps=4, save_strategy="no", disable_tqdm=True, seed=3,
    )
    values.update(overrides)
    return TrainingArguments(**values)


def accuracy(prediction: EvalPrediction) -> dict[str, float]:
    logits, labels = prediction  # unpacks like the reference's
    return {"accuracy": float((logits.argmax(-1) == labels).mean())}


# ------------------------------------------------------------------ outputs the model may return
@pytest.mark.parametrize("output", ["dict", "model_output", "tuple"])
def test_loss_goes_down_whatever_the_output_kind(tmp_path: Path, toy_data: list[dict], output: str) -> None:
    trainer = Trainer(DictModel(output=output), args(tmp_path, num_train_epochs=4), train_dataset=toy_data,
                      eval_dataset=toy_data, compute_metrics=accuracy)
    before = trainer.evaluate()["eval_loss"]
    result = trainer.train()
    after = trainer.evaluate()
    assert after["eval_loss"] < before * 0.7
    assert after["eval_accuracy"] >= 0.9
    assert result.global_step == 32 and result.metrics["train_loss"] > 0
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    assert losses[-1] < losses[0]


def test_model_without_loss_while_labels_are_given_is_an_error(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(output="no_loss"), args(tmp_path), train_dataset=toy_data)
    with pytest.raises(TrainerError, match=r"returned no loss .*although the batch has labels \(labels\)"):
        trainer.train()


def test_batch_without_labels_and_model_without_loss_says_what_to_do(tmp_path: Path) -> None:
    data = [{"x": torch.randn(4)} for _ in range(16)]
    with pytest.raises(TrainerError, match="batch has no labels"):
        Trainer(DictModel(), args(tmp_path), train_dataset=data).train()


def test_tuple_whose_first_item_is_not_a_loss_is_an_error(tmp_path: Path, toy_data: list[dict]) -> None:
    class LogitsFirst(DictModel):
        def forward(self, x, labels=None):  # noqa: ANN001, ANN201
            out = super().forward(x, labels)
            return (out["logits"], out["loss"])

    with pytest.raises(TrainerError, match="first item is not a scalar loss"):
        Trainer(LogitsFirst(), args(tmp_path), train_dataset=toy_data).train()


# ------------------------------------------------------------------ data of every kind
class MapDataset(Dataset):
    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        return {**self.rows[index], "note": "a string column forward does not take", "id": index}


class Stream(IterableDataset):
    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def __iter__(self):  # noqa: ANN204
        return iter(self.rows)


def test_map_dataset_unused_columns_are_dropped_and_named(tmp_path: Path, toy_data: list[dict],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="modelyard.training.data"):
        Trainer(DictModel(), args(tmp_path, max_steps=2), train_dataset=MapDataset(toy_data)).train()
    assert "have been ignored: id, note" in caplog.text


def test_list_of_dicts_is_filtered_only_where_a_row_has_unused_columns(tmp_path: Path, toy_data: list[dict],
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, max_steps=2), train_dataset=toy_data)
    # every row holds only forward's arguments: the batches skip the per-batch column check
    assert trainer._collator_for(toy_data, "training") is trainer.data_collator
    with_ids = [{**row, "id": index} for index, row in enumerate(toy_data)]  # forward(x, labels) takes no id
    for rows in (with_ids, [*toy_data[:-1], with_ids[-1]]):  # every row, or one row, with the extra column
        trainer = Trainer(DictModel(), args(tmp_path, max_steps=8), train_dataset=rows)
        assert trainer._collator_for(rows, "training") is not trainer.data_collator
    with caplog.at_level("INFO", logger="modelyard.training.data"):
        assert Trainer(DictModel(), args(tmp_path, max_steps=8), train_dataset=with_ids).train().global_step == 8
    assert "have been ignored: id" in caplog.text


def test_keeping_unused_columns_reaches_the_model_and_fails_there(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, max_steps=2, remove_unused_columns=False),
                      train_dataset=[{**r, "id": 1} for r in toy_data])
    with pytest.raises(TypeError, match="id"):
        trainer.train()


def test_a_typed_keyword_group_counts_as_the_names_it_declares_for_the_column_filter() -> None:
    # BERT takes its output switches as **kwargs: Unpack[OutputSwitches]: the filter still knows every name, so a
    # text column is dropped rather than passed to forward; a bare **kwargs still means "anything goes"
    from modelyard import BertConfig, BertForSequenceClassification
    from modelyard.training.data import forward_parameters, kept_columns

    bert = BertForSequenceClassification(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1,
                                                    num_attention_heads=2, intermediate_size=16))
    names = forward_parameters(bert)
    assert names is not None and names[:7] == ["input_ids", "attention_mask", "token_type_ids", "position_ids",
                                               "head_mask", "inputs_embeds", "labels"]
    assert {"output_attentions", "output_hidden_states", "return_dict"} <= set(names) and "kwargs" not in names
    kept = kept_columns(bert, ["labels"])
    assert kept is not None and "text" not in kept and "input_ids" in kept

    class Loose(torch.nn.Module):
        def forward(self, x: torch.Tensor, **kwargs: Any) -> torch.Tensor:
            return x

    assert forward_parameters(Loose()) is None


def test_iterable_dataset_needs_max_steps(tmp_path: Path, toy_data: list[dict]) -> None:
    with pytest.raises(TrainerError, match="set max_steps"):
        Trainer(DictModel(), args(tmp_path), train_dataset=Stream(toy_data)).train()
    # with max_steps it streams, starting new passes over the data as needed (64 rows = 8 batches)
    trainer = Trainer(DictModel(), args(tmp_path, max_steps=20), train_dataset=Stream(toy_data))
    assert trainer.train().global_step == 20


def test_huggingface_datasets_dataset(tmp_path: Path, toy_data: list[dict]) -> None:
    datasets = pytest.importorskip("datasets")
    table = datasets.Dataset.from_list([{"x": r["x"].tolist(), "label": r["labels"], "text": "t"} for r in toy_data])
    trainer = Trainer(DictModel(), args(tmp_path, num_train_epochs=4), train_dataset=table, eval_dataset=table,
                      compute_metrics=accuracy)
    trainer.train()
    assert trainer.evaluate()["eval_accuracy"] >= 0.9


def test_plain_iterator_is_refused_with_advice(tmp_path: Path, toy_data: list[dict]) -> None:
    with pytest.raises(TrainerError, match="IterableDataset"):
        Trainer(DictModel(), args(tmp_path), train_dataset=iter(toy_data))


@pytest.mark.parametrize(("size", "seed"), [(1, 0), (10, 42), (1000, 7)])
def test_epoch_order_is_the_seeded_order_accelerate_draws(size: int, seed: int) -> None:
    from accelerate.data_loader import SeedableRandomSampler

    from modelyard.training.data import EpochShuffleSampler

    ours = EpochShuffleSampler(range(size), seed=seed)
    accelerates = SeedableRandomSampler(range(size), data_seed=seed)
    orders = []
    for epoch in (0, 1, 5, 1):
        ours.set_epoch(epoch)
        accelerates.set_epoch(epoch)
        orders.append(list(ours))
        assert orders[-1] == list(accelerates)
        assert sorted(orders[-1]) == list(range(size))
    assert orders[1] == orders[3]  # an epoch's order depends on the seed and the epoch only
    assert size == 1 or orders[0] != orders[1]


def test_training_order_comes_from_the_epoch_seeded_sampler(tmp_path: Path, toy_data: list[dict]) -> None:
    # a list iterator over one permutation per epoch, not accelerate's sampler (two Python generators a sample)
    from modelyard.training.data import EpochShuffleSampler

    loader = Trainer(DictModel(), args(tmp_path, data_seed=5), train_dataset=toy_data).get_train_dataloader()
    sampler = loader.batch_sampler.sampler
    assert isinstance(sampler, EpochShuffleSampler) and sampler.seed == 5
    assert type(iter(sampler)).__name__ == "list_iterator"


def test_a_dataset_with_set_epoch_is_told_every_epoch(tmp_path: Path, toy_data: list[dict]) -> None:
    class EpochAware(MapDataset):
        def __init__(self, rows: list[dict]) -> None:
            super().__init__(rows)
            self.epochs: list[int] = []

        def set_epoch(self, epoch: int) -> None:
            self.epochs.append(epoch)

    data = EpochAware(toy_data)
    Trainer(DictModel(), args(tmp_path, num_train_epochs=3), train_dataset=data).train()
    assert sorted(set(data.epochs)) == [0, 1, 2] and data.epochs == sorted(data.epochs)


def test_empty_train_dataset_says_so(tmp_path: Path) -> None:
    with pytest.raises(TrainerError, match="gave no batch in epoch 0"):
        Trainer(DictModel(), args(tmp_path, max_steps=3), train_dataset=[]).train()
    with pytest.raises(TrainerError, match="gives no batch"):
        Trainer(DictModel(), args(tmp_path), train_dataset=[]).train()


# ------------------------------------------------------------------ gradient accumulation
def test_accumulating_k_batches_of_b_equals_one_batch_of_k_times_b(tmp_path: Path, toy_data: list[dict]) -> None:
    torch.manual_seed(0)
    start = DictModel().state_dict()
    runs = {}
    for batch, accumulation in ((16, 1), (4, 4)):
        model = DictModel()
        model.load_state_dict(start)
        Trainer(model, args(tmp_path / f"{batch}", per_device_train_batch_size=batch,
                            gradient_accumulation_steps=accumulation, max_steps=6, weight_decay=0.01),
                train_dataset=toy_data).train()
        runs[batch] = model.state_dict()
    assert not torch.equal(runs[16]["linear.weight"], start["linear.weight"])
    for key in start:
        # the same samples per step (accelerate's seeded order), mean of 4 means / 4: float32 rounding only
        torch.testing.assert_close(runs[4][key], runs[16][key], rtol=1e-5, atol=1e-6)


def test_partial_accumulation_group_at_the_end_of_an_epoch_still_steps(tmp_path: Path) -> None:
    data = separable(count=40)  # 5 batches of 8; accumulation 2 -> steps of 2, 2, 1 batches per epoch
    trainer = Trainer(DictModel(), args(tmp_path, gradient_accumulation_steps=2, num_train_epochs=2),
                      train_dataset=data)
    assert trainer.train().global_step == 6
    assert trainer.state.epoch == 2.0


# ------------------------------------------------------------------ gradient clipping
def test_gradients_are_clipped_to_max_grad_norm_over_every_parameter(tmp_path: Path, toy_data: list[dict]) -> None:
    model = DictModel()
    start = [p.detach().clone() for p in model.parameters()]
    # plain SGD with lr 1: the update is minus the clipped gradient, so its norm is min(gradient norm, max)
    trainer = Trainer(model, args(tmp_path, optim="sgd", learning_rate=1.0, lr_scheduler_type="constant",
                                  max_steps=1, max_grad_norm=1e-3, logging_steps=1), train_dataset=toy_data)
    trainer.train()
    update = torch.cat([(p.detach() - s).flatten() for p, s in zip(model.parameters(), start)])
    assert (update != 0).sum() == update.numel()  # the weight and the bias moved
    grad_norm = next(r["grad_norm"] for r in trainer.state.log_history if "grad_norm" in r)
    assert grad_norm > 1e-2  # the clipping did something
    torch.testing.assert_close(update.norm(), torch.tensor(1e-3), rtol=1e-4, atol=0)


def test_parameters_are_listed_once_per_training_run_not_per_step(tmp_path: Path, toy_data: list[dict]) -> None:
    # walking the module tree for the clipping costs more than the clipping of a small model, every step
    class Counting(DictModel):
        calls = 0

        def parameters(self, recurse: bool = True) -> Any:
            self.calls += 1
            return super().parameters(recurse)

    listed = []
    for steps in (2, 12):
        model = Counting()
        Trainer(model, args(tmp_path / str(steps), max_steps=steps, logging_strategy="no"),
                train_dataset=toy_data).train()
        listed.append(model.calls)
    assert listed[0] == listed[1]


# ------------------------------------------------------------------ callbacks
def _recording(event: str) -> Any:
    def record(self: Any, args: Any, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        assert {"model", "optimizer", "lr_scheduler", "train_dataloader"} <= set(kwargs)
        self.events.append(event)

    return record


class Recorder(TrainerCallback):
    def __init__(self) -> None:
        self.events: list[str] = []

    for _event in EVENTS:
        locals()[_event] = _recording(_event)


def test_callbacks_are_called_in_the_documented_order(tmp_path: Path) -> None:
    data = separable(count=32)  # 4 batches of 8, accumulation 2 -> 2 steps per epoch
    recorder = Recorder()
    trainer = Trainer(DictModel(), args(tmp_path, num_train_epochs=1, gradient_accumulation_steps=2, logging_steps=2,
                                        eval_strategy="steps", eval_steps=2, save_strategy="steps", save_steps=2,
                                        per_device_eval_batch_size=16),
                      train_dataset=data, eval_dataset=data, callbacks=[recorder])
    trainer.train()
    step = ["on_step_begin", "on_substep_end", "on_pre_optimizer_step", "on_optimizer_step", "on_step_end"]
    evaluation = ["on_prediction_step", "on_prediction_step", "on_log", "on_evaluate"]
    expected = (
        ["on_init_end", "on_train_begin", "on_epoch_begin"]
        + step
        + step + ["on_log"] + evaluation + ["on_save"]
        + ["on_epoch_end", "on_log", "on_train_end"]
    )
    assert recorder.events == expected


def test_step_hooks_without_a_listener_are_not_dispatched(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, num_train_epochs=1, logging_strategy="no"), train_dataset=toy_data)
    dispatched: list[str] = []
    call = trainer.callback_handler.call

    def counting(event: str, *rest: Any, **kwargs: Any) -> TrainerControl:
        dispatched.append(event)
        return call(event, *rest, **kwargs)

    trainer.callback_handler.call = counting  # type: ignore[method-assign]
    trainer.train()
    assert trainer.state.global_step == 8
    # no callback overrides the hooks inside a step: not even a call that returns at once, 3 times a step
    assert dispatched.count("on_step_end") == 8
    assert not {"on_step_begin", "on_pre_optimizer_step", "on_optimizer_step"} & set(dispatched)


def test_a_callback_added_during_training_gets_the_step_hooks(tmp_path: Path, toy_data: list[dict]) -> None:
    late = Recorder()

    class AddAtTwo(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN201
            if state.global_step == 2:
                trainer.add_callback(late)

    trainer = Trainer(DictModel(), args(tmp_path, num_train_epochs=1, logging_strategy="no"), train_dataset=toy_data,
                      callbacks=[AddAtTwo()])
    trainer.train()
    step = ["on_step_begin", "on_pre_optimizer_step", "on_optimizer_step", "on_step_end"]
    assert late.events[: 4 * 6] == step * 6  # steps 3..8
    assert late.events[4 * 6:] == ["on_epoch_end", "on_log", "on_train_end"]  # the summary is logged


def test_a_callback_can_stop_training(tmp_path: Path, toy_data: list[dict]) -> None:
    class StopAtThree(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN201
            if state.global_step == 3:
                control.should_training_stop = True
            return control

    trainer = Trainer(DictModel(), args(tmp_path), train_dataset=toy_data, callbacks=[StopAtThree])
    assert trainer.train().global_step == 3


def test_callback_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrainerError, match="subclass modelyard.TrainerCallback"):
        Trainer(DictModel(), args(tmp_path), callbacks=[object()])


def test_early_stopping_stops_when_the_metric_stops_improving(tmp_path: Path, toy_data: list[dict]) -> None:
    flat = [{"x": r["x"], "labels": 0} for r in toy_data]  # nothing to learn beyond "always 0"
    trainer = Trainer(
        DictModel(), args(tmp_path, num_train_epochs=50, eval_strategy="steps", eval_steps=2, learning_rate=0.0,
                          metric_for_best_model="loss", save_strategy="no"),
        train_dataset=flat, eval_dataset=flat[:16], callbacks=[EarlyStoppingCallback(early_stopping_patience=2)],
    )
    trainer.train()
    assert trainer.state.global_step == 6  # evaluations at 2 (best), 4 and 6 (no improvement twice)


def test_early_stopping_without_a_metric_says_so(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path), train_dataset=toy_data, callbacks=[EarlyStoppingCallback()])
    with pytest.raises(TrainerError, match="metric_for_best_model"):
        trainer.train()


# ------------------------------------------------------------------ checkpoints
def test_checkpoints_rotate_but_keep_the_best(tmp_path: Path, toy_data: list[dict]) -> None:
    class WorseAfterFour(TrainerCallback):
        """Fakes the evaluation: the best score is at step 4, later ones are worse."""

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):  # noqa: ANN001, ANN003, ANN201
            pass

    trainer = Trainer(DictModel(), args(tmp_path, max_steps=12, eval_strategy="steps", eval_steps=2,
                                        save_strategy="steps", save_steps=2, save_total_limit=2,
                                        metric_for_best_model="score", load_best_model_at_end=True),
                      train_dataset=toy_data, eval_dataset=toy_data[:8], callbacks=[WorseAfterFour()],
                      compute_metrics=lambda p: {"score": 1.0 if trainer.state.global_step == 4 else 0.5})
    trainer.train()
    names = sorted(p.name for p in (tmp_path / "out").glob("checkpoint-*"))
    assert names == ["checkpoint-12", "checkpoint-4"]
    assert trainer.state.best_model_checkpoint.endswith("checkpoint-4")
    assert trainer.state.best_metric == 1.0
    # load_best_model_at_end: the model now holds checkpoint-4's weights
    from safetensors.torch import load_file

    best = load_file(str(tmp_path / "out" / "checkpoint-4" / "model.safetensors"))
    assert torch.equal(trainer.model.linear.weight.detach(), best["linear.weight"])
    assert not (tmp_path / "out" / "tmp-checkpoint-12").exists()


def test_a_checkpoint_loads_with_from_pretrained(tmp_path: Path) -> None:
    from modelyard import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=20, max_position_embeddings=12, num_labels=2)
    model = BertForSequenceClassification(config)
    g = torch.Generator().manual_seed(1)
    data = [{"input_ids": torch.randint(1, 30, (8,), generator=g), "labels": i % 2} for i in range(16)]
    trainer = Trainer(model, args(tmp_path, max_steps=3, save_strategy="steps", save_steps=3), train_dataset=data)
    trainer.train()
    folder = get_last_checkpoint(tmp_path / "out")
    assert folder is not None and folder.name == "checkpoint-3"
    assert {"config.json", "model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth",
            "trainer_state.json", "training_args.json"} <= {p.name for p in folder.iterdir()}
    loaded = BertForSequenceClassification.from_pretrained(folder)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    state = json.loads((folder / "trainer_state.json").read_text())
    assert state["global_step"] == 3 and state["log_history"] == trainer.state.log_history[: len(state["log_history"])]
    assert json.loads((folder / "training_args.json").read_text())["max_steps"] == 3


def test_resume_refuses_an_index_that_names_weights_outside_the_checkpoint(tmp_path: Path,
                                                                           toy_data: list[dict]) -> None:
    from safetensors.torch import load_file, save_file

    from modelyard.errors import UnsafeFileError

    trainer = Trainer(DictModel(), args(tmp_path, max_steps=2, save_strategy="steps", save_steps=2),
                      train_dataset=toy_data)
    trainer.train()
    folder = tmp_path / "out" / "checkpoint-2"
    state = load_file(str(folder / "model.safetensors"))
    save_file(state, str(tmp_path / "outside.safetensors"))  # two levels up from the checkpoint
    (folder / "model.safetensors").unlink()
    index = {"metadata": {}, "weight_map": {key: "../../outside.safetensors" for key in state}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    resumed = Trainer(DictModel(), args(tmp_path, max_steps=4, save_strategy="steps", save_steps=2),
                      train_dataset=toy_data)
    with pytest.raises(UnsafeFileError, match="../../outside.safetensors"):
        resumed.train(resume_from_checkpoint=str(folder))


def test_resume_without_a_checkpoint_says_so(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path), train_dataset=toy_data)
    with pytest.raises(CheckpointError, match="holds no complete checkpoint"):
        trainer.train(resume_from_checkpoint=True)
    with pytest.raises(CheckpointError, match="not a complete checkpoint"):
        trainer.train(resume_from_checkpoint=str(tmp_path))


# ------------------------------------------------------------------ evaluation and prediction
def test_predict_returns_every_prediction_and_label(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, per_device_eval_batch_size=5), compute_metrics=accuracy)
    output = trainer.predict(toy_data[:13])
    assert output.predictions.shape == (13, 2) and output.label_ids.shape == (13,)
    assert np.array_equal(output.label_ids, [r["labels"] for r in toy_data[:13]])
    assert {"test_loss", "test_accuracy", "test_runtime"} <= set(output.metrics)
    logits = torch.stack([trainer.model(r["x"][None])["logits"][0] for r in toy_data[:13]]).detach().numpy()
    np.testing.assert_allclose(output.predictions, logits, rtol=1e-6, atol=1e-6)


def test_preprocess_logits_for_metrics(tmp_path: Path, toy_data: list[dict]) -> None:
    seen = {}

    def argmax(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return logits.argmax(-1)

    def metrics(prediction: EvalPrediction) -> dict[str, float]:
        seen["shape"] = prediction.predictions.shape
        return {"accuracy": float((prediction.predictions == prediction.label_ids).mean())}

    trainer = Trainer(DictModel(), args(tmp_path), compute_metrics=metrics, preprocess_logits_for_metrics=argmax)
    assert "eval_accuracy" in trainer.evaluate(toy_data[:10])
    assert seen["shape"] == (10,)


# ------------------------------------------------------------------ logs, reports, progress
def test_csv_and_tensorboard_reports(tmp_path: Path, toy_data: list[dict]) -> None:
    pytest.importorskip("tensorboardX")
    logging_dir = tmp_path / "logs"
    trainer = Trainer(DictModel(), args(tmp_path, report_to=["csv", "tensorboard"], logging_dir=str(logging_dir),
                                        eval_strategy="epoch"),
                      train_dataset=toy_data, eval_dataset=toy_data[:8])
    trainer.train()
    rows = list(csv.DictReader((logging_dir / "metrics.csv").open()))
    losses = [r for r in rows if r["name"] == "loss"]
    assert [int(r["step"]) for r in losses] == [4, 8, 12, 16]
    assert any(r["name"] == "eval_loss" for r in rows) and any(r["name"] == "train_runtime" for r in rows)
    events = list(logging_dir.glob("events.out.tfevents.*"))
    assert events
    tags = _tensorboard_tags(events[0])
    assert {"train/loss", "train/learning_rate", "eval/loss"} <= tags


class LossRecordingModel(DictModel):
    """Records the loss of every training forward; one step's loss is NaN (a constant added: the gradients stay
    finite), as a diverging batch would be."""

    def __init__(self, nan_at: int) -> None:
        super().__init__()
        self.losses: list[float] = []
        self.nan_at = nan_at

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None):  # noqa: ANN201
        out = super().forward(x, labels)
        if self.training and labels is not None:
            if len(self.losses) + 1 == self.nan_at:
                out["loss"] = out["loss"] + float("nan")
            self.losses.append(float(out["loss"].detach()))
        return out


def test_logged_loss_is_the_mean_of_the_step_losses(tmp_path: Path, toy_data: list[dict],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.training.trainer import LossWindow

    monkeypatch.setattr(LossWindow, "FOLD_EVERY", 3)  # windows of 5 steps cross the folds of the kept losses
    model = LossRecordingModel(nan_at=7)
    trainer = Trainer(model, args(tmp_path, max_steps=15, logging_steps=5), train_dataset=toy_data)
    result = trainer.train()
    steps = np.array(model.losses)
    assert len(steps) == 15 and np.isnan(steps[6])
    logged = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    windows = [steps[0:5], steps[5:10], steps[10:15]]
    # logging_nan_inf_filter (on by default): a non-finite step counts as the mean of the window's finite ones
    expected = [float(np.nanmean(w)) for w in windows]
    np.testing.assert_allclose(logged, expected, atol=6e-5, rtol=0)  # the logs are rounded to 4 places
    np.testing.assert_allclose(result.training_loss, np.mean(expected), rtol=1e-5)


def _tensorboard_tags(path: Path) -> set[str]:
    """Read the scalar tags of an event file (TFRecord frames of Event protos)."""
    import struct

    from tensorboardX.proto import event_pb2

    tags = set()
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        (length,) = struct.unpack("<Q", data[offset : offset + 8])
        event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
        tags.update(value.tag for value in event.summary.value)
        offset += 12 + length + 4
    return tags


def test_summary_and_logs_are_printed_like_the_reference(tmp_path: Path, toy_data: list[dict],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, disable_tqdm=True), train_dataset=toy_data)
    trainer.train()
    out = capsys.readouterr().out
    assert "{'loss': " in out and "'learning_rate': " in out
    summary = trainer.state.log_history[-1]
    assert {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "epoch"} <= set(summary)
    assert "'train_runtime': " in out and "'train_samples_per_second': " in out


def test_progress_bar_shows_steps_loss_and_rate(tmp_path: Path, toy_data: list[dict],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, disable_tqdm=False), train_dataset=toy_data,
                      eval_dataset=toy_data[:8])
    trainer.train()
    trainer.evaluate()
    err = capsys.readouterr().err
    assert "16/16" in err and "loss=" in err and "samples/s=" in err and "evaluating" in err


def test_bf16_mixed_precision_on_cpu(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, bf16=True, num_train_epochs=4), train_dataset=toy_data,
                      eval_dataset=toy_data, compute_metrics=accuracy)
    trainer.train()
    assert trainer.accelerator.mixed_precision == "bf16"
    assert trainer.model.linear.weight.dtype == torch.float32  # master weights stay float32
    assert trainer.evaluate()["eval_accuracy"] >= 0.85


def test_save_model_writes_the_save_pretrained_format(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path, max_steps=1), train_dataset=toy_data)
    trainer.train()
    trainer.save_model(tmp_path / "saved")
    assert (tmp_path / "saved" / "model.safetensors").is_file()
    assert json.loads((tmp_path / "saved" / "training_args.json").read_text())["hub_token"] is None


# ------------------------------------------------------------------ more settings
def _tiny_bert(dropout: float = 0.0) -> Any:
    from modelyard import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=20,
                        max_position_embeddings=12, num_labels=2, hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout)
    return BertForSequenceClassification(config)


def _token_rows(count: int = 24) -> list[dict]:
    g = torch.Generator().manual_seed(3)
    return [{"input_ids": torch.randint(5, 30, (8,), generator=g), "labels": i % 2} for i in range(count)]


def test_gradient_checkpointing_trains_the_same_weights(tmp_path: Path) -> None:
    runs = {}
    for checkpointing in (False, True):
        model = _tiny_bert()
        Trainer(model, args(tmp_path / str(checkpointing), max_steps=4, gradient_checkpointing=checkpointing,
                            learning_rate=1e-2), train_dataset=_token_rows()).train()
        assert model.is_gradient_checkpointing is checkpointing
        runs[checkpointing] = model.state_dict()
    for key, value in runs[False].items():
        torch.testing.assert_close(runs[True][key], value, rtol=1e-5, atol=1e-6)


def test_gradient_checkpointing_on_a_model_without_it_says_so(tmp_path: Path, toy_data: list[dict]) -> None:
    with pytest.raises(TrainerError, match="does not support it"):
        Trainer(DictModel(), args(tmp_path, gradient_checkpointing=True), train_dataset=toy_data).train()


def test_random_collator_gives_the_same_training_with_worker_processes(tmp_path: Path) -> None:
    """Masks are drawn per batch from a seeded generator: prefetching and worker processes change nothing."""
    from modelyard import BertForMaskedLM, DataCollatorForLanguageModeling

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *[f"w{i}" for i in range(25)]]) + "\n")
    from modelyard import BertTokenizer

    tokenizer = BertTokenizer(str(vocab))
    rows = [tokenizer(" ".join(f"w{(i * 7 + j) % 25}" for j in range(3 + i % 5))) for i in range(24)]
    runs = {}
    for workers in (0, 2):
        torch.manual_seed(0)
        model = BertForMaskedLM(_tiny_bert(dropout=0.1).config)
        Trainer(model, args(tmp_path / str(workers), max_steps=5, per_device_train_batch_size=4,
                            dataloader_num_workers=workers, learning_rate=1e-2),
                data_collator=DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3),
                train_dataset=rows).train()
        runs[workers] = model.state_dict()
    for key, value in runs[0].items():
        assert torch.equal(runs[2][key], value), key


def test_causal_lm_labels_ignore_padding(tmp_path: Path) -> None:
    from modelyard import BertTokenizer, DataCollatorForLanguageModeling

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]) + "\n")
    tokenizer = BertTokenizer(str(vocab))
    batch = DataCollatorForLanguageModeling(tokenizer, mlm=False)([tokenizer("a b a"), tokenizer("b")])
    assert batch["labels"].tolist()[1][-2:] == [-100, -100]
    assert batch["labels"].tolist()[0] == batch["input_ids"].tolist()[0]


def test_several_evaluation_sets_get_their_own_prefix(tmp_path: Path, toy_data: list[dict]) -> None:
    trainer = Trainer(DictModel(), args(tmp_path), compute_metrics=accuracy,
                      eval_dataset={"left": toy_data[:10], "right": toy_data[10:30]})
    metrics = trainer.evaluate()
    assert {"eval_left_loss", "eval_left_accuracy", "eval_right_loss", "eval_right_accuracy"} <= set(metrics)
