"""The Auto registry over the decoder families: every (Auto class, model type) entry builds, saves and loads
through its Auto class, and the tokenizer tables name the families' tokenizers (Mistral uses Llama's)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import modelyard
from modelyard import AutoConfig, AutoModelForCausalLM
from modelyard.auto.modeling_auto import AUTO_MODEL_CLASSES
from modelyard.errors import UnknownModelTypeError

TINY = {
    "gpt2": dict(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=16, pad_token_id=0),
    "llama": dict(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, pad_token_id=0),
    "mistral": dict(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, sliding_window=4, pad_token_id=0),
    "qwen2": dict(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, pad_token_id=0),
    "opt": dict(vocab_size=99, hidden_size=32, ffn_dim=37, num_hidden_layers=2, num_attention_heads=4, pad_token_id=0,
                word_embed_proj_dim=16),
}
SWEEP = [
    (auto_name, model_type)
    for auto_name, auto in sorted(AUTO_MODEL_CLASSES.items())
    for model_type in TINY
    if model_type in auto._table.model_types()
]


def test_every_decoder_has_the_auto_classes_of_the_reference() -> None:
    expected = {"AutoModel", "AutoModelForCausalLM", "AutoModelForSequenceClassification",
                "AutoModelForTokenClassification", "AutoModelForQuestionAnswering"}
    for model_type in TINY:
        # as in the reference's tables, GPT-2's language model is also its pre-training model
        extra = {"AutoModelForPreTraining"} if model_type == "gpt2" else set()
        # the reference has no OPT token classifier
        missing = {"AutoModelForTokenClassification"} if model_type == "opt" else set()
        assert {name for name, t in SWEEP if t == model_type} == (expected | extra) - missing, model_type


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


def test_an_encoder_without_a_decoder_mode_has_no_causal_lm() -> None:
    config = AutoConfig.for_model("distilbert", vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37)
    with pytest.raises(UnknownModelTypeError, match="bert.*gpt2.*llama.*mistral.*qwen2"):
        AutoModelForCausalLM.from_config(config)
    # BERT has one, as in the reference: its decoder mode
    bert = AutoConfig.for_model("bert", vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=37, is_decoder=True)
    assert type(AutoModelForCausalLM.from_config(bert)) is modelyard.BertLMHeadModel


def test_tokenizer_table_names_the_decoder_tokenizers() -> None:
    from modelyard.auto.tokenization_auto import TOKENIZER_TABLE, tokenizer_class_from_name

    assert TOKENIZER_TABLE.get("gpt2") == (modelyard.GPT2Tokenizer, modelyard.GPT2TokenizerFast)
    assert TOKENIZER_TABLE.get("qwen2") == (modelyard.Qwen2Tokenizer, modelyard.Qwen2TokenizerFast)
    for model_type in ("llama", "mistral"):  # Mistral checkpoints ship Llama tokenizers, as in the reference
        assert TOKENIZER_TABLE.get(model_type) == (modelyard.LlamaTokenizer, modelyard.LlamaTokenizerFast)
    assert tokenizer_class_from_name("LlamaTokenizerFast") is modelyard.LlamaTokenizerFast
