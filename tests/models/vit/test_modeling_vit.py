"""ViT: config compatibility, embeddings and interpolation, attention options, heads, reference parity both ways."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch
from common.model_tester import ModelTesterMixin
from common.parity import assert_outputs_close, load_model_case, model_case_names

import modelyard
from modelyard import AutoConfig, AutoModel, AutoModelForImageClassification
from modelyard.models.vit.configuration_vit import ViTConfig
from modelyard.models.vit.modeling_vit import ViTForImageClassification, ViTModel

REPO_ROOT = Path(__file__).resolve().parents[3]
REF_PY = REPO_ROOT / ".venv-ref" / "bin" / "python"


def tiny_config(**overrides: object) -> ViTConfig:
    values = dict(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, image_size=32,
        patch_size=8, num_labels=3,
    )
    values.update(overrides)
    return ViTConfig(**values)


def pixels(batch: int = 2, height: int = 32, width: int = 32) -> torch.Tensor:
    return torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(0))


def _perturb(model: torch.nn.Module) -> None:
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=g) * 0.05)


# ---------------------------------------------------------------------------------------------- config
def test_config_defaults_and_keys_match_the_reference() -> None:
    data = json.loads(ViTConfig().to_json_string())
    expected = {
        "attention_probs_dropout_prob": 0.0, "encoder_stride": 16, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
        "hidden_size": 768, "image_size": 224, "initializer_range": 0.02, "intermediate_size": 3072,
        "layer_norm_eps": 1e-12, "model_type": "vit", "num_attention_heads": 12, "num_channels": 3,
        "num_hidden_layers": 12, "patch_size": 16, "pooler_act": "tanh", "pooler_output_size": 768, "qkv_bias": True,
    }
    assert {k: data[k] for k in expected} == expected
    assert ViTConfig(hidden_size=64, num_attention_heads=4).pooler_output_size == 64


def test_config_round_trip(tmp_path: Path) -> None:
    config = tiny_config(id2label={0: "cat", 1: "dog", 2: "bird"})
    config.save_pretrained(tmp_path)
    again = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(again, ViTConfig) and again.to_dict() == config.to_dict()
    assert again.id2label == {0: "cat", 1: "dog", 2: "bird"} and again.label2id["dog"] == 1


# ---------------------------------------------------------------------------------------------- model
def test_shapes_hidden_states_and_attentions() -> None:
    model = ViTModel(tiny_config()).eval()
    with torch.no_grad():
        out = model(pixels(), output_hidden_states=True, output_attentions=True)
    assert out.last_hidden_state.shape == (2, 17, 32)  # 16 patches + CLS
    assert out.pooler_output.shape == (2, 32)
    assert len(out.hidden_states) == 3 and all(h.shape == (2, 17, 32) for h in out.hidden_states)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 4, 17, 17)
    torch.testing.assert_close(out.attentions[0].sum(-1), torch.ones(2, 4, 17))
    # the final layernorm applies to last_hidden_state only, not to the last hidden_states entry
    torch.testing.assert_close(model.layernorm(out.hidden_states[-1]), out.last_hidden_state)


def test_sdpa_and_explicit_attention_agree() -> None:
    model = ViTModel(tiny_config()).eval()
    _perturb(model)
    with torch.no_grad():
        fast = model(pixels()).last_hidden_state
        slow = model(pixels(), output_attentions=True).last_hidden_state
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)


def test_without_pooling_layer() -> None:
    model = ViTModel(tiny_config(), add_pooling_layer=False).eval()
    assert model.pooler is None and not any(k.startswith("pooler") for k in model.state_dict())
    assert model(pixels()).pooler_output is None


def test_interpolate_pos_encoding_for_other_image_sizes() -> None:
    model = ViTModel(tiny_config()).eval()
    with pytest.raises(ValueError, match=r"Input image size \(48\*40\).*interpolate_pos_encoding=True"):
        model(pixels(1, 48, 40))
    with torch.no_grad():
        out = model(pixels(1, 48, 40), interpolate_pos_encoding=True)
        same = model(pixels(), interpolate_pos_encoding=True).last_hidden_state
    assert out.last_hidden_state.shape == (1, 1 + 6 * 5, 32)
    # at the trained size interpolation is the identity
    torch.testing.assert_close(same, model(pixels()).last_hidden_state)


def test_head_mask_zeroes_heads_and_pruning_removes_them() -> None:
    model = ViTModel(tiny_config()).eval()
    _perturb(model)
    mask = torch.ones(2, 4)
    mask[0, 1] = 0.0
    with torch.no_grad():
        out = model(pixels(), head_mask=mask, output_attentions=True)
    assert float(out.attentions[0][:, 1].abs().sum()) == 0.0
    model.prune_heads({0: [1]})
    assert model.encoder.layer[0].attention.attention.num_attention_heads == 3
    assert model.encoder.layer[0].attention.attention.query.weight.shape == (24, 32)
    with torch.no_grad():
        pruned = model(pixels())
    torch.testing.assert_close(pruned.last_hidden_state, out.last_hidden_state, rtol=1e-5, atol=1e-5)


def test_image_classification_losses_and_labels() -> None:
    model = ViTForImageClassification(tiny_config(id2label={0: "cat", 1: "dog", 2: "bird"})).eval()
    labels = torch.tensor([1, 2])
    out = model(pixels(), labels=labels)
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(out.logits, labels))
    assert model.config.problem_type == "single_label_classification"
    assert [model.config.id2label[int(i)] for i in out.logits.argmax(-1)] != []
    multi = ViTForImageClassification(tiny_config(problem_type="multi_label_classification")).eval()
    target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    out = multi(pixels(), labels=target)
    torch.testing.assert_close(out.loss, torch.nn.functional.binary_cross_entropy_with_logits(out.logits, target))
    loss, logits = multi(pixels(), labels=target, return_dict=False)
    torch.testing.assert_close(loss, out.loss)


def test_no_head_when_num_labels_is_zero() -> None:
    model = ViTForImageClassification(tiny_config(num_labels=0)).eval()
    assert model(pixels()).logits.shape == (2, 32)


def test_gradient_checkpointing_gives_the_same_gradients() -> None:
    torch.manual_seed(0)
    model = ViTForImageClassification(tiny_config()).train()
    labels = torch.tensor([0, 1])
    model(pixels(), labels=labels).loss.backward()
    plain = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model.gradient_checkpointing_enable()
    assert model.is_gradient_checkpointing
    model(pixels(), labels=labels).loss.backward()
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.grad, plain[name], rtol=1e-5, atol=1e-6, msg=name)


def test_half_precision_input_cast() -> None:
    model = ViTForImageClassification(tiny_config()).eval().to(torch.bfloat16)
    with torch.no_grad():
        assert model(pixels()).logits.dtype == torch.bfloat16  # float32 pixels are cast to the weights' dtype


def test_auto_classes_and_base_head_loading(tmp_path: Path) -> None:
    base = AutoModel.from_config(tiny_config())
    assert isinstance(base, ViTModel)
    _perturb(base)
    base.save_pretrained(tmp_path / "base")
    head, report = AutoModelForImageClassification.from_pretrained(tmp_path / "base", output_loading_info=True)
    assert isinstance(head, ViTForImageClassification)
    assert report.verdict == "new_head" and report.missing_keys == ["classifier.bias", "classifier.weight"]
    # the base model's pooler is not used by the head: listed, as the reference lists it, but not warned about
    assert report["unexpected_keys"] == ["pooler.dense.bias", "pooler.dense.weight"]
    assert report.expected_leftovers == report["unexpected_keys"] and "not used" not in report.summary("m", "s")
    torch.testing.assert_close(head.vit.embeddings.cls_token, base.embeddings.cls_token)


# ---------------------------------------------------------------------------------------------- reference parity
def _case_names() -> list[str]:
    try:
        return model_case_names("vit")
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


REFERENCE_LOAD = """
import json, sys, torch, transformers
from safetensors.torch import load_file
results = {}
for folder in sys.argv[1:]:
    io = load_file(folder + "/io.safetensors")
    model, info = transformers.AutoModel.from_pretrained(folder, output_loading_info=True) if "base" in folder else \
        transformers.AutoModelForImageClassification.from_pretrained(folder, output_loading_info=True)
    with torch.no_grad():
        out = model.eval()(pixel_values=io["pixel_values"], interpolate_pos_encoding=True)
    got = out.logits if hasattr(out, "logits") else out.pooler_output
    results[folder] = {"class": type(model).__name__, "info": {k: [str(x) for x in v] for k, v in info.items() if v},
                       "diff": (got - io["expected"]).abs().max().item(), "labels": model.config.id2label}
