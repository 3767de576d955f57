"""Byte-level BPE (GPT-2, Qwen2): the byte alphabet, pre-tokenisation patterns, the merge loop, the slow base.

Text is cut into pre-tokens by a regular expression, each pre-token's UTF-8 bytes are spelled with 256
printable characters (``bytes_to_unicode``), and BPE merges are applied inside each pre-token by rank. The
reference writes its patterns with the third-party ``regex`` module (``\\p{L}``, ``\\p{N}``); here they are
compiled with the standard library's ``re`` by spelling those classes out from ``unicodedata``, and ``\\s``
as Unicode's White_Space set (the ``regex`` module's meaning, which differs from ``re``'s on U+001C..U+001F).

``ByteLevelBPETokenizer`` is the slow base the families share: the merge result of a pre-token is cached
(tokens and ids), the byte spelling is a ``str.translate``, and encoding goes from text to ids without
building token strings for words it has seen.
"""

from __future__ import annotations

import array
import functools
import logging
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from modelyard.errors import TokenizerError
from modelyard.tokenization.serialization import read_json_vocab, write_json
from modelyard.tokenization.slow import PreTrainedTokenizer

logger = logging.getLogger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "vocab.json", "merges_file": "merges.txt"}
# A cache bigger than this is emptied (the reference's grows without bound in a long-lived process).
WORD_CACHE_LIMIT = 200_000
# Characters with a meaning inside a character class, escaped.
_CLASS_ESCAPES = str.maketrans({char: "\\" + char for char in "\\]^-["})
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


@functools.cache
def bytes_to_unicode() -> dict[int, str]:
    """Byte -> printable character: printable Latin-1 bytes stand for themselves, the rest move to U+0100+."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {byte: chr(byte) for byte in printable}
    shifted = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + shifted)
            shifted += 1
    return dict(sorted(table.items()))


@functools.cache
def _byte_tables() -> tuple[dict[int, str], dict[int, int]]:
    """``str.translate`` tables: Latin-1 character -> byte character, and back."""
    forward = bytes_to_unicode()
    return {byte: char for byte, char in forward.items()}, {ord(char): byte for byte, char in forward.items()}


def _class_body(spans: list[tuple[int, int]]) -> str:
    """A character-class body for sorted, half-open code point spans (adjacent spans are joined)."""
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and merged[-1][1] == start:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    parts = []
    for start, end in merged:
        last = end - 1
        first = chr(start).translate(_CLASS_ESCAPES)
        parts.append(first if last == start else first + "-" + chr(last).translate(_CLASS_ESCAPES))
    return "".join(parts)


def _split_alpha(text: str, start: int, end: int, alpha: list[tuple[int, int]], other: list[int]) -> None:
    """Sort the characters of ``text[start:end]`` into runs of letters and single non-letters (bisecting:
    ``str.isalpha`` of a whole run is one C call, and non-letters are rare inside word-character runs)."""
    if text[start:end].isalpha():
        alpha.append((start, end))
    elif end - start == 1:
        other.append(start)
    else:
        middle = (start + end) // 2
        _split_alpha(text, start, middle, alpha, other)
        _split_alpha(text, middle, end, alpha, other)


@functools.cache
def unicode_classes() -> tuple[str, str]:
    """The bodies of character classes equal to ``\\p{L}`` (letters: ``str.isalpha``) and ``\\p{N}``
    (numbers: general category N*), from this Python's Unicode database."""
    # Every code point of planes 0-3 (4-16 hold no letters or numbers), built in C rather than by chr() calls.
    text = array.array("I", range(0x40000)).tobytes().decode("utf-32-le", "surrogatepass")
    letters: list[tuple[int, int]] = []
    candidates: list[int] = []
    # [^\W\d_] is a letter or a non-decimal numeric character; \d is category Nd.
    for match in re.finditer(r"[^\W\d_]+", text):
        _split_alpha(text, match.start(), match.end(), letters, candidates)
    numbers = [match.span() for match in re.finditer(r"\d+", text)]
    numbers += [(cp, cp + 1) for cp in candidates if unicodedata.category(chr(cp))[0] == "N"]
    return _class_body(letters), _class_body(sorted(numbers))


# The split regexes of GPT-2 and Qwen2 as the tokenizers library (and the reference) writes them; the fast
# backends use them as they are, the slow tokenizers through ``compile_split_regex``.
GPT2_SPLIT_REGEX = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
QWEN2_SPLIT_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# What compile_split_regex rewrites: the classes \p{L}, \p{N}, \s, \S, any other escape (kept), and the
# brackets of a character class (to know whether a class is spelled inside one).
_SPLIT_REGEX_PARTS = re.compile(r"\\p\{[LN]\}|\\.|\[\^?|\]")


