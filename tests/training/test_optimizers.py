"""The optimizers ``TrainingArguments.optim`` names, Adafactor against the reference's, the reference's names."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch

from modelyard.training import TrainingArguments, TrainingArgumentsError
from modelyard.training.adafactor import Adafactor, AdafactorSchedule
from modelyard.training.choices import OptimizerNames
from modelyard.training.optimizers import build_optimizer, parse_optim_args

REF_PY = Path(__file__).resolve().parents[2] / ".venv-ref" / "bin" / "python"

# A matrix (factored second moment), a 3-d tensor (factored over the last two dims) and a vector (full).
SHAPES = [(6, 4), (2, 3, 5), (7,)]
SETTINGS = {
    "relative": {},
    "fixed-lr": {"lr": 0.01, "relative_step": False, "scale_parameter": False},
    "momentum-decay-warmup": {"beta1": 0.9, "weight_decay": 0.1, "warmup_init": True},
}


def _params() -> list[torch.Tensor]:
    # exactly representable starting points and gradients: the same inputs on any machine
    return [torch.arange(torch.Size(s).numel(), dtype=torch.float32).reshape(s) / 16 - 0.5 for s in SHAPES]


def _run(settings: dict, steps: int = 5) -> list[torch.Tensor]:
    params = [torch.nn.Parameter(p.clone()) for p in _params()]
    optimizer = Adafactor(params, **settings)
    for step in range(steps):
        for i, p in enumerate(params):
            p.grad = torch.cos(torch.arange(p.numel(), dtype=torch.float32) + step + i).reshape(p.shape) / 4
        optimizer.step()
    return [p.detach() for p in params]


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_adafactor_steps_equal_the_references(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(
        "import json, sys, torch\nfrom transformers.optimization import Adafactor\n"
        f"SHAPES = {SHAPES!r}\nSETTINGS = json.loads(sys.argv[1])\nout = {{}}\n"
        "for name, settings in SETTINGS.items():\n"
        "    params = [torch.nn.Parameter(torch.arange(torch.Size(s).numel(), dtype=torch.float32).reshape(s) / 16 - 0.5)"
        " for s in SHAPES]\n"
        "    opt = Adafactor(params, **settings)\n"
        "    for step in range(5):\n"
        "        for i, p in enumerate(params):\n"
        "            p.grad = torch.cos(torch.arange(p.numel(), dtype=torch.float32) + step + i).reshape(p.shape) / 4\n"
        "        opt.step()\n"
        "    out[name] = [p.detach().flatten().tolist() for p in params]\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([str(REF_PY), str(script), json.dumps(SETTINGS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    reference = json.loads(result.stdout.strip().splitlines()[-1])
    for name, settings in SETTINGS.items():
        ours = _run(settings)
        for got, expected in zip(ours, reference[name], strict=True):
            # a few elementwise float32 operations per step, 5 steps: rounding stays far below 1e-6
            torch.testing.assert_close(got.flatten(), torch.tensor(expected), atol=1e-6, rtol=1e-5, msg=name)


def test_adafactor_moves_the_weights_and_its_settings_matter() -> None:
    start = _params()
    runs = {name: _run(settings) for name, settings in SETTINGS.items()}
    for name, params in runs.items():
        assert all(not torch.equal(a, b) for a, b in zip(params, start)), name
    assert not torch.equal(runs["relative"][0], runs["fixed-lr"][0])
    assert not torch.equal(runs["relative"][0], runs["momentum-decay-warmup"][0])


def test_adafactor_refuses_contradictory_settings_and_reports_its_step() -> None:
    param = torch.nn.Parameter(torch.ones(3, 2))
    with pytest.raises(ValueError, match="relative_step=False"):
        Adafactor([param], lr=0.1)
    with pytest.raises(ValueError, match="warmup_init=True needs relative_step=True"):
        Adafactor([param], lr=0.1, relative_step=False, warmup_init=True)
    optimizer = Adafactor([param])
    schedule = AdafactorSchedule(optimizer)
    param.grad = torch.ones(3, 2)
    optimizer.step()
    schedule.step()
    assert schedule.get_lr() == [pytest.approx(1e-2)]  # min(1e-2, 1/sqrt(1)) times max(eps2, RMS of ones)


@pytest.mark.parametrize("name", ["adamw_torch", "adamw_torch_fused", "sgd", "adagrad", "rmsprop", "adafactor"])
def test_each_supported_optim_builds_its_optimizer(tmp_path: Path, name: str) -> None:
    args = TrainingArguments(output_dir=str(tmp_path), optim=name, learning_rate=0.05)
    param = torch.nn.Parameter(torch.ones(2, 2))
    optimizer = build_optimizer(args.optim, [{"params": [param], "weight_decay": 0.0}], args)
    expected = {"adamw_torch": "AdamW", "adamw_torch_fused": "AdamW", "sgd": "SGD", "adagrad": "Adagrad",
                "rmsprop": "RMSprop", "adafactor": "Adafactor"}[name]
    assert type(optimizer).__name__ == expected and optimizer.param_groups[0]["lr"] == 0.05


def test_optim_names_and_args(tmp_path: Path) -> None:
    assert TrainingArguments(output_dir=str(tmp_path), optim=OptimizerNames.SGD).optim == "sgd"
    with pytest.raises(TrainingArgumentsError, match="needs packages or model changes"):
        TrainingArguments(output_dir=str(tmp_path), optim="galore_adamw")
    with pytest.raises(TrainingArgumentsError, match="Did you mean 'adafactor'"):
        TrainingArguments(output_dir=str(tmp_path), optim="adafacter")
    assert parse_optim_args("momentum=0.9, nesterov=True,dampening=0") == {"momentum": 0.9, "nesterov": True,
                                                                          "dampening": 0}
    args = TrainingArguments(output_dir=str(tmp_path), optim="sgd", optim_args="momentum=0.9,nesterov=True")
    optimizer = build_optimizer(args.optim, [{"params": [torch.nn.Parameter(torch.ones(2))]}], args)
    assert optimizer.param_groups[0]["momentum"] == 0.9 and optimizer.param_groups[0]["nesterov"] is True
    with pytest.raises(ValueError, match="is not key=value"):
        parse_optim_args("momentum")


def _fake_package(monkeypatch: pytest.MonkeyPatch, module: str, **classes: type) -> None:
    """Install a stand-in ``module`` (and its parents) holding ``classes``, as if the package were installed."""
    import sys
    import types

    parts = module.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    for attribute, cls in classes.items():
        setattr(sys.modules[module], attribute, cls)


class _Recorder(torch.optim.SGD):
    """Stands in for an optional package's optimizer: an SGD that keeps the settings it was built with."""

    def __init__(self, params: Any, lr: float, **settings: Any) -> None:
        super().__init__(params, lr=lr)
        self.settings = settings


