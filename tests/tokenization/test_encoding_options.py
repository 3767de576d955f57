"""The encoding keywords as one value (EncodingOptions), with the reference's public signatures intact:
positional and keyword calls give the same encodings, and code written against the reference's internal
keywords (custom tokenizers overriding _batch_encode_plus) still works."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from bpe_helpers import load
from tokenizer_helpers import load_bert

from modelyard.tokenization import EncodingOptions, PaddingStrategy, TruncationStrategy

TEXTS = ["Hello world, a longer sentence here", "short"]


@pytest.fixture(params=["slow", "fast"])
def tok(request: pytest.FixtureRequest) -> Any:
    return load_bert(request.param, "uncased")


def test_call_accepts_the_reference_positional_order(tok) -> None:
    # text, text_pair, text_target, text_pair_target, add_special_tokens, padding, truncation, max_length
    positional = tok(TEXTS, None, None, None, True, "max_length", True, 6)
    keywords = tok(TEXTS, add_special_tokens=True, padding="max_length", truncation=True, max_length=6)
    assert positional.data == keywords.data
    assert all(len(row) == 6 for row in positional["input_ids"])


def test_encode_plus_batch_encode_plus_and_encode_positionally(tok) -> None:
    # text, text_pair, add_special_tokens, padding, truncation, max_length, stride, is_split_into_words,
    # pad_to_multiple_of, padding_side, return_tensors, return_token_type_ids, return_attention_mask
    one = tok.encode_plus(TEXTS[0], None, False, False, True, 4, 0, False, None, None, None, None, False)
    assert one.data == {"input_ids": tok(TEXTS[0], add_special_tokens=False, truncation=True, max_length=4,
                                         return_attention_mask=False)["input_ids"],
                        "token_type_ids": [0, 0, 0, 0]}  # fmt: skip
    batch = tok.batch_encode_plus(TEXTS, True, True, None, None, 0, False, 8, "left")
    assert batch.data == tok(TEXTS, padding=True, pad_to_multiple_of=8, padding_side="left").data
    assert tok.encode(TEXTS[0], None, True, False, True, 5) == tok(TEXTS[0], truncation=True, max_length=5)["input_ids"]
    assert tok.encode(TEXTS[0], return_token_type_ids=False) == tok(TEXTS[0])["input_ids"]


def test_prepare_for_model_positionally(tok) -> None:
    ids = tok.convert_tokens_to_ids(tok.tokenize("hello world"))
    positional = tok.prepare_for_model(ids, None, True, "max_length", False, 8)
    assert positional["input_ids"][-1] == tok.pad_token_id and len(positional["input_ids"]) == 8
    assert positional.data == tok.prepare_for_model(ids, add_special_tokens=True, padding="max_length", max_length=8).data


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