def compile_split_regex(source: str) -> re.Pattern[str]:
    """A tokenizers-library split regex compiled with ``re``: ``\\p{L}``, ``\\p{N}`` and ``\\s`` spelled out as
    character classes (see the module docstring), ``\\S`` as their complement."""
    letter, number = unicode_classes()
    bodies = {r"\p{L}": letter, r"\p{N}": number, r"\s": _WHITE_SPACE}
    in_class = False

    def spell(match: re.Match[str]) -> str:
        nonlocal in_class
        part = match.group()
        if part.startswith("[") or part == "]":
            in_class = part != "]"
            return part
        if part in bodies:
            return bodies[part] if in_class else f"[{bodies[part]}]"
        if part == r"\S":
            if in_class:
                raise TokenizerError(f"compile_split_regex cannot spell \\S inside a character class: {source!r}.")
            return f"[^{_WHITE_SPACE}]"
        return part

    return re.compile(_SPLIT_REGEX_PARTS.sub(spell, source))


@functools.cache
def gpt2_pattern() -> re.Pattern[str]:
    """GPT-2's pre-tokeniser: contractions, letters, numbers, other symbols, whitespace runs."""
    return compile_split_regex(GPT2_SPLIT_REGEX)


@functools.cache
def qwen2_pattern() -> re.Pattern[str]:
    """Qwen2's pre-tokeniser: case-insensitive contractions, one digit per token, newlines kept apart."""
    return compile_split_regex(QWEN2_SPLIT_REGEX)


# ---------------------------------------------------------------------------------------------------- files
def read_merges(merges_file: str | os.PathLike[str], *, drop_first_line: bool = False) -> list[tuple[str, ...]]:
    """Merge rules in rank order.

    ``drop_first_line=True`` reads as GPT-2's reference does (the first line is the ``#version`` header and the
    text after the last newline is ignored); otherwise a ``#version`` first line and blank lines are skipped.
    """
    text = Path(merges_file).read_text(encoding="utf-8")
    if drop_first_line:
        lines = text.split("\n")[1:-1]
    else:
        lines = [line.strip() for line in text.splitlines()]
        if lines and lines[0].startswith("#version:"):
            lines = lines[1:]
        lines = [line for line in lines if line]
    return [tuple(line.split()) for line in lines]


def write_vocab_and_merges(
    directory: str | os.PathLike[str], encoder: dict[str, int], ranks: dict[tuple[str, ...], int], prefix: str | None
) -> tuple[str, str]:
    """Write ``vocab.json`` and ``merges.txt`` as the reference does; returns their paths."""
    if not os.path.isdir(directory):
        raise TokenizerError(f"save_vocabulary needs an existing folder, got {str(directory)!r}.")
    stem = f"{prefix}-" if prefix else ""
    vocab_path = os.path.join(directory, stem + VOCAB_FILES_NAMES["vocab_file"])
    merges_path = os.path.join(directory, stem + VOCAB_FILES_NAMES["merges_file"])
    write_json(Path(vocab_path), encoder)
    ordered = sorted(ranks.items(), key=lambda item: item[1])
    if any(rank != index for index, (_, rank) in enumerate(ordered)):
        logger.warning("Saving %s: the merge ranks are not consecutive; the tokenizer may be corrupted.", merges_path)
    with open(merges_path, "w", encoding="utf-8") as handle:
        handle.write("#version: 0.2\n")
        handle.writelines(" ".join(pair) + "\n" for pair, _ in ordered)
    return vocab_path, merges_path


# ---------------------------------------------------------------------------------------------------- BPE
def merge_word(symbols: list[str], ranks: dict[tuple[str, ...], int]) -> list[str]:
    """Apply merges to one pre-token's symbols: always the lowest-ranked adjacent pair, every occurrence."""
    while len(symbols) > 1:
        best_rank, best = -1, None
        for i in range(len(symbols) - 1):
            rank = ranks.get((symbols[i], symbols[i + 1]))
            if rank is not None and (best is None or rank < best_rank):
                best_rank, best = rank, i
        if best is None:
            break
        first, second = symbols[best], symbols[best + 1]
        merged, i, n = [], 0, len(symbols)
        while i < n:
            if i < n - 1 and symbols[i] == first and symbols[i + 1] == second:
                merged.append(first + second)
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols


