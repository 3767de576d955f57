"""``BertTokenizer``: BERT's slow (pure Python) WordPiece tokenizer.

Two stages, as in the original BERT: a basic tokenizer (drop control characters, map whitespace to spaces,
put spaces around CJK ideographs, NFC, split on whitespace, then per word: lower-case, strip accents, split
off punctuation) and WordPiece (greedy longest-match-first against ``vocab.txt``, ``##`` continuations).

Built for speed with identical output to the reference: the character clean-up is one ``str.translate``
through a memoised table, and everything after the whitespace split is a pure function of the word, so
each distinct word is tokenized once and cached.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from modelyard.errors import MissingFileError
from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.slow import PreTrainedTokenizer

logger = logging.getLogger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "vocab.txt"}
_CACHE_LIMIT = 1 << 17  # distinct words kept per tokenizer before the cache starts over


def load_vocab(vocab_file: str | os.PathLike[str]) -> dict[str, int]:
    """``vocab.txt``: one token per line, the line number is its id (a later duplicate wins, as in the reference)."""
    with open(vocab_file, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return {token: index for index, token in enumerate(lines)}


def whitespace_tokenize(text: str) -> list[str]:
    return text.split()


# ------------------------------------------------------------------------------------------ character classes
def _is_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


def _is_punctuation(char: str) -> bool:
    cp = ord(char)
    # ASCII symbols count as punctuation for BERT even where Unicode says "S" ($, +, ^, `...).
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_chinese_char(cp: int) -> bool:
    """CJK Unified Ideographs (and extensions, compatibility blocks); not Hangul, Hiragana or Katakana."""
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


class _CleanTable(dict):
    """``str.translate`` table built on demand: drop controls, whitespace -> space, space out CJK."""

    def __init__(self, space_out_cjk: bool) -> None:
        super().__init__()
        self.space_out_cjk = space_out_cjk

    def __missing__(self, cp: int) -> str | None:
        char = chr(cp)
        if cp == 0 or cp == 0xFFFD or _is_control(char):
            value = None
        elif _is_whitespace(char):
            value = " "
        elif self.space_out_cjk and _is_chinese_char(cp):
            value = f" {char} "
        else:
            value = char
        if len(self) < 1 << 16:
            self[cp] = value
        return value


_CLEAN_TABLES = {True: _CleanTable(True), False: _CleanTable(False)}


class _PunctuationTable(dict):
    def __missing__(self, char: str) -> bool:
        value = _is_punctuation(char)
        if len(self) < 1 << 16:
            self[char] = value
        return value


_PUNCTUATION = _PunctuationTable()


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _split_on_punctuation(word: str) -> list[str]:
    if word.isalnum():  # letters and digits only: nothing to split
        return [word]
    pieces: list[str] = []
    start = 0
    for i, char in enumerate(word):
        if _PUNCTUATION[char]:
            if i > start:
                pieces.append(word[start:i])
            pieces.append(char)
            start = i + 1
    if start < len(word):
        pieces.append(word[start:])
    return pieces


# ------------------------------------------------------------------------------------------ the two stages
class BasicTokenizer:
    """Clean-up, CJK spacing, lower-casing/accent stripping and punctuation splitting (no vocabulary)."""

    def __init__(
        self,
        do_lower_case: bool = True,
        never_split: Iterable[str] | None = None,
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        do_split_on_punc: bool = True,
    ) -> None:
        self.do_lower_case = do_lower_case
        self.never_split = set(never_split or ())
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents
        self.do_split_on_punc = do_split_on_punc

    def settings(self) -> tuple[Any, ...]:
        """Everything the per-word result depends on (a cache key)."""
        return (self.do_lower_case, self.strip_accents, self.do_split_on_punc, frozenset(self.never_split))

    def normalize_text(self, text: str) -> str:
        """Text-level steps: drop control characters, whitespace -> space, space out CJK ideographs, NFC."""
        text = text.translate(_CLEAN_TABLES[bool(self.tokenize_chinese_chars)])
        return text if text.isascii() else unicodedata.normalize("NFC", text)

    def split_word(self, word: str, never_split: frozenset[str] | set[str]) -> list[str]:
        """Word-level steps for one whitespace-separated word that is not in ``never_split``."""
        if self.do_lower_case:
            word = word.lower()
            if self.strip_accents is not False:
                word = _strip_accents(word)
        elif self.strip_accents:
            word = _strip_accents(word)
        pieces = [word] if not self.do_split_on_punc or word in never_split else _split_on_punctuation(word)
        if not word.isascii():
            # The reference re-splits the joined pieces on whitespace; only non-ASCII words could need it.
            pieces = " ".join(pieces).split()
        return pieces

    def tokenize(self, text: str, never_split: Iterable[str] | None = None) -> list[str]:
        never = self.never_split.union(never_split) if never_split else self.never_split
        tokens: list[str] = []
        for word in self.normalize_text(text).split():
            if word in never:
                tokens.append(word)
            else:
                tokens.extend(self.split_word(word, never))
        return tokens


class WordpieceTokenizer:
    """Greedy longest-match-first WordPiece over a fixed vocabulary."""

    def __init__(self, vocab: dict[str, int], unk_token: str, max_input_chars_per_word: int = 100) -> None:
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word
        self._longest = (0, -1)  # (vocab size it was computed for, longest entry)

    def _longest_entry(self) -> int:
        size, longest = self._longest
        if size != len(self.vocab):
            longest = max(map(len, self.vocab), default=0)
            self._longest = (len(self.vocab), longest)
        return longest

    def tokenize_word(self, word: str) -> list[str]:
        """WordPiece for one word without whitespace."""
        n = len(word)
        if n > self.max_input_chars_per_word:
            return [self.unk_token]
        vocab = self.vocab
        if word in vocab:
            return [word]
        longest = self._longest_entry()
        pieces: list[str] = []
        start = 0
        while start < n:
            end = min(n, start + longest)  # no entry is longer than `longest`
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    break
                end -= 1
            else:
                return [self.unk_token]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        tokens: list[str] = []
        for word in text.split():
            tokens.extend(self.tokenize_word(word))
        return tokens


# ------------------------------------------------------------------------------------------ the tokenizer
class BertTokenizer(PreTrainedTokenizer):
    """BERT's WordPiece tokenizer in pure Python (``vocab.txt``), token-for-token equal to the reference's.

    ``do_lower_case`` lower-cases (and, unless ``strip_accents=False``, strips accents); ``never_split`` lists
    words the basic tokenizer leaves whole; ``tokenize_chinese_chars`` spaces out CJK ideographs;
    ``max_input_chars_per_word`` maps longer words to the unknown token.
    """

    vocab_files_names = VOCAB_FILES_NAMES
    mask_from_layout = True

    def __init__(
        self,
        vocab_file: str | os.PathLike[str],
        do_lower_case: bool = True,
        do_basic_tokenize: bool = True,
        never_split: Iterable[str] | None = None,
        unk_token: Any = "[UNK]",
        sep_token: Any = "[SEP]",
        pad_token: Any = "[PAD]",
        cls_token: Any = "[CLS]",
        mask_token: Any = "[MASK]",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        clean_up_tokenization_spaces: bool = True,
        **kwargs: Any,
    ) -> None:
        if vocab_file is None or not Path(vocab_file).is_file():
            raise MissingFileError(
                f"{type(self).__name__} needs a vocabulary file (one token per line), but {vocab_file!r} is not a "
                f"file. Pass vocab_file=<path to vocab.txt>, or load a saved tokenizer with "
                f"{type(self).__name__}.from_pretrained(<folder or repo id>)."
            )
        self.vocab = load_vocab(vocab_file)
        self.ids_to_tokens = {index: token for token, index in self.vocab.items()}
        self.do_basic_tokenize = do_basic_tokenize
        if do_basic_tokenize:
            self.basic_tokenizer = BasicTokenizer(
                do_lower_case=do_lower_case,
                never_split=never_split,
                tokenize_chinese_chars=tokenize_chinese_chars,
                strip_accents=strip_accents,
            )
        max_chars = kwargs.get("max_input_chars_per_word", 100)
        self.wordpiece_tokenizer = WordpieceTokenizer(self.vocab, unk_token=str(unk_token), max_input_chars_per_word=max_chars)
        self._word_caches: dict[Any, dict[str, list[str]]] = {}
        super().__init__(**constructor_arguments(leave_out=("vocab_file",)))

    @property
    def do_lower_case(self) -> bool:
        return self.basic_tokenizer.do_lower_case

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return {**self.vocab, **self._added_tokens_encoder}

    # ------------------------------------------------------------------ tokenization
    def _word_cache(self, key: tuple[Any, ...]) -> dict[str, list[str]]:
        cache = self._word_caches.get(key)
        if cache is None:
            if len(self._word_caches) >= 4:
                self._word_caches.clear()
            cache = self._word_caches[key] = {}
        elif len(cache) >= _CACHE_LIMIT:
            cache.clear()
        return cache

    def _tokenize(self, text: str, split_special_tokens: bool = False, **kwargs: Any) -> list[str]:
        if not self.do_basic_tokenize:
            return self.wordpiece_tokenizer.tokenize(text)
        basic, wordpiece = self.basic_tokenizer, self.wordpiece_tokenizer
        settings = basic.settings()
        never_key = ("never_split", split_special_tokens, settings[-1])
        never = self._special_cache.get(never_key)
        if never is None:
            never = settings[-1] if split_special_tokens else settings[-1] | self._special_token_set()
            self._special_cache[never_key] = never
        # Cached results depend on the settings and the vocabulary; a change to either starts a new cache.
        cache = self._word_cache(
            (never, settings, id(wordpiece.vocab), len(wordpiece.vocab), wordpiece.unk_token, wordpiece.max_input_chars_per_word)
        )
        keep_whole = basic.never_split
        tokens: list[str] = []
        for word in basic.normalize_text(text).split():
            pieces = cache.get(word)
            if pieces is None:
                if word in never:
                    pieces = [word] if word in keep_whole else wordpiece.tokenize_word(word)
                else:
                    pieces = []
                    for piece in basic.split_word(word, never):
                        if piece in keep_whole:
                            pieces.append(piece)
                        else:
                            pieces.extend(wordpiece.tokenize_word(piece))
                cache[word] = pieces
            tokens += pieces
        return tokens

    def convert_tokens_to_ids(self, tokens: str | list[str] | None) -> Any:
        if not isinstance(tokens, list):
            return super().convert_tokens_to_ids(tokens)
        added, vocab = self._added_tokens_encoder, self.vocab
        unk = self._unk_id()
        return [added[t] if t in added else vocab.get(t, unk) for t in tokens]

    def _unk_id(self) -> int | None:
        cached = self._special_cache.get("unk_vocab_id", _UNSET)
        if cached is _UNSET:
            unk = self.unk_token
            cached = self._special_cache["unk_vocab_id"] = self.vocab.get(unk) if unk is not None else None
        return cached

    def _convert_token_to_id(self, token: str) -> int:
        index = self.vocab.get(token)
        return index if index is not None else self.vocab.get(self.unk_token)  # type: ignore[return-value]  # the vocabulary holds the unknown token

    def _convert_id_to_token(self, index: int) -> str:
        return self.ids_to_tokens.get(index, self.unk_token)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(tokens).replace(" ##", "").strip()

    # ------------------------------------------------------------------ special tokens
    def _special_ids(self) -> tuple[int, int]:
        cached = self._special_cache.get("cls_sep")
        if cached is None:
            cached = self._special_cache["cls_sep"] = (self.cls_token_id, self.sep_token_id)
        return cached

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``."""
        cls, sep = self._special_ids()
        if token_ids_1 is None:
            return [cls, *token_ids_0, sep]
        return [cls, *token_ids_0, sep, *token_ids_1, sep]

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        first = [0] * (len(token_ids_0) + 2)
        return first if token_ids_1 is None else first + [1] * (len(token_ids_1) + 1)

    # ------------------------------------------------------------------ saving
    def save_vocabulary(self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None) -> tuple[str]:
        directory = Path(save_directory)
        name = (f"{filename_prefix}-" if filename_prefix else "") + VOCAB_FILES_NAMES["vocab_file"]
        path = directory / name if directory.is_dir() else Path((f"{filename_prefix}-" if filename_prefix else "") + str(directory))
        ordered = sorted(self.vocab.items(), key=lambda item: item[1])
        if any(index != position for position, (_, index) in enumerate(ordered)):
            logger.warning("Saving vocabulary to %s: the ids are not consecutive; check that the vocabulary is not corrupted.", path)
        path.write_text("".join(token + "\n" for token, _ in ordered), encoding="utf-8")
        return (str(path),)


_UNSET = object()

__all__ = ["BasicTokenizer", "BertTokenizer", "WordpieceTokenizer", "load_vocab", "whitespace_tokenize"]
