"""Contract fixtures: how the reference behaves for the everyday idioms its users write.

Writes `<out>/contracts/contracts.json`: for each idiom, what the reference returns, described by types,
keys, names and small values (never floats that depend on a CPU). tests/test_reference_contracts.py
runs the same idiom on modelyard and compares. Idioms:

  loading_info.*       output_loading_info=True: the mapping's type, keys, values (base -> MLM head,
                       shape mismatch with ignore_mismatched_sizes)
  config.*             torch_dtype equality, get_config_dict's return shape, to_diff_dict keys
  shards               save_pretrained(max_shard_size=...) of a tiny BERT: the weight map, shard by shard
  push_to_hub          the positional parameter names of push_to_hub
  wav2vec2_fe.*        Wav2Vec2FeatureExtractor outputs without return_tensors: container types, shapes, dtypes
  processor            Wav2Vec2Processor.model_input_names
  model_output         a forward's output: is it a dict, its keys with and without labels, to_tuple length
  tokenizer.*          word_ids, overflowing windows with stride, batch_decode, pad
"""

from __future__ import annotations

import inspect
import json
import tempfile
from pathlib import Path
from typing import Any

from _common import jsonable, write_json

TINY_BERT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                 max_position_embeddings=16)
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox", "jump", "##s", "over", "lazy",
         "dog", "a", "b", "c", "d", "e", "f", "g"]


def describe(value: Any) -> Any:
    """Structure of a feature-extractor / tokenizer value: container types down to array shapes and dtypes."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return {"type": "ndarray", "shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "items": [describe(v) for v in value]}
    return {"type": type(value).__name__}


def loading_info(tmp: Path) -> dict[str, Any]:
    from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel

    BertModel(BertConfig(**TINY_BERT)).save_pretrained(tmp / "base")
    _, info = BertForMaskedLM.from_pretrained(tmp / "base", output_loading_info=True)
    BertForSequenceClassification(BertConfig(**TINY_BERT, num_labels=3)).save_pretrained(tmp / "three")
    _, mismatch = BertForSequenceClassification.from_pretrained(
        tmp / "three", num_labels=5, ignore_mismatched_sizes=True, output_loading_info=True
    )
    return {
        "type": type(info).__name__,
        "base_into_mlm": {k: sorted(v) for k, v in info.items()},
        "key_order": list(info),
        "mismatch": {k: sorted(v) for k, v in mismatch.items()},
    }


def config_idioms(tmp: Path) -> dict[str, Any]:
    import torch
    from transformers import BertConfig, PretrainedConfig

    config = BertConfig(**TINY_BERT, torch_dtype="float16")
    config.save_pretrained(tmp / "cfg")
    result = PretrainedConfig.get_config_dict(tmp / "cfg", foo=1)
    saved = json.loads((tmp / "cfg" / "config.json").read_text())
    loaded = BertConfig.from_pretrained(tmp / "cfg")
    return {
        "torch_dtype_equals_torch": bool(config.torch_dtype == torch.float16),
        "loaded_torch_dtype_equals_torch": bool(loaded.torch_dtype == torch.float16),
        "saved_dtype_key": {k: saved.get(k) for k in ("dtype", "torch_dtype")},
        "get_config_dict": {"type": type(result).__name__, "length": len(result), "unused": result[1],
                            "has_vocab_size": result[0].get("vocab_size") == 99},
        "to_diff_dict_keys": sorted(k for k in BertConfig(**TINY_BERT).to_diff_dict() if k != "transformers_version"),
    }


def shards(tmp: Path) -> dict[str, Any]:
    import torch
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    BertForMaskedLM(BertConfig(**TINY_BERT)).save_pretrained(tmp / "sharded", max_shard_size="20KB")
    index = json.loads((tmp / "sharded" / "model.safetensors.index.json").read_text())
    by_file: dict[str, list[str]] = {}
    for key, name in index["weight_map"].items():
        by_file.setdefault(name, []).append(key)
    return {"max_shard_size": "20KB", "files": {name: sorted(keys) for name, keys in sorted(by_file.items())}}


def push_signature() -> dict[str, Any]:
    from transformers import BertModel

    params = inspect.signature(BertModel.push_to_hub).parameters.values()
    return {"positional": [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"]}


def wav2vec2(tmp: Path) -> dict[str, Any]:
    import numpy as np
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2Processor

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
    }
    raw = Wav2Vec2FeatureExtractor(do_normalize=False, return_attention_mask=True)
    cases.update({
        "raw_two_clips_padded": ([a, b], {"padding": True}),
        "raw_one_clip": (a, {}),
        "raw_truncated_ragged": ([a, b], {"truncation": True, "max_length": 90}),
        "raw_stacked_2d": (np.stack([a, a]), {}),
    })
    described = {}
    for name, (audio, options) in cases.items():
        out = (raw if name.startswith("raw_") else fe)(audio, sampling_rate=16000, **options)
        described[name] = {"type": type(out).__name__, "keys": list(out.keys()),
                           "values": {k: describe(v) for k, v in out.items()}}
    vocab = tmp / "vocab.json"
    vocab.write_text(json.dumps({"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "a": 5, "b": 6}))
    processor = Wav2Vec2Processor(feature_extractor=fe, tokenizer=Wav2Vec2CTCTokenizer(str(vocab)))
    return {"feature_extractor": described, "processor_model_input_names": list(processor.model_input_names),
            "feature_extractor_model_input_names": list(fe.model_input_names)}


def model_output() -> dict[str, Any]:
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(**TINY_BERT)).eval()
    ids = torch.tensor([[2, 5, 6, 3]])
    plain = model(ids)
    labelled = model(ids, labels=torch.tensor([1]))
    hidden = model(ids, output_hidden_states=True)
    return {
        "is_dict": isinstance(plain, dict),
        "keys": list(plain.keys()),
        "keys_with_labels": list(labelled.keys()),
        "keys_with_hidden_states": list(hidden.keys()),
        "to_tuple_length_with_hidden_states": len(hidden.to_tuple()),
        "index_0_is_loss_with_labels": labelled[0] is labelled["loss"],
        "return_dict_false_type": type(model(ids, return_dict=False)).__name__,
    }


def tokenizer(tmp: Path) -> dict[str, Any]:
    from transformers import BertTokenizer, BertTokenizerFast

    vocab = tmp / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    result: dict[str, Any] = {}
    for kind, cls in (("slow", BertTokenizer), ("fast", BertTokenizerFast)):
        tok = cls(str(vocab))
        batch = tok(["the quick brown fox jumps", "a lazy dog"], padding=True)
        entry: dict[str, Any] = {
            "batch": jsonable(dict(batch)),
            "batch_decode": tok.batch_decode(batch["input_ids"], skip_special_tokens=True),
            "pad": jsonable(dict(tok.pad({"input_ids": [[2, 5, 3], [2, 3]]}, padding="max_length", max_length=5))),
        }
        if kind == "fast":
            entry["word_ids"] = [batch.word_ids(0), batch.word_ids(1)]
            windows = tok(["a b c d e f g"], truncation=True, max_length=5, stride=1, return_overflowing_tokens=True)
            entry["overflow"] = {k: jsonable(v) for k, v in windows.items()}
        result[kind] = entry
    return result


def generate(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        contracts = {
            "loading_info": loading_info(tmp),
            "config": config_idioms(tmp),
            "shards": shards(tmp),
            "push_to_hub": push_signature(),
            "wav2vec2": wav2vec2(tmp),
            "model_output": model_output(),
            "tokenizer": tokenizer(tmp),
        }
    write_json(out / "contracts" / "contracts.json", contracts)
