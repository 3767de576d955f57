"""Auto classes over BERT and DistilBERT: a sweep over the registry, registration rules, unknown model
types, and lazy imports (an Auto class imports no family and no torch until a model is built)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

import modelyard
from modelyard import AutoConfig, AutoModel, PretrainedConfig
from modelyard.auto.configuration_auto import CONFIG_TABLE
from modelyard.auto.modeling_auto import AUTO_MODEL_CLASSES
from modelyard.errors import ConfigurationError, RegistrationError, UnknownModelTypeError
from modelyard.modeling import PreTrainedModel

TINY = {
    "bert": dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                 max_position_embeddings=16),
    "distilbert": dict(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=16),
}
# (auto class, model type) for every entry of the tables that belongs to these families
SWEEP = [
    (auto_name, model_type)
    for auto_name, auto in sorted(AUTO_MODEL_CLASSES.items())
    for model_type in ("bert", "distilbert")
    if model_type in auto._table.model_types()
]


def test_the_sweep_covers_the_auto_classes_of_both_families() -> None:
    assert {name for name, _ in SWEEP} == {
        "AutoModel", "AutoModelForMaskedLM", "AutoModelForSequenceClassification",
        "AutoModelForTokenClassification", "AutoModelForQuestionAnswering", "AutoModelForMultipleChoice",
        "AutoModelForPreTraining", "AutoModelForCausalLM", "AutoModelForNextSentencePrediction",
    }
    assert len(SWEEP) == 16  # the six task classes for both, pre-training for both, BERT's decoder and NSP heads


@pytest.mark.parametrize(("auto_name", "model_type"), SWEEP, ids=[f"{a}-{t}" for a, t in SWEEP])
def test_auto_class_builds_saves_and_loads(auto_name: str, model_type: str, tmp_path: Path) -> None:
    auto = AUTO_MODEL_CLASSES[auto_name]
    config = AutoConfig.for_model(model_type, **TINY[model_type])
    expected_name = auto._table._builtin[model_type]
    torch.manual_seed(0)
    model = auto.from_config(config)
    assert type(model).__name__ == expected_name and type(model) is getattr(modelyard, expected_name)
    model.save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path)) is type(config)
    loaded, report = auto.from_pretrained(tmp_path, output_loading_info=True)
    assert type(loaded) is type(model) and report.verdict == "complete"
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    assert auto.from_config(config, dtype="bfloat16").dtype == torch.bfloat16


@pytest.mark.parametrize("model_type", ["bert", "distilbert"])
def test_base_checkpoint_through_head_auto_class(model_type: str, tmp_path: Path) -> None:
    AutoModel.from_config(AutoConfig.for_model(model_type, **TINY[model_type])).save_pretrained(tmp_path)
    auto = AUTO_MODEL_CLASSES["AutoModelForSequenceClassification"]
    model, report = auto.from_pretrained(tmp_path, num_labels=5, output_loading_info=True)
    assert model.config.num_labels == 5 and report.verdict == "new_head"
    with pytest.raises(TypeError, match="did you mean 'num_labels'"):
        auto.from_pretrained(tmp_path, num_label=5)


def test_unknown_model_type_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt-nope"}))
    for call in (lambda: AutoConfig.from_pretrained(tmp_path), lambda: AutoModel.from_pretrained(tmp_path)):
        with pytest.raises(UnknownModelTypeError) as info:
            call()
        message = str(info.value)
        assert "'gpt-nope'" in message and "bert" in message and "distilbert" in message and "register" in message
    with pytest.raises(UnknownModelTypeError, match="bert"):
        AutoConfig.for_model("gpt-nope")


def test_model_type_without_a_head_names_the_supported_types() -> None:
    config = AutoConfig.for_model("distilbert", **TINY["distilbert"])
    with pytest.raises(UnknownModelTypeError, match="bert"):
        AUTO_MODEL_CLASSES["AutoModelForImageClassification"].from_config(config)


# ------------------------------------------------------------------------------------------------ register
class NewConfig(PretrainedConfig):
    model_type = "new-model"

    def __init__(self, width: int = 4, **kwargs: object) -> None:
        self.width = width
        super().__init__(**kwargs)


class NewModel(PreTrainedModel):
    config_class = NewConfig
    base_model_prefix = "new"

    def __init__(self, config: NewConfig) -> None:
        super().__init__(config)
        self.proj = nn.Linear(config.width, config.width)
        self.post_init()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class OtherModel(NewModel):
    config_class = PretrainedConfig


@pytest.fixture
def registered() -> Iterator[None]:
    yield
    CONFIG_TABLE.unregister("new-model")
    AutoModel._table.unregister(NewConfig)


def test_register_config_and_model(registered: None, tmp_path: Path) -> None:
    AutoConfig.register("new-model", NewConfig)
    AutoModel.register(NewConfig, NewModel)
    model = AutoModel.from_config(AutoConfig.for_model("new-model", width=6))
    assert isinstance(model, NewModel) and model.proj.in_features == 6
    model.save_pretrained(tmp_path)
    assert isinstance(AutoModel.from_pretrained(tmp_path), NewModel)


def test_register_refuses_taken_names_unless_exist_ok(registered: None) -> None:
    from modelyard.models.bert.configuration_bert import BertConfig

    with pytest.raises(RegistrationError, match="exist_ok=True"):
        AutoConfig.register("bert", BertConfig)
    AutoConfig.register("new-model", NewConfig)
    with pytest.raises(RegistrationError, match="already"):
        AutoConfig.register("new-model", NewConfig)
    AutoConfig.register("new-model", NewConfig, exist_ok=True)
    AutoModel.register(NewConfig, NewModel)
    with pytest.raises(RegistrationError, match="exist_ok=True"):
        AutoModel.register(NewConfig, NewModel)
    AutoModel.register(NewConfig, NewModel, exist_ok=True)


def test_register_refuses_inconsistent_classes(registered: None) -> None:
    with pytest.raises(ConfigurationError, match="model_type"):
        AutoConfig.register("another-name", NewConfig)
    with pytest.raises(RegistrationError, match="config_class"):
        AutoModel.register(NewConfig, OtherModel)
    with pytest.raises(ConfigurationError, match="PretrainedConfig subclass"):
        AutoConfig.register("new-model", dict)  # type: ignore[arg-type]


def test_auto_classes_are_not_instantiable() -> None:
    with pytest.raises(OSError, match="from_pretrained"):
        AutoConfig()
    with pytest.raises(OSError, match="from_config"):
        AutoModel()


# ------------------------------------------------------------------------------------------------ laziness
def test_importing_auto_classes_imports_no_family_and_no_torch(tmp_path: Path) -> None:
    AutoConfig.for_model("bert", **TINY["bert"]).save_pretrained(tmp_path)
    code = f"""
import sys
from modelyard import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification
from modelyard.auto import AutoModelForQuestionAnswering, AutoModelForMultipleChoice, AutoModelForTokenClassification
assert "torch" not in sys.modules, "torch was imported by the Auto classes"
families = sorted(m for m in sys.modules if m.startswith("modelyard.models."))
assert not families, families
config = AutoConfig.from_pretrained({str(tmp_path)!r})
assert type(config).__name__ == "BertConfig"
assert "torch" not in sys.modules, "loading a config imported torch"
# the families' manifests were read (their packages), but no family code beyond BERT's config
code_modules = sorted(m for m in sys.modules if m.startswith("modelyard.models.") and m.count(".") == 3)
assert code_modules == ["modelyard.models.bert.configuration_bert"], code_modules
model = AutoModel.from_config(config)
assert "modelyard.models.bert.modeling_bert" in sys.modules
assert "modelyard.models.distilbert.modeling_distilbert" not in sys.modules
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
