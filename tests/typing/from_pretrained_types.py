"""What a type checker (and so an IDE) sees of the loading entry points; checked by mypy in ``make lint``
and by ``tests/test_typing.py``. Never run: every ``assert_type`` is a static claim.

``BertModel.from_pretrained(...)`` is a ``BertModel``, not ``Any``; the flags that add a second value to the
result give a tuple. The Auto classes choose the class at run time, so they give the base every choice shares:
AutoConfig a PretrainedConfig, the Auto model classes a PreTrainedModel (AutoModelForCausalLM one with
``generate``), AutoTokenizer a PreTrainedTokenizerBase.
"""

from __future__ import annotations

from typing import Any

import torch
from typing_extensions import assert_type

from modelyard import (
    AutoBackbone,
    AutoConfig,
    AutoFeatureExtractor,
    AutoImageProcessor,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BaseImageProcessor,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    BertTokenizer,
    BertTokenizerFast,
    FeatureExtractionMixin,
    GenerationConfig,
    GPT2LMHeadModel,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    ViTImageProcessor,
)
from modelyard.weights.report import LoadReport


def models(path: str) -> None:
    assert_type(BertModel.from_pretrained(path), BertModel)
    assert_type(BertForSequenceClassification.from_pretrained(path, num_labels=3), BertForSequenceClassification)
    assert_type(GPT2LMHeadModel.from_pretrained(path, revision="main"), GPT2LMHeadModel)
    model, report = BertModel.from_pretrained(path, output_loading_info=True)
    assert_type(model, BertModel)
    assert_type(report, LoadReport)
    # the Auto model classes choose the class at run time: the base every model class has
    assert_type(AutoModel.from_pretrained(path), PreTrainedModel)
    assert_type(AutoModelForSequenceClassification.from_pretrained(path, num_labels=2), PreTrainedModel)
    assert_type(AutoModel.from_config(BertConfig()), PreTrainedModel)
    assert_type(AutoModelForPreTraining.from_pretrained(path), PreTrainedModel)
    assert_type(AutoBackbone.from_pretrained(path), PreTrainedModel)
    auto_model, auto_report = AutoModel.from_pretrained(path, output_loading_info=True)
    assert_type(auto_model, PreTrainedModel)
    assert_type(auto_report, LoadReport)
    # a causal language model generates: generate() type-checks on what AutoModelForCausalLM loads
    lm = AutoModelForCausalLM.from_pretrained(path)
    lm.generate(torch.tensor([[1, 2]]), max_new_tokens=4)
    assert_type(lm.num_parameters(), int)


def configs(path: str) -> None:
    assert_type(BertConfig.from_pretrained(path), BertConfig)
    config, unused = BertConfig.from_pretrained(path, return_unused_kwargs=True, hidden_size=64)
    assert_type(config, BertConfig)
    assert_type(unused, dict[str, Any])
    assert_type(BertConfig.from_dict({"hidden_size": 64}), BertConfig)
    assert_type(BertConfig.from_dict({}, return_unused_kwargs=True), tuple[BertConfig, dict[str, Any]])
    assert_type(PretrainedConfig.from_json_file(path), PretrainedConfig)
    # AutoConfig picks the class at run time: a PretrainedConfig, whose family attributes read as Any
    assert_type(AutoConfig.from_pretrained(path), PretrainedConfig)
    assert_type(AutoConfig.from_pretrained(path, return_unused_kwargs=True)[1], dict[str, Any])
    # the settings are declared, so a typo is a type error and each has a type
    assert_type(BertConfig().id2label, dict[int, str])
    assert_type(GenerationConfig.from_pretrained(path).num_beams, int)


def preprocessors(path: str) -> None:
    # AutoTokenizer picks the slow or fast class at run time: the base they share
    assert_type(AutoTokenizer.from_pretrained(path), PreTrainedTokenizerBase)
    assert_type(AutoTokenizer.from_pretrained(path).decode([1, 2]), str)
    assert_type(BertTokenizer.from_pretrained(path), BertTokenizer)
    assert_type(BertTokenizerFast.from_pretrained(path), BertTokenizerFast)
    assert_type(ViTImageProcessor.from_pretrained(path), ViTImageProcessor)
    assert_type(AutoImageProcessor.from_pretrained(path), BaseImageProcessor)
    assert_type(AutoImageProcessor.from_pretrained(path, return_unused_kwargs=True)[1], dict[str, Any])
    assert_type(AutoFeatureExtractor.from_pretrained(path), FeatureExtractionMixin)
