"""OPT: the common decoder tester on every class (the pre-norm body and the opt-350m shape), reference parity
(forward outputs and generated tokens), positions counted over the attention mask, the checkpoint layout and
the config's switches, and our saves loading in the reference library."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from common.decoder_tester import (
    REF_PY,
    DecoderTesterMixin,
    check_decoder_fixture,
    check_saves_load_in_reference,
)
from common.model_tester import assert_same_outputs
from common.parity import load_json_fixture, model_case_names, parity_dir

import modelyard
from modelyard import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer, OPTConfig
from modelyard.auto.tokenization_auto import TOKENIZER_TABLE
from modelyard.errors import ConfigurationError
from modelyard.models.opt.modeling_opt import (
    OPTDecoder,
    OPTForCausalLM,
    OPTForQuestionAnswering,
    OPTForSequenceClassification,
    OPTModel,
)

ALL_CLASSES = (OPTModel, OPTForCausalLM, OPTForSequenceClassification, OPTForQuestionAnswering)


def tiny_config(**overrides: Any) -> OPTConfig:
    values: dict[str, Any] = dict(
        vocab_size=99, hidden_size=32, ffn_dim=37, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=64, pad_token_id=0, use_cache=False, num_labels=3, dropout=0.1,
    )
    values.update(overrides)
    return OPTConfig(**values)


class TestOPTCommon(DecoderTesterMixin):
    """opt-125m and up: pre-norm blocks, a final norm, embeddings as wide as the layers."""

    all_model_classes = ALL_CLASSES
    head_masking = True

    def get_config(self) -> OPTConfig:
        return tiny_config()

    def test_packed_sequences_attend_separately(self, model_class: type) -> None:
        pytest.skip("the reference's OPT reads position_ids as positions only (no packed-sequence masking)")


class TestOPT350mShapeCommon(TestOPTCommon):
    """opt-350m's shape: post-norm blocks, no final norm, token embeddings narrower than the layers
    (project_in / project_out); the base model and the heads work at the embedding width."""

    def get_config(self) -> OPTConfig:
        return tiny_config(word_embed_proj_dim=16, do_layer_norm_before=False)

    def expected_output_shapes(self, model_class: type, config: Any, inputs: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        shapes = super().expected_output_shapes(model_class, config, inputs)
        if "last_hidden_state" in shapes:
            shapes["last_hidden_state"] = (self.batch_size, self.seq_length, config.word_embed_proj_dim)
        return shapes

    def hidden_state_shape(self, model_class: type, config: Any, inputs: dict[str, Any]) -> None:
        return None  # the layers' inputs are hidden_size wide, the last entry (projected out) is not


class TestOPTSwitchesCommon(TestOPTCommon):
    """Old and pruned checkpoints' switches: no final norm, no biases, norms without weights, GELU."""

    all_model_classes = (OPTModel, OPTForCausalLM)

    def get_config(self) -> OPTConfig:
        return tiny_config(_remove_final_layer_norm=True, enable_bias=False, layer_norm_elementwise_affine=False,
                           activation_function="gelu")


# ------------------------------------------------------------------------------------------------ parity
@pytest.mark.parametrize("case_name", model_case_names("opt"))
def test_opt_parity_with_reference_fixture(case_name: str) -> None:
    check_decoder_fixture(case_name)


GENERATION = load_json_fixture("decoders/opt_generation.json")


@pytest.mark.parametrize("case", GENERATION["cases"], ids=lambda c: f"{c['checkpoint']}-{c['mode']}-{c['prompt']}")
def test_opt_generate_parity(case: dict[str, Any]) -> None:
    """Greedy and beam-search tokens of the reference, for one prompt and a left-padded batch."""
    model = OPTForCausalLM.from_pretrained(parity_dir() / "models" / case["checkpoint"])
    out = model.generate(torch.tensor(case["input_ids"]), attention_mask=torch.tensor(case["attention_mask"]),
                         eos_token_id=GENERATION["eos_token_id"], pad_token_id=GENERATION["pad_token_id"],
                         **case["options"])
    assert out.tolist() == case["sequences"]


