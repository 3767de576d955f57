"""``PreTrainedTokenizerFast.train_new_from_iterator``: a tokenizer of the same kind whose vocabulary is learnt
from new text, keeping the pipeline and the special tokens (where they go and, renamed, what they are called)."""

from __future__ import annotations

import pytest
from tokenizer_helpers import load_bert

from modelyard import BertTokenizerFast

CORPUS = ["the quick brown fox jumps over the lazy dog", "a lazy dog sleeps", "quick quick brown foxes run"] * 20


def test_a_bert_tokenizer_learns_a_small_vocabulary_and_keeps_its_special_tokens() -> None:
    old = load_bert("fast", "uncased")
    new = old.train_new_from_iterator(CORPUS, vocab_size=70)
    assert type(new) is BertTokenizerFast and new is not old
    assert 0 < len(new) <= 70 < len(old)
    specials = old.all_special_tokens
    assert new.all_special_tokens == specials
    assert sorted(new.convert_tokens_to_ids(specials)) == list(range(len(specials)))  # special tokens come first
    encoded = new("The quick dog")["input_ids"]
    assert encoded[0] == new.cls_token_id and encoded[-1] == new.sep_token_id  # the post-processor points at them
    assert new.decode(encoded, skip_special_tokens=True) == "the quick dog"  # lower-casing kept
    assert new.tokenize("quick")[0] == "quick"  # a word of the corpus is one piece


def test_batches_of_text_and_renamed_and_new_special_tokens() -> None:
    old = load_bert("fast", "uncased")
    batches = [CORPUS[i : i + 7] for i in range(0, len(CORPUS), 7)]
    new = old.train_new_from_iterator(iter(batches), vocab_size=60, special_tokens_map={"[CLS]": "<cls>"},
                                      new_special_tokens=["<extra>"], length=len(batches))
    assert new.cls_token == "<cls>" and "[CLS]" not in new.get_vocab()
    assert "<extra>" in new.additional_special_tokens and new.convert_tokens_to_ids("<extra>") < 10
    ids = new("a dog")["input_ids"]
    assert ids[0] == new.convert_tokens_to_ids("<cls>") and ids[-1] == new.sep_token_id


def test_trainer_options_pass_through_and_slow_tokenizers_have_no_trainer() -> None:
    old = load_bert("fast", "uncased")
    with pytest.raises(AttributeError):  # the slow tokenizer has no trainer: it is not a fast one
        load_bert("slow", "uncased").train_new_from_iterator(CORPUS, vocab_size=50)
    assert old.train_new_from_iterator(CORPUS, vocab_size=50, min_frequency=2).get_vocab()
