"""Loading details beyond weights: model constructor arguments, and buffers missing from a checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from modelyard import AutoModel, ResNetConfig, ResNetModel, ViTConfig, ViTModel
from modelyard.errors import UnexpectedArgumentError


def _tiny_vit() -> ViTConfig:
    return ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
                     image_size=32, patch_size=16)


def test_model_constructor_arguments_pass_through_from_pretrained(tmp_path: Path) -> None:
    ViTModel(_tiny_vit()).save_pretrained(tmp_path)
    model, report = ViTModel.from_pretrained(tmp_path, add_pooling_layer=False, output_loading_info=True)
    assert model.pooler is None
    assert report.unexpected_keys == ["pooler.dense.bias", "pooler.dense.weight"]
    assert AutoModel.from_pretrained(tmp_path, add_pooling_layer=False).pooler is None
    assert AutoModel.from_pretrained(tmp_path).pooler is not None
    with pytest.raises(UnexpectedArgumentError, match="add_poling_layer.*did you mean 'add_pooling_layer'"):
        AutoModel.from_pretrained(tmp_path, add_poling_layer=False)


def test_missing_buffers_are_reported_not_silently_defaulted(tmp_path: Path) -> None:
    config = ResNetConfig(hidden_sizes=[8, 16], depths=[1, 1], embedding_size=8)
    ResNetModel(config).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    state = {k: v for k, v in load_file(weights).items() if not k.endswith("running_var")}
    save_file(state, weights, metadata={"format": "pt"})
    _, report = ResNetModel.from_pretrained(tmp_path, output_loading_info=True)
    assert report.missing_keys and all(k.endswith("running_var") for k in report.missing_keys)
    assert report.verdict == "partial"
    assert report.newly_initialized_fraction == 0.0  # buffers are not parameters
