"""Slow == fast: the pure-Python BertTokenizer and BertTokenizerFast agree on a hard corpus, for
do_lower_case True and False (ids, tokens, special-token masks, token types, decode), on pairs, truncation
and added tokens; and hypothesis properties on random Unicode.

Known differences of the reference itself are left out on purpose (they are checked against the reference
by test_tokenization_parity.py): an empty second text is "no pair" for the fast tokenizer; 'longest_first'
on pairs of equal length trims the other side first; the Rust decoder's own clean-up has fewer rules than
``clean_up_tokenization``; the fast normalizer does no NFC and knows an older Unicode (so the property tests
draw from characters assigned in Unicode 3.2 and NFC-normalize).
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from common.parity import load_json_fixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizer_helpers import SETTINGS, load_bert

CORPUS = load_json_fixture("tokenizers/corpus.json")
EXTRA = [
    "x" * 100, "y" * 101, "é" * 100 + "!", "unaffable" * 12, "a" + "\u200b" * 5 + "b", "\u00ad" * 3,
    "mixed\x00\x01control\x7f\x9fchars", "tab\ttab\r\nline\u2028sep\u2029para", "🙂" * 30, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝓂𝒶𝓉𝒽",
    "日本語のテキストとEnglish", "ｆｕｌｌｗｉｄｔｈ", "ŞİRKET İSTANBUL", "ὈΔΥΣΣΕΎΣ", "[CLS][SEP][PAD][UNK][MASK]",
    " [MASK] ", "a[MASK]b", "", "     ", "\u3000\u3000",
]
TEXTS = CORPUS["singles"] + EXTRA


def _pair(setting: str, **kwargs: Any) -> tuple[Any, Any]:
    slow = load_bert("slow", setting, clean_up_tokenization_spaces=False, **kwargs)
    fast = load_bert("fast", setting, clean_up_tokenization_spaces=False, **kwargs)
    from tokenizers import decoders

    # Compare decoding machinery, not the Rust decoder's own (smaller) clean-up rule set.
    fast.backend_tokenizer.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    return slow, fast


@pytest.fixture(scope="module", params=list(SETTINGS))
def slow_fast(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    return _pair(request.param)


def _record(tok: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    enc = tok(*args, return_special_tokens_mask=True, return_token_type_ids=True, **kwargs)
    ids = enc["input_ids"]
    return {
        **enc.data,
        "tokens": tok.convert_ids_to_tokens(ids),
        "decode": tok.decode(ids),
        "decode_skip": tok.decode(ids, skip_special_tokens=True),
        "decode_clean": tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True),
    }


def test_singles(slow_fast: tuple[Any, Any]) -> None:
    slow, fast = slow_fast
    for text in TEXTS:
        assert _record(slow, text) == _record(fast, text), repr(text)
        assert slow.tokenize(text) == fast.tokenize(text), repr(text)
        assert slow.encode(text, add_special_tokens=False) == fast.encode(text, add_special_tokens=False)


def test_pairs_and_batches(slow_fast: tuple[Any, Any]) -> None:
    slow, fast = slow_fast
    pairs = [p for p in CORPUS["pairs"] if p[1]] + [[a, b] for a, b in zip(TEXTS[::7], TEXTS[3::7]) if b]
    for a, b in pairs:
        assert _record(slow, a, b) == _record(fast, a, b), (a, b)
    firsts, seconds = [p[0] for p in pairs], [p[1] for p in pairs]
    for options in ({"padding": True}, {"padding": "max_length", "max_length": 24, "truncation": "only_second"},
                    {"padding": True, "pad_to_multiple_of": 8, "padding_side": "left"}):
        assert slow(firsts, seconds, **options).data == fast(firsts, seconds, **options).data, options


@pytest.mark.parametrize("strategy", ["only_first", "only_second", "longest_first"])
def test_truncation(slow_fast: tuple[Any, Any], strategy: str) -> None:
    slow, fast = slow_fast
    for a, b in CORPUS["truncation_pairs"]:
        for max_length in (10, 14, 40):
            kwargs = {"truncation": strategy, "max_length": max_length}
            try:
                expected = fast(a, b, **kwargs).data
            except ValueError:
                continue  # the strategy cannot reach max_length: fast raises, slow logs (reference behaviour)
            got = slow(a, b, **kwargs).data
            if strategy == "longest_first" and got != expected:
                # Same total, same sequences; only the side losing the odd token differs (as in the reference).
                assert len(got["input_ids"]) == len(expected["input_ids"]) == max_length
                continue
            assert got == expected, (a, b, kwargs)
    for text in CORPUS["truncation_singles"] + TEXTS[:40]:
        for side in ("right", "left"):
            slow.truncation_side = fast.truncation_side = side
            try:
                assert slow(text, truncation=True, max_length=6).data == fast(text, truncation=True, max_length=6).data
            finally:
                slow.truncation_side = fast.truncation_side = "right"


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_added_tokens(setting: str) -> None:
    from modelyard import AddedToken

    slow, fast = _pair(setting)
    for tok in (slow, fast):
        assert tok.add_tokens(["newword", AddedToken("<solo>", single_word=True)]) == 2
        assert tok.add_special_tokens({"additional_special_tokens": ["<special1>", "[NEW]"]}) == 2
    texts = ["a newword here", "newwords newword.", "x <solo> y", "x<solo>y", "a<special1>b <special1> c",
             "[NEW] thing [NEW]", "mix 東京newword🙂", "[MASK]newword<special1>[SEP]", "NEWWORD"]
    for text in texts:
        assert _record(slow, text) == _record(fast, text), text
    assert slow.get_added_vocab() == fast.get_added_vocab()
    assert len(slow) == len(fast)


# ------------------------------------------------------------------------------------------ properties
_STABLE = st.characters(
    codec="utf-8",
    exclude_categories=("Cc", "Cf", "Cn", "Co", "Cs"),
).filter(lambda c: unicodedata.ucd_3_2_0.category(c) == unicodedata.category(c))
_SPACES = st.sampled_from([" ", "  ", "\t", "\n", ".", ",", "'", "-", "!", "ab", "Zé", "[MASK]", "東"])
_TEXT = st.lists(st.one_of(_STABLE, _SPACES), max_size=40).map(lambda parts: unicodedata.normalize("NFC", "".join(parts)))


@pytest.fixture(scope="module")
def both_settings() -> dict[str, tuple[Any, Any]]:
    return {setting: _pair(setting) for setting in SETTINGS}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXT, pair=st.one_of(st.none(), _TEXT.filter(bool)))
def test_property_slow_equals_fast(both_settings: dict[str, tuple[Any, Any]], text: str, pair: str | None) -> None:
    for slow, fast in both_settings.values():
        args = (text,) if pair is None else (text, pair)
        assert _record(slow, *args) == _record(fast, *args)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec="utf-8"), max_size=60))
def test_property_any_unicode_encodes(both_settings: dict[str, tuple[Any, Any]], text: str) -> None:
    """Arbitrary Unicode (controls, unassigned, private use...) never raises; masks and types line up."""
    for slow, fast in both_settings.values():
        for tok in (slow, fast):
            enc = tok(text, text, return_special_tokens_mask=True, truncation=True, max_length=32)
            n = len(enc["input_ids"])
            assert n <= 32 and len(enc["attention_mask"]) == len(enc["special_tokens_mask"]) == n
            assert all(0 <= i < len(tok) for i in enc["input_ids"])
            tok.decode(enc["input_ids"], skip_special_tokens=True)
