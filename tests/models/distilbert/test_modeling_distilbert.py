"""DistilBERT: the document's configuration snippets, the common tester on every class, reference parity,
sinusoidal positions, weight tying, and our saves loading in the reference library."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
import torch
from common.model_tester import TextEncoderTesterMixin
from common.parity import assert_outputs_close, load_model_case, model_case_names

import modelyard
from modelyard import DistilBertConfig
from modelyard.errors import ConfigurationError
from modelyard.models.distilbert.modeling_distilbert import (
    DistilBertForMaskedLM,
    DistilBertForMultipleChoice,
    DistilBertForQuestionAnswering,
    DistilBertForSequenceClassification,
    DistilBertForTokenClassification,
    DistilBertModel,
    sinusoidal_table,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
REF_PY = REPO_ROOT / ".venv-ref" / "bin" / "python"
ALL_CLASSES = (
    DistilBertModel,
    DistilBertForMaskedLM,
    DistilBertForSequenceClassification,
    DistilBertForTokenClassification,
    DistilBertForQuestionAnswering,
    DistilBertForMultipleChoice,
)

# The document's print(DistilBertConfig()), with "transformers_version" replaced by our version key.
DOCUMENT_DEFAULT = """DistilBertConfig {
  "activation": "gelu",
  "attention_dropout": 0.1,
  "dim": 768,
  "dropout": 0.1,
  "hidden_dim": 3072,
  "initializer_range": 0.02,
  "max_position_embeddings": 512,
  "model_type": "distilbert",
  "modelyard_version": "%s",
  "n_heads": 12,
  "n_layers": 6,
  "pad_token_id": 0,
  "qa_dropout": 0.1,
  "seq_classif_dropout": 0.2,
  "sinusoidal_pos_embds": false,
  "vocab_size": 30522
}
"""


def tiny_config(**overrides: object) -> DistilBertConfig:
    values: dict[str, object] = dict(
        vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=16
    )
    values.update(overrides)
    return DistilBertConfig(**values)


class TestDistilBertCommon(TextEncoderTesterMixin):
    all_model_classes = ALL_CLASSES
    uses_token_type_ids = False

    def get_config(self) -> DistilBertConfig:
        return tiny_config()


class TestDistilBertSinusoidalCommon(TestDistilBertCommon):
    """The fixed-position variant: the table is not trained, so it gets no gradient."""

    all_model_classes = (DistilBertModel, DistilBertForSequenceClassification)

    def get_config(self) -> DistilBertConfig:
        return tiny_config(sinusoidal_pos_embds=True)


# ------------------------------------------------------------------------------------------------ document
def test_document_default_config_prints_exactly() -> None:
    assert repr(DistilBertConfig()) == DOCUMENT_DEFAULT % modelyard.__version__


def test_document_custom_config_prints_exactly() -> None:
    my_config = DistilBertConfig(activation="relu", attention_dropout=0.4)
    expected = DOCUMENT_DEFAULT.replace('"gelu"', '"relu"').replace('"attention_dropout": 0.1', '"attention_dropout": 0.4')
    assert repr(my_config) == expected % modelyard.__version__


def test_document_model_and_heads_from_saved_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The document's flow: save the config, build a model from it, load heads from a saved model."""
    monkeypatch.chdir(tmp_path)
    my_config = DistilBertConfig(activation="relu", attention_dropout=0.4, n_layers=1, dim=16, n_heads=2,
                                 hidden_dim=20, vocab_size=50)
    my_config.save_pretrained(save_directory="./your_model_save_path")
    my_config = DistilBertConfig.from_pretrained("./your_model_save_path/config.json")
    model = DistilBertModel(my_config)
    assert model.config.activation == "relu" and model.config.attention_dropout == 0.4
    model.save_pretrained("./your_model_save_path")
    again = DistilBertModel.from_pretrained("./your_model_save_path", config=my_config)
    assert again.config.activation == "relu"
    classifier = modelyard.DistilBertForSequenceClassification.from_pretrained("./your_model_save_path")
    qa = modelyard.DistilBertForQuestionAnswering.from_pretrained("./your_model_save_path")
    assert torch.equal(classifier.distilbert.embeddings.word_embeddings.weight,
                       qa.distilbert.embeddings.word_embeddings.weight)


