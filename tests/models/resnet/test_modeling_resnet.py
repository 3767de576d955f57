"""ResNet: config compatibility, both layer types, BatchNorm buffers, heads, reference parity both ways."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch
from common.model_tester import ModelTesterMixin
from common.parity import assert_outputs_close, load_model_case, model_case_names, parity_dir
from common.tolerance import assert_close_kernels

import modelyard
from modelyard import AutoConfig, AutoModel, AutoModelForImageClassification
from modelyard.models.resnet.configuration_resnet import ResNetConfig
from modelyard.models.resnet.modeling_resnet import ResNetForImageClassification, ResNetModel

REPO_ROOT = Path(__file__).resolve().parents[3]
REF_PY = REPO_ROOT / ".venv-ref" / "bin" / "python"


def tiny_config(**overrides: object) -> ResNetConfig:
    values = dict(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 2], layer_type="basic", num_labels=3)
    values.update(overrides)
    return ResNetConfig(**values)


def pixels(batch: int = 2, size: int = 32) -> torch.Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))


def _perturb(model: torch.nn.Module) -> None:
    """Non-trivial weights and running statistics, so parity checks see every tensor."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=g) * 0.05)
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                buf.copy_(0.5 + torch.rand(buf.shape, generator=g))


# ---------------------------------------------------------------------------------------------- config
def test_config_defaults_and_keys_match_the_reference() -> None:
    config = ResNetConfig()
    data = json.loads(config.to_json_string())
    expected = {
        "depths": [3, 4, 6, 3],
        "downsample_in_bottleneck": False,
        "downsample_in_first_stage": False,
        "embedding_size": 64,
        "hidden_act": "relu",
        "hidden_sizes": [256, 512, 1024, 2048],
        "layer_type": "bottleneck",
        "model_type": "resnet",
        "num_channels": 3,
        "out_features": ["stage4"],
        "out_indices": [4],
        "stage_names": ["stem", "stage1", "stage2", "stage3", "stage4"],
    }
    assert {k: data[k] for k in expected} == expected


def test_config_round_trip_and_validation(tmp_path: Path) -> None:
    config = tiny_config(out_indices=[1])
    assert config.out_features == ["stage1"]
    config.save_pretrained(tmp_path)
    again = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(again, ResNetConfig) and again.to_dict() == config.to_dict()
    with pytest.raises(ValueError, match="layer_type='wide'"):
        ResNetConfig(layer_type="wide")
    with pytest.raises(ValueError, match="one entry per stage"):
        ResNetConfig(hidden_sizes=[8, 16], depths=[1])
    with pytest.raises(ValueError, match="stage9"):
        ResNetConfig(out_features=["stage9"])


