"""TrainingArguments: the reference's names and defaults, and errors at construction for bad settings;
learning-rate schedules equal to the reference's formulas."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch

from modelyard import TrainingArguments
from modelyard.errors import UnexpectedArgumentError
from modelyard.training import TrainingArgumentsError, get_scheduler

REF_PY = Path(__file__).resolve().parents[2] / ".venv-ref" / "bin" / "python"
COMPARED = [
    "num_train_epochs", "max_steps", "per_device_train_batch_size", "per_device_eval_batch_size",
    "gradient_accumulation_steps", "learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon",
    "max_grad_norm", "lr_scheduler_type", "warmup_steps", "warmup_ratio", "eval_strategy", "logging_strategy",
    "logging_steps", "save_strategy", "save_steps", "save_total_limit", "load_best_model_at_end",
    "metric_for_best_model", "greater_is_better", "seed", "data_seed", "bf16", "fp16", "dataloader_num_workers",
    "dataloader_drop_last", "remove_unused_columns", "label_names", "push_to_hub", "hub_model_id", "hub_strategy",
    "resume_from_checkpoint", "gradient_checkpointing", "torch_compile", "optim", "logging_first_step",
    "logging_nan_inf_filter", "save_only_model", "prediction_loss_only", "use_cpu", "hub_private_repo",
    "do_train", "do_eval", "do_predict", "save_safetensors", "eval_accumulation_steps", "batch_eval_metrics",
    "eval_use_gather_object", "log_level", "log_level_replica", "skip_memory_metrics", "neftune_noise_alpha",
    "auto_find_batch_size",
]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"learning_rte": 1e-3}, r"'learning_rte' \(did you mean 'learning_rate'\?\)"),
        ({"evaluation_strategy": "steps"}, "old name: use 'eval_strategy'"),
        ({"warmup_ratio": 1.5}, r"warmup_ratio must lie in \[0, 1\]"),
        ({"warmup_ratio": -0.1}, r"warmup_ratio must lie in \[0, 1\]"),
        ({"load_best_model_at_end": True, "eval_strategy": "steps", "save_strategy": "epoch"},
         "eval_strategy is 'steps' and save_strategy is 'epoch'; set both to the same strategy"),
        ({"load_best_model_at_end": True}, "eval_strategy is 'no'"),
        ({"load_best_model_at_end": True, "eval_strategy": "steps", "save_strategy": "steps", "eval_steps": 30,
          "save_steps": 50}, "save_steps .50. is not a multiple of eval_steps .30."),
        ({"lr_scheduler_type": "cosin"}, "Did you mean 'cosine'"),
        ({"eval_strategy": "step"}, "Did you mean 'steps'"),
        ({"report_to": "tensorbord"}, "Did you mean 'tensorboard'"),
        ({"fp16": True}, "fp16=True needs a CUDA GPU.*use bf16=True"),
        ({"fp16": True, "bf16": True}, "choose one mixed precision"),
        ({"per_device_train_batch_size": 0}, "per_device_train_batch_size must be a whole number >= 1"),
        ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps must be"),
        ({"max_steps": 0}, "max_steps must be > 0"),
        ({"save_total_limit": 0}, "save_total_limit must be >= 1"),
        ({"logging_steps": 0}, "logging_strategy='steps' needs logging_steps"),
        ({"adam_beta1": 1.0}, r"adam_beta1 must lie in \[0, 1\)"),
        ({"report_to": ["none", "csv"]}, "mixes 'none'"),
        ({"dataloader_persistent_workers": True}, "needs worker processes"),
    ],
)
def test_bad_settings_fail_at_construction(settings: dict, message: str, tmp_path: Path) -> None:
    if settings.get("fp16") and not settings.get("bf16") and torch.cuda.is_available():
        pytest.skip("fp16 is valid where a GPU is present")
    with pytest.raises((TrainingArgumentsError, UnexpectedArgumentError), match=message):
        TrainingArguments(output_dir=str(tmp_path), **settings)


def test_errors_are_value_and_type_errors_as_users_catch_them(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        TrainingArguments(str(tmp_path), warmup_ratio=2)
    with pytest.raises(TypeError):
        TrainingArguments(str(tmp_path), no_such_setting=1)


def test_derived_defaults(tmp_path: Path) -> None:
    args = TrainingArguments(str(tmp_path), eval_strategy="steps", logging_steps=25, load_best_model_at_end=True,
                             save_strategy="steps", save_steps=50)
    assert args.eval_steps == 25  # follows logging_steps
    assert args.metric_for_best_model == "loss" and args.greater_is_better is False
    assert TrainingArguments(str(tmp_path), metric_for_best_model="accuracy").greater_is_better is True
    assert TrainingArguments().output_dir == "trainer_output"
    assert str(TrainingArguments(str(tmp_path)).logging_dir).startswith(str(tmp_path / "runs"))
    masked = TrainingArguments(str(tmp_path), hub_token="secret").to_dict()
    assert masked["hub_token"] == "<HUB_TOKEN>" and "secret" not in TrainingArguments(
        str(tmp_path), hub_token="secret").to_json_string()
    assert TrainingArguments(str(tmp_path), warmup_ratio=0.1).get_warmup_steps(95) == 10


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_defaults_parity_with_the_reference(tmp_path: Path) -> None:
    code = (
        "import json, sys\nfrom transformers import TrainingArguments\n"
        f"a = TrainingArguments(output_dir={str(tmp_path)!r}, report_to='none')\n"
        f"names = {COMPARED!r}\n"
        "out = {}\n"
        "for n in names:\n"
        "    v = getattr(a, n)\n"
        "    out[n] = v.value if hasattr(v, 'value') else v\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([str(REF_PY), "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    reference = json.loads(result.stdout.strip().splitlines()[-1])
    ours = TrainingArguments(output_dir=str(tmp_path)).to_dict()
    assert {n: ours[n] for n in COMPARED} == reference


# ------------------------------------------------------------------ schedules
def reference_formula(kind: str, step: int, warmup: int, total: int) -> float:
    """The reference's documented curves, written out independently."""
    if kind == "constant":
        return 1.0
    if step < warmup:
        return step / max(1, warmup)
    if kind == "constant_with_warmup":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if kind == "linear":
        return max(0.0, (total - step) / max(1, total - warmup))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


