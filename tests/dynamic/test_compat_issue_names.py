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


@pytest.mark.parametrize("family", ["llama", "mistral", "qwen2"])
def test_rotary_decoders_lend_their_building_blocks_under_the_reference_names(family: str) -> None:
    import torch

    import modelyard

    module = importlib.import_module(f"modelyard.compat.transformers.models.{family}.modeling_{family}")
    prefix = {"llama": "Llama", "mistral": "Mistral", "qwen2": "Qwen2"}[family]
    config = getattr(modelyard, f"{prefix}Config")(hidden_size=32, num_attention_heads=4, num_key_value_heads=2,
                                                   intermediate_size=40, num_hidden_layers=1, vocab_size=50)
    model = getattr(modelyard, f"{prefix}Model")(config)
    assert isinstance(model.norm, getattr(module, f"{prefix}RMSNorm"))  # a remote _init_weights sees our norms
    norm = getattr(module, f"{prefix}RMSNorm")(32, eps=1e-5)
    assert norm.variance_epsilon == 1e-5 and norm.weight.shape == (32,)
    rotary = getattr(module, f"{prefix}RotaryEmbedding")(config=config)
    x = torch.randn(2, 5, 32)
    positions = torch.arange(5).expand(2, 5)
    cos, sin = rotary(x, positions)
    assert cos.shape == sin.shape == (2, 5, 8)
    q, k = torch.randn(2, 4, 5, 8), torch.randn(2, 2, 5, 8)
    q1, k1 = module.apply_rotary_pos_emb(q, k, cos, sin)
    # (batch, seq, heads, dim) with unsqueeze_dim=2 rotates the same numbers.
    q2, k2 = module.apply_rotary_pos_emb(q.transpose(1, 2), k.transpose(1, 2), cos, sin, unsqueeze_dim=2)
    assert torch.equal(q2.transpose(1, 2), q1) and torch.equal(k2.transpose(1, 2), k1)
    assert torch.equal(module.rotate_half(torch.tensor([1.0, 2.0, 3.0, 4.0])), torch.tensor([-3.0, -4.0, 1.0, 2.0]))
    repeated = module.repeat_kv(k, 2)
    assert repeated.shape == (2, 4, 5, 8) and torch.equal(repeated[:, 1], k[:, 0]) and torch.equal(repeated[:, 2], k[:, 1])
