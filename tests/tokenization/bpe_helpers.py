"""Helpers of the byte-level BPE / sentencepiece parity tests: the fixture, our classes, the records the
generator (tools/reference/gen_bpe_tokenizers.py) wrote, computed with our tokenizers."""

from __future__ import annotations

import importlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from common.parity import parity_dir

from modelyard import AddedToken

CLASSES = {
    "gpt2": ("modelyard.models.gpt2.tokenization_gpt2.GPT2Tokenizer",
             "modelyard.models.gpt2.tokenization_gpt2_fast.GPT2TokenizerFast"),
    "qwen2": ("modelyard.models.qwen2.tokenization_qwen2.Qwen2Tokenizer",
              "modelyard.models.qwen2.tokenization_qwen2_fast.Qwen2TokenizerFast"),
    "llama": ("modelyard.models.llama.tokenization_llama.LlamaTokenizer",
              "modelyard.models.llama.tokenization_llama_fast.LlamaTokenizerFast"),
}  # fmt: skip


def fixture_root() -> Path:
    return parity_dir() / "bpe_tokenizers"


@lru_cache(maxsize=1)
def expected() -> dict[str, Any]:
    lines = (fixture_root() / "expected.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["key"]: row["value"] for row in map(json.loads, lines)}


def tokenizer_class(family: str, impl: str) -> type:
    module, name = CLASSES[family][impl == "fast"].rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def load(family: str, impl: str, kwargs: dict[str, Any] | None = None, *, added: bool = False) -> Any:
    tok = tokenizer_class(family, impl).from_pretrained(fixture_root() / family, **(kwargs or {}))
    if added:
        tok.add_tokens([AddedToken(t["content"], **{k: v for k, v in t.items() if k != "content"})
                        for t in expected()["added_tokens"]])  # fmt: skip
        special = expected()["added_special"]  # in the generator's order (the JSON file sorts keys)
        tok.add_special_tokens({"pad_token": special["pad_token"],
                                "additional_special_tokens": special["additional_special_tokens"]})
    return tok


def attempt(fn: Any) -> Any:
    try:
        return fn()
    except Exception as err:
        return {"error": type(err).__name__}


def text_record(tok: Any, impl: str, text: str, full: bool) -> dict[str, Any]:
    enc = tok(text, return_offsets_mapping=impl == "fast" and full)
    ids = enc["input_ids"]
    rec: dict[str, Any] = {
        "text": text,
        "ids": ids,
        "decode": tok.decode(ids),
        "decode_skip": tok.decode(ids, skip_special_tokens=True),
    }
    if full and impl == "slow":
        rec["tokens"] = tok.convert_ids_to_tokens(ids)
        rec["decode_clean"] = tok.decode(ids, clean_up_tokenization_spaces=True)
    if full and impl == "fast":
        rec["offsets"] = [list(o) for o in enc["offset_mapping"]]
    return rec


def normalise(row: Any) -> Any:
    """Errors compare by their happening only (the reference raises AssertionError/ValueError where we raise
    TokenizerError)."""
    if isinstance(row, dict) and "error" in row:
        return {"error": True}
    if isinstance(row, dict):
        return {k: normalise(v) for k, v in row.items()}
    if isinstance(row, list):
        return [normalise(v) for v in row]
    return row


PAIRS = [("Hello world", "How are you?"), ("  spaced  ", "x<|endoftext|>y"), ("first", "")]


def records(tok: Any, impl: str, reference_rows: list[dict[str, Any]], full: bool) -> list[Any]:
    """Our rows for the texts the reference rows name, plus the pair/split-word/summary rows."""
    rows: list[Any] = [attempt(lambda r=r: text_record(tok, impl, r["text"], full)) for r in reference_rows if "text" in r]
    rows.append({"pairs": [attempt(lambda p=p: tok(*p)["input_ids"]) for p in PAIRS]})
    rows.append({"split_words": attempt(lambda: tok(["Hello", "big", "world"], is_split_into_words=True)["input_ids"])})
    rows.append({"vocab_size": tok.vocab_size, "len": len(tok), "special_tokens_map": tok.special_tokens_map,
                 "all_special_ids": tok.all_special_ids})  # fmt: skip
    return rows
