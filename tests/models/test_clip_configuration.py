"""CLIP's configurations and image processor as a family: nested configs, their files, the Auto classes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import modelyard
from modelyard import AutoConfig, AutoFeatureExtractor, AutoImageProcessor


def test_clip_config_nests_text_and_vision_configs() -> None:
    config = modelyard.CLIPConfig(text_config={"hidden_size": 32}, vision_config={"patch_size": 8}, projection_dim=16)
    assert isinstance(config.text_config, modelyard.CLIPTextConfig)
    assert isinstance(config.vision_config, modelyard.CLIPVisionConfig)
    assert (config.text_config.hidden_size, config.text_config.vocab_size) == (32, 49408)
    assert config.vision_config.patch_size == 8 and config.projection_dim == 16
    data = config.to_dict()
    assert data["text_config"]["model_type"] == "clip_text_model"
    assert data["vision_config"]["hidden_size"] == 768


def test_clip_config_file_round_trip_through_auto_config(tmp_path: Path) -> None:
    config = modelyard.CLIPConfig(text_config={"hidden_size": 32, "num_hidden_layers": 2}, projection_dim=16)
    config.save_pretrained(tmp_path)
    written = json.loads((tmp_path / "config.json").read_text())
    assert written["model_type"] == "clip"
    # nested settings are written as their own difference from the defaults, with their model_type
    assert written["text_config"]["hidden_size"] == 32 and written["text_config"]["model_type"] == "clip_text_model"
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, modelyard.CLIPConfig)
    assert loaded.to_dict() == config.to_dict()


def test_legacy_text_config_dict_wins_over_text_config() -> None:
    config = modelyard.CLIPConfig(text_config={"hidden_size": 32}, text_config_dict={"hidden_size": 48})
    assert config.text_config.hidden_size == 48
    assert "text_config_dict" not in config.to_dict()


def test_a_nested_config_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(modelyard.errors.ConfigurationError, match="text_config must be a CLIPTextConfig"):
        modelyard.CLIPConfig(text_config=[32])


@pytest.mark.parametrize("type_key,name", [("image_processor_type", "CLIPImageProcessor"),
                                           ("feature_extractor_type", "CLIPFeatureExtractor")])
def test_auto_image_processor_loads_clip(tmp_path: Path, type_key: str, name: str) -> None:
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({type_key: name, "crop_size": 20}))
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    assert isinstance(processor, modelyard.CLIPImageProcessor)
    assert processor.crop_size == {"height": 20, "width": 20} and processor.size == {"shortest_edge": 224}


def test_clip_preprocessing_found_from_the_model_type(tmp_path: Path) -> None:
    modelyard.CLIPConfig().save_pretrained(tmp_path)
    modelyard.CLIPImageProcessor(size=64).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["size"] == {"shortest_edge": 64}
    del saved["image_processor_type"]
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(saved))
    assert isinstance(AutoImageProcessor.from_pretrained(tmp_path), modelyard.CLIPImageProcessor)
    assert isinstance(AutoFeatureExtractor.from_pretrained(tmp_path), modelyard.CLIPImageProcessor)


def test_missing_preprocessor_file_names_the_reference_sentence_and_the_reason(tmp_path: Path) -> None:
    modelyard.CLIPConfig().save_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"Can't load image processor for '.*'\. .*has no preprocessor_config"):
        AutoImageProcessor.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"Can't load feature extractor for '.*'\. "):
        AutoFeatureExtractor.from_pretrained(tmp_path)