@pytest.mark.parametrize(
    ("name", "cls", "expected"),
    [
        ("adamw_bnb_8bit", "AdamW", {"betas": (0.9, 0.999), "eps": 1e-8, "optim_bits": 8, "is_paged": False}),
        ("paged_adamw_32bit", "AdamW", {"optim_bits": 32, "is_paged": True}),
        ("lion_8bit", "Lion", {"betas": (0.9, 0.999), "optim_bits": 8, "is_paged": False}),
        ("paged_ademamix_8bit", "AdEMAMix",
         {"betas": (0.9, 0.999, 0.9999), "alpha": 5.0, "eps": 1e-8, "optim_bits": 8, "is_paged": True}),
        ("rmsprop_bnb_32bit", "RMSprop", {"optim_bits": 32}),
    ],
)
def test_bitsandbytes_optimizers_get_the_reference_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, cls: str, expected: dict[str, Any]
) -> None:
    from modelyard import Trainer

    _fake_package(monkeypatch, "bitsandbytes.optim", **{cls: _Recorder})
    args = TrainingArguments(output_dir=str(tmp_path), optim=name, learning_rate=0.01)
    found, kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
    assert found is _Recorder and kwargs["lr"] == 0.01
    assert {k: kwargs[k] for k in expected} == expected
    optimizer = build_optimizer(args.optim, [{"params": [torch.nn.Parameter(torch.ones(2))]}], args)
    assert isinstance(optimizer, _Recorder) and optimizer.settings["optim_bits"] == expected["optim_bits"]


def test_ademamix_reads_its_settings_from_optim_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard import Trainer

    _fake_package(monkeypatch, "bitsandbytes.optim", AdEMAMix=_Recorder)
    args = TrainingArguments(output_dir=str(tmp_path), optim="ademamix",
                             optim_args="beta3=0.999,alpha=8,t_alpha=100,t_beta3=200")
    _, kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
    assert kwargs["betas"] == (0.9, 0.999, 0.999) and kwargs["alpha"] == 8.0
    assert kwargs["t_alpha"] == 100 and kwargs["t_beta3"] == 200


@pytest.mark.parametrize(
    ("name", "module", "package"),
    [
        ("adamw_bnb_8bit", "bitsandbytes.optim", "bitsandbytes"),
        ("ademamix", "bitsandbytes.optim", "bitsandbytes"),
        ("adamw_apex_fused", "apex.optimizers", "apex"),
        ("adamw_anyprecision", "torchdistx.optimizers", "torchdistx"),
    ],
)
def test_an_optimizer_of_a_missing_package_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, module: str, package: str
) -> None:
    import sys

    from modelyard import Trainer

    monkeypatch.setitem(sys.modules, module, None)  # importing it fails, installed or not
    args = TrainingArguments(output_dir=str(tmp_path), optim=name)  # accepted: the package may be there at run time
    with pytest.raises(ValueError, match=f"install {package}"):
        Trainer.get_optimizer_cls_and_kwargs(args)


def test_anyprecision_adamw_gets_its_buffer_dtypes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard import Trainer

    _fake_package(monkeypatch, "torchdistx.optimizers", AnyPrecisionAdamW=_Recorder)
    args = TrainingArguments(output_dir=str(tmp_path), optim="adamw_anyprecision",
                             optim_args="use_kahan_summation=True,momentum_dtype=bfloat16")
    _, kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
    assert kwargs["use_kahan_summation"] is True and kwargs["momentum_dtype"] is torch.bfloat16
    assert kwargs["variance_dtype"] is torch.float32 and kwargs["compensation_buffer_dtype"] is torch.bfloat16
    assert kwargs["betas"] == (0.9, 0.999) and kwargs["eps"] == 1e-8