@pytest.mark.parametrize("kind", ["linear", "cosine", "constant", "constant_with_warmup"])
@pytest.mark.parametrize(("warmup", "total"), [(0, 10), (3, 20), (7, 7)])
def test_schedule_curves(kind: str, warmup: int, total: int) -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    scheduler = get_scheduler(kind, optimizer, num_warmup_steps=warmup, num_training_steps=total)
    seen = []
    for _ in range(total + 2):
        seen.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    expected = [2.0 * reference_formula(kind, step, warmup, total) for step in range(total + 2)]
    assert seen == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_scheduler_state_is_plain_data() -> None:
    import io

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = get_scheduler("cosine", optimizer, num_warmup_steps=2, num_training_steps=10)
    for _ in range(4):
        optimizer.step()
        scheduler.step()
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    restored = get_scheduler("cosine", optimizer, num_warmup_steps=2, num_training_steps=10)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.get_last_lr() == scheduler.get_last_lr() and restored.last_epoch == 4


# Every schedule the reference has, with settings that exercise its options (cycles, floors, restarts).
SCHEDULE_CASES: dict[str, dict] = {
    "linear": {},
    "cosine": {},
    "constant": {},
    "constant_with_warmup": {},
    "cosine_with_restarts": {"num_cycles": 3},
    "polynomial": {"lr_end": 0.05, "power": 2.0},
    "inverse_sqrt": {},  # the reference passes no extra setting to this one (ours honours timescale)
    "cosine_with_min_lr": {"min_lr_rate": 0.1, "num_cycles": 0.75},
    "cosine_warmup_with_min_lr": {"min_lr": 0.2},
    "cosine_warmup_with_min_lr-from": {"min_lr_rate": 0.1, "warmup_lr_rate": 0.3},
    "warmup_stable_decay": {"num_decay_steps": 6, "min_lr_ratio": 0.05},
    "warmup_stable_decay-shapes": {"num_decay_steps": 6, "warmup_type": "cosine", "decay_type": "1-sqrt"},
}


