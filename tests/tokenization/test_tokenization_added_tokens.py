"""AddedToken and the added-token splitter (regex fast path and the reference's trie walk, bug for bug)."""

from __future__ import annotations

import copy
import json

import pytest
from tokenizer_helpers import EXTRA_FIXTURES

from modelyard import AddedToken
from modelyard.tokenization.added_tokens import AddedTokenSplitter, _overlap_free

TRIE = json.loads((EXTRA_FIXTURES / "trie_splits.json").read_text(encoding="utf-8"))["cases"]


def test_splits_match_the_reference_trie() -> None:
    """400 random cases recorded from the reference, overlapping tokens included (both code paths)."""
    paths = set()
    for case in TRIE:
        splitter = AddedTokenSplitter(case["tokens"])
        paths.add(splitter._simple)
        assert splitter.split(case["text"]) == case["split"], case
    assert paths == {True, False}


@pytest.mark.parametrize(
    ("tokens", "free"),
    [
        (["[CLS]", "[SEP]", "<pad>", "</s>", "<s>"], True),
        (["ab", "b"], False),  # one inside the other
        (["ab", "bc"], False),  # tail of one is the head of the other
        (["aa"], False),  # overlaps itself
        (["abc", "cab"], False),
        (["a<", ">b"], True),
    ],
)
def test_overlap_detection(tokens: list[str], free: bool) -> None:
    assert _overlap_free(set(tokens)) is free


def test_splitter_edge_cases() -> None:
    splitter = AddedTokenSplitter(["[CLS]", "", "[SEP]"])
    assert splitter.split("") == []
    assert splitter.split("plain") == ["plain"]
    assert splitter.split("[CLS][SEP]x[CLS]") == ["[CLS]", "[SEP]", "x", "[CLS]"]
    assert "[CLS]" in splitter and "" not in splitter and len(splitter) == 2
    assert AddedTokenSplitter().split("anything") == ["anything"]


def test_added_token_semantics() -> None:
    token = AddedToken("<x>", lstrip=True)
    assert (token.normalized, token.special) == (True, False)
    assert AddedToken("<x>", special=True).normalized is False  # defaults to "not special"
    assert token == AddedToken("<x>", lstrip=True) and token != AddedToken("<x>")
    assert hash(token) == hash("<x>") and str(token) == "<x>"
    assert token != "<x>" and token not in {"<x>": 1}  # never equal to a plain string (as in `tokenizers`)
    assert repr(token) == 'AddedToken("<x>", rstrip=False, lstrip=True, single_word=False, normalized=True, special=False)'
    clone = copy.deepcopy(token)
    assert clone == token and clone is not token
    state = token.__getstate__()
    assert state == {"content": "<x>", "single_word": False, "lstrip": True, "rstrip": False, "normalized": True, "special": False}
    token.__setstate__({"special": True})
    assert token.special and token.lstrip
    assert AddedToken.from_any({"content": "y", "rstrip": True, "__type": "AddedToken"}) == AddedToken("y", rstrip=True)
    with pytest.raises(TypeError):
        AddedToken(3)  # type: ignore[arg-type]


def test_rust_added_token_round_trip() -> None:
    from tokenizers import AddedToken as RustAddedToken

    ours = AddedToken("<y>", single_word=True, rstrip=True, special=True)
    rust = ours.to_rust()
    assert isinstance(rust, RustAddedToken) and rust.single_word and rust.rstrip and rust.special
    assert AddedToken.from_any(rust) == ours
