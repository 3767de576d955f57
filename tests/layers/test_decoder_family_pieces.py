"""What a Llama-style family declares and what the shared decoder pieces then give it, and the beam step's
candidate split shared by group and constrained beam search.

A family is a ``PreTrainedModel`` on :class:`RotaryDecoderPreTrainedModel`, a base model on
:class:`RotaryDecoderBackbone` and head classes on the shared heads; these tests build such a family here, as a
new one would, and check what it gets without writing more.
"""

from __future__ import annotations

import pytest
import torch

from modelyard.errors import ConfigurationError, RegistrationError
from modelyard.generation.group_beam import split_candidates
from modelyard.layers.decoder_heads import CausalLMHead, TransformerQuestionAnsweringHead
from modelyard.layers.rotary_decoder import RotaryDecoderBackbone, RotaryDecoderPreTrainedModel
from modelyard.models.llama.modeling_llama import LlamaForQuestionAnswering, LlamaPreTrainedModel
from modelyard.models.mistral.configuration_mistral import MistralConfig
from modelyard.models.mistral.modeling_mistral import MistralPreTrainedModel
from modelyard.models.qwen2.modeling_qwen2 import Qwen2ForQuestionAnswering, Qwen2PreTrainedModel


class ToyPreTrainedModel(RotaryDecoderPreTrainedModel):
    config_class = MistralConfig


class ToyModel(RotaryDecoderBackbone, ToyPreTrainedModel):
    qkv_bias = True


class ToyForCausalLM(CausalLMHead, ToyPreTrainedModel):
    pass


class ToyModelVariant(ToyModel):
    """A subclass of a base model: it does not become the family's base model."""


class HeadlessPreTrainedModel(RotaryDecoderPreTrainedModel):
    config_class = MistralConfig


class HeadlessForCausalLM(CausalLMHead, HeadlessPreTrainedModel):
    pass


def tiny_config() -> MistralConfig:
    return MistralConfig(vocab_size=50, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, sliding_window=4, pad_token_id=0)


def test_a_family_s_heads_are_built_on_the_base_model_it_declares() -> None:
    model = ToyForCausalLM(tiny_config())
    assert type(model.model) is ToyModel
    attention = model.model.layers[0].self_attn
    assert attention.q_proj.bias is not None and attention.k_proj.bias is not None
    assert attention.v_proj.bias is not None and attention.o_proj.bias is None
    assert model.get_input_embeddings() is model.model.embed_tokens
    assert model.get_output_embeddings() is model.lm_head


def test_layer_options_are_the_family_s_qkv_biases_and_the_config_s_sliding_window() -> None:
    model = ToyModel(tiny_config())
    assert type(model).qkv_bias is True
    assert model.layer_options(tiny_config(), 0, "sliding_attention") == {"qkv_bias": True, "sliding_window": 4}
    assert model.layer_options(tiny_config(), 0, "full_attention")["sliding_window"] is None


def test_a_family_without_a_base_model_says_how_to_declare_one() -> None:
    with pytest.raises(RegistrationError, match="RotaryDecoderBackbone"):
        HeadlessForCausalLM(tiny_config())


def test_every_llama_style_family_keeps_its_decoder_layers_whole_on_one_device() -> None:
    for family in (LlamaPreTrainedModel, MistralPreTrainedModel, Qwen2PreTrainedModel, ToyPreTrainedModel):
        assert family._no_split_modules == ["RotaryDecoderLayer"]


def test_llama_and_qwen2_keep_their_question_answering_base_model_under_transformer() -> None:
    for head in (LlamaForQuestionAnswering, Qwen2ForQuestionAnswering):
        assert issubclass(head, TransformerQuestionAnsweringHead)
        assert head.base_model_prefix == "transformer"


def test_split_candidates_sends_top_ranked_end_tokens_to_finish_and_fills_the_running_slots() -> None:
    eos = 9
    # two prompts, width 2, four ranked candidates each (source beams counted from b * width)
    scores = torch.tensor([[-1.0, -2.0, -3.0, -4.0], [-0.5, -0.6, -0.7, -0.8]])
    tokens = torch.tensor([[eos, 5, eos, 6], [7, 8, 3, 4]])
    sources = torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0]])
    new_scores, new_tokens, new_rows, kept, ended = split_candidates(
        scores, tokens, sources, width=2, finished=[False, False], eos_ids={eos}, pad=0, finishing="A search")
    # prompt 0: the end token ranked first finishes (row 1); the one ranked third is past the width and dropped
    assert [(row, float(score)) for row, score in ended[0]] == [(1, -1.0)]
    assert new_tokens[0].tolist() == [5, 6] and new_rows[0].tolist() == [0, 1]
    assert new_scores[0].tolist() == [-2.0, -4.0]
    # prompt 1: nothing ends; its best two run on, from rows 2 + source
    assert ended[1] == [] and new_tokens[1].tolist() == [7, 8] and new_rows[1].tolist() == [2, 3]
    assert kept == [2, 2]


def test_split_candidates_pads_a_finished_prompt_and_needs_padding_to_do_so() -> None:
    scores, tokens, sources = torch.zeros(1, 4), torch.tensor([[1, 2, 3, 4]]), torch.zeros(1, 4, dtype=torch.long)
    _, new_tokens, new_rows, kept, ended = split_candidates(
        scores, tokens, sources, width=2, finished=[True], eos_ids={9}, pad=7, finishing="A search")
    assert new_tokens.tolist() == [[7, 7]] and new_rows.tolist() == [[0, 0]] and kept == [0] and ended == [[]]
    with pytest.raises(ConfigurationError, match="A search finished a prompt early: it needs eos_token_id"):
        split_candidates(scores, tokens, sources, width=2, finished=[True], eos_ids={9}, pad=None,
                         finishing="A search finished a prompt")
