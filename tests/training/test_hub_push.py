"""``push_to_hub`` against the embedded hub: the final model with its custom code and a model card, and
``hub_strategy="checkpoint"`` resuming on "another machine" (a fresh output folder) from the hub."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from _toys import separable

from modelyard import (
    AutoModelForImageClassification,
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_architecture" / "resnet_model"


def custom_resnet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The guide's ResNet classes, from a private copy of the example package (registration changes classes)."""
    name = "trainres_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    shutil.copytree(EXAMPLE, tmp_path / "src" / name)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    importlib.invalidate_caches()
    config_class = importlib.import_module(f"{name}.configuration_resnet").ResnetConfig
    model_class = importlib.import_module(f"{name}.modeling_resnet").ResnetModelForImageClassification
    return config_class, model_class


def images(count: int) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    rows = []
    for index in range(count):
        label = index % 3
        pixels = torch.rand(3, 32, 32, generator=g) * 0.3
        pixels[label] += 0.7
        rows.append({"tensor": pixels, "labels": label})  # the guide's forward(tensor, labels=None)
    return rows


def test_push_to_hub_sends_model_code_and_card(hub_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_class, model_class = custom_resnet(tmp_path, monkeypatch)
    config_class.register_for_auto_class()
    model_class.register_for_auto_class("AutoModelForImageClassification")
    torch.manual_seed(0)
    model = model_class(config_class(block_type="basic", layers=[1, 1], num_classes=3))
    repo = hub_env.repo_id("trained-resnet")
    args = TrainingArguments(str(tmp_path / "out"), max_steps=4, per_device_train_batch_size=4, learning_rate=1e-3,
                             save_strategy="no", eval_strategy="steps", eval_steps=2, disable_tqdm=True,
                             push_to_hub=True, hub_model_id=repo, hub_strategy="end")
    trainer = Trainer(model, args, train_dataset=images(16), eval_dataset=images(6))
    trainer.train()
    assert trainer.hub_model_id == repo
    api = hub_env.api()
    files = set(api.list_repo_files(repo))
    assert {"config.json", "model.safetensors", "configuration_resnet.py", "modeling_resnet.py", "resnet.py",
            "README.md", "training_args.json"} <= files
    assert not any(f.startswith(("checkpoint-", "runs/")) for f in files)
    card = (tmp_path / "out" / "README.md").read_text()
    assert "library_name: modelyard" in card and "learning_rate: 0.001" in card
    assert "- Loss: " in card and "| Training Loss | Epoch | Step | Validation Loss |" in card
    commit = api.list_repo_commits(repo)[0].commit_id
    loaded = AutoModelForImageClassification.from_pretrained(repo, trust_remote_code=True, revision=commit)
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(loaded(x)["logits"], model.eval()(x)["logits"])


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN201
        if state.global_step == self.step:
            control.should_training_stop = True


def tiny_bert() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=20, max_position_embeddings=12, num_labels=2)
    return BertForSequenceClassification(config)


def token_data() -> list[dict]:
    g = torch.Generator().manual_seed(3)
    return [{"input_ids": torch.randint(1, 30, (6,), generator=g), "labels": i % 2} for i in range(24)]


def test_checkpoint_strategy_resumes_on_another_machine(hub_env: Any, tmp_path: Path) -> None:
    repo = hub_env.repo_id("resumable")
    options = dict(max_steps=6, per_device_train_batch_size=4, learning_rate=1e-3, save_strategy="steps",
                   save_steps=3, disable_tqdm=True, seed=5)
    whole = tiny_bert()
    Trainer(whole, TrainingArguments(str(tmp_path / "whole"), **options), train_dataset=token_data()).train()

    first = tiny_bert()
    hub_args = dict(push_to_hub=True, hub_model_id=repo, hub_strategy="checkpoint", **options)
    Trainer(first, TrainingArguments(str(tmp_path / "machine-a"), **hub_args), train_dataset=token_data(),
            callbacks=[StopAt(3)]).train()
    files = set(hub_env.api().list_repo_files(repo))
    assert {"last-checkpoint/trainer_state.json", "last-checkpoint/optimizer.pt", "last-checkpoint/rng_state.pth",
            "last-checkpoint/model.safetensors", "model.safetensors"} <= files

    second = tiny_bert()  # a new machine: nothing local
    trainer = Trainer(second, TrainingArguments(str(tmp_path / "machine-b"), **hub_args), train_dataset=token_data())
    assert trainer.train(resume_from_checkpoint=True).global_step == 6
    for key, value in whole.state_dict().items():
        assert torch.equal(second.state_dict()[key], value), key


def test_no_checkpoint_anywhere_is_an_error(hub_env: Any, tmp_path: Path) -> None:
    from modelyard.training import CheckpointError

    args = TrainingArguments(str(tmp_path / "out"), push_to_hub=True, hub_model_id=hub_env.repo_id("empty"),
                             hub_strategy="checkpoint", disable_tqdm=True)
    trainer = Trainer(tiny_bert(), args, train_dataset=separable())
    with pytest.raises(CheckpointError, match="holds no complete checkpoint"):
        trainer.train(resume_from_checkpoint=True)


def test_push_errors_are_translated_like_every_other_push(hub_env: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.errors import HubAuthenticationError, HubConnectionError

    repo = hub_env.repo_id("refused-run")
    options = dict(max_steps=1, per_device_train_batch_size=4, save_strategy="no", disable_tqdm=True,
                   push_to_hub=True, hub_model_id=repo, hub_strategy="end")
    # A token the hub does not know: refused before any training step, with the status and the fix.
    refused = Trainer(tiny_bert(), TrainingArguments(str(tmp_path / "a"), hub_token="not-a-token", **options),
                      train_dataset=token_data())
    with pytest.raises(HubAuthenticationError, match=f"Could not push the training run to '{repo}'.*answered 401"
                                                     ".*modelyard login"):
        refused.train()
    assert refused.state.global_step == 0
    # A read-only token may not push the final model.
    reader = hub_env.create_token(hub_env.user, role="read")
    hub_env.api().create_repo(repo)
    trainer = Trainer(tiny_bert(), TrainingArguments(str(tmp_path / "b"), hub_token=reader, **options),
                      train_dataset=token_data())
    with pytest.raises(HubAuthenticationError, match="answered 403"):
        trainer.push_to_hub()
    # No hub at the endpoint: one typed error that names HF_ENDPOINT.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    unreachable = Trainer(tiny_bert(), TrainingArguments(str(tmp_path / "c"), **options), train_dataset=token_data())
    with pytest.raises(HubConnectionError, match="Could not reach the hub to push the training run.*HF_ENDPOINT is"):
        unreachable.train()
