"""Parity with the reference library's slow and fast tokenizers, from the committed fixtures.

Each fixture row holds the reference's output per setting (uncased/cased) and implementation (slow/fast);
our slow tokenizer must equal the reference's slow one and our fast one the reference's fast one.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from common.parity import load_json_fixture, parity_dir, tokenizer_expected
from tokenizer_helpers import IMPLS, SETTINGS, load_bert

from modelyard import AddedToken, Wav2Vec2CTCTokenizer

BERT = load_json_fixture("tokenizers/bert_wordpiece.json")
ADDED = load_json_fixture("tokenizers/bert_added_tokens.json")
CTC = load_json_fixture("tokenizers/wav2vec2_ctc.json")


def encode_record(tok: Any, impl: str, text: str | None = None, pair: list[str] | None = None) -> dict[str, Any]:
    """What the fixture generator recorded, computed with our tokenizer."""
    args = (text,) if pair is None else tuple(pair)
    enc = tok(*args, return_special_tokens_mask=True, return_token_type_ids=True, return_attention_mask=False,
              return_offsets_mapping=impl == "fast")
    ids = enc["input_ids"]
    record = {
        "ids": ids,
        "special_tokens_mask": enc["special_tokens_mask"],
        "token_type_ids": enc["token_type_ids"],
        "decode": tok.decode(ids),
        "decode_skip_special": tok.decode(ids, skip_special_tokens=True),
    }
    if pair is None:
        record["tokenize"] = tok.tokenize(text)
    else:
        record["tokens"] = tok.convert_ids_to_tokens(ids)
    if impl == "fast":
        record["offsets"] = [list(o) for o in enc["offset_mapping"]]
        record["word_ids"] = enc.word_ids()
        if pair is not None:
            record["sequence_ids"] = enc.sequence_ids()
    return record


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("impl", IMPLS)
def test_settings_parity(bert_tokenizers, impl: str, setting: str) -> None:
    tok = bert_tokenizers[impl, setting]
    expected = BERT["settings"][setting][impl]
    assert type(tok).__name__ == expected["class"]
    assert tok.clean_up_tokenization_spaces == expected["clean_up_tokenization_spaces"]
    assert tok.model_max_length == expected["model_max_length"]
    assert tok.vocab_size == expected["vocab_size"]
    assert len(tok) == expected["len"]
    assert tok.special_tokens_map == expected["special_tokens"]
    assert tok.all_special_ids == expected["all_special_ids"]


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("impl", IMPLS)
def test_singles_and_pairs_parity(bert_tokenizers, impl: str, setting: str) -> None:
    tok = bert_tokenizers[impl, setting]
    for row in BERT["singles"]:
        assert encode_record(tok, impl, text=row["text"]) == tokenizer_expected(row[setting], impl), row["text"]
    for row in BERT["pairs"]:
        got = encode_record(tok, impl, pair=[row["text"], row["text_pair"]])
        assert got == tokenizer_expected(row[setting], impl), (row["text"], row["text_pair"])


class _Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("impl", IMPLS)
def test_calls_parity(impl: str, setting: str) -> None:
    """Truncation strategies, overflow windows, batches, padding options: same lists as the reference."""
    tok = load_bert(impl, setting)  # attributes are changed per call
    for call in BERT["calls"]:
        expected = tokenizer_expected(call[setting], impl)
        logged_in_reference = expected.pop("logged", [])
        saved = {k: getattr(tok, k) for k in call["attributes"]}
        for key, value in call["attributes"].items():
            setattr(tok, key, value)
        try:
            if "error" in expected:
                with pytest.raises(ValueError):
                    tok(*call["args"], **call["kwargs"])
                continue
            got = tok(*call["args"], **call["kwargs"])
        finally:
            for key, value in saved.items():
                setattr(tok, key, value)
        assert dict(sorted(got.items())) == expected, (call["n"], call["kwargs"])
        del logged_in_reference  # messages are ours to word; what matters is the output


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("impl", IMPLS)
def test_decodes_parity(bert_tokenizers, impl: str, setting: str) -> None:
    tok = bert_tokenizers[impl, setting]
    for row in BERT["decodes"]:
        expected = tokenizer_expected(row[setting], impl)
        ids = row["ids"]
        got = {
            "decode": tok.decode(ids),
            "decode_skip_special": tok.decode(ids, skip_special_tokens=True),
            "decode_no_cleanup": tok.decode(ids, clean_up_tokenization_spaces=False),
            "decode_cleanup": tok.decode(ids, clean_up_tokenization_spaces=True),
            "tokens": tok.convert_ids_to_tokens(ids),
        }
        assert {k: got[k] for k in expected} == expected, ids


def _with_added_tokens(impl: str, setting: str) -> Any:
    tok = load_bert(impl, setting)
    normal = [AddedToken(s["content"], special=False, **{k: v for k, v in s.items() if k != "content"}) for s in ADDED["added_normal"]]
    special = [AddedToken(s["content"], special=True, **{k: v for k, v in s.items() if k != "content"}) for s in ADDED["added_special"]]
    tok._fixture_returns = (tok.add_tokens(normal), tok.add_special_tokens({"additional_special_tokens": special}))
    return tok


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("impl", IMPLS)
def test_added_tokens_parity(impl: str, setting: str) -> None:
    tok = _with_added_tokens(impl, setting)
    setup = ADDED["setup"][setting][impl]
    assert tok._fixture_returns == (setup["add_tokens_returned"], setup["add_special_tokens_returned"])
    assert len(tok) == setup["len"]
    assert dict(sorted(tok.get_added_vocab().items())) == setup["added_vocab"]
    assert tok.additional_special_tokens == setup["additional_special_tokens"]
    decoder = {
        str(i): {"content": t.content, "lstrip": t.lstrip, "rstrip": t.rstrip, "single_word": t.single_word,
                 "normalized": t.normalized, "special": t.special}
        for i, t in sorted(tok.added_tokens_decoder.items()) if i >= 30522
    }
    assert decoder == setup["added_tokens_decoder"]
    for row in ADDED["texts"]:
        assert encode_record(tok, impl, text=row["text"]) == tokenizer_expected(row[setting], impl), row["text"]


@pytest.fixture(scope="module")
def ctc_vocab():
    return parity_dir() / "tokenizers" / "wav2vec2_vocab.json"


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_ctc_parity(ctc_vocab, setting: str) -> None:
    tok = Wav2Vec2CTCTokenizer(str(ctc_vocab), **SETTINGS[setting])
    info = CTC["settings"][setting]
    assert tok.word_delimiter_token == info["word_delimiter_token"]
    assert tok.special_tokens_map == info["special_tokens"]
    assert (len(tok), tok.vocab_size) == (info["len"], info["vocab_size"])
    assert tok.clean_up_tokenization_spaces == info["clean_up_tokenization_spaces"]
    for row in (r for r in CTC["texts"] if r["setting"] == setting):
        enc = tok(row["text"])
        got = {
            "tokenize": tok.tokenize(row["text"]),
            "ids": enc["input_ids"],
            "attention_mask": enc["attention_mask"],
            "decode": tok.decode(enc["input_ids"]),
            "decode_group_tokens_false": tok.decode(enc["input_ids"], group_tokens=False),
        }
        assert got == {k: row[k] for k in got}, row["text"]
    for row in (r for r in CTC["decodes"] if r["setting"] == setting):
        seq = row["ids"]
        out = tok.decode(seq, output_char_offsets=True, output_word_offsets=True)
        got = {
            "tokens": tok.convert_ids_to_tokens(seq),
            "decode": tok.decode(seq),
            "decode_keep_special": tok.decode(seq, skip_special_tokens=False),
            "decode_group_tokens_false": tok.decode(seq, group_tokens=False),
            "decode_spaces_between_special_tokens": tok.decode(seq, spaces_between_special_tokens=True),
            "offsets": {"text": out.text, "char_offsets": out.char_offsets, "word_offsets": out.word_offsets},
        }
        assert got == {k: row[k] for k in got}, seq


def test_ctc_batch_decode_parity(ctc_vocab) -> None:
    tok = Wav2Vec2CTCTokenizer(str(ctc_vocab))
    expected = CTC["batch_decode"]
    frames = expected["ids"]
    assert tok.batch_decode(frames) == expected["batch_decode"]
    assert tok.batch_decode(frames, skip_special_tokens=False) == expected["batch_decode_keep_special"]
    out = tok.batch_decode(frames, output_char_offsets=True, output_word_offsets=True)
    assert {"text": out.text, "char_offsets": out.char_offsets, "word_offsets": out.word_offsets} == expected["with_offsets"]
