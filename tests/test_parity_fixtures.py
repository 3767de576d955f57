"""The committed reference-parity fixtures are well-formed (no modelyard model code involved).

With MODELYARD_PARITY_DIR set (`make parity-live`), the same checks run on a freshly regenerated folder.
The `reference`-marked test regenerates the fixtures with .venv-ref and checks they match the committed
ones as the tests read them (floats within a bound, the rest exactly); it is skipped where .venv-ref is missing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from common.parity import (
    COMMITTED_DIR,
    FAMILIES,
    load_json_fixture,
    load_minilm_case,
    load_model_case,
    load_npz_fixture,
    minilm_model_dir,
    model_case_names,
    parity_dir,
    tokenizer_expected,
)
from safetensors.torch import load_file, save_file

REPO_ROOT = Path(__file__).resolve().parents[1]
REF_PY = REPO_ROOT / ".venv-ref" / "bin" / "python"
TOTAL_BUDGET = 6 * 1024 * 1024  # the whole folder: nine families, tokenizers, generation and pipelines
FILE_BUDGET = 512 * 1024  # any one file

# Every class the families must be compared on, by family.
REQUIRED_CLASSES = {
    "bert": {"BertModel", "BertForMaskedLM", "BertForSequenceClassification", "BertForTokenClassification",
             "BertForQuestionAnswering", "BertForMultipleChoice", "BertForPreTraining", "BertForNextSentencePrediction",
             "BertLMHeadModel"},
    "distilbert": {"DistilBertModel", "DistilBertForMaskedLM", "DistilBertForSequenceClassification",
                   "DistilBertForTokenClassification", "DistilBertForQuestionAnswering",
                   "DistilBertForMultipleChoice"},
    "roberta": {"RobertaModel", "RobertaForMaskedLM", "RobertaForCausalLM", "RobertaForSequenceClassification",
                "RobertaForTokenClassification", "RobertaForQuestionAnswering", "RobertaForMultipleChoice"},
    "vit": {"ViTModel", "ViTForImageClassification", "ViTForMaskedImageModeling"},
    "wav2vec2": {"Wav2Vec2Model", "Wav2Vec2ForCTC", "Wav2Vec2ForSequenceClassification", "Wav2Vec2ForPreTraining",
                 "Wav2Vec2ForMaskedLM"},
    "resnet": {"ResNetModel", "ResNetForImageClassification", "ResNetBackbone"},
    "gpt2": {"GPT2Model", "GPT2LMHeadModel", "GPT2ForSequenceClassification", "GPT2ForTokenClassification",
             "GPT2ForQuestionAnswering"},
    **{family: {f"{prefix}Model", f"{prefix}ForCausalLM", f"{prefix}ForSequenceClassification",
                f"{prefix}ForTokenClassification", f"{prefix}ForQuestionAnswering"}
       for family, prefix in (("llama", "Llama"), ("mistral", "Mistral"), ("qwen2", "Qwen2"))},
    "opt": {"OPTModel", "OPTForCausalLM", "OPTForSequenceClassification", "OPTForQuestionAnswering"},
}


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_parity_dir_and_budget() -> None:
    root = parity_dir()
    assert (root / "README.json").is_file()
    files = _files(root)
    total = sum(p.stat().st_size for p in files)
    assert total < TOTAL_BUDGET, f"parity fixtures take {total / 2**20:.2f} MiB (budget {TOTAL_BUDGET / 2**20} MiB)"
    big = [f"{p.relative_to(root)} ({p.stat().st_size} bytes)" for p in files if p.stat().st_size > FILE_BUDGET]
    assert not big, f"fixture files over {FILE_BUDGET} bytes: {big}"
    assert not [p for p in files if p.suffix in {".pt", ".bin", ".pkl", ".pickle"}], "no pickles in fixtures"


def test_every_family_and_class_has_cases() -> None:
    names = model_case_names()
    assert len(names) >= 30
    for family in FAMILIES:
        classes = {load_model_case(n).class_name for n in model_case_names(family)}
        missing = REQUIRED_CLASSES[family] - classes
        assert not missing, f"{family}: no parity case for {sorted(missing)}"
    assert sorted(n for f in FAMILIES for n in model_case_names(f)) == names


@pytest.mark.parametrize("name", model_case_names())
def test_parity_model_case_is_well_formed(name: str) -> None:
    import torch
    from safetensors import safe_open

    case = load_model_case(name)
    meta = case.meta
    for key in ("class", "config_class", "family", "reference", "forward_kwargs", "forward_options", "outputs"):
        assert key in meta, f"{name}: case.json lacks {key!r}"
    assert meta["reference"].startswith("transformers "), meta["reference"]
    assert meta["family"] in FAMILIES

    # the checkpoint: the case's own folder, or the case it re-uses
    if "checkpoint" in meta:
        assert meta["checkpoint"] in model_case_names(), f"{name}: unknown checkpoint case {meta['checkpoint']}"
        assert isinstance(meta.get("config_overrides"), dict)
        assert not (case.case_folder / "model.safetensors").exists()
    assert case.folder.is_dir()
    for filename in ("config.json", "model.safetensors"):
        assert (case.folder / filename).is_file(), f"{name}: {case.folder / filename} is missing"
    config = json.loads((case.folder / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == meta["family"]
    assert config.get("transformers_version"), "config.json records the reference version"
    with safe_open(str(case.folder / "model.safetensors"), "pt") as f:
        weight_keys = list(f.keys())
        assert f.metadata().get("format") == "pt"
    assert weight_keys

    # io.safetensors: inputs are the forward kwargs, outputs are tensors listed in case.json
    with safe_open(str(case.case_folder / "io.safetensors"), "pt") as f:
        keys = list(f.keys())
        assert f.metadata().get("reference") == meta["reference"]
    assert all(k.startswith(("input.", "output.")) for k in keys), keys
    assert sorted(case.inputs) == sorted(meta["forward_kwargs"])
    assert sorted(f"output.{k}" for k in case.outputs) == sorted(meta["outputs"])
    assert case.outputs, f"{name}: no outputs"
    for key, value in case.outputs.items():
        assert isinstance(value, torch.Tensor), key
        assert value.is_floating_point(), f"{key} is {value.dtype}"
        assert torch.isfinite(value).all(), f"{name}: output.{key} is not finite"
    for key, value in case.inputs.items():
        assert isinstance(value, torch.Tensor), key
    if "labels" in case.inputs or "start_positions" in case.inputs:
        assert case.outputs["loss"].dim() == 0
    if "hidden_states.0" in case.outputs:
        hidden = case.output_tuple("hidden_states")
        assert len(hidden) >= 2
    if case.forward_options.get("output_attentions"):
        assert case.output_tuple("attentions"), f"{name}: attentions were asked for"


def test_wav2vec2_cases_cover_both_weight_norm_key_names() -> None:
    from safetensors import safe_open

    seen = set()
    for name in model_case_names("wav2vec2"):
        case = load_model_case(name)
        with safe_open(str(case.folder / "model.safetensors"), "pt") as f:
            keys = [k for k in f.keys() if "pos_conv_embed.conv." in k]
        legacy = any(k.endswith((".weight_g", ".weight_v")) for k in keys)
        param = any(".parametrizations.weight.original" in k for k in keys)
        assert legacy != param, f"{name}: {keys}"
        assert case.meta["weight_norm_keys"] == ("legacy" if legacy else "parametrizations")
        seen.add(case.meta["weight_norm_keys"])
    assert seen == {"legacy", "parametrizations"}


def test_wav2vec2_cases_cover_both_variants_and_attention_masks() -> None:
    variants = set()
    for name in model_case_names("wav2vec2"):
        case = load_model_case(name)
        config = json.loads((case.folder / "config.json").read_text(encoding="utf-8"))
        variants.add((config["feat_extract_norm"], config["do_stable_layer_norm"]))
        if "attention_mask" in case.inputs:
            assert config["feat_extract_norm"] == "layer", name
    assert variants == {("group", False), ("layer", True)}


def test_minilm_fixture() -> None:
    case = load_minilm_case()
    assert set(case.inputs) == {"input_ids", "attention_mask", "token_type_ids"}
    assert set(case.outputs) == {"last_hidden_state", "pooler_output"}
    batch, seq = case.inputs["input_ids"].shape
    assert batch == len(case.meta["sentences"]) and case.inputs["attention_mask"].min() == 0  # some padding
    assert tuple(case.outputs["last_hidden_state"].shape) == (batch, seq, 384)
    assert tuple(case.outputs["pooler_output"].shape) == (batch, 384)
    if minilm_model_dir() is not None:
        assert (case.folder / "model.safetensors").is_file()


def test_tokenizer_fixtures() -> None:
    corpus = load_json_fixture("tokenizers/corpus.json")
    singles = corpus["singles"]
    assert len(singles) >= 140 and "" in singles and any(len(w) > 100 for w in singles)
    bert = load_json_fixture("tokenizers/bert_wordpiece.json")
    assert [row["text"] for row in bert["singles"]] == singles
    assert [[row["text"], row["text_pair"]] for row in bert["pairs"]] == corpus["pairs"]
    for row in bert["singles"] + bert["pairs"]:
        for setting in ("uncased", "cased"):
            for impl in ("slow", "fast"):
                rec = tokenizer_expected(row[setting], impl)
                for key in ("ids", "special_tokens_mask", "token_type_ids", "decode", "decode_skip_special"):
                    assert key in rec, (row["i"], setting, impl, key)
                assert len(rec["special_tokens_mask"]) == len(rec["ids"]) == len(rec["token_type_ids"])
                if impl == "fast":
                    assert len(rec["offsets"]) == len(rec["word_ids"]) == len(rec["ids"])
    for call in bert["calls"]:
        for setting in ("uncased", "cased"):
            for impl in ("slow", "fast"):
                rec = tokenizer_expected(call[setting], impl)
                assert "error" in rec or "input_ids" in rec, call["n"]
    added = load_json_fixture("tokenizers/bert_added_tokens.json")
    assert [row["text"] for row in added["texts"]] == corpus["added_token_texts"]
    ctc = load_json_fixture("tokenizers/wav2vec2_ctc.json")
    vocab = load_json_fixture("tokenizers/wav2vec2_vocab.json")
    assert vocab["<pad>"] == 0 and "|" in vocab
    assert ctc["decodes"] and ctc["texts"] and ctc["batch_decode"]["batch_decode"]


def test_feature_extraction_fixtures() -> None:
    cases = load_json_fixture("feature_extraction/cases.json")
    inputs = load_npz_fixture("feature_extraction/inputs.npz")
    expected = load_npz_fixture("feature_extraction/expected.npz")
    used = set()
    for case in cases["cases"]:
        assert set(case["inputs"]) <= set(inputs), case["name"]
        assert case["to_dict"] and case["repr"].startswith(case["class"])
        for spec in case["outputs"].values():
            for key in spec.get("keys", [spec.get("key")]):
                assert key in expected, key
                used.add(key)
        assert case["outputs"] or "reference_error" in case, case["name"]
    assert used == set(expected), f"unlisted arrays: {sorted(set(expected) - used)}"
    assert {c["class"] for c in cases["cases"]} == {"ViTFeatureExtractor", "ViTImageProcessor", "CLIPImageProcessor",
                                                    "CLIPFeatureExtractor", "Wav2Vec2FeatureExtractor"}
    for key, value in expected.items():
        assert value.dtype.kind in "fi", key


def test_parity_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELYARD_PARITY_DIR", str(tmp_path))
    assert parity_dir() == tmp_path.resolve()
    monkeypatch.setenv("MODELYARD_PARITY_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="make fixtures"):
        parity_dir()


def _close_json(fresh: Any, committed: Any, where: str) -> list[str]:
    """Where two parsed JSON documents differ: floats within 1e-5 of their magnitude, the rest exactly."""
    if isinstance(fresh, float) and isinstance(committed, (int, float)) and not isinstance(committed, bool):
        ok = abs(fresh - committed) <= 1e-5 * max(1.0, abs(committed))
        return [] if ok else [f"{where}: {fresh!r} != {committed!r}"]
    if isinstance(fresh, dict) and isinstance(committed, dict):
        if fresh.keys() != committed.keys():
            return [f"{where}: keys {sorted(set(fresh) ^ set(committed))}"]
        return [d for k in fresh for d in _close_json(fresh[k], committed[k], f"{where}.{k}")]
    if isinstance(fresh, list) and isinstance(committed, list):
        if len(fresh) != len(committed):
            return [f"{where}: length {len(fresh)} != {len(committed)}"]
        return [d for i, (a, b) in enumerate(zip(fresh, committed)) for d in _close_json(a, b, f"{where}[{i}]")]
    return [] if fresh == committed else [f"{where}: {fresh!r} != {committed!r}"]


def _close_arrays(fresh: dict[str, Any], committed: dict[str, Any], where: str) -> list[str]:
    """Same names, dtypes and shapes; integers exact; floats within a bound far below any real change.

    Regenerating on another CPU moves floats in the last bits: torch's vectorised normal_ (the random
    weights) and every kernel round differently per instruction set, so bytes are compared only where no
    float arithmetic is involved.
    """
    if fresh.keys() != committed.keys():
        return [f"{where}: arrays {sorted(set(fresh) ^ set(committed))}"]
    diffs = []
    for key in fresh:
        a, b = np.asarray(fresh[key]), np.asarray(committed[key])
        if a.dtype != b.dtype or a.shape != b.shape:
            diffs.append(f"{where}:{key}: {a.dtype}{a.shape} != {b.dtype}{b.shape}")
        elif a.dtype.kind == "f":
            scale = max(1.0, float(np.abs(b.astype(np.float64)).max()) if b.size else 0.0)
            worst = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max()) if b.size else 0.0
            if worst > 1e-4 * scale:
                diffs.append(f"{where}:{key}: off by {worst:.3g} (scale {scale:.3g})")
        elif not np.array_equal(a, b):
            diffs.append(f"{where}:{key}: values differ")
    return diffs


def _load_arrays(path: Path) -> dict[str, Any]:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    tensors = load_file(str(path))
    return {k: (v.float() if v.dtype == torch.bfloat16 else v).numpy() for k, v in tensors.items()}


def fixture_differences(fresh_dir: Path, committed_dir: Path) -> list[str]:
    """What a regenerated fixture folder changes, judged as the tests read the files (see _close_arrays)."""
    fresh = {p.relative_to(fresh_dir) for p in _files(fresh_dir)}
    committed = {p.relative_to(committed_dir) for p in _files(committed_dir)}
    if fresh != committed:
        return [f"files only on one side: {sorted(str(p) for p in fresh ^ committed)}"]
    diffs: list[str] = []
    for rel in sorted(fresh):
        a, b = fresh_dir / rel, committed_dir / rel
        if rel.suffix == ".json":
            diffs += _close_json(json.loads(a.read_text()), json.loads(b.read_text()), str(rel))
        elif rel.suffix in {".safetensors", ".npz"}:
            diffs += _close_arrays(_load_arrays(a), _load_arrays(b), str(rel))
        elif a.read_bytes() != b.read_bytes():
            diffs.append(f"{rel}: bytes differ")
    return diffs


def test_fixture_comparison_tells_a_rounding_from_a_change(tmp_path: Path) -> None:
    committed, fresh = tmp_path / "committed", tmp_path / "fresh"
    committed.mkdir()
    fresh.mkdir()
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8
    save_file({"logits": base, "input.ids": torch.arange(4)}, str(committed / "io.safetensors"))
    (committed / "meta.json").write_text(json.dumps({"score": 0.5, "label": "POSITIVE", "ids": [1, 2]}))
    # last-bit rounding on another CPU: equal as the tests read them
    save_file({"logits": torch.nextafter(base, torch.tensor(2.0)), "input.ids": torch.arange(4)},
              str(fresh / "io.safetensors"))
    (fresh / "meta.json").write_text(json.dumps({"score": 0.5 + 1e-12, "label": "POSITIVE", "ids": [1, 2]}))
    assert fixture_differences(fresh, committed) == []
    # a real change in each kind of file is reported
    save_file({"logits": base + 0.01, "input.ids": torch.arange(4) + 1}, str(fresh / "io.safetensors"))
    (fresh / "meta.json").write_text(json.dumps({"score": 0.6, "label": "NEGATIVE", "ids": [1, 2]}))
    found = "\n".join(fixture_differences(fresh, committed))
    assert "logits: off by" in found and "input.ids: values differ" in found
    assert "score" in found and "label" in found


@pytest.mark.reference
@pytest.mark.slow
@pytest.mark.skipif(not REF_PY.exists(), reason="needs the reference environment (make reference)")
def test_committed_fixtures_match_the_generator(tmp_path: Path) -> None:
    out = tmp_path / "parity"
    result = subprocess.run(
        [str(REF_PY), str(REPO_ROOT / "tools" / "reference" / "generate.py"), "--out", str(out)],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    stale = fixture_differences(out, COMMITTED_DIR)
    assert not stale, f"committed fixtures differ from the generator; run `make fixtures`: {stale[:20]}"
