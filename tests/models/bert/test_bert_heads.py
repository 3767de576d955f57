"""BERT's pre-training heads and decoder mode: the common tester on BertForPreTraining,
BertForNextSentencePrediction and BertLMHeadModel, the key/value cache (self- and cross-attention, legacy
tuples), relative positions on both attention paths, and generate() against the reference's tokens."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from common.model_tester import TextEncoderTesterMixin, assert_same_outputs, perturb
from common.parity import load_json_fixture, parity_dir
from common.tolerance import assert_close_kernels

from modelyard import (
    AutoModelForCausalLM,
    AutoModelForNextSentencePrediction,
    AutoModelForPreTraining,
    DynamicCache,
    EncoderDecoderCache,
)
from modelyard.errors import ConfigurationError
from modelyard.models.bert.configuration_bert import BertConfig
from modelyard.models.bert.modeling_bert import (
    BertForMaskedLM,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertForPreTrainingOutput,
    BertLMHeadModel,
    BertModel,
)
from modelyard.outputs import NextSentencePredictorOutput


def tiny_config(**overrides: object) -> BertConfig:
    values: dict[str, object] = dict(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=16, type_vocab_size=2,
    )
    values.update(overrides)
    return BertConfig(**values)


class _HeadTasks(TextEncoderTesterMixin):
    """The tester's text-encoder defaults plus the inputs, labels and output shapes of these heads."""

    @staticmethod
    def task(model_class: type) -> str:
        return {"BertForPreTraining": "PreTraining", "BertForNextSentencePrediction": "NextSentence",
                "BertLMHeadModel": "CausalLM"}.get(model_class.__name__, "base")

    def get_inputs(self, model_class: type, config: Any, with_labels: bool = False) -> dict[str, Any]:
        inputs = super().get_inputs(model_class, config, with_labels=False)
        if with_labels:
            task, mask = self.task(model_class), inputs["attention_mask"]
            g = torch.Generator().manual_seed(3)
            if task in ("PreTraining", "CausalLM"):
                inputs["labels"] = inputs["input_ids"].masked_fill(mask == 0, -100)
            if task == "PreTraining":
                inputs["next_sentence_label"] = torch.randint(0, 2, (self.batch_size,), generator=g)
            if task == "NextSentence":
                inputs["labels"] = torch.randint(0, 2, (self.batch_size,), generator=g)
        return inputs

    def inputs_for(self, model_class: type, config: Any, with_labels: bool = False) -> dict[str, Any]:
        return self.get_inputs(model_class, config, with_labels)

    def expected_output_shapes(self, model_class: type, config: Any, inputs: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        b, s = self.batch_size, self.seq_length
        return {
            "base": {"last_hidden_state": (b, s, config.hidden_size)},
            "PreTraining": {"prediction_logits": (b, s, config.vocab_size), "seq_relationship_logits": (b, 2)},
            "NextSentence": {"logits": (b, 2)},
            "CausalLM": {"logits": (b, s, config.vocab_size)},
        }[self.task(model_class)]


class TestBertPreTrainingHeadsCommon(_HeadTasks):
    all_model_classes = (BertModel, BertForPreTraining, BertForNextSentencePrediction)

    def get_config(self) -> BertConfig:
        return tiny_config()

    def test_resize_token_embeddings(self, model_class: type) -> None:
        if model_class is not BertForPreTraining:  # the tester reads `logits`; this head names them otherwise
            super().test_resize_token_embeddings(model_class)
            return
        model = self.make_model(model_class, self.get_config())
        model.resize_token_embeddings(104)
        assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
        assert model.cls.predictions.bias.shape == (104,) and model.cls.predictions.decoder.bias.shape == (104,)
        assert model(torch.tensor([[103, 1, 2]])).prediction_logits.shape == (1, 3, 104)


class TestBertDecoderCommon(_HeadTasks):
    all_model_classes = (BertModel, BertLMHeadModel)
    pruning = False  # covered by the encoder's tester; the cache keeps the unpruned head count per layer

    def get_config(self) -> BertConfig:
        return tiny_config(is_decoder=True, use_cache=False)


# ------------------------------------------------------------------------------------------ pre-training heads
def test_pretraining_loss_is_masked_lm_plus_next_sentence() -> None:
    torch.manual_seed(0)
    model = BertForPreTraining(tiny_config()).eval()
    ids = torch.randint(1, 99, (2, 6))
    labels = ids.masked_fill(torch.rand(2, 6) < 0.5, -100)
    labels[0, 0] = ids[0, 0]
    nsp = torch.tensor([0, 1])
    out = model(ids, labels=labels, next_sentence_label=nsp)
    assert isinstance(out, BertForPreTrainingOutput)
    expected = torch.nn.functional.cross_entropy(out.prediction_logits.view(-1, 99), labels.view(-1)) + \
        torch.nn.functional.cross_entropy(out.seq_relationship_logits, nsp)
    torch.testing.assert_close(out.loss, expected)
    assert model(ids, labels=labels).loss is None  # both labels are needed, as in the reference
    as_tuple = model(ids, labels=labels, next_sentence_label=nsp, return_dict=False)
    assert len(as_tuple) == 3 and torch.equal(as_tuple[1], out.prediction_logits)
    # the decoder weight is the word embeddings, the bias one parameter under both names
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.bias is model.cls.predictions.bias


def test_next_sentence_head_reads_the_pooled_output_and_takes_the_old_label_name(tmp_path: Any) -> None:
    torch.manual_seed(0)
    pretraining = BertForPreTraining(tiny_config()).eval()
    pretraining.save_pretrained(tmp_path)
    model, report = BertForNextSentencePrediction.from_pretrained(tmp_path, output_loading_info=True)
    assert report.verdict == "complete" and not report.missing_keys  # the pre-training checkpoint fits
    ids = torch.randint(1, 99, (2, 6))
    out = model(ids, labels=torch.tensor([1, 0]))
    assert isinstance(out, NextSentencePredictorOutput)
    torch.testing.assert_close(out.logits, pretraining(ids).seq_relationship_logits)
    with pytest.warns(FutureWarning, match="next_sentence_label"):
        old = model(ids, next_sentence_label=torch.tensor([1, 0]))
    torch.testing.assert_close(old.loss, out.loss)


def test_auto_classes_pick_the_new_heads() -> None:
    config = tiny_config(is_decoder=True)
    assert type(AutoModelForCausalLM.from_config(config)) is BertLMHeadModel
    assert type(AutoModelForPreTraining.from_config(tiny_config())) is BertForPreTraining
    assert type(AutoModelForNextSentencePrediction.from_config(tiny_config())) is BertForNextSentencePrediction


# ------------------------------------------------------------------------------------------ decoder mode
def _decoder(**overrides: object) -> BertLMHeadModel:
    torch.manual_seed(0)
    model = BertLMHeadModel(tiny_config(is_decoder=True, max_position_embeddings=32, **overrides))
    perturb(model)
    return model.eval()


def test_decoder_attention_is_causal() -> None:
    model = _decoder()
    ids = torch.randint(1, 99, (2, 8))
    changed = ids.clone()
    changed[:, 5:] = torch.randint(1, 99, (2, 3))
    with torch.no_grad():
        a, b = model(ids, use_cache=False).logits, model(changed, use_cache=False).logits
    assert_close_kernels(a[:, :5], b[:, :5], depth=4, width=37)
    assert not torch.allclose(a[:, 5:], b[:, 5:])


@pytest.mark.parametrize("cross", [False, True])
@pytest.mark.parametrize("positions", ["absolute", "relative_key"])
def test_cached_steps_equal_one_full_forward(cross: bool, positions: str) -> None:
    """Prompt, then one token at a time through the cache, equals the whole sequence at once (for relative
    positions the one-token steps are exact; the prompt runs without a cache)."""
    model = _decoder(add_cross_attention=cross, position_embedding_type=positions)
    ids = torch.randint(1, 99, (2, 7))
    extra: dict[str, Any] = {}
    if cross:
        mask = torch.ones(2, 5, dtype=torch.long)
        mask[1, 3:] = 0
        extra = {"encoder_hidden_states": torch.randn(2, 5, 32), "encoder_attention_mask": mask}
    with torch.no_grad():
        full = model(ids, use_cache=False, **extra).logits
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        steps = [model(ids[:, :1], past_key_values=cache, **extra)]
        for t in range(1, 7):
            steps.append(model(ids[:, t : t + 1], past_key_values=steps[-1].past_key_values, **extra))
    assert steps[-1].past_key_values.get_seq_length() == 7
    assert steps[-1].past_key_values.is_updated.get(0, False) is cross  # encoder states cached once
    assert_close_kernels(torch.cat([s.logits for s in steps], 1), full, depth=4, width=37)


def test_prompt_then_cache_equals_full_forward_with_padding() -> None:
    model = _decoder()
    ids = torch.randint(1, 99, (2, 6))
    mask = torch.ones(2, 6, dtype=torch.long)
    mask[1, :2] = 0  # left padding
    with torch.no_grad():
        full = model(ids, attention_mask=mask, use_cache=False).logits
        first = model(ids[:, :4], attention_mask=mask[:, :4])
        second = model(ids[:, 4:], attention_mask=mask, past_key_values=first.past_key_values)
    real = mask.bool()
    assert_close_kernels(torch.cat([first.logits, second.logits], 1)[real], full[real], depth=4, width=37)


def test_legacy_tuple_cache_round_trips() -> None:
    model = _decoder(add_cross_attention=True)
    ids = torch.randint(1, 99, (1, 5))
    states = torch.randn(1, 3, 32)
    with torch.no_grad():
        first = model(ids[:, :4], encoder_hidden_states=states)
        legacy = first.past_key_values.to_legacy_cache()
        assert len(legacy) == 2 and len(legacy[0]) == 4  # self keys/values, cross keys/values per layer
        assert legacy[0][0].shape == (1, 4, 4, 8) and legacy[0][2].shape == (1, 4, 3, 8)
        by_tuple = model(ids[:, 4:], encoder_hidden_states=states, past_key_values=legacy)
        by_cache = model(ids[:, 4:], encoder_hidden_states=states, past_key_values=first.past_key_values)
    assert isinstance(by_tuple.past_key_values, EncoderDecoderCache)
    assert_same_outputs(by_tuple.logits, by_cache.logits)


def test_labels_give_the_shifted_causal_loss_and_no_cache() -> None:
    model = _decoder()
    ids = torch.randint(1, 99, (2, 6))
    out = model(ids, labels=ids)
    expected = torch.nn.functional.cross_entropy(out.logits[:, :-1].reshape(-1, 99), ids[:, 1:].reshape(-1))
    torch.testing.assert_close(out.loss, expected)
    assert out.past_key_values is None


def test_cross_attention_needs_a_decoder_and_encoder_states_need_cross_attention() -> None:
    with pytest.raises(ConfigurationError, match="is_decoder=True"):
        BertModel(tiny_config(add_cross_attention=True))
    with pytest.raises(ValueError, match="add_cross_attention=True"):
        _decoder()(torch.ones(1, 3, dtype=torch.long), encoder_hidden_states=torch.randn(1, 2, 32))


def test_cross_attentions_are_returned() -> None:
    model = _decoder(add_cross_attention=True)
    out = model(torch.ones(2, 4, dtype=torch.long), encoder_hidden_states=torch.randn(2, 3, 32),
                output_attentions=True, use_cache=False)
    assert len(out.cross_attentions) == 2 and out.cross_attentions[0].shape == (2, 4, 4, 3)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 4, 4, 4)