def _curve(get: Any, kind: str, kwargs: dict) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = get(kind.split("-")[0], optimizer, num_warmup_steps=4, num_training_steps=17,
                    scheduler_specific_kwargs=kwargs)
    lrs = []
    for _ in range(19):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_schedule_parity_with_the_reference() -> None:
    code = (
        "import json, sys, torch\nfrom transformers import get_scheduler\nout = {}\n"
        "for kind, kwargs in json.loads(sys.argv[1]).items():\n"
        "    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)\n"
        "    s = get_scheduler(kind.split('-')[0], opt, num_warmup_steps=4, num_training_steps=17,\n"
        "                      scheduler_specific_kwargs=kwargs)\n"
        "    lrs = []\n"
        "    for _ in range(19):\n"
        "        lrs.append(s.get_last_lr()[0]); opt.step(); s.step()\n"
        "    out[kind] = lrs\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([str(REF_PY), "-c", code, json.dumps(SCHEDULE_CASES)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    reference = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(reference) == set(SCHEDULE_CASES)
    for kind, curve in reference.items():
        assert _curve(get_scheduler, kind, SCHEDULE_CASES[kind]) == pytest.approx(curve, rel=1e-12, abs=1e-15), kind


def test_every_schedule_name_builds_and_bad_settings_say_what_to_pass() -> None:
    from modelyard.training.schedulers import SCHEDULER_NAMES

    covered = {kind.split("-")[0] for kind in SCHEDULE_CASES} | {"reduce_lr_on_plateau"}
    assert covered == set(SCHEDULER_NAMES)
    for kind in SCHEDULE_CASES:
        curve = _curve(get_scheduler, kind, SCHEDULE_CASES[kind])
        assert len(set(curve)) > 1 or kind == "constant", kind  # each curve moves (the options are not ignored)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="exactly one of min_lr"):
        get_scheduler("cosine_with_min_lr", optimizer, 2, 10)
    with pytest.raises(ValueError, match="needs num_warmup_steps"):
        get_scheduler("linear", optimizer)
    with pytest.raises(ValueError, match="lr_end .* must be smaller"):
        get_scheduler("polynomial", optimizer, 2, 10, {"lr_end": 2.0})
    with pytest.raises(ValueError, match="Unknown lr_scheduler_type 'cosin'"):
        get_scheduler("cosin", optimizer, 2, 10)


def test_batch_sizes_per_step_are_the_per_device_sizes(tmp_path) -> None:
    from modelyard import TrainingArguments

    args = TrainingArguments(str(tmp_path), per_device_train_batch_size=3, per_device_eval_batch_size=5)
    assert (args.train_batch_size, args.eval_batch_size) == (3, 5)


def test_model_init_builds_the_model_and_a_fresh_one_for_each_run(tmp_path) -> None:
    import torch
    from torch import nn

    from modelyard import Trainer, TrainingArguments
    from modelyard.training.errors import TrainerError

    class Regression(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Parameter(torch.randn(1))

        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict:
            out = self.a * x
            return {"loss": ((out - labels) ** 2).mean(), "logits": out} if labels is not None else {"logits": out}

    built: list[nn.Module] = []

    def make() -> nn.Module:
        built.append(Regression())
        return built[-1]

    data = [{"x": torch.tensor([float(i)]), "labels": torch.tensor([2.0 * i])} for i in range(8)]
    args = TrainingArguments(str(tmp_path), max_steps=2, per_device_train_batch_size=4, report_to="none", seed=7)
    trainer = Trainer(args=args, train_dataset=data, model_init=make)
    assert trainer.model is built[0]
    trainer.train()
    assert len(built) == 2 and trainer.model is built[1]
    first = built[1].a.detach().clone()
    trainer.train()
    assert len(built) == 3 and torch.equal(built[2].a.detach(), first)  # same seed, same training: same result
    with pytest.raises(TrainerError, match="optimizers"):
        Trainer(args=args, model_init=make, optimizers=(torch.optim.SGD(built[0].parameters(), lr=0.1), None))
