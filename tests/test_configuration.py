"""``PretrainedConfig`` behaviour: the document's configuration snippets, aliases, diff dicts, typo
warnings, clear errors for bad files, unknown keys, unused kwargs and equality."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import modelyard
from modelyard import DistilBertConfig, PretrainedConfig, Wav2Vec2Config
from modelyard.configuration import COMMON_DEFAULTS, strict_config_keywords
from modelyard.errors import ConfigurationError, MissingFileError, UnexpectedArgumentError
from modelyard.models.bert.configuration_bert import BertConfig

DOCUMENT_KEYS = {
    "activation": "gelu", "attention_dropout": 0.1, "dim": 768, "dropout": 0.1, "hidden_dim": 3072,
    "initializer_range": 0.02, "max_position_embeddings": 512, "model_type": "distilbert", "n_heads": 12,
    "n_layers": 6, "pad_token_id": 0, "qa_dropout": 0.1, "seq_classif_dropout": 0.2,
    "sinusoidal_pos_embds": False, "vocab_size": 30522,
}


# ------------------------------------------------------------------------------------------------ the document
def test_document_print_shows_the_documented_keys() -> None:
    printed = repr(DistilBertConfig())
    assert printed.startswith("DistilBertConfig {\n") and printed.endswith("}\n")
    data = json.loads(printed[len("DistilBertConfig "):])
    assert data == {**DOCUMENT_KEYS, "modelyard_version": modelyard.__version__}
    assert list(data) == sorted(data)


def test_document_customisation_and_overrides(tmp_path: Path) -> None:
    my_config = DistilBertConfig(activation="relu", attention_dropout=0.4)
    data = json.loads(repr(my_config)[len("DistilBertConfig "):])
    assert data == {**DOCUMENT_KEYS, "activation": "relu", "attention_dropout": 0.4,
                    "modelyard_version": modelyard.__version__}
    DistilBertConfig().save_pretrained(tmp_path / "pretrained")
    overridden = DistilBertConfig.from_pretrained(tmp_path / "pretrained", activation="relu", attention_dropout=0.4)
    assert overridden == my_config


def test_document_save_then_reload_by_folder_and_by_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    my_config = DistilBertConfig(activation="relu", attention_dropout=0.4)
    written = my_config.save_pretrained(save_directory="./your_model_save_path")
    assert [p.name for p in written] == ["config.json"]
    assert DistilBertConfig.from_pretrained("./your_model_save_path") == my_config
    assert DistilBertConfig.from_pretrained("./your_model_save_path/config.json") == my_config
    # the document's file name does not exist: the error says what the folder holds
    with pytest.raises(MissingFileError) as info:
        DistilBertConfig.from_pretrained("./your_model_save_path/my_config.json")
    message = str(info.value)
    assert "my_config.json" in message and "'config.json'" in message and "your_model_save_path" in message


def test_config_use_imports_no_torch() -> None:
    code = (
        "import sys\nfrom modelyard import DistilBertConfig, PretrainedConfig, AutoConfig\n"
        "c = DistilBertConfig(activation='relu'); repr(c); c.to_dict()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ------------------------------------------------------------------------------------------------ attributes
def test_attribute_map_aliases_read_and_write() -> None:
    config = DistilBertConfig(hidden_size=64, num_attention_heads=4, num_hidden_layers=2)
    assert (config.dim, config.n_heads, config.n_layers) == (64, 4, 2)
    config.hidden_size = 128
    assert config.dim == 128 and config.hidden_size == 128
    data = config.to_dict()
    assert data["dim"] == 128 and "hidden_size" not in data
    with pytest.raises(AttributeError, match="no_such_attribute"):
        config.no_such_attribute  # noqa: B018


def test_common_attributes_and_labels() -> None:
    config = BertConfig(num_labels=3)
    assert config.num_labels == 3 and config.id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    assert config.label2id == {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}
    named = BertConfig(id2label={"0": "neg", "1": "pos"}, label2id={"neg": "0", "pos": "1"})  # JSON: strings
    # id2label's keys become ints; label2id's values stay as given (formerly made ints; the reference keeps them)
    assert named.id2label == {0: "neg", 1: "pos"} and named.label2id == {"neg": "0", "pos": "1"}
    config.num_labels = 2
    assert config.id2label == {0: "LABEL_0", 1: "LABEL_1"}
    assert BertConfig(torch_dtype="float16").dtype == "float16"
    for name in ("architectures", "pad_token_id", "bos_token_id", "eos_token_id", "output_hidden_states",
                 "output_attentions", "return_dict", "tie_word_embeddings", "problem_type", "name_or_path"):
        assert hasattr(config, name), name
    with pytest.raises(ConfigurationError, match="problem_type"):
        BertConfig(problem_type="ranking")


def test_to_dict_lists_a_familys_settings_where_the_reference_does() -> None:
    """GPT-2's and DistilBERT's reference constructors store their own settings before the common ones, BERT's
    after them; every family hands its keywords to PretrainedConfig, which keeps each order."""
    from modelyard import GPT2Config

    gpt2 = list(GPT2Config(n_embd=64, foo=1).to_dict())
    assert gpt2[:5] == ["vocab_size", "n_positions", "n_embd", "n_layer", "n_head"]
    assert gpt2.index("reorder_and_upcast_attn") < gpt2.index("return_dict") < gpt2.index("bos_token_id")
    assert gpt2.index("pruned_heads") < gpt2.index("foo")  # a user's own key after the common ones
    distilbert = list(DistilBertConfig().to_dict())
    assert distilbert[:3] == ["vocab_size", "max_position_embeddings", "sinusoidal_pos_embds"]
    assert distilbert.index("seq_classif_dropout") < distilbert.index("return_dict")
    bert = list(BertConfig().to_dict())
    assert bert[0] == "return_dict" and bert.index("pruned_heads") < bert.index("vocab_size")


def test_label2id_follows_a_given_id2label() -> None:
    named = BertConfig(id2label={"0": "neg", "1": "pos"})
    assert named.label2id == {"neg": 0, "pos": 1}
    from_label2id = BertConfig(label2id={"neg": 0, "pos": 1, "mixed": 2})
    assert from_label2id.id2label == {0: "neg", 1: "pos", 2: "mixed"} and from_label2id.num_labels == 3
    both = BertConfig(id2label={0: "a", 1: "b"}, num_labels=3)  # num_labels wins when it disagrees
    assert both.num_labels == 3 and both.label2id == {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}


def test_diff_dict_keeps_model_keys_and_drops_common_defaults() -> None:
    config = DistilBertConfig(output_hidden_states=True)
    diff = config.to_diff_dict()
    assert diff["output_hidden_states"] is True
    for key in DOCUMENT_KEYS:  # model-specific keys stay even at their defaults
        assert key in diff
    assert not {k for k in COMMON_DEFAULTS if k in diff} - {"output_hidden_states", "pad_token_id"}
    full = json.loads(config.to_json_string(use_diff=False))
    assert set(COMMON_DEFAULTS) - {"pruned_heads"} <= set(full) and full["return_dict"] is True


# ------------------------------------------------------------------------------------------------ warnings and errors
def test_probable_typo_is_kept_and_logged_with_a_suggestion(caplog: pytest.LogCaptureFixture) -> None:
    """As the reference: extra keywords are attributes; a likely misspelling is also logged with the name."""
    with caplog.at_level(logging.WARNING, logger="modelyard.configuration"):
        config = DistilBertConfig(activaton="relu")
    assert config.activaton == "relu" and config.activation == "gelu"
    assert "'activaton' (did you mean 'activation'?)" in caplog.text
    caplog.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = DistilBertConfig(my_project_flag=True)  # not close to any name: a custom setting, kept quietly
    assert config.my_project_flag is True and not caplog.text
    # the reference's own tests and real config.json files pass keys of other families/versions
    assert Wav2Vec2Config(hidden_dropout_prob=0.1).hidden_dropout_prob == 0.1
    with caplog.at_level(logging.WARNING, logger="modelyard.configuration"):
        DistilBertConfig.from_dict({}, activaton="relu")
    assert "did you mean 'activation'" in caplog.text


def test_strict_mode_makes_a_probable_typo_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELYARD_STRICT_CONFIG", "1")
    with pytest.raises(UnexpectedArgumentError, match="'activaton' \\(did you mean 'activation'\\?\\)"):
        DistilBertConfig(activaton="relu")
    with pytest.raises(UnexpectedArgumentError, match="did you mean 'activation'"):
        DistilBertConfig.from_dict({}, activaton="relu")
    assert DistilBertConfig(my_project_flag=True).my_project_flag is True
    strict_config_keywords(False)  # the switch wins over the environment
    try:
        assert DistilBertConfig(activaton="relu").activaton == "relu"
    finally:
        strict_config_keywords(None)


def test_invalid_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n  "model_type": "distilbert",\n  "dim": 768,,\n}\n')
    with pytest.raises(ConfigurationError) as info:
        DistilBertConfig.from_pretrained(tmp_path)
    message = str(info.value)
    assert str(path) in message and "line 3" in message and "column" in message


def test_wrong_value_type_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "distilbert", "n_layers": "six"}))
    with pytest.raises(ConfigurationError) as info:
        DistilBertConfig.from_pretrained(tmp_path)
    assert "'n_layers'" in str(info.value) and "'six'" in str(info.value) and "int" in str(info.value)
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ConfigurationError, match="JSON object"):
        DistilBertConfig.from_pretrained(tmp_path)


def test_a_user_configs_defaults_are_not_types(tmp_path: Path) -> None:
    """A user's config class declares defaults, not types: a float where the default is 0 loads, as in the
    reference (a trained value saved by save_pretrained); the library's own keys are still checked."""

    class ScaleConfig(PretrainedConfig):
        def __init__(self, a: Any = 0, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.a = a

    ScaleConfig(a=1.5).save_pretrained(tmp_path)
    assert ScaleConfig.from_pretrained(tmp_path).a == 1.5

    class ScaledBertConfig(BertConfig):
        def __init__(self, a: Any = 0, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.a = a

    ScaledBertConfig(a=2.5).save_pretrained(tmp_path / "bert")
    assert ScaledBertConfig.from_pretrained(tmp_path / "bert").a == 2.5
    data = json.loads((tmp_path / "bert" / "config.json").read_text())
    (tmp_path / "bert" / "config.json").write_text(json.dumps({**data, "hidden_size": "big"}))
    with pytest.raises(ConfigurationError, match="'hidden_size'"):
        ScaledBertConfig.from_pretrained(tmp_path / "bert")


def test_missing_folder_and_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError):
        DistilBertConfig.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(MissingFileError, match="other.json"):
        DistilBertConfig.from_pretrained(tmp_path / "config.json")
    with pytest.raises(ConfigurationError, match="is a file"):
        DistilBertConfig().save_pretrained(tmp_path / "other.json")


# ------------------------------------------------------------------------------------------------ round trips
def test_unknown_keys_round_trip_without_warnings(tmp_path: Path) -> None:
    data = {**DOCUMENT_KEYS, "my_custom_key": [1, 2], "newer_library_setting": {"a": 1}}
    (tmp_path / "config.json").write_text(json.dumps(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # keys read from a file are data, not typos
        config = DistilBertConfig.from_pretrained(tmp_path)
    assert config.my_custom_key == [1, 2]
    config.save_pretrained(tmp_path / "again")
    saved = json.loads((tmp_path / "again" / "config.json").read_text())
    assert saved["my_custom_key"] == [1, 2] and saved["newer_library_setting"] == {"a": 1}


def test_return_unused_kwargs(tmp_path: Path) -> None:
    DistilBertConfig().save_pretrained(tmp_path)
    config, unused = DistilBertConfig.from_pretrained(
        tmp_path, activation="relu", not_an_attribute=1, return_unused_kwargs=True
    )
    assert config.activation == "relu" and unused == {"not_an_attribute": 1}
    with pytest.warns(UserWarning, match="not_an_attribute"):
        DistilBertConfig.from_pretrained(tmp_path, not_an_attribute=1)


def test_from_dict_from_json_file_and_equality(tmp_path: Path) -> None:
    config = BertConfig(hidden_size=64, num_labels=4)
    path = tmp_path / "any_name.json"
    config.to_json_file(path)
    assert BertConfig.from_json_file(path) == config
    assert BertConfig.from_dict(config.to_dict()) == config
    assert BertConfig.from_dict(json.loads(config.to_json_string())) == config
    assert BertConfig(hidden_size=64) != BertConfig(hidden_size=32)
    assert BertConfig() != DistilBertConfig()
    assert BertConfig().__eq__(object()) is NotImplemented
    copy = BertConfig.from_dict(config.to_dict())
    copy.update({"hidden_dropout_prob": 0.0})
    assert copy != config and copy.hidden_dropout_prob == 0.0


def test_subclass_following_the_three_rules(tmp_path: Path) -> None:
    class MyConfig(PretrainedConfig):
        model_type = "my-model"

        def __init__(self, width: int = 8, **kwargs: object) -> None:
            self.width = width
            super().__init__(**kwargs)

    config = MyConfig(width=16, num_labels=3)
    config.save_pretrained(tmp_path)
    again = MyConfig.from_pretrained(tmp_path)
    assert again == config and again.width == 16 and again.num_labels == 3
    assert json.loads((tmp_path / "config.json").read_text())["model_type"] == "my-model"


def test_pruned_heads_layer_numbers_come_back_as_ints_and_other_keys_stay() -> None:
    from modelyard import BertConfig

    assert BertConfig(pruned_heads={"0": [1, 2], 3: (0,)}).pruned_heads == {0: [1, 2], 3: [0]}
    assert BertConfig(pruned_heads={"a": 1}).pruned_heads == {"a": 1}  # kept as given, as the reference does


def test_update_from_string_reads_values_as_the_attributes_types() -> None:
    from modelyard import BertConfig
    from modelyard.errors import ConfigurationError

    config = BertConfig()
    config.update_from_string("hidden_size=48,hidden_dropout_prob=0.25,use_cache=false,hidden_act=relu")
    assert (config.hidden_size, config.hidden_dropout_prob, config.use_cache, config.hidden_act) == (48, 0.25, False, "relu")
    with pytest.raises(ConfigurationError, match="no attribute 'not_a_setting'"):
        config.update_from_string("not_a_setting=1")
    with pytest.raises(ConfigurationError, match="hidden_size='big' is not a int"):
        config.update_from_string("hidden_size=big")


def test_saving_a_config_with_non_default_generation_settings_warns(tmp_path: Path) -> None:
    """As in the reference (a UserWarning naming them); the file is written all the same."""
    from modelyard import BertConfig

    assert BertConfig()._get_non_default_generation_parameters() == {}
    assert BertConfig(min_length=0)._get_non_default_generation_parameters() == {}
    config = BertConfig(min_length=3, num_beams=None)
    assert config._get_non_default_generation_parameters() == {"min_length": 3}
    with pytest.warns(UserWarning, match="min_length"):
        config.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["min_length"] == 3

