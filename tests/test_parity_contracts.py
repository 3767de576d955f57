"""The reference's contracts, written the way its users write them, against what the reference really does.

The expected values come from tests/fixtures/parity/contracts/contracts.json, recorded from the reference
library by tools/reference/gen_contracts.py (`make fixtures`; `make parity-live` re-checks against the live
reference). Each test runs the same idiom on modelyard.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from common.parity import load_json_fixture

from modelyard import (
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    BertTokenizer,
    BertTokenizerFast,
    PretrainedConfig,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2Processor,
)
from modelyard.hub.push import PushToHubMixin

TINY_BERT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                 max_position_embeddings=16)
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox", "jump", "##s", "over", "lazy",
         "dog", "a", "b", "c", "d", "e", "f", "g"]


@pytest.fixture(scope="module")
def contracts() -> dict[str, Any]:
    return load_json_fixture("contracts/contracts.json")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else list(v)))


# ------------------------------------------------------------------------------------------ loading info
def test_loading_info_is_used_like_the_reference_dict(tmp_path: Path, contracts: dict[str, Any]) -> None:
    expected = contracts["loading_info"]
    BertModel(BertConfig(**TINY_BERT)).save_pretrained(tmp_path / "base")
    _, info = BertForMaskedLM.from_pretrained(tmp_path / "base", output_loading_info=True)
    # the idioms of the reference's users
    assert isinstance(info, Mapping)
    assert {k: sorted(v) for k, v in info.items()} == expected["base_into_mlm"]
    assert list(info) == expected["key_order"] and len(info) == len(expected["key_order"])
    assert dict(info)["missing_keys"] == info["missing_keys"] == info.missing_keys
    assert info.get("error_msgs") == [] and info.get("no_such_key", "default") == "default"
    assert "unexpected_keys" in info and "verdict" not in info
    # modelyard's own findings are attributes
    assert info.verdict == "new_head" and 0 < info.newly_initialized_fraction < 0.5
    with pytest.raises(KeyError, match="attribute: report.verdict"):
        info["verdict"]


def test_mismatched_keys_are_names(tmp_path: Path, contracts: dict[str, Any]) -> None:
    BertForSequenceClassification(BertConfig(**TINY_BERT, num_labels=3)).save_pretrained(tmp_path)
    _, info = BertForSequenceClassification.from_pretrained(
        tmp_path, num_labels=5, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert {k: sorted(v) for k, v in info.items()} == contracts["loading_info"]["mismatch"]
    assert info.mismatched_shapes == [("classifier.bias", (3,), (5,)), ("classifier.weight", (3, 32), (5, 32))]


# ------------------------------------------------------------------------------------------ configuration
def test_config_dtype_and_get_config_dict(tmp_path: Path, contracts: dict[str, Any]) -> None:
    expected = contracts["config"]
    config = BertConfig(**TINY_BERT, torch_dtype="float16")
    assert (config.torch_dtype == torch.float16) is expected["torch_dtype_equals_torch"]
    assert config.torch_dtype is torch.float16 and config.dtype == torch.float16 and config.dtype == "float16"
    assert torch.float16 == config.dtype and config.dtype != torch.float32  # both operand orders
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert {k: saved.get(k) for k in ("dtype", "torch_dtype")} == expected["saved_dtype_key"]
    loaded = BertConfig.from_pretrained(tmp_path)
    assert (loaded.torch_dtype == torch.float16) is expected["loaded_torch_dtype_equals_torch"]
    result = PretrainedConfig.get_config_dict(tmp_path, foo=1)
    shape = expected["get_config_dict"]
    assert type(result).__name__ == shape["type"] and len(result) == shape["length"]
    config_dict, unused = result
    assert unused == shape["unused"] and (config_dict.get("vocab_size") == 99) is shape["has_vocab_size"]
    config.torch_dtype = torch.bfloat16  # settable either way
    assert config.dtype == "bfloat16"


def test_config_diff_keeps_the_reference_keys(contracts: dict[str, Any]) -> None:
    ours = set(BertConfig(**TINY_BERT).to_diff_dict()) - {"modelyard_version"}
    assert ours == set(contracts["config"]["to_diff_dict_keys"])


# ------------------------------------------------------------------------------------------ saving
def test_sharded_save_matches_the_reference_shard_for_shard(tmp_path: Path, contracts: dict[str, Any]) -> None:
    torch.manual_seed(0)
    BertForMaskedLM(BertConfig(**TINY_BERT)).save_pretrained(
        tmp_path, max_shard_size=contracts["shards"]["max_shard_size"]
    )
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    by_file: dict[str, list[str]] = {}
    for key, name in index["weight_map"].items():
        by_file.setdefault(name, []).append(key)
    assert {name: sorted(keys) for name, keys in by_file.items()} == contracts["shards"]["files"]
    assert sorted(p.name for p in tmp_path.glob("model-*.safetensors")) == sorted(contracts["shards"]["files"])


def test_push_to_hub_takes_the_reference_positional_parameters(contracts: dict[str, Any]) -> None:
    params = inspect.signature(PushToHubMixin.push_to_hub).parameters.values()
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"]
    assert positional == contracts["push_to_hub"]["positional"]


# ------------------------------------------------------------------------------------------ audio
def _describe(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"type": "ndarray", "shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "items": [_describe(v) for v in value]}
    return {"type": type(value).__name__}


def test_wav2vec2_feature_extractor_types_match(contracts: dict[str, Any]) -> None:
    fe = Wav2Vec2FeatureExtractor(return_attention_mask=True)
    a = (np.arange(100, dtype=np.float32) % 7) / 7
    b = (np.arange(80, dtype=np.float32) % 5) / 5
    cases = {
        "two_clips": ([a, b], {}),
        "two_clips_padded": ([a, b], {"padding": True}),
        "one_clip": (a, {}),
        "float64_clip": (a.astype(np.float64), {}),
        "python_lists": ([[0.1, 0.2, 0.3]], {}),
        "stacked_2d": (np.stack([a, a]), {}),
        "padded_np": ([a, b], {"padding": True, "return_tensors": "np"}),
        # without normalisation the reference returns one array, not a list of rows
        "raw_two_clips_padded": ([a, b], {"padding": True}),
        "raw_one_clip": (a, {}),
        "raw_truncated_ragged": ([a, b], {"truncation": True, "max_length": 90}),
        "raw_stacked_2d": (np.stack([a, a]), {}),
    }
    raw = Wav2Vec2FeatureExtractor(do_normalize=False, return_attention_mask=True)
    expected = contracts["wav2vec2"]["feature_extractor"]
    assert set(cases) == set(expected)
    for name, (audio, options) in cases.items():
        out = (raw if name.startswith("raw_") else fe)(audio, sampling_rate=16000, **options)
        got = {"type": type(out).__name__, "keys": list(out.keys()), "values": {k: _describe(v) for k, v in out.items()}}
        assert got == expected[name], name


def test_wav2vec2_processor_model_input_names(tmp_path: Path, contracts: dict[str, Any]) -> None:
    vocab = tmp_path / "vocab.json"
    vocab.write_text(json.dumps({"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "a": 5, "b": 6}))
    fe = Wav2Vec2FeatureExtractor(return_attention_mask=True)
    processor = Wav2Vec2Processor(feature_extractor=fe, tokenizer=Wav2Vec2CTCTokenizer(vocab_file=str(vocab)))
    assert processor.model_input_names == contracts["wav2vec2"]["processor_model_input_names"]
    assert fe.model_input_names == contracts["wav2vec2"]["feature_extractor_model_input_names"]


# ------------------------------------------------------------------------------------------ model outputs
def test_model_output_is_the_reference_dict(contracts: dict[str, Any]) -> None:
    expected = contracts["model_output"]
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(**TINY_BERT)).eval()
    ids = torch.tensor([[2, 5, 6, 3]])
    plain, labelled = model(ids), model(ids, labels=torch.tensor([1]))
    hidden = model(ids, output_hidden_states=True)
    assert isinstance(plain, dict) is expected["is_dict"]
    assert list(plain.keys()) == expected["keys"] and list(labelled.keys()) == expected["keys_with_labels"]
    assert list(hidden.keys()) == expected["keys_with_hidden_states"]
    assert len(hidden.to_tuple()) == expected["to_tuple_length_with_hidden_states"]
    assert (labelled[0] is labelled["loss"]) is expected["index_0_is_loss_with_labels"]
    assert type(model(ids, return_dict=False)).__name__ == expected["return_dict_false_type"]
    # the mapping idioms
    assert dict(labelled.items())["logits"] is labelled.logits and {**plain}.keys() == {"logits"}
    with pytest.raises(TypeError, match="fields are fixed"):
        plain.pop("logits")
    # rebuilt from a mapping of its fields, as generic code does (type(output)({k: ...}))
    rebuilt = type(labelled)(dict(labelled))
    assert list(rebuilt.keys()) == expected["keys_with_labels"] and rebuilt.logits is labelled.logits
    with pytest.raises(TypeError, match="no fields"):
        type(plain)({"logitz": plain.logits})


# ------------------------------------------------------------------------------------------ tokenizers
@pytest.mark.parametrize("kind", ["slow", "fast"])
def test_tokenizer_idioms(tmp_path: Path, kind: str, contracts: dict[str, Any]) -> None:
    expected = contracts["tokenizer"][kind]
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    tok = (BertTokenizer if kind == "slow" else BertTokenizerFast)(vocab_file=str(vocab))
    batch = tok(["the quick brown fox jumps", "a lazy dog"], padding=True)
    assert _jsonable(dict(batch)) == expected["batch"]
    assert tok.batch_decode(batch["input_ids"], skip_special_tokens=True) == expected["batch_decode"]
    padded = tok.pad({"input_ids": [[2, 5, 3], [2, 3]]}, padding="max_length", max_length=5)
    assert _jsonable(dict(padded)) == expected["pad"]
    if kind == "fast":
        assert [batch.word_ids(0), batch.word_ids(1)] == expected["word_ids"]
        windows = tok(["a b c d e f g"], truncation=True, max_length=5, stride=1, return_overflowing_tokens=True)
        assert {k: _jsonable(v) for k, v in windows.items()} == expected["overflow"]