class ByteLevelBPETokenizer(PreTrainedTokenizer):
    """Slow byte-level BPE tokenizer over ``vocab.json`` + ``merges.txt``; families set their special tokens.

    It reads and splits as GPT-2 does (GPT-2's pre-tokeniser; the first line of ``merges.txt`` a header, the text
    after its last newline ignored), which RoBERTa shares. Another family sets ``pattern`` (a function returning
    the compiled pre-tokeniser) and ``merges_drop_first_line`` (Qwen2), and may override
    ``prepare_for_tokenization`` (e.g. GPT-2's prefix space, Qwen2's NFC).
    """

    vocab_files_names = VOCAB_FILES_NAMES
    mask_from_layout = True
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012
    pattern = staticmethod(gpt2_pattern)
    merges_drop_first_line = True

    def __init__(self, vocab_file: str | os.PathLike[str], merges_file: str | os.PathLike[str], errors: str = "replace",
                 **kwargs: Any) -> None:  # fmt: skip
        self.encoder: dict[str, int] = read_json_vocab(vocab_file, owner=type(self).__name__, layout="{token: id}")
        self.decoder: dict[int, str] = {index: token for token, index in self.encoder.items()}
        merges = read_merges(merges_file, drop_first_line=self.merges_drop_first_line)
        self.bpe_ranks: dict[tuple[str, ...], int] = dict(zip(merges, range(len(merges))))
        self.errors = errors
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {char: byte for byte, char in self.byte_encoder.items()}
        self._to_bytes_table, self._from_bytes_table = _byte_tables()
        self._pre_tokenizer = self.pattern()
        self.cache: dict[str, list[str]] = {}  # byte-spelled pre-token -> its BPE tokens
        self._id_cache: dict[str, list[int]] = {}  # raw pre-token -> its ids
        super().__init__(errors=errors, **kwargs)

    # ------------------------------------------------------------------ vocabulary
    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.encoder, **self.added_tokens_encoder)

    def _convert_token_to_id(self, token: str) -> int:
        index = self.encoder.get(token)
        return index if index is not None else self.encoder.get(str(self.unk_token))  # type: ignore[return-value]  # the vocabulary holds the unknown token

    def _convert_id_to_token(self, index: int) -> str:
        return self.decoder.get(index)  # type: ignore[return-value]  # None for an unknown id, as the reference

    def _added_tokens_changed(self) -> None:
        super()._added_tokens_changed()
        self._id_cache = {}

    def _special_tokens_changed(self) -> None:
        super()._special_tokens_changed()
        self._id_cache = {}  # the unknown token's id may have changed

    # ------------------------------------------------------------------ BPE
    def bpe(self, token: str) -> str:
        """The BPE tokens of one byte-spelled pre-token, joined by spaces (the reference's method)."""
        return " ".join(self._bpe_tokens(token))

    def _bpe_tokens(self, spelled: str) -> list[str]:
        tokens = self.cache.get(spelled)
        if tokens is None:
            if len(self.cache) >= WORD_CACHE_LIMIT:
                self.cache.clear()
            tokens = self.cache[spelled] = merge_word(list(spelled), self.bpe_ranks)
        return tokens

    def _spell(self, word: str) -> str:
        return word.encode("utf-8").decode("latin-1").translate(self._to_bytes_table)

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        tokens: list[str] = []
        for word in self._pre_tokenizer.findall(text):
            tokens.extend(self._bpe_tokens(self._spell(word)))
        return tokens

    def _text_ids(self, text: str) -> list[int]:
        """Ids of text without added tokens: the fast path of encoding (cached per raw pre-token)."""
        cache = self._id_cache
        ids: list[int] = []
        for word in self._pre_tokenizer.findall(text):
            word_ids = cache.get(word)
            if word_ids is None:
                if len(cache) >= WORD_CACHE_LIMIT:
                    cache.clear()
                word_ids = cache[word] = self.convert_tokens_to_ids(self._bpe_tokens(self._spell(word)))
            ids.extend(word_ids)
        return ids

    # ------------------------------------------------------------------ decoding
    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        text = "".join(tokens)
        try:
            raw = text.translate(self._from_bytes_table).encode("latin-1")
        except UnicodeEncodeError as err:
            bad = text[err.start]
            raise TokenizerError(
                f"Token text {text!r:.60} holds {bad!r}, which is not a byte-level character; only ids of this "
                "vocabulary can be decoded."
            ) from err
        return raw.decode("utf-8", errors=self.errors)

    # ------------------------------------------------------------------ saving
    def save_vocabulary(self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None) -> tuple[str, ...]:
        return write_vocab_and_merges(save_directory, self.encoder, self.bpe_ranks, filename_prefix)