# ------------------------------------------------------------------------------------------------ positions
def test_positions_come_from_the_attention_mask() -> None:
    """Without position_ids a left-padded row is numbered over its real tokens (offset 2 in the table), as when
    generate() passes them: the outputs of the real tokens equal the prompt's alone."""
    torch.manual_seed(0)
    model = OPTForCausalLM(tiny_config()).eval()
    prompt = torch.randint(3, 99, (1, 4))
    ids = torch.cat([torch.zeros(1, 3, dtype=torch.long), prompt], 1)
    mask = (ids != 0).long()
    with torch.no_grad():
        padded = model(ids, attention_mask=mask, use_cache=True)
        alone = model(prompt, use_cache=True)
        assert_same_outputs(padded.logits[:, 3:], alone.logits)
        # the next token continues from the mask of past and new tokens
        nxt = torch.tensor([[7]])
        step = model(nxt, attention_mask=torch.cat([mask, torch.ones(1, 1, dtype=torch.long)], 1),
                     past_key_values=padded.past_key_values, use_cache=True)
        assert_same_outputs(step.logits, model(nxt, past_key_values=alone.past_key_values, use_cache=True).logits)
    table = model.model.decoder.embed_positions
    assert table.num_embeddings == 64 + 2 and table.offset == 2
    assert torch.equal(table(mask), table.weight[torch.tensor([[1, 1, 1, 2, 3, 4, 5]])])


def test_position_limit_and_mask_length_are_explained() -> None:
    model = OPTModel(tiny_config(max_position_embeddings=8)).eval()
    with pytest.raises(ValueError, match=r"Position 9 is past the position table .*max_position_embeddings = 8"):
        model(torch.ones(1, 10, dtype=torch.long))
    first = model(torch.ones(1, 3, dtype=torch.long), use_cache=True)
    with pytest.raises(ValueError, match=r"attention_mask covers 1 tokens, but the cache holds 3 and 1 are new"):
        model(torch.ones(1, 1, dtype=torch.long), attention_mask=torch.ones(1, 1), past_key_values=first.past_key_values)


# ------------------------------------------------------------------------------------------------ structure
def test_checkpoint_keys_and_tied_head_are_the_references() -> None:
    model = OPTForCausalLM(tiny_config(word_embed_proj_dim=16, do_layer_norm_before=False))
    keys = set(model.state_dict())
    for key in ("model.decoder.embed_tokens.weight", "model.decoder.embed_positions.weight",
                "model.decoder.project_in.weight", "model.decoder.project_out.weight",
                "model.decoder.layers.0.self_attn.k_proj.weight", "model.decoder.layers.0.self_attn.out_proj.bias",
                "model.decoder.layers.1.self_attn_layer_norm.weight", "model.decoder.layers.1.fc1.weight",
                "model.decoder.layers.1.fc2.bias", "model.decoder.layers.1.final_layer_norm.bias", "lm_head.weight"):
        assert key in keys, key
    assert not any(k.startswith("model.decoder.final_layer_norm") for k in keys)  # post-norm: no final norm
    assert model.lm_head.weight is model.model.decoder.embed_tokens.weight
    assert tuple(model.lm_head.weight.shape) == (99, 16)
    assert "model.decoder.final_layer_norm.weight" in OPTForCausalLM(tiny_config()).state_dict()


def test_get_decoder_follows_the_reference_rule() -> None:
    model = OPTForCausalLM(tiny_config())
    assert model.get_decoder() is model.model.decoder
    assert model.model.get_decoder() is model.model.decoder
    assert isinstance(model.get_decoder(), OPTDecoder) and model.model.decoder.get_decoder() is model.model.decoder
    new = OPTDecoder(tiny_config())
    model.set_decoder(new)
    assert model.model.decoder is new and model.get_decoder() is new


def test_decoder_runs_alone_as_the_base_model_does() -> None:
    torch.manual_seed(0)
    model = OPTModel(tiny_config()).eval()
    ids = torch.randint(3, 99, (2, 5))
    with torch.no_grad():
        assert torch.equal(model(ids).last_hidden_state, model.decoder(ids).last_hidden_state)
    assert "head_mask" in inspect.signature(OPTModel.forward).parameters  # the decoder's, for signature readers


def test_head_mask_silences_heads_through_every_head() -> None:
    """The reference's documented meaning of head_mask (its 4.57 code passes it on but never applies it)."""
    torch.manual_seed(0)
    model = OPTForSequenceClassification(tiny_config()).eval()
    ids = torch.randint(3, 99, (2, 5))
    mask = torch.ones(2, 4)
    mask[:, 1] = 0
    with torch.no_grad():
        plain = model(ids, output_attentions=True)
        masked = model(ids, head_mask=mask, output_attentions=True)
    assert masked.attentions[0][:, 1].abs().sum() == 0 and not torch.allclose(masked.logits, plain.logits)
    with pytest.raises(ValueError, match="head_mask must have shape"):
        model(ids, head_mask=torch.ones(3, 4))


def test_heads_read_the_embedding_width() -> None:
    config = tiny_config(word_embed_proj_dim=16)
    assert OPTForSequenceClassification(config).score.in_features == 16
    assert OPTForQuestionAnswering(config).qa_outputs.in_features == 16
    assert OPTForCausalLM(config).lm_head.in_features == 16


