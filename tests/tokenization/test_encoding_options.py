"""The encoding keywords declared once (EncodingKwargs, keyword-only) and turned into one value
(EncodingOptions): every public method gives the encodings of calling the tokenizer, inspect still names every
keyword, and code written against the reference's internal keywords (custom tokenizers overriding
_batch_encode_plus) still works."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest
from bpe_helpers import load
from tokenizer_helpers import load_bert

from modelyard.tokenization import EncodingOptions, PaddingStrategy, TruncationStrategy
from modelyard.tokenization.encoding_options import ENCODING_DEFAULTS

TEXTS = ["Hello world, a longer sentence here", "short"]


@pytest.fixture(params=["slow", "fast"])
def tok(request: pytest.FixtureRequest) -> Any:
    return load_bert(request.param, "uncased")


def test_encoding_keywords_are_declared_once_and_keyword_only(tok) -> None:
    """The leading inputs stay positional; the encoding keywords (EncodingKwargs) are keyword-only, and every
    method's signature, as inspect reports it, names each of them with its default."""
    ids = tok.convert_tokens_to_ids(tok.tokenize("hello world"))
    calls = {
        "__call__": lambda: tok(TEXTS, None, None, None, True),
        "encode_plus": lambda: tok.encode_plus(TEXTS[0], None, False),
        "batch_encode_plus": lambda: tok.batch_encode_plus(TEXTS, True),
        "encode": lambda: tok.encode(TEXTS[0], None, True),
        "prepare_for_model": lambda: tok.prepare_for_model(ids, None, True),
    }
    for name, call in calls.items():
        with pytest.raises(TypeError, match="positional argument"):
            call()
        parameters = inspect.signature(getattr(tok, name)).parameters
        assert {key: parameters[key].default for key in ENCODING_DEFAULTS} == ENCODING_DEFAULTS, name
        assert {parameters[key].kind for key in ENCODING_DEFAULTS} == {inspect.Parameter.KEYWORD_ONLY}, name
        assert list(parameters)[-1] == "kwargs", name  # others still go to tokenize


def test_encode_plus_batch_encode_plus_and_encode_match_the_call(tok) -> None:
    one = tok.encode_plus(TEXTS[0], None, add_special_tokens=False, truncation=True, max_length=4,
                          return_attention_mask=False)  # fmt: skip
    assert one.data == {"input_ids": tok(TEXTS[0], add_special_tokens=False, truncation=True, max_length=4,
                                         return_attention_mask=False)["input_ids"],
                        "token_type_ids": [0, 0, 0, 0]}  # fmt: skip
    batch = tok.batch_encode_plus(TEXTS, padding=True, pad_to_multiple_of=8, padding_side="left")
    assert batch.data == tok(TEXTS, padding=True, pad_to_multiple_of=8, padding_side="left").data
    assert tok.encode(TEXTS[0], truncation=True, max_length=5) == tok(TEXTS[0], truncation=True, max_length=5)["input_ids"]
    assert tok.encode(TEXTS[0], return_token_type_ids=False) == tok(TEXTS[0])["input_ids"]
    # keywords that are not encoding keywords go to tokenize, as before
    assert tok(TEXTS[0], split_special_tokens=True).data == tok(TEXTS[0]).data


def test_prepare_for_model_keywords(tok) -> None:
    ids = tok.convert_tokens_to_ids(tok.tokenize("hello world"))
    padded = tok.prepare_for_model(ids, None, padding="max_length", max_length=8)
    assert padded["input_ids"][-1] == tok.pad_token_id and len(padded["input_ids"]) == 8
    assert padded.data == tok("hello world", padding="max_length", max_length=8).data
    batched = tok.prepare_for_model(ids, prepend_batch_axis=True, return_tensors="np")
    assert batched["input_ids"].shape == (1, len(ids) + 2)


def test_options_are_one_frozen_value_resolved_once(tok) -> None:
    options = EncodingOptions.from_call(tok, {"padding": True, "truncation": True, "max_length": 7, "verbose": False},
                                        {"split_special_tokens": True, "foo": 1})  # fmt: skip
    assert options.padding_strategy is PaddingStrategy.LONGEST
    assert options.truncation_strategy is TruncationStrategy.LONGEST_FIRST and options.max_length == 7
    assert options.split_special_tokens and options.tokenize_kwargs == {"foo": 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.max_length = 3  # type: ignore[misc]
    assert tok._batch_encode_plus(TEXTS, options=options).data == tok(TEXTS, padding=True, truncation=True,
                                                                      max_length=7).data  # fmt: skip


def test_reference_internal_keywords_still_work(tok) -> None:
    """Custom code written for the reference calls the internal methods with resolved strategies."""
    out = tok._batch_encode_plus(TEXTS, padding_strategy=PaddingStrategy.LONGEST, truncation_strategy="do_not_truncate",
                                 max_length=None, return_attention_mask=True)  # fmt: skip
    assert out.data == tok(TEXTS, padding=True).data
    single = tok._encode_plus(TEXTS[1], add_special_tokens=False)
    assert single["input_ids"] == tok(TEXTS[1], add_special_tokens=False)["input_ids"]


def test_a_subclass_overriding_batch_encode_plus_sees_the_options() -> None:
    base = type(load("gpt2", "fast"))
    seen: list[EncodingOptions] = []

    class Recording(base):  # type: ignore[misc, valid-type]
        def _batch_encode_plus(self, batch: list[Any], options: EncodingOptions | None = None, **keywords: Any) -> Any:
            seen.append(EncodingOptions.of(options, keywords))
            return super()._batch_encode_plus(batch, options, **keywords)

    tok = Recording.from_pretrained(load("gpt2", "fast").name_or_path)
    tok(TEXTS, return_length=True)
    tok(TEXTS[0], return_offsets_mapping=True)
    assert [o.return_length for o in seen] == [True, False] and seen[1].return_offsets_mapping
