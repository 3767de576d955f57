"""The family manifests declare classes by role and derive the rest (modules, Auto classes) from the
reference's naming conventions (``modelyard.registry``): the derived tables must stay exactly what the
manifests spelled out by hand before (the data below, taken from them), and the rules must refuse a manifest
that cannot be read one way."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from modelyard.errors import RegistrationError
from modelyard.registry import FamilyManifest, conventional_tasks, families

ROLES = ("config", "tokenizer", "fast_tokenizer", "feature_extractor", "image_processor", "processor")

# model_type -> (roles, Auto class -> model class, public name -> module), as the explicit manifests had them.
EXPECTED = {
    "bert": (
        {"config": "BertConfig", "tokenizer": "BertTokenizer", "fast_tokenizer": "BertTokenizerFast"},
        {
            "AutoModel": "BertModel",
            "AutoModelForCausalLM": "BertLMHeadModel",
            "AutoModelForMaskedLM": "BertForMaskedLM",
            "AutoModelForMultipleChoice": "BertForMultipleChoice",
            "AutoModelForNextSentencePrediction": "BertForNextSentencePrediction",
            "AutoModelForPreTraining": "BertForPreTraining",
            "AutoModelForQuestionAnswering": "BertForQuestionAnswering",
            "AutoModelForSequenceClassification": "BertForSequenceClassification",
            "AutoModelForTokenClassification": "BertForTokenClassification",
        },
        {
            "BertConfig": "configuration_bert",
            "BertForMaskedLM": "modeling_bert",
            "BertForMultipleChoice": "modeling_bert",
            "BertForNextSentencePrediction": "modeling_bert",
            "BertForPreTraining": "modeling_bert",
            "BertForQuestionAnswering": "modeling_bert",
            "BertForSequenceClassification": "modeling_bert",
            "BertForTokenClassification": "modeling_bert",
            "BertLMHeadModel": "modeling_bert",
            "BertModel": "modeling_bert",
            "BertPreTrainedModel": "modeling_bert",
            "BertTokenizer": "tokenization_bert",
            "BertTokenizerFast": "tokenization_bert_fast",
        },
    ),
    "clip": (
        {
            "config": "CLIPConfig",
            "feature_extractor": "CLIPFeatureExtractor",
            "image_processor": "CLIPImageProcessor",
        },
        {},
        {
            "CLIPConfig": "configuration_clip",
            "CLIPFeatureExtractor": "feature_extraction_clip",
            "CLIPImageProcessor": "image_processing_clip",
            "CLIPTextConfig": "configuration_clip",
            "CLIPVisionConfig": "configuration_clip",
        },
    ),
    "distilbert": (
        {
            "config": "DistilBertConfig",
            "tokenizer": "DistilBertTokenizer",
            "fast_tokenizer": "DistilBertTokenizerFast",
        },
        {
            "AutoModel": "DistilBertModel",
            "AutoModelForMaskedLM": "DistilBertForMaskedLM",
            "AutoModelForMultipleChoice": "DistilBertForMultipleChoice",
            "AutoModelForPreTraining": "DistilBertForMaskedLM",
            "AutoModelForQuestionAnswering": "DistilBertForQuestionAnswering",
            "AutoModelForSequenceClassification": "DistilBertForSequenceClassification",
            "AutoModelForTokenClassification": "DistilBertForTokenClassification",
        },
        {
            "DistilBertConfig": "configuration_distilbert",
            "DistilBertForMaskedLM": "modeling_distilbert",
            "DistilBertForMultipleChoice": "modeling_distilbert",
            "DistilBertForQuestionAnswering": "modeling_distilbert",
            "DistilBertForSequenceClassification": "modeling_distilbert",
            "DistilBertForTokenClassification": "modeling_distilbert",
            "DistilBertModel": "modeling_distilbert",
            "DistilBertPreTrainedModel": "modeling_distilbert",
            "DistilBertTokenizer": "tokenization_distilbert",
            "DistilBertTokenizerFast": "tokenization_distilbert_fast",
        },
    ),
    "gpt2": (
        {"config": "GPT2Config", "tokenizer": "GPT2Tokenizer", "fast_tokenizer": "GPT2TokenizerFast"},
        {
            "AutoModel": "GPT2Model",
            "AutoModelForCausalLM": "GPT2LMHeadModel",
            "AutoModelForPreTraining": "GPT2LMHeadModel",
            "AutoModelForQuestionAnswering": "GPT2ForQuestionAnswering",
            "AutoModelForSequenceClassification": "GPT2ForSequenceClassification",
            "AutoModelForTokenClassification": "GPT2ForTokenClassification",
        },
        {
            "GPT2Config": "configuration_gpt2",
            "GPT2DoubleHeadsModel": "modeling_gpt2",
            "GPT2ForQuestionAnswering": "modeling_gpt2",
            "GPT2ForSequenceClassification": "modeling_gpt2",
            "GPT2ForTokenClassification": "modeling_gpt2",
            "GPT2LMHeadModel": "modeling_gpt2",
            "GPT2Model": "modeling_gpt2",
            "GPT2PreTrainedModel": "modeling_gpt2",
            "GPT2Tokenizer": "tokenization_gpt2",
            "GPT2TokenizerFast": "tokenization_gpt2_fast",
        },
    ),
    "llama": (
        {"config": "LlamaConfig", "tokenizer": "LlamaTokenizer", "fast_tokenizer": "LlamaTokenizerFast"},
        {
            "AutoModel": "LlamaModel",
            "AutoModelForCausalLM": "LlamaForCausalLM",
            "AutoModelForQuestionAnswering": "LlamaForQuestionAnswering",
            "AutoModelForSequenceClassification": "LlamaForSequenceClassification",
            "AutoModelForTokenClassification": "LlamaForTokenClassification",
        },
        {
            "LlamaConfig": "configuration_llama",
            "LlamaForCausalLM": "modeling_llama",
            "LlamaForQuestionAnswering": "modeling_llama",
            "LlamaForSequenceClassification": "modeling_llama",
            "LlamaForTokenClassification": "modeling_llama",
            "LlamaModel": "modeling_llama",
            "LlamaPreTrainedModel": "modeling_llama",
            "LlamaTokenizer": "tokenization_llama",
            "LlamaTokenizerFast": "tokenization_llama_fast",
        },
    ),
    "mistral": (
        {"config": "MistralConfig", "tokenizer": "LlamaTokenizer", "fast_tokenizer": "LlamaTokenizerFast"},
        {
            "AutoModel": "MistralModel",
            "AutoModelForCausalLM": "MistralForCausalLM",
            "AutoModelForQuestionAnswering": "MistralForQuestionAnswering",
            "AutoModelForSequenceClassification": "MistralForSequenceClassification",
            "AutoModelForTokenClassification": "MistralForTokenClassification",
        },
        {
            "LlamaTokenizer": "modelyard.models.llama.tokenization_llama",
            "LlamaTokenizerFast": "modelyard.models.llama.tokenization_llama_fast",
            "MistralConfig": "configuration_mistral",
            "MistralForCausalLM": "modeling_mistral",
            "MistralForQuestionAnswering": "modeling_mistral",
            "MistralForSequenceClassification": "modeling_mistral",
            "MistralForTokenClassification": "modeling_mistral",
            "MistralModel": "modeling_mistral",
            "MistralPreTrainedModel": "modeling_mistral",
        },
    ),
    "opt": (
        {"config": "OPTConfig", "tokenizer": "GPT2Tokenizer", "fast_tokenizer": "GPT2TokenizerFast"},
        {
            "AutoModel": "OPTModel",
            "AutoModelForCausalLM": "OPTForCausalLM",
            "AutoModelForQuestionAnswering": "OPTForQuestionAnswering",
            "AutoModelForSequenceClassification": "OPTForSequenceClassification",
        },
        {
            "GPT2Tokenizer": "modelyard.models.gpt2.tokenization_gpt2",
            "GPT2TokenizerFast": "modelyard.models.gpt2.tokenization_gpt2_fast",
            "OPTConfig": "configuration_opt",
            "OPTForCausalLM": "modeling_opt",
            "OPTForQuestionAnswering": "modeling_opt",
            "OPTForSequenceClassification": "modeling_opt",
            "OPTModel": "modeling_opt",
            "OPTPreTrainedModel": "modeling_opt",
        },
    ),
    "qwen2": (
        {"config": "Qwen2Config", "tokenizer": "Qwen2Tokenizer", "fast_tokenizer": "Qwen2TokenizerFast"},
        {
            "AutoModel": "Qwen2Model",
            "AutoModelForCausalLM": "Qwen2ForCausalLM",
            "AutoModelForQuestionAnswering": "Qwen2ForQuestionAnswering",
            "AutoModelForSequenceClassification": "Qwen2ForSequenceClassification",
            "AutoModelForTokenClassification": "Qwen2ForTokenClassification",
        },
        {
            "Qwen2Config": "configuration_qwen2",
            "Qwen2ForCausalLM": "modeling_qwen2",
            "Qwen2ForQuestionAnswering": "modeling_qwen2",
            "Qwen2ForSequenceClassification": "modeling_qwen2",
            "Qwen2ForTokenClassification": "modeling_qwen2",
            "Qwen2Model": "modeling_qwen2",
            "Qwen2PreTrainedModel": "modeling_qwen2",
            "Qwen2Tokenizer": "tokenization_qwen2",
            "Qwen2TokenizerFast": "tokenization_qwen2_fast",
        },
    ),
    "resnet": (
        {"config": "ResNetConfig"},
        {
            "AutoBackbone": "ResNetBackbone",
            "AutoModel": "ResNetModel",
            "AutoModelForImageClassification": "ResNetForImageClassification",
        },
        {
            "ResNetBackbone": "modeling_resnet",
            "ResNetConfig": "configuration_resnet",
            "ResNetForImageClassification": "modeling_resnet",
            "ResNetModel": "modeling_resnet",
            "ResNetPreTrainedModel": "modeling_resnet",
        },
    ),
    "roberta": (
        {
            "config": "RobertaConfig",
            "tokenizer": "RobertaTokenizer",
            "fast_tokenizer": "RobertaTokenizerFast",
        },
        {
            "AutoModel": "RobertaModel",
            "AutoModelForCausalLM": "RobertaForCausalLM",
            "AutoModelForMaskedLM": "RobertaForMaskedLM",
            "AutoModelForMultipleChoice": "RobertaForMultipleChoice",
            "AutoModelForQuestionAnswering": "RobertaForQuestionAnswering",
            "AutoModelForSequenceClassification": "RobertaForSequenceClassification",
            "AutoModelForTokenClassification": "RobertaForTokenClassification",
        },
        {
            "RobertaConfig": "configuration_roberta",
            "RobertaForCausalLM": "modeling_roberta",
            "RobertaForMaskedLM": "modeling_roberta",
            "RobertaForMultipleChoice": "modeling_roberta",
            "RobertaForQuestionAnswering": "modeling_roberta",
            "RobertaForSequenceClassification": "modeling_roberta",
            "RobertaForTokenClassification": "modeling_roberta",
            "RobertaModel": "modeling_roberta",
            "RobertaPreTrainedModel": "modeling_roberta",
            "RobertaTokenizer": "tokenization_roberta",
            "RobertaTokenizerFast": "tokenization_roberta_fast",
        },
    ),
    "vit": (
        {
            "config": "ViTConfig",
            "feature_extractor": "ViTFeatureExtractor",
            "image_processor": "ViTImageProcessor",
        },
        {
            "AutoModel": "ViTModel",
            "AutoModelForImageClassification": "ViTForImageClassification",
            "AutoModelForMaskedImageModeling": "ViTForMaskedImageModeling",
        },
        {
            "ViTConfig": "configuration_vit",
            "ViTFeatureExtractor": "feature_extraction_vit",
            "ViTForImageClassification": "modeling_vit",
            "ViTForMaskedImageModeling": "modeling_vit",
            "ViTImageProcessor": "image_processing_vit",
            "ViTModel": "modeling_vit",
            "ViTPreTrainedModel": "modeling_vit",
        },
    ),
    "wav2vec2": (
        {
            "config": "Wav2Vec2Config",
            "tokenizer": "Wav2Vec2CTCTokenizer",
            "feature_extractor": "Wav2Vec2FeatureExtractor",
            "processor": "Wav2Vec2Processor",
        },
        {
            "AutoModel": "Wav2Vec2Model",
            "AutoModelForAudioClassification": "Wav2Vec2ForSequenceClassification",
            "AutoModelForAudioFrameClassification": "Wav2Vec2ForAudioFrameClassification",
            "AutoModelForAudioXVector": "Wav2Vec2ForXVector",
            "AutoModelForCTC": "Wav2Vec2ForCTC",
            "AutoModelForMaskedLM": "Wav2Vec2ForMaskedLM",
            "AutoModelForPreTraining": "Wav2Vec2ForPreTraining",
        },
        {
            "Wav2Vec2CTCTokenizer": "tokenization_wav2vec2",
            "Wav2Vec2Config": "configuration_wav2vec2",
            "Wav2Vec2FeatureExtractor": "feature_extraction_wav2vec2",
            "Wav2Vec2ForAudioFrameClassification": "modeling_wav2vec2",
            "Wav2Vec2ForCTC": "modeling_wav2vec2",
            "Wav2Vec2ForMaskedLM": "modeling_wav2vec2",
            "Wav2Vec2ForPreTraining": "modeling_wav2vec2",
            "Wav2Vec2ForSequenceClassification": "modeling_wav2vec2",
            "Wav2Vec2ForXVector": "modeling_wav2vec2",
            "Wav2Vec2Model": "modeling_wav2vec2",
            "Wav2Vec2PreTrainedModel": "modeling_wav2vec2",
            "Wav2Vec2Processor": "processing_wav2vec2",
            "Wav2Vec2Tokenizer": "tokenization_wav2vec2",
        },
    ),
}


@pytest.mark.parametrize("model_type", sorted(EXPECTED))
def test_each_family_derives_the_tables_it_spelled_out_before(model_type: str) -> None:
    roles, models, exports = EXPECTED[model_type]
    _, manifest = families()[model_type]
    assert {role: getattr(manifest, role) for role in ROLES if getattr(manifest, role)} == roles
    assert dict(manifest.models) == models
    assert dict(manifest.exports) == exports


def test_every_family_is_pinned() -> None:
    assert sorted(families()) == sorted(EXPECTED)


def test_the_naming_convention() -> None:
    assert conventional_tasks("BertModel", "Bert") == ("AutoModel",)
    assert conventional_tasks("BertForMaskedLM", "Bert") == ("AutoModelForMaskedLM",)
    assert conventional_tasks("GPT2LMHeadModel", "GPT2") == ("AutoModelForCausalLM",)
    assert conventional_tasks("ResNetBackbone", "ResNet") == ("AutoBackbone",)
    assert conventional_tasks("Wav2Vec2ForXVector", "Wav2Vec2") == ("AutoModelForAudioXVector",)
    # no Auto class: the base class, a head without one, another family's class
    assert conventional_tasks("BertPreTrainedModel", "Bert") == ()
    assert conventional_tasks("GPT2DoubleHeadsModel", "GPT2") == ()
    assert conventional_tasks("BertForNothingKnown", "Bert") == ()
    assert conventional_tasks("RobertaModel", "Bert") == ()


def test_tasks_replace_the_convention_for_one_class() -> None:
    manifest = FamilyManifest(
        model_type="toy",
        config="ToyConfig",
        modeling=("ToyModel", "ToyForSequenceClassification"),
        tasks={"ToyForSequenceClassification": ("AutoModelForAudioClassification",), "ToyModel": ()},
    )
    assert dict(manifest.models) == {"AutoModelForAudioClassification": "ToyForSequenceClassification"}
    assert manifest.exports == {
        "ToyConfig": "configuration_toy",
        "ToyModel": "modeling_toy",
        "ToyForSequenceClassification": "modeling_toy",
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"modeling": ("ToyForCausalLM", "ToyLMHeadModel")},
            "AutoModelForCausalLM with both ToyForCausalLM and ToyLMHeadModel",
        ),
        (
            {"modeling": ("ToyModel",), "tasks": {"ToyModel": ("AutoModelForEverything",)}},
            "unknown Auto class 'AutoModelForEverything'",
        ),
        ({"modeling": ("ToyModel",), "tasks": {"ToyHead": ("AutoModel",)}}, "gives tasks for ['ToyHead']"),
        ({"modeling": ("ToyModel",), "tokenizer": "ToyModel"}, "names 'ToyModel' twice"),
    ],
)
def test_a_manifest_that_cannot_be_read_one_way_is_refused(fields: dict, message: str) -> None:
    with pytest.raises(RegistrationError, match=re.escape(message)):
        FamilyManifest(model_type="toy", config="ToyConfig", **fields)


def test_importing_a_family_imports_no_torch() -> None:
    code = (
        "import sys; import modelyard.models.bert as bert, modelyard.models.mistral as mistral; "
        "assert 'BertModel' in bert.__all__ and 'LlamaTokenizer' in dir(mistral); "
        "assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr
