"""Core ``PreTrainedModel`` behaviour, exercised through the BERT and DistilBERT families.

Loading builds on the meta device and initialises only what the checkpoint lacks; sharded checkpoints carry
a sha256 per shard; ``pytorch_model.bin`` is read with ``weights_only`` (a code-running pickle is refused
and never executed); shape mismatches name keys and shapes; saves are deterministic (golden bytes below);
tied weights are saved once and re-tied; pruning, parameter counts, dtype and device.

Golden bytes: ``tests/fixtures/golden/tiny-bert-mlm/`` holds the config.json and model.safetensors that
``golden_model()`` saves, and ``tests/fixtures/golden/SHA256SUMS.json`` their sha256 plus those of a
sharded save. The weights come from a formula, not a random generator, so the bytes depend only on our
serialisation. After an intended format change, regenerate with

    .venv/bin/python tests/test_modeling_core.py --regenerate-golden

and review the diff. ``modelyard_version`` inside config.json is compared as a placeholder, so a version
bump does not change the golden files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from common.tolerance import assert_close_kernels, assert_same_weights
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

import modelyard
from modelyard.errors import (
    IntegrityError,
    MissingFileError,
    UnexpectedArgumentError,
    UnsafeFileError,
    WeightsError,
)
from modelyard.modeling import LoadReport
from modelyard.models.bert.configuration_bert import BertConfig
from modelyard.models.bert.modeling_bert import (
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    BertPreTrainedModel,
)
from modelyard.models.distilbert.configuration_distilbert import DistilBertConfig
from modelyard.models.distilbert.modeling_distilbert import DistilBertForMaskedLM, DistilBertModel

GOLDEN_DIR = Path(__file__).resolve().parent / "fixtures" / "golden"
GOLDEN_MODEL_DIR = GOLDEN_DIR / "tiny-bert-mlm"
GOLDEN_SUMS = GOLDEN_DIR / "SHA256SUMS.json"
GOLDEN_SHARD_SIZE = 1024  # bytes: the golden model saved sharded gives several shards
VERSION_PLACEHOLDER = "<modelyard_version>"


def tiny_bert(**overrides: Any) -> BertConfig:
    values: dict[str, Any] = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=37, max_position_embeddings=16)
    values.update(overrides)
    return BertConfig(**values)


def seeded(model_class: type[nn.Module], config: Any, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    model = model_class(config)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()


def ids(batch: int = 2, seq: int = 6) -> torch.Tensor:
    return torch.randint(1, 99, (batch, seq), generator=torch.Generator().manual_seed(3))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------ meta-device loading
class _InitCounter:
    def __init__(self) -> None:
        self.modules: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = BertPreTrainedModel._init_weights
        counter = self

        def counting(model: BertPreTrainedModel, module: nn.Module) -> None:
            counter.modules.append(type(module).__name__)
            original(model, module)

        monkeypatch.setattr(BertPreTrainedModel, "_init_weights", counting)


def test_loading_a_full_checkpoint_initialises_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeded(BertForSequenceClassification, tiny_bert()).save_pretrained(tmp_path)
    counter = _InitCounter()
    counter.install(monkeypatch)
    seen_devices: list[str] = []
    original_init = BertModel.__init__

    def spy(self: BertModel, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        seen_devices.append(self.embeddings.word_embeddings.weight.device.type)

    monkeypatch.setattr(BertModel, "__init__", spy)
    model = BertForSequenceClassification.from_pretrained(tmp_path)
    assert counter.modules == [], f"weights from the checkpoint were initialised first: {counter.modules}"
    assert seen_devices == ["meta"], "the model must be built with parameters on the meta device"
    assert all(p.device.type == "cpu" for p in model.parameters())
    # building a model directly initialises every module (the counter sees them)
    BertForSequenceClassification(tiny_bert())
    assert "Linear" in counter.modules and "Embedding" in counter.modules


def test_only_missing_modules_are_initialised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = seeded(BertModel, tiny_bert())
    base.save_pretrained(tmp_path)
    counter = _InitCounter()
    counter.install(monkeypatch)
    model, report = BertForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert counter.modules == ["Linear"], counter.modules  # the new classifier, nothing else
    assert report.missing_keys == ["classifier.bias", "classifier.weight"] and report.verdict == "new_head"
    assert torch.equal(model.classifier.bias, torch.zeros(2))  # initialised like a fresh model
    std = model.classifier.weight.std().item()
    assert 0.005 < std < 0.05  # normal(0, initializer_range=0.02)
    assert torch.equal(model.bert.pooler.dense.weight, base.pooler.dense.weight)


def test_report_verdicts_and_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    seeded(DistilBertModel, DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37,
                                           max_position_embeddings=16)
           ).save_pretrained(tmp_path / "distil")
    (tmp_path / "distil" / "config.json").write_text(tiny_bert().to_json_string())
    with caplog.at_level(logging.WARNING):
        model, report = BertModel.from_pretrained(tmp_path / "distil", output_loading_info=True)
    assert isinstance(report, LoadReport) and report.verdict == "suspicious"
    assert report.newly_initialized_fraction > 0.5 and report["unexpected_keys"] == report.unexpected_keys
    assert "Most of the model is random" in caplog.text
    assert all(not p.is_meta for p in model.parameters())


# ------------------------------------------------------------------------------------ shards and pickles
def test_sharded_save_records_and_verifies_sha256(tmp_path: Path) -> None:
    model = seeded(BertModel, tiny_bert())
    written = model.save_pretrained(tmp_path, max_shard_size="20KB")
    shards = sorted(tmp_path.glob("model-*-of-*.safetensors"))
    assert len(shards) > 2 and not (tmp_path / "model.safetensors").exists()
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert index["metadata"]["shard_sha256"] == {p.name: sha256(p) for p in shards}
    assert set(index["weight_map"]) == set(model.state_dict())
    assert {p.name for p in written} >= {p.name for p in shards} | {"config.json"}
    loaded, report = BertModel.from_pretrained(tmp_path, output_loading_info=True)
    assert report.verdict == "complete"
    assert_same_weights(loaded, model)
    assert_close_kernels(loaded(ids()).last_hidden_state, model(ids()).last_hidden_state, depth=4)
    # saving again unsharded removes the shards
    model.save_pretrained(tmp_path)
    assert not list(tmp_path.glob("model-*")) and not (tmp_path / "model.safetensors.index.json").exists()


def test_sharded_save_and_load_show_progress_unless_switched_off(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard import logging as my_logging

    monkeypatch.setattr(my_logging, "_progress_bars_enabled", None)
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    model = seeded(BertModel, tiny_bert())
    model.save_pretrained(tmp_path, max_shard_size="20KB")
    BertModel.from_pretrained(tmp_path)
    shown = capsys.readouterr().err
    shards = len(list(tmp_path.glob("model-*-of-*.safetensors")))
    assert "Saving checkpoint shards: 100%|" in shown and f"| {shards}/{shards} " in shown
    assert "Loading checkpoint shards: 100%|" in shown
    my_logging.disable_progress_bar()
    model.save_pretrained(tmp_path, max_shard_size="20KB")
    BertModel.from_pretrained(tmp_path)
    assert "checkpoint shards" not in capsys.readouterr().err
    model.save_pretrained(tmp_path / "single")  # one file: nothing to count
    my_logging.enable_progress_bar()
    BertModel.from_pretrained(tmp_path / "single")
    assert "checkpoint shards" not in capsys.readouterr().err


def test_tampered_shard_is_refused(tmp_path: Path) -> None:
    seeded(BertModel, tiny_bert()).save_pretrained(tmp_path, max_shard_size="20KB")
    shard = sorted(tmp_path.glob("model-*-of-*.safetensors"))[1]
    state = load_file(str(shard))
    key = next(iter(state))
    state[key] = state[key] + 1.0  # same shapes, different values: only the hash tells
    save_file(state, str(shard), metadata={"format": "pt"})
    with pytest.raises(IntegrityError, match=shard.name) as info:
        BertModel.from_pretrained(tmp_path)
    assert "sha256" in str(info.value)


def test_pytorch_model_bin_is_read_with_weights_only(tmp_path: Path) -> None:
    model = seeded(BertModel, tiny_bert())
    model.save_pretrained(tmp_path, safe_serialization=False)
    assert (tmp_path / "pytorch_model.bin").is_file() and not (tmp_path / "model.safetensors").exists()
    loaded = BertModel.from_pretrained(tmp_path)
    assert_same_weights(loaded, model)
    assert_close_kernels(loaded(ids()).last_hidden_state, model(ids()).last_hidden_state, depth=4)
    with pytest.raises(MissingFileError, match="use_safetensors=True"):
        BertModel.from_pretrained(tmp_path, use_safetensors=True)


class _RunsCode:
    """Unpickling this calls ``Path.touch`` on a marker file: a stand-in for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_malicious_pickle_is_refused_without_running(tmp_path: Path) -> None:
    folder = tmp_path / "evil"
    folder.mkdir()
    tiny_bert().save_pretrained(folder)
    marker = tmp_path / "pwned"
    state: dict[str, Any] = dict(BertModel(tiny_bert()).state_dict())
    state["embeddings.word_embeddings.weight"] = _RunsCode(marker)
    with (folder / "pytorch_model.bin").open("wb") as handle:
        torch.save(state, handle)
    with pytest.raises(UnsafeFileError, match="refuses"):
        BertModel.from_pretrained(folder)
    assert not marker.exists(), "the pickle's code ran"


@pytest.mark.parametrize("shard", ["../outside.safetensors", "/tmp/outside.safetensors", "sub/../../outside.safetensors",
                                   "..\\outside.safetensors", "./model.safetensors"])
def test_an_index_naming_a_shard_outside_its_folder_is_refused(tmp_path: Path, shard: str) -> None:
    from safetensors.torch import save_file

    folder = tmp_path / "ckpt"
    folder.mkdir()
    tiny_bert().save_pretrained(folder)
    state = {k: v.contiguous() for k, v in BertModel(tiny_bert()).state_dict().items()}
    save_file(state, str(tmp_path / "outside.safetensors"))  # a file that would load, outside the checkpoint
    index = {"metadata": {}, "weight_map": {key: shard for key in state}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(UnsafeFileError, match="not a file inside the checkpoint's folder"):
        BertModel.from_pretrained(folder)


# ------------------------------------------------------------------------------------ shapes and options
def test_shape_mismatch_names_keys_and_the_option(tmp_path: Path) -> None:
    seeded(BertForSequenceClassification, tiny_bert(num_labels=3)).save_pretrained(tmp_path)
    with pytest.raises(WeightsError) as info:
        BertForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    message = str(info.value)
    assert "classifier.weight" in message and "(3, 32)" in message and "(5, 32)" in message
    assert "ignore_mismatched_sizes=True" in message
    model, report = BertForSequenceClassification.from_pretrained(
        tmp_path, num_labels=5, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert model.classifier.weight.shape == (5, 32) and model.config.num_labels == 5
    assert report["mismatched_keys"] == ["classifier.bias", "classifier.weight"]  # names, as the reference gives
    assert report.mismatched_shapes == [("classifier.bias", (3,), (5,)), ("classifier.weight", (3, 32), (5, 32))]
    assert torch.equal(model.classifier.bias, torch.zeros(5))


def test_unknown_keyword_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    seeded(BertModel, tiny_bert()).save_pretrained(tmp_path)
    with pytest.raises(UnexpectedArgumentError, match="hidden_dropout_prob"):
        BertModel.from_pretrained(tmp_path, hidden_dropout_prb=0.0)
    model = BertModel.from_pretrained(tmp_path, hidden_dropout_prob=0.0)
    assert model.config.hidden_dropout_prob == 0.0


def test_missing_weights_file_points_to_from_config(tmp_path: Path) -> None:
    tiny_bert().save_pretrained(tmp_path)
    with pytest.raises(MissingFileError, match="from_config"):
        BertModel.from_pretrained(tmp_path)


def test_legacy_layernorm_names_and_position_ids_load(tmp_path: Path) -> None:
    model = seeded(BertModel, tiny_bert())
    state = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
             for k, v in model.state_dict().items()}
    state["embeddings.position_ids"] = torch.arange(16)[None]
    save_file(state, str(tmp_path / "model.safetensors"))
    model.config.save_pretrained(tmp_path)
    loaded, report = BertModel.from_pretrained(tmp_path, output_loading_info=True)
    assert report.verdict == "complete" and not report.unexpected_keys, report
    assert_same_weights(loaded, model)
    assert_close_kernels(loaded(ids()).last_hidden_state, model(ids()).last_hidden_state, depth=4)


def test_state_dict_argument_loads_without_files(tmp_path: Path) -> None:
    model = seeded(BertModel, tiny_bert())
    tiny_bert().save_pretrained(tmp_path)
    loaded = BertModel.from_pretrained(tmp_path, state_dict=model.state_dict())
    assert_same_weights(loaded, model)
    assert_close_kernels(loaded(ids()).last_hidden_state, model(ids()).last_hidden_state, depth=4)


# ------------------------------------------------------------------------------------ tying and pruning
@pytest.mark.parametrize("model_class", [BertForMaskedLM, DistilBertForMaskedLM], ids=lambda c: c.__name__)
def test_tied_weights_are_saved_once_and_retied(model_class: type[nn.Module], tmp_path: Path) -> None:
    config = tiny_bert() if model_class is BertForMaskedLM else DistilBertConfig(
        vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=16)
    model = seeded(model_class, config)
    model.save_pretrained(tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), framework="pt") as handle:
        saved = set(handle.keys())
    output_key = [k for k, v in model.state_dict().items()
                  if v.data_ptr() == model.get_output_embeddings().weight.data_ptr()]
    assert len(output_key) == 2 and len(saved & set(output_key)) == 1  # one copy of the shared matrix
    loaded = model_class.from_pretrained(tmp_path)
    assert loaded.get_output_embeddings().weight is loaded.get_input_embeddings().weight
    with torch.no_grad():
        loaded.get_input_embeddings().weight[5] += 1.0
    assert torch.equal(loaded.get_output_embeddings().weight[5], loaded.get_input_embeddings().weight[5])
    assert loaded.num_parameters() == model.num_parameters()


def test_prune_heads_merges_config_and_shrinks(tmp_path: Path) -> None:
    model = seeded(BertForSequenceClassification, tiny_bert())
    before = model.num_parameters()
    model.prune_heads({1: [0, 2]})
    attention = model.bert.encoder.layer[1].attention
    assert attention.self.query.weight.shape == (16, 32) and attention.output.dense.weight.shape == (32, 16)
    assert model.config.pruned_heads == {1: [0, 2]}
    assert before - model.num_parameters() == 3 * (16 * 32 + 16) + 32 * 16  # q/k/v rows + output columns
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["pruned_heads"] == {"1": [0, 2]}
    out = model(ids(), output_attentions=True)
    assert out.attentions[1].shape[1] == 2
    reloaded = BertForSequenceClassification.from_pretrained(tmp_path)
    assert_same_weights(reloaded, model)
    assert_close_kernels(reloaded(ids()).logits, model(ids()).logits, depth=4)


# ------------------------------------------------------------------------------------ counts, dtype, device
def test_num_parameters_options() -> None:
    model = BertForMaskedLM(tiny_bert())
    total = model.num_parameters()
    assert total == sum(p.numel() for p in model.parameters())
    embeddings = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Embedding))
    assert model.num_parameters(exclude_embeddings=True) == total - embeddings
    model.bert.embeddings.requires_grad_(False)
    assert model.num_parameters(only_trainable=True) == total - sum(
        p.numel() for p in model.bert.embeddings.parameters())


def test_dtype_and_device(tmp_path: Path) -> None:
    model = seeded(BertModel, tiny_bert())
    assert model.dtype == torch.float32 and model.device == torch.device("cpu")
    model.save_pretrained(tmp_path)
    half = BertModel.from_pretrained(tmp_path, dtype="float16")
    assert half.dtype == torch.float16 and half.config.dtype == "float16"
    assert BertModel.from_pretrained(tmp_path, torch_dtype=torch.bfloat16).dtype == torch.bfloat16
    assert BertModel.from_pretrained(tmp_path, dtype="auto").dtype == torch.float32
    assert model.to(torch.bfloat16).dtype == torch.bfloat16
    auto = modelyard.AutoModel.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert auto.dtype == torch.bfloat16 and auto(ids()).last_hidden_state.dtype == torch.bfloat16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_loading_matches_cpu(tmp_path: Path) -> None:  # pragma: no cover - runs on GPU machines only
    model = seeded(BertModel, tiny_bert())
    model.save_pretrained(tmp_path)
    gpu = BertModel.from_pretrained(tmp_path, device="cuda")
    assert gpu.device.type == "cuda"
    mask = torch.ones(2, 6, dtype=torch.long)
    mask[1, 4:] = 0
    with torch.no_grad():
        expected = model(ids(), attention_mask=mask).last_hidden_state
        got = gpu(ids().cuda(), attention_mask=mask.cuda()).last_hidden_state.cpu()
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------------------------ golden bytes
def golden_model() -> BertForMaskedLM:
    """A tiny BERT MLM whose weights come from a formula (no random generator, no math library): small
    integers / 256 are exact in float32 on every CPU, so the bytes depend only on our serialisation."""
    config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=12, max_position_embeddings=8, type_vocab_size=2)
    model = BertForMaskedLM(config)
    with torch.no_grad():
        for i, (_, param) in enumerate(sorted(model.named_parameters(), key=lambda kv: kv[0])):
            n = param.numel()
            values = ((torch.arange(n, dtype=torch.int64) * 37 + 11 * i) % 51 - 25).to(torch.float32) / 256
            param.copy_(values.reshape(param.shape).to(param.dtype))
    return model.eval()


def _normalised(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name == "config.json":
        data = data.replace(f'"{modelyard.__version__}"'.encode(), f'"{VERSION_PLACEHOLDER}"'.encode())
    return data


def _golden_sums(single: Path, sharded: Path) -> dict[str, dict[str, str]]:
    def sums(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(_normalised(p)).hexdigest() for p in sorted(folder.iterdir())}

    return {"single": sums(single), "sharded": sums(sharded)}


def _save_golden(root: Path) -> tuple[Path, Path]:
    model = golden_model()
    model.save_pretrained(root / "single")
    model.save_pretrained(root / "sharded", max_shard_size=GOLDEN_SHARD_SIZE)
    return root / "single", root / "sharded"


def test_golden_bytes(tmp_path: Path) -> None:
    single, sharded = _save_golden(tmp_path)
    expected = json.loads(GOLDEN_SUMS.read_text())
    assert _golden_sums(single, sharded) == expected, (
        "saved bytes changed; if intended, run `.venv/bin/python tests/test_modeling_core.py --regenerate-golden`"
    )
    for name in ("config.json", "model.safetensors"):
        assert _normalised(single / name) == _normalised(GOLDEN_MODEL_DIR / name), name
    assert len(expected["sharded"]) > 2
    # and the committed files load back to the same model
    loaded = BertForMaskedLM.from_pretrained(GOLDEN_MODEL_DIR)
    for key, value in golden_model().state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def regenerate_golden() -> None:
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        single, sharded = _save_golden(Path(tmp))
        GOLDEN_MODEL_DIR.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "model.safetensors"):
            shutil.copyfile(single / name, GOLDEN_MODEL_DIR / name)
        config = GOLDEN_MODEL_DIR / "config.json"
        config.write_bytes(_normalised(config))
        GOLDEN_SUMS.write_text(json.dumps(_golden_sums(single, sharded), indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate-golden"]:
        raise SystemExit("usage: tests/test_modeling_core.py --regenerate-golden")
    regenerate_golden()
    print(f"wrote {GOLDEN_MODEL_DIR} and {GOLDEN_SUMS}")