# ------------------------------------------------------------------------------------------ relative positions
@pytest.mark.parametrize("positions", ["relative_key", "relative_key_query"])
def test_relative_positions_on_both_attention_paths(positions: str) -> None:
    torch.manual_seed(0)
    model = BertModel(tiny_config(position_embedding_type=positions)).eval()
    perturb(model)
    assert "encoder.layer.0.attention.self.distance_embedding.weight" in model.state_dict()
    ids = torch.randint(1, 99, (2, 9))
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, 6:] = 0
    with torch.no_grad():
        sdpa = model(ids, attention_mask=mask).last_hidden_state
        model.config._attn_implementation = "eager"
        eager = model(ids, attention_mask=mask, output_attentions=True)
    assert_close_kernels(sdpa, eager.last_hidden_state, depth=4, width=37)
    assert eager.attentions[0].shape == (2, 4, 9, 9)
    assert torch.all(eager.attentions[0][1, :, :, 6:] == 0)  # padding gets no attention
    # no absolute table: a sequence's outputs do not depend on where position ids would place it
    with torch.no_grad():
        moved = model(ids, attention_mask=mask, position_ids=torch.arange(3, 12).expand(2, 9)).last_hidden_state
    assert_close_kernels(moved, sdpa, depth=4, width=37)


