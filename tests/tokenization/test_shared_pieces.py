"""The pieces the tokenizer families share: constructor arguments passed on once, the special-tokens mask read
off a family's layout, the split regexes compiled for ``re``, one JSON vocabulary reader."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from modelyard.errors import MissingFileError, TokenizerError
from modelyard.models.bert.tokenization_bert import BertTokenizer
from modelyard.models.gpt2.tokenization_gpt2 import GPT2Tokenizer
from modelyard.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer
from modelyard.models.roberta.tokenization_roberta import RobertaTokenizer
from modelyard.models.wav2vec2.tokenization_wav2vec2 import Wav2Vec2CTCTokenizer
from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.byte_level_bpe import compile_split_regex, unicode_classes


class _Base:
    def __init__(self, **kwargs: Any) -> None:
        self.received = kwargs


class _Family(_Base):
    def __init__(self, vocab_file: str, first: str = "a", *args: Any, second: int = 2, **kwargs: Any) -> None:
        helper = "never passed on"  # a local that is not a parameter
        first = first.upper()  # a re-bound parameter passes its new value
        kwargs["added"] = helper[:5]
        super().__init__(**constructor_arguments(leave_out=("vocab_file",)))


def test_constructor_arguments_passes_parameters_and_kwargs_only() -> None:
    family = _Family("vocab.txt", "b", "extra positional", second=3, other=True)
    assert family.received == {"first": "B", "second": 3, "other": True, "added": "never"}


@pytest.fixture
def bpe_files(tmp_path: Path) -> tuple[str, str]:
    vocab = {"<s>": 0, "</s>": 1, "<unk>": 2, "<pad>": 3, "<mask>": 4, "<|endoftext|>": 5, "a": 6, "b": 7}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt")


def test_family_constructors_record_their_arguments(bpe_files: tuple[str, str]) -> None:
    gpt2 = GPT2Tokenizer(*bpe_files, add_bos_token=True, model_max_length=7)
    assert {"errors", "unk_token", "bos_token", "eos_token", "pad_token", "add_prefix_space", "add_bos_token",
            "model_max_length"} <= set(gpt2.init_kwargs)  # fmt: skip
    assert gpt2.init_kwargs["add_bos_token"] is True and gpt2.model_max_length == 7
    roberta = RobertaTokenizer(*bpe_files)
    assert roberta.init_kwargs["mask_token"].lstrip and not roberta.init_kwargs["unk_token"].lstrip
    qwen2 = Qwen2Tokenizer(*bpe_files)
    assert qwen2.init_kwargs["eos_token"].special and not qwen2.init_kwargs["eos_token"].normalized


def test_special_tokens_mask_follows_each_family_layout(bpe_files: tuple[str, str], tmp_path: Path) -> None:
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n", encoding="utf-8")
    bert = BertTokenizer(str(tmp_path / "vocab.txt"))
    assert bert.get_special_tokens_mask([5, 5], [5]) == [1, 0, 0, 1, 0, 1]
    roberta = RobertaTokenizer(*bpe_files)
    assert roberta.get_special_tokens_mask([6], [6, 7]) == [1, 0, 1, 1, 0, 0, 1]
    assert GPT2Tokenizer(*bpe_files, add_bos_token=True).get_special_tokens_mask([6, 6], [7]) == [1, 0, 0, 1, 0]
    assert GPT2Tokenizer(*bpe_files).get_special_tokens_mask([6, 6], [7]) == [0, 0, 0]
    # the mask agrees with what encoding returns
    encoded = roberta("ab", "ba", return_special_tokens_mask=True)
    assert encoded["special_tokens_mask"] == [int(i in roberta.all_special_ids) for i in encoded["input_ids"]]
    # ids that already hold special tokens: read off the ids
    assert bert.get_special_tokens_mask([2, 5, 3], already_has_special_tokens=True) == [1, 0, 1]


def test_compile_split_regex_spells_out_unicode_classes() -> None:
    letter, number = unicode_classes()
    pattern = compile_split_regex(r"""\p{L}+|[^\s\p{N}]|\s+(?!\S)|\r\n""")
    assert pattern.pattern.startswith(f"[{letter}]+|[^")
    assert pattern.findall("héllo 42!\r\n") == ["héllo", "!", "\r\n"]  # digits and a space before a word: none
    assert pattern.findall("a  b") == ["a", " ", "b"]
    assert re.fullmatch(pattern, "東京")
    with pytest.raises(TokenizerError, match="inside a character class"):
        compile_split_regex(r"[\S]")


def test_json_vocabulary_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match=r"Wav2Vec2CTCTokenizer\.from_pretrained"):
        Wav2Vec2CTCTokenizer(str(tmp_path / "missing.json"))
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(TokenizerError, match="must hold the vocabulary of Wav2Vec2CTCTokenizer.*got a list"):
        Wav2Vec2CTCTokenizer(str(tmp_path / "list.json"))
    (tmp_path / "broken.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(TokenizerError, match="not valid JSON: .* line 1"):
        GPT2Tokenizer(str(tmp_path / "broken.json"), str(tmp_path / "merges.txt"))
