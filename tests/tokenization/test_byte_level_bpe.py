"""Byte-level BPE and sentencepiece tokenizers: behaviour the parity rows do not pin down (files, conversion,
options, errors), tested the way users call them."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest
from bpe_helpers import fixture_root, load, tokenizer_class

from modelyard.errors import TokenizerError
from modelyard.tokenization import byte_level_bpe
from modelyard.tokenization.byte_level_bpe import bytes_to_unicode, gpt2_pattern, merge_word

TEXTS = ["Hello world!", "  spaced\tout\n\nlines ", "émoji 🙂 and 東京", "CAN'T it's 1234", "<|endoftext|> end"]


def test_byte_alphabet_is_a_bijection_of_printable_characters() -> None:
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256))
    assert len(set(table.values())) == 256
    assert all(not char.isspace() and char.isprintable() for char in table.values())
    assert table[ord("A")] == "A" and table[ord(" ")] == "\u0120"  # "Ġ": GPT-2's space


def test_pre_tokenizer_uses_unicode_letter_and_number_classes() -> None:
    pattern = gpt2_pattern()
    assert pattern.findall("Hello  world's x²½ 東京!!") == ["Hello", " ", " world", "'s", " x", "²½", " 東京", "!!"]
    # \s is Unicode White_Space (U+001C..U+001F are not, unlike Python's str.isspace)
    assert pattern.findall("a\x1cb") == ["a", "\x1c", "b"]
    assert pattern.findall("a\u3000b") == ["a", "\u3000", "b"]


def test_merge_word_applies_lowest_rank_first_everywhere() -> None:
    ranks = {("a", "b"): 0, ("b", "c"): 1, ("ab", "c"): 2}
    assert merge_word(list("abcabc"), ranks) == ["abc", "abc"]
    assert merge_word(list("bcbc"), ranks) == ["bc", "bc"]
    assert merge_word(list("x"), ranks) == ["x"]


@pytest.mark.parametrize("family", ["gpt2", "qwen2"])
def test_slow_save_round_trip_keeps_files_and_ids(tmp_path: Path, family: str) -> None:
    slow = load(family, "slow")
    slow.save_pretrained(tmp_path)
    source = fixture_root() / family
    assert json.loads((tmp_path / "vocab.json").read_text()) == json.loads((source / "vocab.json").read_text())
    assert (tmp_path / "merges.txt").read_text().splitlines()[1:] == [
        line for line in (source / "merges.txt").read_text().splitlines()[1:] if line
    ]
    again = tokenizer_class(family, "slow").from_pretrained(tmp_path)
    assert [again(t)["input_ids"] for t in TEXTS] == [slow(t)["input_ids"] for t in TEXTS]


@pytest.mark.parametrize("family", ["gpt2", "qwen2"])
def test_fast_converted_from_vocab_and_merges_equals_tokenizer_json(tmp_path: Path, family: str) -> None:
    """Conversion slow -> fast (no tokenizer.json) gives the ids of the reference-saved tokenizer.json."""
    source = fixture_root() / family
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"):
        if (source / name).exists():
            (tmp_path / name).write_bytes((source / name).read_bytes())
    converted = tokenizer_class(family, "fast").from_pretrained(tmp_path)
    saved = load(family, "fast")
    assert [converted(t)["input_ids"] for t in TEXTS] == [saved(t)["input_ids"] for t in TEXTS]
    assert converted.decode(converted("émoji 🙂")["input_ids"]) == "émoji 🙂"


def test_gpt2_prefix_space_bos_and_pair_layout() -> None:
    plain, spaced = load("gpt2", "slow"), load("gpt2", "slow", {"add_prefix_space": True})
    assert spaced("Hello")["input_ids"] == plain(" Hello")["input_ids"] != plain("Hello")["input_ids"]
    assert plain("Hello", add_prefix_space=True)["input_ids"] == spaced("Hello")["input_ids"]
    bos = load("gpt2", "slow", {"add_bos_token": True})
    ids = bos("a", "b", return_special_tokens_mask=True)
    assert ids["input_ids"][0] == bos.bos_token_id and ids["special_tokens_mask"][0] == 1
    assert ids["input_ids"].count(bos.bos_token_id) == 2


def test_gpt2_fast_split_words_need_prefix_space() -> None:
    with pytest.raises(TokenizerError, match="add_prefix_space=True"):
        load("gpt2", "fast")(["Hello", "world"], is_split_into_words=True)
    spaced = load("gpt2", "fast", {"add_prefix_space": True})
    word_ids = spaced(["Hello", "world"], is_split_into_words=True).word_ids()
    assert word_ids == sorted(word_ids) and set(word_ids) == {0, 1}


def test_errors_replace_decodes_partial_utf8() -> None:
    slow, fast = load("gpt2", "slow"), load("gpt2", "fast")
    ids = slow("\U0001d518")["input_ids"]  # a 4-byte character the tiny vocabulary never merged
    assert len(ids) > 1
    assert slow.decode(ids[:-1]).endswith("\ufffd") and fast.decode(ids[:-1]).endswith("\ufffd")
    strict = load("gpt2", "slow", {"errors": "strict"})
    with pytest.raises(UnicodeDecodeError):
        strict.decode(ids[:-1])


def test_word_cache_is_bounded_and_consistent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(byte_level_bpe, "WORD_CACHE_LIMIT", 3)
    tok = load("gpt2", "slow")
    reference = [load("gpt2", "slow")(t)["input_ids"] for t in TEXTS]
    assert [tok(t)["input_ids"] for t in TEXTS * 2] == reference * 2
    assert len(tok._id_cache) <= 3 and len(tok.cache) <= 3


def test_added_token_after_encoding_invalidates_cached_ids() -> None:
    tok = load("gpt2", "slow")
    before = tok("zzz qqq")["input_ids"]
    tok.add_tokens(["qqq"])
    after = tok("zzz qqq")["input_ids"]
    assert after != before and after[-1] == tok.convert_tokens_to_ids("qqq")


def test_qwen2_normalises_to_nfc_and_keeps_specials_whole() -> None:
    slow, fast = load("qwen2", "slow"), load("qwen2", "fast")
    for tok in (slow, fast):
        assert tok("e\u0301")["input_ids"] == tok("é")["input_ids"]
        ids = tok("<|im_start|>user")["input_ids"]
        assert ids[0] == tok.convert_tokens_to_ids("<|im_start|>")
        assert tok.decode(ids) == "<|im_start|>user"
    assert slow("<|im_start|>", split_special_tokens=True)["input_ids"] != slow("<|im_start|>")["input_ids"]


def test_llama_options_and_save_round_trip(tmp_path: Path) -> None:
    slow = load("llama", "slow")
    assert slow("hi")["input_ids"][0] == slow.bos_token_id
    eos = load("llama", "slow", {"add_eos_token": True, "add_bos_token": False})
    assert eos("hi")["input_ids"][-1] == eos.eos_token_id and eos("hi")["input_ids"][0] != eos.bos_token_id
    fast = load("llama", "fast")
    fast.add_eos_token = True  # rebuilds the backend's post-processor
    assert fast("hi")["input_ids"][-1] == fast.eos_token_id
    slow.save_pretrained(tmp_path)
    assert (tmp_path / "tokenizer.model").read_bytes() == (fixture_root() / "llama" / "tokenizer.model").read_bytes()
    again = tokenizer_class("llama", "slow").from_pretrained(tmp_path)
    assert again("Hello world")["input_ids"] == slow("Hello world")["input_ids"]
    clone = pickle.loads(pickle.dumps(slow))
    assert clone("Hello world")["input_ids"] == slow("Hello world")["input_ids"]


def test_llama_fast_without_model_file_cannot_save_slow_files(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (tmp_path / "src" / name).write_bytes((fixture_root() / "llama" / name).read_bytes())
    fast = tokenizer_class("llama", "fast").from_pretrained(tmp_path / "src")
    assert not fast.can_save_slow_tokenizer
    written = fast.save_pretrained(tmp_path / "out")
    assert not any(str(path).endswith("tokenizer.model") for path in written)
    with pytest.raises(TokenizerError, match="legacy_format=False"):
        fast.save_vocabulary(str(tmp_path / "out"))


def test_missing_sentencepiece_file_error_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match=re.escape(str(tmp_path / "nope.model"))):
        tokenizer_class("llama", "slow")(vocab_file=str(tmp_path / "nope.model"))