def test_unknown_position_kind_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="position_embedding_type='rotary'"):
        BertModel(tiny_config(position_embedding_type="rotary"))


def test_masked_lm_takes_encoder_states_as_the_reference_does() -> None:
    torch.manual_seed(0)
    model = BertForMaskedLM(tiny_config()).eval()
    ids = torch.randint(1, 99, (1, 5))
    # an encoder ignores encoder_hidden_states, as in the reference
    torch.testing.assert_close(model(ids, encoder_hidden_states=torch.randn(1, 2, 32)).logits, model(ids).logits)


# ------------------------------------------------------------------------------------------ generate()
GENERATION = load_json_fixture("heads/bert_generation.json")


@pytest.mark.parametrize("case", GENERATION["cases"], ids=lambda c: f"{c['name']}-{c['mode']}-{c['prompt']}")
def test_bert_decoder_generate_parity(case: dict[str, Any]) -> None:
    model = BertLMHeadModel.from_pretrained(parity_dir() / "models" / case["checkpoint"], **case["config_overrides"])
    out = model.generate(torch.tensor(case["input_ids"]), attention_mask=torch.tensor(case["attention_mask"]),
                         eos_token_id=GENERATION["eos_token_id"], pad_token_id=GENERATION["pad_token_id"],
                         **case["options"])
    assert out.tolist() == case["sequences"]