print(json.dumps(results))
"""


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs the reference library in .venv-ref (make reference)")
def test_our_save_loads_in_the_reference_library(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    x = pixels(2, 48, 40)
    folders = []
    for name, model in (
        ("base", ViTModel(tiny_config())),
        ("head", ViTForImageClassification(tiny_config(id2label={0: "cat", 1: "dog", 2: "bird"}))),
    ):
        _perturb(model)
        model.eval().save_pretrained(tmp_path / name)
        with torch.no_grad():
            out = model(x, interpolate_pos_encoding=True)
        expected = out.logits if name == "head" else out.pooler_output
        save_file({"pixel_values": x, "expected": expected}, str(tmp_path / name / "io.safetensors"))
        folders.append(str(tmp_path / name))
    run = subprocess.run([str(REF_PY), "-c", REFERENCE_LOAD, *folders], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    base, head = results[folders[0]], results[folders[1]]
    assert base["class"] == "ViTModel" and head["class"] == "ViTForImageClassification"
    assert base["info"] == {} and head["info"] == {}
    assert base["diff"] < 1e-5 and head["diff"] < 1e-5
    assert head["labels"] == {"0": "cat", "1": "dog", "2": "bird"}


# ---------------------------------------------------------------------------------------------- common tester
class TestViTCommon(ModelTesterMixin):
    all_model_classes = (ViTModel, ViTForImageClassification)
    head_masking = True
    pruning = True
    batch_size = 2

    def get_config(self) -> ViTConfig:
        return tiny_config(hidden_size=16, image_size=16, patch_size=4)

    def get_inputs(self, model_class: type, config: ViTConfig, with_labels: bool = False) -> dict[str, Any]:
        inputs: dict[str, Any] = {"pixel_values": pixels(self.batch_size, 16, 16)}
        if with_labels and model_class is ViTForImageClassification:
            inputs["labels"] = torch.tensor([0, 2])
        return inputs

    def expected_output_shapes(self, model_class: type, config: ViTConfig, inputs: dict[str, Any]
                               ) -> dict[str, tuple[int, ...]]:
        if model_class is ViTModel:
            return {"last_hidden_state": (2, 17, 16), "pooler_output": (2, 16)}
        return {"logits": (2, config.num_labels)}

    def hidden_state_shape(self, model_class: type, config: ViTConfig, inputs: dict[str, Any]) -> tuple[int, ...]:
        return (2, 17, 16)

    def attention_shape(self, model_class: type, config: ViTConfig, inputs: dict[str, Any]) -> tuple[int, ...]:
        return (2, 4, 17, 17)
