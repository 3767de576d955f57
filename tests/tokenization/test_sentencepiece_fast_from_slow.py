"""A fast sentencepiece tokenizer saved without tokenizer.json (only tokenizer.model, as many hub repositories and
remote-code repositories ship it) converts the slow tokenizer loaded from the same files, as the reference does:
the slow tokenizer's own defaults (Llama's add_prefix_space=True) reach the conversion, so fast and slow agree."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import modelyard

sentencepiece = pytest.importorskip("sentencepiece")

TEXT = ("the quick brown fox jumps over the lazy dog", "hello how are you today", "tell me a story about a cat")


def _folder(tmp_path: Path, model_type: str) -> Path:
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(TEXT * 4), model_writer=model, vocab_size=48, model_type=model_type,
        character_coverage=1.0, hard_vocab_limit=False, num_threads=1, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        user_defined_symbols=["<AI>"], minloglevel=2,
    )
    (tmp_path / "tokenizer.model").write_bytes(model.getvalue())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizer", "legacy": True}))
    return tmp_path


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_fast_llama_from_tokenizer_model_alone_matches_slow(tmp_path: Path, model_type: str) -> None:
    folder = _folder(tmp_path, model_type)
    slow = modelyard.AutoTokenizer.from_pretrained(folder, use_fast=False)
    fast = modelyard.AutoTokenizer.from_pretrained(folder)
    assert type(fast).__name__ == "LlamaTokenizerFast" and type(slow).__name__ == "LlamaTokenizer"
    processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
    for text in ("hello how are you", "tell me a story", "the lazy dog jumps"):
        expected = [1, *processor.encode(text)]  # sentencepiece's own ids, after <s>
        assert slow(text)["input_ids"] == expected
        assert fast(text)["input_ids"] == expected, text
        assert fast.decode(fast(text)["input_ids"], skip_special_tokens=True) == text