def test_aliases_and_attention_error() -> None:
    config = tiny_config()
    assert (config.hidden_size, config.num_attention_heads, config.num_hidden_layers) == (32, 4, 2)
    assert DistilBertConfig(hidden_size=64).dim == 64
    with pytest.raises(ConfigurationError, match="multiple of n_heads"):
        DistilBertModel(tiny_config(dim=30))
    with pytest.raises(ConfigurationError, match="num_labels=2"):
        DistilBertForQuestionAnswering(tiny_config(num_labels=3))


# ------------------------------------------------------------------------------------------------ parity
@pytest.mark.parametrize("case_name", model_case_names("distilbert"))
def test_distilbert_parity_with_reference_fixture(case_name: str) -> None:
    case = load_model_case(case_name)
    model_class = getattr(modelyard, case.class_name)
    model, report = model_class.from_pretrained(case.folder, output_loading_info=True, **case.config_overrides)
    assert report.verdict == "complete" and not report.unexpected_keys, report
    with torch.no_grad():
        out = model(**case.inputs, **case.forward_options)
    assert_outputs_close(case, out)


# ------------------------------------------------------------------------------------------------ details
def test_sinusoidal_table_is_fixed_and_rebuilt_when_missing(tmp_path: Path) -> None:
    config = tiny_config(sinusoidal_pos_embds=True)
    model = DistilBertModel(config)
    weight = model.embeddings.position_embeddings.weight
    assert not weight.requires_grad
    # values of sin/cos: within a few float32 ulps of the exact values (math libraries differ in the last bit)
    torch.testing.assert_close(weight, sinusoidal_table(16, 32), atol=1e-6, rtol=0)
    assert abs(float(weight[3, 0]) - math.sin(3.0)) < 1e-6 and abs(float(weight[3, 1]) - math.cos(3.0)) < 1e-6
    # a checkpoint without the table (it is computable) gets the table, not random values
    model.save_pretrained(tmp_path)
    from safetensors.torch import load_file, save_file

    state = load_file(str(tmp_path / "model.safetensors"))
    del state["embeddings.position_embeddings.weight"]
    save_file(state, str(tmp_path / "model.safetensors"))
    loaded, report = DistilBertModel.from_pretrained(tmp_path, output_loading_info=True)
    assert report.missing_keys == ["embeddings.position_embeddings.weight"]
    torch.testing.assert_close(loaded.embeddings.position_embeddings.weight, sinusoidal_table(16, 32), atol=1e-6, rtol=0)


def test_masked_lm_projection_is_tied(tmp_path: Path) -> None:
    model = DistilBertForMaskedLM(tiny_config())
    assert model.vocab_projector.weight is model.distilbert.embeddings.word_embeddings.weight
    model.save_pretrained(tmp_path)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "model.safetensors"), framework="pt") as handle:
        keys = set(handle.keys())
    assert "vocab_projector.weight" not in keys and "vocab_projector.bias" in keys
    loaded = DistilBertForMaskedLM.from_pretrained(tmp_path)
    assert loaded.vocab_projector.weight is loaded.distilbert.embeddings.word_embeddings.weight


def test_multiple_choice_accepts_inputs_embeds() -> None:
    torch.manual_seed(0)
    model = DistilBertForMultipleChoice(tiny_config()).eval()
    ids = torch.randint(1, 99, (2, 3, 5))
    embeds = model.get_input_embeddings()(ids)
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, model(inputs_embeds=embeds).logits)


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
    tester = TestDistilBertCommon()
    folders = []
    for model_class, config in [(c, tiny_config()) for c in ALL_CLASSES] + [
        (DistilBertModel, tiny_config(sinusoidal_pos_embds=True))
    ]:
        model = tester.make_model(model_class, config)
        inputs = tester.inputs_for(model_class, config)
        folder = tmp_path / f"{model_class.__name__}-{len(folders)}"
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
