"""``transformers.models.auto``'s tables in the compatibility namespace: what third-party libraries and the
reference's own tests read, as live views of modelyard's Auto tables, equal to the reference's entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _corpus_runner import REFERENCE_PYTHON
from test_remote_transformers import _modelyard_on_the_reference_interpreter

from modelyard import AutoModelForSequenceClassification, BertConfig, PretrainedConfig, PreTrainedModel
from modelyard.auto.configuration_auto import CONFIG_TABLE
from modelyard.compat.transformers.models import auto
from modelyard.compat.transformers.models.auto import configuration_auto, modeling_auto, tokenization_auto
from modelyard.errors import MissingCompatibilityAttributeError
from modelyard.registry import manifests


def test_names_tables_list_every_family_with_the_head() -> None:
    names = modeling_auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES
    expected = {m.model_type: m.models["AutoModelForSequenceClassification"] for m in manifests()
                if "AutoModelForSequenceClassification" in m.models}
    assert dict(names.items()) == expected and names.get("bert") == "BertForSequenceClassification"
    assert configuration_auto.CONFIG_MAPPING_NAMES["distilbert"] == "DistilBertConfig"
    assert tokenization_auto.TOKENIZER_MAPPING_NAMES["bert"] == ("BertTokenizer", "BertTokenizerFast")


def test_mappings_are_live_views_keyed_by_config_class() -> None:
    mapping = auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING
    assert mapping is modeling_auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING
    assert mapping[BertConfig].__name__ == "BertForSequenceClassification"
    assert BertConfig in mapping and len(mapping) == len(list(mapping.keys()))
    assert {k.model_type: v.__name__ for k, v in mapping.items()}["bert"] == "BertForSequenceClassification"
    assert "BertForSequenceClassification" in {c.__name__ for c in auto.get_values(mapping)}
    assert configuration_auto.CONFIG_MAPPING["bert"] is BertConfig
    with pytest.raises(KeyError):
        configuration_auto.CONFIG_MAPPING["no-such-type"]
    pair = tokenization_auto.TOKENIZER_MAPPING[BertConfig]
    assert [c.__name__ for c in pair] == ["BertTokenizer", "BertTokenizerFast"]
    assert len(auto.get_values(tokenization_auto.TOKENIZER_MAPPING)) == 2 * len(tokenization_auto.TOKENIZER_MAPPING)


def test_registering_through_a_mapping_registers_with_the_auto_class() -> None:
    class TableConfig(PretrainedConfig):
        model_type = "compat-table-test"

    class TableModel(PreTrainedModel):
        config_class = TableConfig

    configuration_auto.CONFIG_MAPPING.register("compat-table-test", TableConfig)
    modeling_auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING.register(TableConfig, TableModel)
    try:
        assert AutoModelForSequenceClassification.model_class_for(TableConfig()) is TableModel
        assert modeling_auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[TableConfig] is TableModel
        assert configuration_auto.CONFIG_MAPPING["compat-table-test"] is TableConfig
    finally:
        AutoModelForSequenceClassification._table.unregister(TableConfig)
        CONFIG_TABLE.unregister("compat-table-test")
    assert TableConfig not in modeling_auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING


def test_a_table_of_a_task_without_heads_is_empty_and_refuses_registration() -> None:
    # Formerly refused: the reference's own tests and third-party libraries read every task's table (e.g.
    # MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES in the common model tests), so each exists; no model type maps here.
    assert dict(modeling_auto.MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES) == {}
    mapping = auto.MODEL_FOR_VISION_2_SEQ_MAPPING
    assert mapping is modeling_auto.MODEL_FOR_VISION_2_SEQ_MAPPING and len(mapping) == 0 and BertConfig not in mapping
    assert auto.get_values(mapping) == []
    with pytest.raises(TypeError, match="MODEL_FOR_VISION_2_SEQ"):
        mapping.register(BertConfig, PreTrainedModel)
    for name in ("MODEL_FOR_AUDIO_XVECTOR", "MODEL_FOR_OBJECT_DETECTION", "MODEL_WITH_LM_HEAD"):
        assert name + "_MAPPING" in auto.__all__ and name + "_MAPPING_NAMES" in modeling_auto.__all__
    with pytest.raises(MissingCompatibilityAttributeError, match="auto.MODEL_MAPPING_NAMES"):
        auto.MODEL_MAPPING_NAMES  # noqa: B018  (the reference keeps the names tables in the submodules)


def test_mappings_give_lists_as_the_references_lazy_mappings_do() -> None:
    # code written for the reference concatenates them: MAPPING.items() + OTHER.items()
    mapping = auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING
    both = mapping.items() + auto.MODEL_FOR_VISION_2_SEQ_MAPPING.items()
    assert isinstance(both, list) and len(both) == len(mapping)
    assert mapping.keys() == [key for key, _ in both] and mapping.values() == [value for _, value in both]


def test_the_top_level_offers_the_live_tables() -> None:
    import modelyard.compat.transformers as transformers

    assert transformers.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING is auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING
    assert transformers.CONFIG_MAPPING is configuration_auto.CONFIG_MAPPING


@pytest.mark.reference
@pytest.mark.skipif(not REFERENCE_PYTHON.exists(), reason="needs the reference environment (make reference)")
def test_tables_equal_the_references_entries_for_our_families(tmp_path: Path) -> None:
    import importlib

    ours: dict[str, dict[str, dict]] = {}
    for module in ("configuration_auto", "modeling_auto", "tokenization_auto", "feature_extraction_auto",
                   "image_processing_auto", "processing_auto"):
        compat = importlib.import_module(f"modelyard.compat.transformers.models.auto.{module}")
        ours[module] = {name: dict(getattr(compat, name)) for name in compat.__all__ if name.endswith("_NAMES")}
    spec = tmp_path / "ours.json"
    spec.write_text(json.dumps(ours))
    theirs = _modelyard_on_the_reference_interpreter(
        f'''
        import importlib, json
        ours = json.loads(open({str(spec)!r}).read())
        out = {{}}
        for module, tables in ours.items():
            ref = importlib.import_module("transformers.models.auto." + module)
            out[module] = {{name: {{t: getattr(ref, name).get(t) for t in table}} for name, table in tables.items()}}
        print(json.dumps(out))
        ''',
        tmp_path,
    )

    def plain(table: dict) -> dict:
        return {t: (list(v) if isinstance(v, (list, tuple)) else v) for t, v in table.items()}

    for module, tables in ours.items():
        assert tables, module
        for name, table in tables.items():
            assert plain(table) == plain(theirs[module][name]), f"{module}.{name}"


def test_family_tokenizer_modules_offer_vocab_files_names() -> None:
    from modelyard.compat.transformers.models.bert import tokenization_bert, tokenization_bert_fast
    from modelyard.compat.transformers.models.distilbert import tokenization_distilbert
    from modelyard.compat.transformers.models.wav2vec2 import tokenization_wav2vec2

    assert tokenization_bert.VOCAB_FILES_NAMES == {"vocab_file": "vocab.txt"}
    assert tokenization_bert_fast.VOCAB_FILES_NAMES["tokenizer_file"] == "tokenizer.json"
    assert tokenization_distilbert.VOCAB_FILES_NAMES == tokenization_bert.VOCAB_FILES_NAMES
    assert tokenization_wav2vec2.VOCAB_FILES_NAMES == {"vocab_file": "vocab.json"}
    assert "VOCAB_FILES_NAMES" in dir(tokenization_bert)
    with pytest.raises(MissingCompatibilityAttributeError):
        tokenization_bert.NOT_A_REFERENCE_CONSTANT  # noqa: B018


def test_a_family_modeling_module_serves_the_output_classes_the_reference_imports_there() -> None:
    from modelyard.compat.transformers.models.bert import modeling_bert, tokenization_bert

    from modelyard.compat.transformers import modeling_outputs
    from modelyard.compat.transformers._namespace import provides

    assert modeling_bert.MaskedLMOutput is modeling_outputs.MaskedLMOutput
    assert (modeling_bert.BaseModelOutputWithPoolingAndCrossAttentions
            is modeling_outputs.BaseModelOutputWithPoolingAndCrossAttentions)
    assert provides(modeling_bert, "SequenceClassifierOutput")  # the check that runs before remote code does
    assert "MaskedLMOutput" not in dir(modeling_bert)  # listed where the reference defines them, not here
    assert not provides(tokenization_bert, "MaskedLMOutput")


def test_extra_content_is_the_live_set_of_user_registrations() -> None:
    """Code written for the reference cleans up after ``register`` by deleting from ``_extra_content``."""
    from modelyard import AutoImageProcessor, AutoModel, AutoTokenizer, BertTokenizer, ViTImageProcessor
    from modelyard.compat.transformers.models.auto import image_processing_auto

    class ExtraConfig(PretrainedConfig):
        model_type = "compat-extra-test"

    class ExtraModel(PreTrainedModel):
        config_class = ExtraConfig

    class ExtraTokenizer(BertTokenizer):
        pass

    class ExtraImageProcessor(ViTImageProcessor):
        pass

    config_mapping = configuration_auto.CONFIG_MAPPING
    model_mapping = modeling_auto.MODEL_MAPPING
    tokenizer_mapping = tokenization_auto.TOKENIZER_MAPPING
    image_mapping = image_processing_auto.IMAGE_PROCESSOR_MAPPING
    for _ in range(2):  # registering again after the clean-up works: nothing is left behind
        configuration_auto.CONFIG_MAPPING.register("compat-extra-test", ExtraConfig)
        AutoModel.register(ExtraConfig, ExtraModel)
        AutoTokenizer.register(ExtraConfig, slow_tokenizer_class=ExtraTokenizer)
        AutoImageProcessor.register(ExtraConfig, ExtraImageProcessor)
        assert config_mapping._extra_content["compat-extra-test"] is ExtraConfig
        assert model_mapping._extra_content[ExtraConfig] is ExtraModel
        assert tokenizer_mapping._extra_content[ExtraConfig] == (ExtraTokenizer, None)
        assert ExtraConfig in image_mapping._extra_content and "bert" not in config_mapping._extra_content
        assert list(image_mapping._extra_content) == [ExtraConfig]
        del config_mapping._extra_content["compat-extra-test"]
        del model_mapping._extra_content[ExtraConfig]
        del tokenizer_mapping._extra_content[ExtraConfig]
        del image_mapping._extra_content[ExtraConfig]
        assert "compat-extra-test" not in CONFIG_TABLE and AutoModel._table.get(ExtraConfig) is None
        assert ExtraConfig not in tokenizer_mapping and ExtraConfig not in image_mapping


def test_lazy_auto_mapping_resolves_names_from_the_family_then_the_namespace() -> None:
    from collections import OrderedDict

    from modelyard import BertModel, GPT2Model
    from modelyard.compat.transformers.models.auto.auto_factory import _LazyAutoMapping

    configs = OrderedDict([("bert", "BertConfig")])
    assert _LazyAutoMapping(configs, OrderedDict([("bert", "BertModel")]))[BertConfig] is BertModel
    assert _LazyAutoMapping(configs, OrderedDict([("bert", "GPT2Model")]))[BertConfig] is GPT2Model
    ghost = _LazyAutoMapping(configs, OrderedDict([("bert", "GhostModel")]))
    with pytest.raises(ValueError, match=r"Could not find GhostModel neither in modelyard\.models\.bert nor in"):
        ghost[BertConfig]
    mapping = _LazyAutoMapping(configs, OrderedDict([("bert", "BertModel")]))
    assert mapping.keys() == [BertConfig] and mapping.values() == [BertModel] and BertConfig in mapping
    with pytest.raises(ValueError, match="already used"):
        mapping.register(BertConfig, GPT2Model)
    mapping.register(BertConfig, GPT2Model, exist_ok=True)
    assert mapping[BertConfig] is GPT2Model and len(mapping) == 2


def test_tokenizer_class_from_name_in_the_namespace() -> None:
    from modelyard import RobertaTokenizerFast

    assert tokenization_auto.tokenizer_class_from_name("RobertaTokenizerFast") is RobertaTokenizerFast
    assert tokenization_auto.tokenizer_class_from_name("NoSuchTokenizer") is None
