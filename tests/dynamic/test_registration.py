"""Auto-class registration: taken names refused, config_class checked, and no cross-talk from remote code."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest
from _dynamic_helpers import toy_files, toy_repo, write_files

from modelyard import (
    AutoConfig,
    AutoModel,
    AutoModelForImageClassification,
    BertConfig,
    PretrainedConfig,
    PreTrainedModel,
)
from modelyard.auto.configuration_auto import CONFIG_TABLE
from modelyard.errors import ConfigurationError, RegistrationError, TrustRemoteCodeError


class MyResnetConfig(PretrainedConfig):
    model_type = "resnet"


class MyResnetModel(PreTrainedModel):
    config_class = MyResnetConfig


class OtherConfig(PretrainedConfig):
    model_type = "other-kind"


class OtherModel(PreTrainedModel):
    config_class = OtherConfig


@pytest.mark.parametrize("model_type", ["resnet", "bert"])
def test_taken_model_type_is_refused_with_its_name(model_type: str) -> None:
    config = type("Taken", (PretrainedConfig,), {"model_type": model_type})
    with pytest.raises(RegistrationError, match=f"model_type '{model_type}' is already used.*exist_ok=True"):
        AutoConfig.register(model_type, config)
    assert AutoConfig.for_model(model_type).__class__.__module__.startswith("modelyard.models.")


def test_registered_type_must_match_the_class() -> None:
    with pytest.raises(ConfigurationError, match="other-kind.*'elsewhere'"):
        AutoConfig.register("elsewhere", OtherConfig)


def test_model_with_another_config_class_is_refused() -> None:
    AutoConfig.register("other-kind", OtherConfig)
    with pytest.raises(RegistrationError, match="MyResnetModel.config_class is MyResnetConfig.*OtherConfig"):
        AutoModel.register(OtherConfig, MyResnetModel)
    AutoModel.register(OtherConfig, OtherModel)
    with pytest.raises(RegistrationError, match="already has a model"):
        AutoModel.register(OtherConfig, OtherModel)
    AutoModel.register(OtherConfig, OtherModel, exist_ok=True)
    assert AutoModel.from_config(OtherConfig()).__class__ is OtherModel


def test_replacing_a_builtin_config_does_not_inherit_builtin_models() -> None:
    AutoConfig.register("resnet", MyResnetConfig, exist_ok=True)
    assert AutoModel._table.get(MyResnetConfig) is None  # the built-in ResNetModel is not for this config
    AutoModel.register(MyResnetConfig, MyResnetModel)
    assert AutoModel._table.get(MyResnetConfig) is MyResnetModel
    from modelyard.models.resnet import ResNetConfig, ResNetModel

    assert AutoModel._table.get(ResNetConfig) is ResNetModel


def test_loading_remote_code_registers_nothing(tmp_path: Path) -> None:
    folder = toy_repo(tmp_path / "repo", weights=True)
    AutoModel.from_pretrained(folder, trust_remote_code=True)
    assert "toy-custom" not in CONFIG_TABLE
    with pytest.raises(TrustRemoteCodeError):
        AutoModel.from_pretrained(folder, trust_remote_code=False)
    with pytest.raises(TrustRemoteCodeError):
        AutoConfig.from_pretrained(folder)


def test_registrations_made_by_remote_code_are_undone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hijack = textwrap.dedent(
        '''
        from modelyard import AutoConfig, AutoModelForImageClassification, PreTrainedModel


        class Hijack(ToyConfig):
            model_type = "bert"


        class HijackModel(PreTrainedModel):
            config_class = ToyConfig


        AutoConfig.register("bert", Hijack, exist_ok=True)
        AutoConfig.register("toy-custom", ToyConfig, exist_ok=True)
        AutoModelForImageClassification.register(ToyConfig, HijackModel, exist_ok=True)
        '''
    )
    files = toy_files()
    files["configuration_toy.py"] = textwrap.dedent(files["configuration_toy.py"]) + hijack
    folder = write_files(tmp_path / "repo", {**files, "config.json": '{"model_type": "toy-custom", "auto_map": {"AutoConfig": "configuration_toy.ToyConfig"}}'})
    with caplog.at_level(logging.WARNING):
        config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert type(config).__name__ == "ToyConfig"
    assert "was undone" in caplog.text and "AutoConfig" in caplog.text
    assert type(AutoConfig.for_model("bert")) is BertConfig
    assert "toy-custom" not in CONFIG_TABLE
    assert AutoModelForImageClassification._table.get(type(config)) is None
    bert = tmp_path / "bert"
    BertConfig(hidden_size=8, num_attention_heads=2).save_pretrained(bert)
    assert type(AutoConfig.from_pretrained(bert, trust_remote_code=False)) is BertConfig
