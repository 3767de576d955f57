"""Every name remote code written for the reference imports most often (the list of issue #22, in its order)
resolves in the compatibility namespace at the reference's path: a name that stops resolving fails here,
before a real repository finds out."""

from __future__ import annotations

import importlib

import pytest

NAMES = {
    "": ["PreTrainedModel", "PretrainedConfig", "PreTrainedConfig", "BertPreTrainedModel", "BertModel", "ViTModel",
         "GPT2Config", "LlamaConfig", "LlamaModel", "LlamaForCausalLM", "Qwen2Config", "Qwen2Model",
         "Qwen2ForCausalLM", "PreTrainedTokenizer", "PreTrainedTokenizerFast", "AddedToken", "BatchEncoding",
         "GenerationMixin", "GenerationConfig", "DynamicCache", "StaticCache", "Cache"],
    "modeling_outputs": ["BaseModelOutput", "BaseModelOutputWithPast", "BaseModelOutputWithPooling",
                         "BaseModelOutputWithPastAndCrossAttentions", "CausalLMOutput", "CausalLMOutputWithPast",
                         "CausalLMOutputWithCrossAttentions", "SequenceClassifierOutputWithPast",
                         "MaskedLMOutput", "SequenceClassifierOutput", "TokenClassifierOutput",
                         "QuestionAnsweringModelOutput", "Seq2SeqModelOutput", "Seq2SeqLMOutput"],
    "activations": ["ACT2FN", "get_activation"],
    "utils.logging": ["get_logger"],
    "utils": ["add_start_docstrings", "add_start_docstrings_to_model_forward", "replace_return_docstrings",
              "add_code_sample_docstrings", "is_torch_available", "is_flash_attn_2_available",
              "is_flash_attn_greater_or_equal_2_10", "is_sentencepiece_available", "is_tokenizers_available",
              "is_accelerate_available", "is_bitsandbytes_available", "PaddingStrategy", "TensorType",
              "WEIGHTS_NAME", "SAFE_WEIGHTS_NAME", "CONFIG_NAME"],
    "pytorch_utils": ["ALL_LAYERNORM_LAYERS", "is_torch_greater_or_equal_than_1_13", "Conv1D",
                      "find_pruneable_heads_and_indices", "prune_linear_layer"],
    "modeling_attn_mask_utils": ["AttentionMaskConverter", "_prepare_4d_causal_attention_mask",
                                 "_prepare_4d_attention_mask"],
    "cache_utils": ["Cache", "DynamicCache", "StaticCache"],
    "generation": ["GenerationMixin", "GenerationConfig", "LogitsProcessor", "LogitsProcessorList",
                   "StoppingCriteria", "StoppingCriteriaList"],
    "generation.utils": ["GenerationMixin"],
    "utils.hub": ["cached_file", "get_checkpoint_shard_files", "has_file"],
    "tokenization_utils_base": ["AddedToken", "BatchEncoding", "PaddingStrategy"],
    "modeling_utils": ["PreTrainedModel"],
    "configuration_utils": ["PretrainedConfig"],
    "models.bert.modeling_bert": ["BertPreTrainedModel", "BertModel"],
    "models.llama.modeling_llama": ["LlamaModel", "LlamaForCausalLM"],
    "models.qwen2.modeling_qwen2": ["Qwen2Model", "Qwen2ForCausalLM"],
}


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, names in NAMES.items() for n in names],
                         ids=lambda value: value or "transformers")
def test_the_name_resolves_at_the_reference_path(module: str, name: str) -> None:
    path = "modelyard.compat.transformers" + (f".{module}" if module else "")
    assert getattr(importlib.import_module(path), name) is not None


def test_the_library_classes_are_modelyards_own() -> None:
    import modelyard
    from modelyard.compat import transformers

    for name in ("PreTrainedModel", "BertModel", "LlamaForCausalLM", "GPT2Config", "PreTrainedTokenizerFast"):
        assert getattr(transformers, name) is getattr(modelyard, name), name
    assert transformers.PreTrainedConfig is transformers.PretrainedConfig is modelyard.PretrainedConfig
