"""``Wav2Vec2CTCTokenizer``: characters <-> ids for CTC speech recognition (slow tokenizer).

The vocabulary is a JSON object ``{"<pad>": 0, ..., "|": 4, "A": 7, ...}`` (also when the file is named
``.txt``, as in the guide), or ``{lang: {...}}`` per language with ``target_lang``. Encoding maps each
character to an id, spaces to the word delimiter ``|``. Decoding is CTC's: repeated ids collapse, the
padding token (the CTC blank) disappears, and the delimiter becomes a space; ``output_char_offsets`` /
``output_word_offsets`` also give each character's / word's frame span.

``Wav2Vec2Tokenizer`` is the older, deprecated class the reference still ships: it prepares raw audio when
called and decodes CTC ids.
"""

from __future__ import annotations

import itertools
import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.errors import TokenizerError
from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.added_tokens import AddedToken
from modelyard.tokenization.encoding import BatchEncoding, to_py_obj
from modelyard.tokenization.serialization import read_json_vocab, write_json
from modelyard.tokenization.slow import PreTrainedTokenizer

logger = logging.getLogger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "vocab.json"}

Offsets = list[dict[str, Any]]


@dataclass
class Wav2Vec2CTCTokenizerOutput:
    """Decoded text with optional character and word offsets (in frames), readable by attribute or key."""

    text: str | list[str]
    char_offsets: Offsets | list[Offsets] | None = None
    word_offsets: Offsets | list[Offsets] | None = None

    def __post_init__(self) -> None:
        # ``Wav2Vec2CTCTokenizerOutput({"text": ..., "char_offsets": ...})``: one mapping of the fields, as the
        # reference's outputs also take them (batch code builds the batch output from a dict of lists this way)
        if isinstance(self.text, Mapping) and self.char_offsets is None and self.word_offsets is None:
            given = dict(self.text)
            unknown = sorted(set(given) - {f.name for f in fields(self)})
            if unknown or "text" not in given:
                raise TypeError(
                    f"Wav2Vec2CTCTokenizerOutput got a mapping with keys {sorted(given)}; it needs 'text' and may have "
                    "'char_offsets' and 'word_offsets'."
                )
            self.text, self.char_offsets, self.word_offsets = (
                given["text"], given.get("char_offsets"), given.get("word_offsets")
            )

    def keys(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def items(self) -> list[tuple[str, Any]]:
        return [(key, getattr(self, key)) for key in self.keys()]

    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(value for _, value in self.items())

    def __iter__(self) -> Any:
        return iter(self.keys())

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(key)
            return getattr(self, key)
        return self.to_tuple()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.keys()


class _CharacterVocabulary(PreTrainedTokenizer):
    """What both Wav2Vec2 tokenizers share: a JSON vocabulary of characters (``self.vocab``; ``self.encoder`` is
    the part in use, one language's of a multilingual file), and ``word_delimiter_token``, the token standing
    for a space."""

    vocab_files_names = VOCAB_FILES_NAMES
    _word_delimiter_token: str | None

    def _read_vocabulary(self, vocab_file: str | os.PathLike[str] | None, target_lang: str | None = None) -> None:
        self.vocab: dict[str, Any] = read_json_vocab(
            vocab_file, owner=type(self).__name__, layout='mapping each character to its id, e.g. {"<pad>": 0, "|": 1, "A": 2}'
        )
        self._use_language(target_lang)

    def _use_language(self, target_lang: str | None) -> None:
        """Encode with ``target_lang``'s part of a multilingual vocabulary (``None``: the whole vocabulary)."""
        if target_lang is not None and not isinstance(self.vocab.get(target_lang), dict):
            languages = ", ".join(key for key, value in self.vocab.items() if isinstance(value, dict))
            raise TokenizerError(
                f"target_lang={target_lang!r} is not a language of this vocabulary; it has: {languages or 'no languages'}."
            )
        self.encoder: dict[str, int] = self.vocab if target_lang is None else self.vocab[target_lang]
        self.decoder: dict[int, str] = {index: token for token, index in self.encoder.items()}

    @property
    def vocab_size(self) -> int:
        return len(self.decoder)

    def get_vocab(self) -> dict[str, int]:
        return {**self.encoder, **self.added_tokens_encoder}

    def _convert_token_to_id(self, token: str) -> int:
        index = self.encoder.get(token)
        return index if index is not None else self.encoder.get(self.unk_token)  # type: ignore[return-value]  # the vocabulary holds the unknown token

    def _convert_id_to_token(self, index: int) -> str:
        return self.decoder.get(index, self.unk_token)

    def save_vocabulary(self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None) -> tuple[str, ...]:
        directory = Path(save_directory)
        if not directory.is_dir():
            raise TokenizerError(f"save_vocabulary needs an existing folder, got {str(directory)!r}.")
        path = directory / ((f"{filename_prefix}-" if filename_prefix else "") + VOCAB_FILES_NAMES["vocab_file"])
        write_json(path, self.vocab)
        return (str(path),)

    @property
    def word_delimiter_token(self) -> str | None:
        if self._word_delimiter_token is None:
            if self.verbose:
                logger.error("Using word_delimiter_token, but it is not set yet.")
            return None
        return str(self._word_delimiter_token)

    @word_delimiter_token.setter
    def word_delimiter_token(self, value: str | None) -> None:
        self._word_delimiter_token = value

    @property
    def word_delimiter_token_id(self) -> int | None:
        if self._word_delimiter_token is None:
            return None
        return self.convert_tokens_to_ids(self.word_delimiter_token)

    @word_delimiter_token_id.setter
    def word_delimiter_token_id(self, value: int) -> None:
        self._word_delimiter_token = self.convert_ids_to_tokens(value)


class Wav2Vec2CTCTokenizer(_CharacterVocabulary):
    """Character-level CTC tokenizer of Wav2Vec2.

    ``word_delimiter_token`` stands for spaces; ``do_lower_case=True`` means the vocabulary is upper case:
    input is upper-cased before lookup and decoded text lower-cased.
    """

    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012

    def __init__(
        self,
        vocab_file: str | os.PathLike[str],
        bos_token: Any = "<s>",
        eos_token: Any = "</s>",
        unk_token: Any = "<unk>",
        pad_token: Any = "<pad>",
        word_delimiter_token: str = "|",
        replace_word_delimiter_char: str = " ",
        do_lower_case: bool = False,
        target_lang: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._word_delimiter_token: str | None = word_delimiter_token
        self.do_lower_case = do_lower_case
        self.replace_word_delimiter_char = replace_word_delimiter_char
        self.target_lang = target_lang
        self._read_vocabulary(vocab_file, target_lang)
        super().__init__(**constructor_arguments(leave_out=("vocab_file",)))
        self._add_multichar_tokens()

    def _add_multichar_tokens(self) -> None:
        # Tokens longer than one character ("<pad>", "<unk>"...) must not be split into characters.
        for token in self.encoder:
            if len(token) > 1:
                self.add_tokens(AddedToken(token, rstrip=True, lstrip=True, normalized=False))

    def set_target_lang(self, target_lang: str) -> None:
        """Switch a multilingual (nested) vocabulary to another language."""
        if self.vocab is self.encoder or self.vocab == self.encoder:
            raise TokenizerError("This vocabulary has a single language; set_target_lang needs a {lang: vocab} file.")
        self._use_language(target_lang)
        self.target_lang = target_lang
        self.init_kwargs["target_lang"] = target_lang
        self._add_multichar_tokens()

    def _add_tokens(self, new_tokens: list[str | AddedToken], special_tokens: bool = False) -> int:
        # Plain strings are added unnormalized and without stripping (characters are case-sensitive here).
        tokens: list[str | AddedToken] = [
            AddedToken(t, rstrip=False, lstrip=False, normalized=False) if isinstance(t, str) else t for t in new_tokens]
        return super()._add_tokens(tokens, special_tokens=special_tokens)

    # ------------------------------------------------------------------ encoding
    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        return (" " + text if is_split_into_words else text), kwargs

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        if self.do_lower_case:
            text = text.upper()
        return list(text.replace(" ", self.word_delimiter_token or " "))

    # ------------------------------------------------------------------ CTC decoding
    def convert_tokens_to_string(  # type: ignore[override]  # the reference's CTC signature
        self,
        tokens: list[str],
        group_tokens: bool = True,
        spaces_between_special_tokens: bool = False,
        output_char_offsets: bool = False,
        output_word_offsets: bool = False,
    ) -> dict[str, Any]:
        """CTC collapse of ``tokens``: ``{"text", "char_offsets", "word_offsets"}``."""
        if not tokens:
            return {"text": "", "char_offsets": [], "word_offsets": []}
        if group_tokens:
            groups = [(token, len(list(run))) for token, run in itertools.groupby(tokens)]
            chars = [token for token, _ in groups]
            repetitions = [count for _, count in groups]
        else:
            chars, repetitions = list(tokens), [1] * len(tokens)
        pad, delimiter = self.pad_token, self.word_delimiter_token
        kept = [self.replace_word_delimiter_char if c == delimiter else c for c in chars if c != pad]
        char_offsets: Offsets | None = None
        word_offsets: Offsets | None = None
        if output_char_offsets or output_word_offsets:
            char_offsets = self._compute_offsets(repetitions, chars, pad)
            if len(char_offsets) != len(kept):
                raise TokenizerError(
                    f"Internal error: {len(char_offsets)} character offsets for {len(kept)} characters ({kept})."
                )
            for offset, char in zip(char_offsets, kept):
                offset["char"] = char
            if output_word_offsets:
                word_offsets = self._get_word_offsets(char_offsets, self.replace_word_delimiter_char)
            if not output_char_offsets:
                char_offsets = None
        text = (" " if spaces_between_special_tokens else "").join(kept).strip()
        if self.do_lower_case:
            text = text.lower()
        return {"text": text, "char_offsets": char_offsets, "word_offsets": word_offsets}

    @staticmethod
    def _compute_offsets(char_repetitions: list[int], chars: list[str], ctc_token: Any) -> Offsets:
        ends = list(itertools.accumulate(char_repetitions))
        starts = [0, *ends[:-1]]
        return [
            {"char": char, "start_offset": start, "end_offset": end}
            for char, start, end in zip(chars, starts, ends)
            if char != ctc_token
        ]

    @staticmethod
    def _get_word_offsets(offsets: Offsets, word_delimiter_char: str = " ") -> Offsets:
        """Group character offsets into words, splitting at the delimiter character."""
        words: Offsets = []
        previous = "SPACE"
        word, start, end = "", 0, 0
        for offset in offsets:
            char = offset["char"]
            state = "SPACE" if char == word_delimiter_char else "WORD"
            if state == previous:
                end = offset["end_offset"]
                word += char
            elif state == "SPACE":
                words.append({"word": word, "start_offset": start, "end_offset": end})
            else:
                start, end, word = offset["start_offset"], offset["end_offset"], char
            previous = state
        if previous == "WORD":
            words.append({"word": word, "start_offset": start, "end_offset": end})
        return words

    def _decode(  # type: ignore[override]  # the reference's CTC signature
        self,
        token_ids: int | list[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        group_tokens: bool = True,
        spaces_between_special_tokens: bool = False,
        output_word_offsets: bool = False,
        output_char_offsets: bool = False,
    ) -> str | Wav2Vec2CTCTokenizerOutput:
        tokens = self.convert_ids_to_tokens(token_ids, skip_special_tokens=skip_special_tokens)
        if isinstance(tokens, str):
            tokens = [tokens]
        if skip_special_tokens:
            specials, pad = self._special_token_set(), self.pad_token
            tokens = [t for t in tokens if t == pad or t not in specials]
        result = self.convert_tokens_to_string(
            tokens,
            group_tokens=group_tokens,
            spaces_between_special_tokens=spaces_between_special_tokens,
            output_word_offsets=output_word_offsets,
            output_char_offsets=output_char_offsets,
        )
        text = self._maybe_clean_up(result["text"], clean_up_tokenization_spaces)
        if output_word_offsets or output_char_offsets:
            return Wav2Vec2CTCTokenizerOutput(text=text, char_offsets=result["char_offsets"], word_offsets=result["word_offsets"])
        return text

    def decode(  # type: ignore[override]  # the reference's CTC signature
        self,
        token_ids: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        output_char_offsets: bool = False,
        output_word_offsets: bool = False,
        **kwargs: Any,
    ) -> str | Wav2Vec2CTCTokenizerOutput:
        """CTC-decode ids (a list, array or tensor of frame predictions) into text, optionally with offsets."""
        return self._decode(
            to_py_obj(token_ids),
            skip_special_tokens=skip_special_tokens,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            output_char_offsets=output_char_offsets,
            output_word_offsets=output_word_offsets,
            **kwargs,
        )

    def batch_decode(  # type: ignore[override]  # the reference's CTC signature
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        output_char_offsets: bool = False,
        output_word_offsets: bool = False,
        **kwargs: Any,
    ) -> list[str] | Wav2Vec2CTCTokenizerOutput:
        """:meth:`decode` each row; with offsets, one output whose fields are lists over the batch."""
        decoded = [
            self.decode(
                row,
                skip_special_tokens=skip_special_tokens,
                clean_up_tokenization_spaces=clean_up_tokenization_spaces,
                output_char_offsets=output_char_offsets,
                output_word_offsets=output_word_offsets,
                **kwargs,
            )
            for row in to_py_obj(sequences)
        ]
        if output_char_offsets or output_word_offsets:
            if not decoded:
                return Wav2Vec2CTCTokenizerOutput(text=[])
            return Wav2Vec2CTCTokenizerOutput(**{key: [d[key] for d in decoded] for key in decoded[0]})  # type: ignore[index,arg-type]  # dicts of its fields when offsets are asked for
        return decoded  # type: ignore[return-value]  # strings, or outputs with offsets (returned above)


class Wav2Vec2Tokenizer(_CharacterVocabulary):
    """The older Wav2Vec2 tokenizer (deprecated; use :class:`Wav2Vec2Processor` or :class:`Wav2Vec2CTCTokenizer`):
    calling it prepares raw audio, as a feature extractor does (``input_values``, zero-mean unit-variance with
    ``do_normalize``, padded with zeros, ``attention_mask`` when ``return_attention_mask``), and ``decode``
    turns CTC ids into text (repeats collapsed, the padding token dropped, the word delimiter a space). It does
    not tokenize text."""

    model_input_names = ["input_values", "attention_mask"]  # noqa: RUF012

    def __init__(
        self,
        vocab_file: str | os.PathLike[str],
        bos_token: Any = "<s>",
        eos_token: Any = "</s>",
        unk_token: Any = "<unk>",
        pad_token: Any = "<pad>",
        word_delimiter_token: str = "|",
        do_lower_case: bool = False,
        do_normalize: bool = False,
        return_attention_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        warnings.warn(
            "Wav2Vec2Tokenizer is deprecated: use Wav2Vec2Processor (audio and text) or Wav2Vec2CTCTokenizer (text).",
            FutureWarning,
            stacklevel=2,
        )
        self._word_delimiter_token = word_delimiter_token
        self.do_lower_case = do_lower_case
        self.do_normalize = do_normalize
        self.return_attention_mask = return_attention_mask
        self._read_vocabulary(vocab_file)
        super().__init__(**constructor_arguments(leave_out=("vocab_file",)))

    def __call__(  # type: ignore[override]  # the reference's signature (raw speech, not text)
        self,
        raw_speech: Any,
        padding: bool | str = False,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | None = None,
        verbose: bool = True,
        **kwargs: Any,
    ) -> BatchEncoding:
        """Mono audio (one array or list of floats, or a batch of them, or a 2-D array) -> ``input_values``,
        always batched. Rows of different lengths stay a (ragged) array unless ``padding`` is asked for."""
        if isinstance(raw_speech, np.ndarray) and raw_speech.ndim > 2:
            raise ValueError(f"Wav2Vec2Tokenizer takes mono audio, got an array of shape {raw_speech.shape}.")
        batched = (isinstance(raw_speech, np.ndarray) and raw_speech.ndim > 1) or (
            isinstance(raw_speech, (list, tuple)) and len(raw_speech) > 0
            and isinstance(raw_speech[0], (np.ndarray, list, tuple))
        )
        rows = [np.asarray(row) for row in raw_speech] if batched else [np.asarray(raw_speech)]
        if self.do_normalize:
            rows = [(row - np.mean(row)) / np.sqrt(np.var(row) + 1e-5) for row in rows]
        return self.pad(
            BatchEncoding({"input_values": rows}),
            padding=padding,
            max_length=max_length,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_attention_mask=self.return_attention_mask,
            return_tensors=return_tensors,
            verbose=verbose,
        )

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """CTC decoding: collapse repeats, drop the padding (blank) token, the word delimiter becomes a space."""
        grouped = [token for token, _ in itertools.groupby(tokens)]
        text = "".join(" " if token == self.word_delimiter_token else token for token in grouped
                       if token != self.pad_token).strip()
        return text.lower() if self.do_lower_case else text

    def _decode(  # type: ignore[override]  # the reference's CTC signature
        self,
        token_ids: list[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> str:
        # added tokens go through the CTC rules with the rest (the base class would decode them apart)
        tokens = self.convert_ids_to_tokens(token_ids, skip_special_tokens=skip_special_tokens)
        if skip_special_tokens:  # the padding token stays: it separates real repeats ("L <pad> L")
            tokens = [t for t in tokens if t == self.pad_token or t not in self.all_special_tokens]
        return self._maybe_clean_up(self.convert_tokens_to_string(tokens), clean_up_tokenization_spaces)


__all__ = ["Wav2Vec2CTCTokenizer", "Wav2Vec2CTCTokenizerOutput", "Wav2Vec2Tokenizer"]
