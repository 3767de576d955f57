"""What a type checker (and so an IDE) sees of the keywords of an encoding call: declared once
(``EncodingKwargs``), they type every method that takes them. Checked by mypy in ``make lint`` and by
``tests/test_typing.py``; never run.

Each ``# type: ignore[code]`` below is a claim that mypy reports that error there: the project's mypy settings
(``warn_unused_ignores``) report an ignore that silences nothing, so a misspelled keyword that type-checked
would fail the check.
"""

from __future__ import annotations

from typing_extensions import assert_type

from modelyard import BatchEncoding, BertTokenizerFast, GPT2Tokenizer, PreTrainedTokenizerBase


def right_keywords(tokenizer: PreTrainedTokenizerBase, fast: BertTokenizerFast, slow: GPT2Tokenizer) -> None:
    assert_type(tokenizer("hi", padding=True, truncation="longest_first", max_length=8, return_tensors="pt"),
                BatchEncoding)  # fmt: skip
    assert_type(tokenizer(["a", "b"], ["c", "d"], padding="max_length", pad_to_multiple_of=8, padding_side="left"),
                BatchEncoding)  # fmt: skip
    assert_type(fast.encode("hi", add_special_tokens=False, split_special_tokens=True), list[int])
    assert_type(slow.encode_plus("hi", "there", return_offsets_mapping=False, return_length=True), BatchEncoding)
    assert_type(fast.batch_encode_plus(["a"], return_token_type_ids=False, verbose=False), BatchEncoding)
    assert_type(tokenizer.prepare_for_model([1, 2], stride=1, return_overflowing_tokens=True,
                                            prepend_batch_axis=True), BatchEncoding)  # fmt: skip
    assert_type(tokenizer(text_target="labels", is_split_into_words=False), BatchEncoding)


def misspelled_keywords(tokenizer: PreTrainedTokenizerBase, fast: BertTokenizerFast) -> None:
    tokenizer("hi", paddin=True)  # type: ignore[call-arg]  # misspelled: unexpected keyword "paddin"
    fast("hi", return_tensor="pt")  # type: ignore[call-arg]  # misspelled: return_tensors
    tokenizer.encode("hi", max_lenght=4)  # type: ignore[call-arg]  # misspelled: max_length
    tokenizer.encode_plus("hi", truncate=True)  # type: ignore[call-arg]  # the keyword is truncation
    tokenizer.batch_encode_plus(["a"], return_attention_masks=True)  # type: ignore[call-arg]  # misspelled
    tokenizer.prepare_for_model([1, 2], stirde=1)  # type: ignore[call-arg]  # misspelled: stride


def wrong_types_and_positions(tokenizer: PreTrainedTokenizerBase) -> None:
    tokenizer("hi", max_length="8")  # type: ignore[arg-type]  # an int
    tokenizer("hi", add_special_tokens=None)  # type: ignore[arg-type]  # a bool
    tokenizer("hi", None, None, None, True)  # type: ignore[call-arg]  # the encoding keywords are keyword-only