# ---------------------------------------------------------------------------------------------- model
@pytest.mark.parametrize("layer_type", ["basic", "bottleneck"])
@pytest.mark.parametrize("first_stage", [False, True])
def test_shapes_for_both_layer_types_and_downsampling(layer_type: str, first_stage: bool) -> None:
    config = tiny_config(layer_type=layer_type, downsample_in_first_stage=first_stage)
    model = ResNetModel(config).eval()
    with torch.no_grad():
        out = model(pixels(), output_hidden_states=True)
    # stem: /4; stage 1: /2 only with downsample_in_first_stage; stage 2: /2
    first = 4 if first_stage else 8
    assert [tuple(h.shape) for h in out.hidden_states] == [
        (2, 8, 8, 8),
        (2, 8, first, first),
        (2, 16, first // 2, first // 2),
    ]
    assert out.last_hidden_state.shape == (2, 16, first // 2, first // 2)
    assert out.pooler_output.shape == (2, 16, 1, 1)


def test_bottleneck_stride_placement() -> None:
    config = tiny_config(layer_type="bottleneck")
    v15 = ResNetModel(config).encoder.stages[1].layers[0].layer
    assert [c.convolution.stride for c in v15] == [(1, 1), (2, 2), (1, 1)]
    original = ResNetModel(tiny_config(layer_type="bottleneck", downsample_in_bottleneck=True))
    assert [c.convolution.stride for c in original.encoder.stages[1].layers[0].layer] == [(2, 2), (1, 1), (1, 1)]
    # weight shapes are the same, so one checkpoint serves both
    assert {k: v.shape for k, v in original.state_dict().items()} == {
        k: v.shape for k, v in ResNetModel(config).state_dict().items()
    }


def test_batchnorm_buffers_are_saved_and_loaded(tmp_path: Path) -> None:
    model = ResNetForImageClassification(tiny_config())
    _perturb(model)
    model.train()
    model(pixels())  # one training step's statistics: num_batches_tracked becomes 1
    model.eval()
    model.save_pretrained(tmp_path)
    loaded, report = ResNetForImageClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert report.verdict == "complete" and not report.unexpected_keys
    state, again = model.state_dict(), loaded.state_dict()
    assert any(k.endswith("num_batches_tracked") for k in state)
    for key, value in state.items():
        assert torch.equal(value, again[key]), key
    assert int(again["resnet.embedder.embedder.normalization.num_batches_tracked"]) == 1
    with torch.no_grad():
        assert_close_kernels(loaded(pixels()).logits, model(pixels()).logits, depth=6, width=128)


def test_image_classification_loss_and_tuple_output() -> None:
    model = ResNetForImageClassification(tiny_config()).eval()
    labels = torch.tensor([0, 2])
    out = model(pixels(), labels=labels)
    expected = torch.nn.functional.cross_entropy(out.logits, labels)
    torch.testing.assert_close(out.loss, expected)
    loss, logits = model(pixels(), labels=labels, return_dict=False)
    torch.testing.assert_close(logits, out.logits)
    regression = ResNetForImageClassification(tiny_config(num_labels=1)).eval()
    assert regression(pixels(), labels=torch.tensor([0.5, -1.0])).loss.ndim == 0
    assert regression.config.problem_type == "regression"


def test_no_head_when_num_labels_is_zero() -> None:
    model = ResNetForImageClassification(tiny_config(num_labels=0)).eval()
    assert model(pixels()).logits.shape == (2, 16)


def test_wrong_channel_count_is_explained() -> None:
    with pytest.raises(ValueError, match="1 channels but the config says num_channels=3"):
        ResNetModel(tiny_config())(torch.zeros(1, 1, 32, 32))


def test_auto_classes_and_base_head_loading(tmp_path: Path) -> None:
    base = AutoModel.from_config(tiny_config())
    assert isinstance(base, modelyard.ResNetModel)
    _perturb(base)
    base.save_pretrained(tmp_path / "base")
    head, report = AutoModelForImageClassification.from_pretrained(tmp_path / "base", output_loading_info=True)
    assert isinstance(head, ResNetForImageClassification)
    assert report.verdict == "new_head" and report.missing_keys == ["classifier.1.bias", "classifier.1.weight"]
    torch.testing.assert_close(head.resnet.encoder.stages[0].layers[0].layer[0].normalization.running_var,
                               base.encoder.stages[0].layers[0].layer[0].normalization.running_var)
    head.save_pretrained(tmp_path / "head")
    back, report = ResNetModel.from_pretrained(tmp_path / "head", output_loading_info=True)
    assert report.verdict == "complete"


def test_training_updates_running_stats_and_gradients_flow() -> None:
    model = ResNetForImageClassification(tiny_config()).train()
    before = model.resnet.embedder.embedder.normalization.running_mean.clone()
    model(pixels(), labels=torch.tensor([0, 1])).loss.backward()
    assert not torch.equal(before, model.resnet.embedder.embedder.normalization.running_mean)
    assert all(p.grad is not None for p in model.parameters())


def test_half_precision_forward() -> None:
    model = ResNetForImageClassification(tiny_config()).eval().to(torch.bfloat16)
    with torch.no_grad():
        assert model(pixels().to(torch.bfloat16)).logits.dtype == torch.bfloat16


# ---------------------------------------------------------------------------------------------- reference parity
def _case_names() -> list[str]:
    try:
        return model_case_names("resnet")
    except FileNotFoundError:
        return []


@pytest.mark.parametrize("name", _case_names() or [pytest.param("none", marks=pytest.mark.skip("no parity fixtures"))])
def test_parity_with_reference_fixtures(name: str) -> None:
    case = load_model_case(name)
    model, report = getattr(modelyard, case.class_name).from_pretrained(
        case.folder, output_loading_info=True, **case.config_overrides
    )
    assert report.verdict == "complete" and not report.unexpected_keys, report
    with torch.no_grad():
        out = model.eval()(**case.inputs, **case.forward_options)
    assert_outputs_close(case, out)


def test_parity_fixtures_cover_both_layer_types() -> None:
    if not _case_names():
        pytest.skip(f"no resnet parity fixtures under {parity_dir()}")
    configs = {json.loads((load_model_case(n).folder / "config.json").read_text())["layer_type"] for n in _case_names()}
    assert configs == {"basic", "bottleneck"}


REFERENCE_LOAD = """
import json, sys, torch, transformers
from safetensors.torch import load_file
folder = sys.argv[1]
io = load_file(folder + "/io.safetensors")
model, info = transformers.AutoModelForImageClassification.from_pretrained(folder, output_loading_info=True)
with torch.no_grad():
    out = model.eval()(pixel_values=io["pixel_values"], output_hidden_states=True)
diff = max((out.logits - io["logits"]).abs().max().item(),
           *((a - b).abs().max().item() for a, b in zip(out.hidden_states, [io[f"h{i}"] for i in range(len(out.hidden_states))])))
print(json.dumps({"class": type(model).__name__, "info": {k: [str(x) for x in v] for k, v in info.items() if v},
                  "diff": diff, "downsample": model.config.downsample_in_bottleneck}))
"""


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs the reference library in .venv-ref (make reference)")
def test_our_save_loads_in_the_reference_library(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    model = ResNetForImageClassification(tiny_config(layer_type="bottleneck", downsample_in_bottleneck=True))
    _perturb(model)
    model.eval().save_pretrained(tmp_path)
    with torch.no_grad():
        out = model(pixels(), output_hidden_states=True)
    tensors = {"pixel_values": pixels(), "logits": out.logits}
    tensors.update({f"h{i}": h.contiguous() for i, h in enumerate(out.hidden_states)})
    save_file(tensors, str(tmp_path / "io.safetensors"))
    run = subprocess.run([str(REF_PY), "-c", REFERENCE_LOAD, str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"class": "ResNetForImageClassification", "info": {}, "diff": result["diff"], "downsample": True}
    assert result["diff"] < 1e-5


# ---------------------------------------------------------------------------------------------- common tester
class _ResNetCommon(ModelTesterMixin):
    all_model_classes = (ResNetModel, ResNetForImageClassification)
    has_attentions = False
    layer_type = "basic"

    def get_config(self) -> ResNetConfig:
        return tiny_config(layer_type=self.layer_type, hidden_sizes=[8, 16] if self.layer_type == "basic" else [16, 32])

    def get_inputs(self, model_class: type, config: ResNetConfig, with_labels: bool = False) -> dict[str, Any]:
        inputs: dict[str, Any] = {"pixel_values": pixels(2, 32)}
        if with_labels and model_class is ResNetForImageClassification:
            inputs["labels"] = torch.tensor([0, 2])
        return inputs

    def expected_output_shapes(self, model_class: type, config: ResNetConfig, inputs: dict[str, Any]
                               ) -> dict[str, tuple[int, ...]]:
        last = config.hidden_sizes[-1]
        if model_class is ResNetModel:
            return {"last_hidden_state": (2, last, 4, 4), "pooler_output": (2, last, 1, 1)}
        return {"logits": (2, config.num_labels)}

    def num_hidden_states(self, config: ResNetConfig) -> int:
        return len(config.depths) + 1  # the stem's output, then every stage's


class TestResNetBasicCommon(_ResNetCommon):
    layer_type = "basic"


class TestResNetBottleneckCommon(_ResNetCommon):
    layer_type = "bottleneck"
