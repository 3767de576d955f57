"""RoBERTa models: parity with the reference (tiny random checkpoints saved by it), position numbering,
weight tying, the Auto classes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from common.parity import assert_outputs_close, load_model_case, model_case_names

import modelyard
from modelyard import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification
from modelyard.models.roberta.modeling_roberta import create_position_ids_from_input_ids


def tiny_config(**overrides: object) -> modelyard.RobertaConfig:
    values: dict[str, object] = dict(
        vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=24,
        max_position_embeddings=20, type_vocab_size=1,
    )
    values.update(overrides)
    return modelyard.RobertaConfig(**values)


@pytest.mark.parametrize("case_name", model_case_names("roberta"))
def test_roberta_parity_with_reference_fixture(case_name: str) -> None:
    case = load_model_case(case_name)
    model_class = getattr(modelyard, case.class_name)
    model, report = model_class.from_pretrained(case.folder, output_loading_info=True, **case.config_overrides)
    assert report.verdict == "complete" and not report.unexpected_keys, report
    with torch.no_grad():
        out = model(**case.inputs, **case.forward_options)
    assert_outputs_close(case, out)


def test_the_reference_checkpoint_loads_through_the_auto_classes() -> None:
    case = load_model_case("roberta-for-masked-lm")
    assert isinstance(AutoConfig.from_pretrained(case.folder), modelyard.RobertaConfig)
    assert type(AutoModelForMaskedLM.from_pretrained(case.folder)) is modelyard.RobertaForMaskedLM
    # the bare model from a masked-LM checkpoint: its pooler is new, the LM head's weights are left unused
    model, report = AutoModel.from_pretrained(case.folder, output_loading_info=True)
    assert type(model) is modelyard.RobertaModel
    assert sorted(report.missing_keys) == ["pooler.dense.bias", "pooler.dense.weight"]
    assert report.unexpected_keys and all(key.startswith("lm_head.") for key in report.unexpected_keys)


def test_positions_count_from_padding_idx_plus_one_over_real_tokens_only() -> None:
    ids = torch.tensor([[0, 5, 6, 1, 1], [0, 7, 1, 1, 1]])
    assert create_position_ids_from_input_ids(ids, padding_idx=1).tolist() == [[2, 3, 4, 1, 1], [2, 3, 1, 1, 1]]
    assert create_position_ids_from_input_ids(ids[:, :2], 1, past_key_values_length=3).tolist() == [[5, 6], [5, 6]]


def test_inputs_embeds_give_the_same_states_as_their_ids() -> None:
    torch.manual_seed(0)
    model = modelyard.RobertaModel(tiny_config()).eval()
    ids = torch.tensor([[0, 5, 6, 7, 2]])
    with torch.no_grad():
        from_ids = model(input_ids=ids).last_hidden_state
        from_embeds = model(inputs_embeds=model.get_input_embeddings()(ids)).last_hidden_state
    torch.testing.assert_close(from_ids, from_embeds)


def test_too_long_input_names_the_limit() -> None:
    model = modelyard.RobertaModel(tiny_config(max_position_embeddings=6)).eval()
    with pytest.raises(ValueError, match=r"max_position_embeddings=6 .*pad_token_id \+ 1 = 2"):
        model(input_ids=torch.full((1, 5), 4))


def test_masked_lm_decoder_is_tied_to_the_word_embeddings_and_survives_a_save(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = modelyard.RobertaForMaskedLM(tiny_config())
    assert model.lm_head.decoder.weight is model.roberta.embeddings.word_embeddings.weight
    assert model.lm_head.decoder.bias is model.lm_head.bias
    model.save_pretrained(tmp_path)
    loaded = modelyard.RobertaForMaskedLM.from_pretrained(tmp_path)
    assert loaded.lm_head.decoder.weight is loaded.roberta.embeddings.word_embeddings.weight
    torch.testing.assert_close(loaded.lm_head.bias, model.lm_head.bias)


def test_sequence_classifier_reads_the_first_token_through_its_own_dense_layer(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = modelyard.RobertaForSequenceClassification(tiny_config(num_labels=3)).eval()
    assert model.roberta.pooler is None
    names = set(model.state_dict())
    assert {"classifier.dense.weight", "classifier.out_proj.weight"} <= names
    model.save_pretrained(tmp_path)
    again = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    ids = torch.tensor([[0, 5, 6, 2, 1]])
    with torch.no_grad():
        torch.testing.assert_close(again(input_ids=ids).logits, model(input_ids=ids).logits)
        out = model(input_ids=ids, labels=torch.tensor([2]))
    assert out.loss is not None and out.logits.shape == (1, 3)


def test_pattern_matching_picks_roberta_for_a_config_without_model_type(tmp_path: Path) -> None:
    folder = tmp_path / "my-roberta-copy"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert type(AutoConfig.from_pretrained(folder)) is modelyard.RobertaConfig