def test_layerdrop_skips_layers_only_while_training() -> None:
    torch.manual_seed(0)
    model = OPTModel(tiny_config(layerdrop=1.0, dropout=0.0))
    ids = torch.randint(3, 99, (1, 5))
    model.train()
    out = model(ids, output_attentions=True, output_hidden_states=True)
    assert out.attentions == (None, None)  # every layer skipped
    embedded = out.hidden_states[0]
    assert torch.equal(out.hidden_states[1], embedded)
    assert torch.equal(out.hidden_states[2], model.decoder.final_layer_norm(embedded))  # only the final norm ran
    model.eval()
    assert all(a is not None for a in model(ids, output_attentions=True).attentions)


# ------------------------------------------------------------------------------------------------ config
def test_config_keys_and_defaults_are_the_references(tmp_path: Path) -> None:
    config = OPTConfig()
    assert (config.vocab_size, config.hidden_size, config.ffn_dim, config.num_hidden_layers,
            config.num_attention_heads, config.max_position_embeddings) == (50272, 768, 3072, 12, 12, 2048)
    assert (config.pad_token_id, config.bos_token_id, config.eos_token_id) == (1, 2, 2)
    assert config.word_embed_proj_dim == 768 and config.do_layer_norm_before and not config._remove_final_layer_norm
    assert (config.activation_function, config.dropout, config.attention_dropout, config.layerdrop,
            config.init_std, config.enable_bias, config.layer_norm_elementwise_affine) == ("relu", 0.1, 0.0, 0.0,
                                                                                          0.02, True, True)
    # _remove_final_layer_norm is written to config.json despite its underscore, as the reference does
    OPTConfig(_remove_final_layer_norm=True, word_embed_proj_dim=512).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["_remove_final_layer_norm"] is True and saved["word_embed_proj_dim"] == 512
    assert OPTConfig.from_pretrained(tmp_path)._remove_final_layer_norm is True
    with pytest.raises(ConfigurationError, match=r"hidden_size \(30\) must be a multiple of num_attention_heads"):
        OPTModel(tiny_config(hidden_size=30))


def test_auto_classes_and_tokenizer_tables_pick_opt(tmp_path: Path) -> None:
    config = AutoConfig.for_model("opt", vocab_size=99, hidden_size=32, ffn_dim=37, num_hidden_layers=2,
                                  num_attention_heads=4)
    model = AutoModelForCausalLM.from_config(config)
    assert type(model) is OPTForCausalLM
    model.save_pretrained(tmp_path)
    loaded, report = AutoModelForCausalLM.from_pretrained(tmp_path, output_loading_info=True)
    assert type(loaded) is OPTForCausalLM and report.verdict == "complete"
    assert type(AutoModel.from_pretrained(tmp_path)) is OPTModel
    # OPT repositories use GPT-2's byte-level BPE (their tokenizer_config.json names GPT2Tokenizer)
    assert TOKENIZER_TABLE.get("opt") == (modelyard.GPT2Tokenizer, modelyard.GPT2TokenizerFast)
    tokenizer_dir = parity_dir() / "bpe_tokenizers" / "gpt2"
    for name in ("vocab.json", "merges.txt"):
        (tmp_path / name).write_bytes((tokenizer_dir / name).read_bytes())
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)  # no tokenizer_config.json: the model type decides
    assert type(tokenizer).__name__ == "GPT2TokenizerFast"


def test_sampling_and_beams_generate_within_the_rules() -> None:
    torch.manual_seed(0)
    model = OPTForCausalLM(tiny_config()).eval()
    prompt = torch.tensor([[5, 9, 23, 7]])
    greedy = model.generate(prompt, max_new_tokens=6, do_sample=False, pad_token_id=0, eos_token_id=None)
    top1 = model.generate(prompt, max_new_tokens=6, do_sample=True, top_k=1, pad_token_id=0, eos_token_id=None)
    assert torch.equal(greedy, top1)  # sampling from the single most likely token is greedy search
    torch.manual_seed(1)
    first = model.generate(prompt, max_new_tokens=6, do_sample=True, pad_token_id=0, eos_token_id=None)
    torch.manual_seed(1)
    assert torch.equal(first, model.generate(prompt, max_new_tokens=6, do_sample=True, pad_token_id=0,
                                             eos_token_id=None))
    beams = model.generate(prompt, max_new_tokens=6, num_beams=3, num_return_sequences=3, pad_token_id=0,
                           eos_token_id=None)
    assert beams.shape == (3, 10) and torch.equal(beams[:, :4], prompt.expand(3, -1))


# ------------------------------------------------------------------------------------------------ reference
@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_our_saves_load_in_the_reference_library(tmp_path: Path) -> None:
    check_saves_load_in_reference(TestOPTCommon(), tmp_path / "pre-norm")
    check_saves_load_in_reference(TestOPT350mShapeCommon(), tmp_path / "350m")
