"""GPT-2: the common decoder tester on every class, reference parity (every head, head masks, the attention
scaling switches), the position-table error, Conv1D layout and tying, and our saves loading in the
reference library."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from common.decoder_tester import (
    REF_PY,
    DecoderTesterMixin,
    check_decoder_fixture,
    check_saves_load_in_reference,
)
from common.parity import model_case_names
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from modelyard import GPT2Config
from modelyard.models.gpt2.modeling_gpt2 import (
    GPT2DoubleHeadsModel,
    GPT2ForQuestionAnswering,
    GPT2ForSequenceClassification,
    GPT2ForTokenClassification,
    GPT2LMHeadModel,
    GPT2Model,
)

ALL_CLASSES = (GPT2Model, GPT2LMHeadModel, GPT2DoubleHeadsModel, GPT2ForSequenceClassification,
               GPT2ForTokenClassification, GPT2ForQuestionAnswering)


def tiny_config(**overrides: object) -> GPT2Config:
    values: dict[str, object] = dict(
        vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_inner=37, n_positions=16, pad_token_id=0,
        use_cache=False, num_labels=3,
    )
    values.update(overrides)
    return GPT2Config(**values)


class TestGPT2Common(DecoderTesterMixin):
    all_model_classes = ALL_CLASSES
    head_masking = True
    # GPT2DoubleHeadsModel's `loss` is the language-model loss; its multiple-choice loss comes apart (`mc_loss`)
    params_without_grad = (r"^multiple_choice_head\.",)

    def get_config(self) -> GPT2Config:
        return tiny_config()


class TestGPT2ScaledAttentionCommon(TestGPT2Common):
    """The attention switches of some GPT-2 variants: no 1/sqrt(d), 1/(layer+1), float32 scores."""

    all_model_classes = (GPT2Model, GPT2LMHeadModel)

    def get_config(self) -> GPT2Config:
        return tiny_config(scale_attn_weights=False, scale_attn_by_inverse_layer_idx=True, reorder_and_upcast_attn=True)


# ------------------------------------------------------------------------------------------------ parity
@pytest.mark.parametrize("case_name", model_case_names("gpt2"))
def test_gpt2_parity_with_reference_fixture(case_name: str) -> None:
    check_decoder_fixture(case_name)


# ------------------------------------------------------------------------------------------------ details
def test_prompt_longer_than_the_position_table_is_a_clear_error() -> None:
    model = GPT2LMHeadModel(tiny_config()).eval()
    with pytest.raises(ValueError, match=r"past the position table.*n_positions = 16.*17 tokens.*truncat"):
        model(torch.ones(1, 17, dtype=torch.long))
    # the same limit counts the cached tokens
    out = model(torch.ones(1, 10, dtype=torch.long), use_cache=True)
    with pytest.raises(ValueError, match="18 tokens"):
        model(torch.ones(1, 8, dtype=torch.long), past_key_values=out.past_key_values, use_cache=True)
    with pytest.raises(ValueError, match="position table"):
        model(torch.ones(1, 4, dtype=torch.long), position_ids=torch.tensor([[0, 1, 2, 16]]))


def test_conv1d_weights_keep_the_reference_layout_and_lm_head_is_tied(tmp_path: Path) -> None:
    model = GPT2LMHeadModel(tiny_config())
    assert model.lm_head.weight is model.transformer.wte.weight
    model.save_pretrained(tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), framework="pt") as handle:
        keys = set(handle.keys())
        assert tuple(handle.get_slice("transformer.h.0.attn.c_attn.weight").get_shape()) == (32, 96)  # (in, out)
        assert tuple(handle.get_slice("transformer.h.0.mlp.c_fc.weight").get_shape()) == (32, 37)
    assert "lm_head.weight" not in keys and "transformer.wpe.weight" in keys
    loaded = GPT2LMHeadModel.from_pretrained(tmp_path)
    assert loaded.lm_head.weight is loaded.transformer.wte.weight


def test_old_checkpoints_with_mask_buffers_load_without_a_report(tmp_path: Path) -> None:
    model = GPT2Model(tiny_config())
    model.save_pretrained(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    for i in range(2):  # what checkpoints saved before the buffers became non-persistent hold
        state[f"h.{i}.attn.bias"] = torch.ones(1, 1, 16, 16, dtype=torch.bool).tril()
        state[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(state, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    _, report = GPT2Model.from_pretrained(tmp_path, output_loading_info=True)
    assert report.verdict == "complete" and not report.unexpected_keys, report


def test_token_type_ids_use_the_token_embeddings() -> None:
    torch.manual_seed(0)
    model = GPT2Model(tiny_config()).eval()
    ids = torch.randint(1, 99, (1, 5))
    types = torch.tensor([[0, 0, 1, 1, 1]])
    with torch.no_grad():
        by_types = model(ids, token_type_ids=types).last_hidden_state
        embeds = model.wte(ids) + model.wte(types)
        torch.testing.assert_close(by_types, model(inputs_embeds=embeds).last_hidden_state)


def test_tuple_output_puts_the_cache_second() -> None:
    model = GPT2Model(tiny_config()).eval()
    out = model(torch.ones(1, 3, dtype=torch.long), use_cache=True, return_dict=False)
    assert isinstance(out, tuple) and out[1].get_seq_length() == 3


# ------------------------------------------------------------------------------------------------ reference
@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_our_saves_load_in_the_reference_library(tmp_path: Path) -> None:
    check_saves_load_in_reference(TestGPT2Common(), tmp_path)


def test_double_heads_reads_each_choice_at_its_token_and_generates_like_the_lm_head() -> None:
    torch.manual_seed(0)
    config = tiny_config(num_labels=5, summary_first_dropout=0.0)
    model = GPT2DoubleHeadsModel(config).eval()
    assert config.num_labels == 1 and model.multiple_choice_head.summary.out_features == 1  # as the reference
    ids = torch.randint(3, 99, (2, 3, 6), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = model(ids, mc_token_ids=torch.tensor([[5, 2, 0], [1, 1, 4]]), labels=ids, mc_labels=torch.tensor([0, 2]))
        hidden = model.transformer(ids).last_hidden_state  # the base model keeps the (batch, choices) shape
        assert hidden.shape == (2, 3, 6, 32) and out.logits.shape == (2, 3, 6, 99) and out.mc_logits.shape == (2, 3)
        head = model.multiple_choice_head.summary
        expected = head(hidden[torch.tensor([[0], [1]]), torch.arange(3), torch.tensor([[5, 2, 0], [1, 1, 4]])])
        torch.testing.assert_close(out.mc_logits, expected.squeeze(-1))
        default = model(ids).mc_logits  # without mc_token_ids: each choice's last token
        torch.testing.assert_close(default, head(hidden[:, :, -1]).squeeze(-1))
        assert out.loss.ndim == 0 and out.mc_loss.ndim == 0
        # tuple output in the reference's order: lm loss, mc loss, logits, mc logits
        as_tuple = model(ids, labels=ids, mc_labels=torch.tensor([0, 2]), return_dict=False)
        assert [t.shape for t in as_tuple[:4]] == [torch.Size([]), torch.Size([]), (2, 3, 6, 99), (2, 3)]
    # generate() runs the language-model head, token for token as GPT2LMHeadModel with the same weights
    lm = GPT2LMHeadModel(tiny_config()).eval()
    lm.load_state_dict(model.state_dict(), strict=False)
    prompt = torch.tensor([[5, 9, 23, 7]])
    options = {"max_new_tokens": 5, "do_sample": False, "pad_token_id": 0}
    assert torch.equal(model.generate(prompt, **options), lm.generate(prompt, **options))


@pytest.mark.parametrize("summary_type", ["last", "first", "mean"])
def test_sequence_summary_types(summary_type: str) -> None:
    from modelyard.layers.pooling import SequenceSummary

    config = tiny_config(summary_type=summary_type, summary_use_proj=False, summary_first_dropout=0.0)
    hidden = torch.randn(2, 3, 5, 32)
    picked = {"last": hidden[..., -1, :], "first": hidden[..., 0, :], "mean": hidden.mean(-2)}[summary_type]
    torch.testing.assert_close(SequenceSummary(config)(hidden), picked)


def test_sequence_summary_refuses_an_unknown_type() -> None:
    from modelyard.errors import ConfigurationError
    from modelyard.layers.pooling import SequenceSummary

    with pytest.raises(ConfigurationError, match="summary_type='attn' is not supported"):
        SequenceSummary(tiny_config(summary_type="attn"))
