"""``PreTrainedTokenizer``: the pure-Python ("slow") tokenizer base.

A model family implements ``_tokenize`` (text without added tokens -> tokens), ``_convert_token_to_id``,
``_convert_id_to_token``, ``vocab_size``, ``get_vocab`` and ``save_vocabulary``. This class adds what every
slow tokenizer shares: added tokens (isolated before ``_tokenize``, with lstrip/rstrip/single_word), the
lower-casing pass of ``do_lower_case`` tokenizers, ids, special tokens, batching and decoding. Outputs match
the reference library's slow tokenizers token for token.
"""

from __future__ import annotations

import itertools
import logging
import re
from typing import Any, ClassVar

from modelyard.errors import TokenizerError
from modelyard.tokenization.added_tokens import AddedToken, AddedTokenSplitter
from modelyard.tokenization.base import PreTrainedTokenizerBase
from modelyard.tokenization.encoding import BatchEncoding
from modelyard.tokenization.encoding_options import EncodingOptions
from modelyard.tokenization.padding import PaddingStrategy, PaddingTruncationMixin

logger = logging.getLogger(__name__)


def _lower_per_char(text: str) -> str:
    # The reference lower-cases one character at a time, so a final capital sigma becomes "σ", not "ς".
    return text.replace("Σ", "σ").lower() if "Σ" in text else text.lower()


class PreTrainedTokenizer(PreTrainedTokenizerBase):
    """Base class of slow tokenizers (see the module docstring for what a subclass implements).

    ``mask_from_layout``: a family whose ``build_inputs_with_special_tokens`` only puts its special tokens around
    the sequences' ids (every family here) sets it, and ``get_special_tokens_mask`` reads the mask off that
    layout; otherwise the mask of ids without special tokens is all zeros, as the reference's base class says.
    """

    mask_from_layout: ClassVar[bool] = False

    def __init__(self, **kwargs: Any) -> None:
        if not hasattr(self, "_added_tokens_decoder"):
            self._added_tokens_decoder: dict[int, AddedToken] = {}
        for index, token in (kwargs.pop("added_tokens_decoder", None) or {}).items():
            self._added_tokens_decoder[int(index)] = AddedToken.from_any(token)
        self._added_tokens_encoder: dict[str, int] = {t.content: i for i, t in self._added_tokens_decoder.items()}
        self._splitter = AddedTokenSplitter()
        self._lowercase_pattern: re.Pattern[str] | None = None
        self.total_vocab_size = 0
        super().__init__(**kwargs)
        # Special tokens missing from the vocabulary are appended, in attribute order (as the reference does).
        self._add_tokens(
            [t for t in self.all_special_tokens_extended if t not in self._added_tokens_encoder], special_tokens=True
        )
        self._decode_use_source_tokenizer = False

    @property
    def is_fast(self) -> bool:
        return False

    # ------------------------------------------------------------------ added tokens
    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        return dict(sorted(self._added_tokens_decoder.items()))

    @added_tokens_decoder.setter
    def added_tokens_decoder(self, value: dict[int, str | AddedToken]) -> None:
        for index, token in value.items():
            if not isinstance(index, int) or not isinstance(token, (str, AddedToken)):
                raise TokenizerError(f"added_tokens_decoder must map int -> str | AddedToken; got {index!r}: {token!r}.")
            token = AddedToken(token) if isinstance(token, str) else token
            self._added_tokens_decoder[index] = token
            self._added_tokens_encoder[token.content] = index
        self._added_tokens_changed()

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        return {t.content: i for i, t in sorted(self._added_tokens_decoder.items())}

    def get_added_vocab(self) -> dict[str, int]:
        return self._added_tokens_encoder

    def __len__(self) -> int:
        return self.total_vocab_size

    def _added_tokens_changed(self) -> None:
        self._splitter.update(t.content for t in self._added_tokens_decoder.values())
        self._lowercase_pattern = None
        self.total_vocab_size = len(self.get_vocab())
        self._special_tokens_changed()

    def _special_tokens_changed(self) -> None:
        super()._special_tokens_changed()
        self._lowercase_pattern = None

    def _add_tokens(self, new_tokens: list[str | AddedToken], special_tokens: bool = False) -> int:
        added = 0
        vocab = dict(self.get_vocab())
        next_index = len(vocab)
        for token in new_tokens:
            if not isinstance(token, (str, AddedToken)):
                token = AddedToken.from_any(token)
            if str(token) == "":
                continue
            if isinstance(token, str):
                if token in self._added_tokens_encoder:
                    continue
                special = special_tokens or token in self._special_token_set()
                token = AddedToken(token, rstrip=False, lstrip=False, normalized=not special, special=special)
            elif special_tokens:
                token.__setstate__({"special": True, "normalized": token.normalized})
            if not token.special and token.normalized and getattr(self, "do_lower_case", False):
                token.content = token.content.lower()
            index = vocab.get(token.content)
            if index is None:
                index = vocab[token.content] = next_index + added
                added += 1
            if token.special and str(token) not in self._special_token_set():
                self._special_tokens_map["additional_special_tokens"].append(token)
                self._special_tokens_changed()
            self._added_tokens_decoder[index] = token
            self._added_tokens_encoder[token.content] = index
            if self.verbose:
                logger.info("Adding %s to the vocabulary", token)
        self._added_tokens_changed()
        return added

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        key = "n_special_pair" if pair else "n_special"
        cached = self._special_cache.get(key)
        if cached is None:
            cached = self._special_cache[key] = len(self.build_inputs_with_special_tokens([], [] if pair else None))
        return cached

    # ------------------------------------------------------------------ tokenization
    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        """Hook run before tokenizing; returns the text and the keyword arguments it did not use."""
        return text, kwargs

    def _lowercase_outside_tokens(self, text: str) -> str:
        """Lower-case everything but special tokens and normalized added tokens (``do_lower_case`` tokenizers)."""
        pattern = self._lowercase_pattern
        if pattern is None:
            keep = list(self.all_special_tokens)
            keep += [t.content for t in self._added_tokens_decoder.values() if not t.special and t.normalized]
            # Alternatives in this order: at each position the first that matches wins, as in the reference.
            pattern = re.compile("|".join(map(re.escape, keep))) if keep else re.compile(r"(?!)")
            self._lowercase_pattern = pattern
        pieces, position = [], 0
        for match in pattern.finditer(text):
            if match.start() == match.end():
                continue
            pieces.append(_lower_per_char(text[position : match.start()]))
            pieces.append(match.group())
            position = match.end()
        if not pieces:
            return _lower_per_char(text)
        pieces.append(_lower_per_char(text[position:]))
        return "".join(pieces)

    def tokenize(self, text: str, **kwargs: Any) -> list[str]:  # type: ignore[override]  # the reference's slow signature
        """Split ``text`` into tokens: added tokens are kept whole, the rest goes through ``_tokenize``."""
        pieces, added = self._split_added_tokens(text, kwargs)
        tokens: list[str] = []
        for piece in pieces:
            if piece in added:
                tokens.append(piece)
            elif piece:
                tokens.extend(self._tokenize(piece))
        return tokens

    def _text_to_ids(self, text: str, kwargs: dict[str, Any]) -> list[int]:
        """``convert_tokens_to_ids(tokenize(text))``, letting a family map plain text to ids directly."""
        if type(self).tokenize is not PreTrainedTokenizer.tokenize:
            # A class (a family or custom code) that rewrites tokenize() keeps its tokens when encoding.
            return self.convert_tokens_to_ids(self.tokenize(text, **kwargs))
        pieces, added = self._split_added_tokens(text, kwargs)
        ids: list[int] = []
        for piece in pieces:
            if piece in added:
                ids.append(added[piece])
            elif piece:
                ids.extend(self._text_ids(piece))
        return ids

    def _text_ids(self, text: str) -> list[int]:
        """Ids of text holding no added token (families with a faster route than tokens override this)."""
        return self.convert_tokens_to_ids(self._tokenize(text))

    def _split_added_tokens(self, text: str, kwargs: dict[str, Any]) -> tuple[list[str], dict[str, int]]:
        """The text cut around added tokens (spacing rules applied), and the added tokens to keep whole."""
        kwargs = dict(kwargs)
        split_special_tokens = kwargs.pop("split_special_tokens", self.split_special_tokens)
        text, kwargs = self.prepare_for_tokenization(text, **kwargs)
        if kwargs:
            logger.warning("Keyword arguments %s not recognized.", kwargs)
        if getattr(self, "do_lower_case", False):
            text = self._lowercase_outside_tokens(text)
        if split_special_tokens:
            # Only the added-token split is skipped; _tokenize still runs with its defaults (reference behaviour).
            return [text], {}
        pieces = self._splitter.split(text)
        added = self._added_tokens_encoder
        if len(pieces) > 1:
            self._apply_added_token_spacing(pieces)
        return pieces, added

    def _apply_added_token_spacing(self, pieces: list[str]) -> None:
        """Strip whitespace around lstrip/rstrip tokens and merge single_word tokens that touch a word."""
        encoder, decoder = self._added_tokens_encoder, self._added_tokens_decoder
        last = len(pieces) - 1
        for i, piece in enumerate(pieces):
            if piece not in encoder:
                continue
            token = decoder.get(encoder[piece])
            if not isinstance(token, AddedToken):
                raise TokenizerError(f"{piece!r} is an added token but has no AddedToken entry; add it with add_tokens().")
            left = pieces[i - 1] if i > 0 else None
            right = pieces[i + 1] if i < last else None
            if token.rstrip and right:
                pieces[i + 1] = right.lstrip()
            if token.lstrip and left:
                pieces[i - 1] = left.rstrip()
            if token.single_word and left and left[-1] != " ":
                pieces[i - 1] += piece
                pieces[i] = ""
            elif token.single_word and right and right[0] != " ":
                pieces[i + 1] = piece + pieces[i + 1]
                pieces[i] = ""

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        """Tokenize text that contains no added tokens (model-specific)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ ids
    def convert_tokens_to_ids(self, tokens: str | list[str] | None) -> Any:
        if tokens is None:
            return None
        added, convert = self._added_tokens_encoder, self._convert_token_to_id
        if isinstance(tokens, str):
            return added[tokens] if tokens in added else convert(tokens)
        return [added[t] if t in added else convert(t) for t in tokens]

    def _convert_token_to_id_with_added_voc(self, token: str | None) -> int | None:
        if token is None:
            return None
        index = self._added_tokens_encoder.get(token)
        return index if index is not None else self._convert_token_to_id(token)

    def _convert_token_to_id(self, token: str) -> int:
        raise NotImplementedError

    def _convert_id_to_token(self, index: int) -> str:
        raise NotImplementedError

    def convert_ids_to_tokens(self, ids: int | list[int], skip_special_tokens: bool = False) -> Any:
        decoder = self._added_tokens_decoder
        if isinstance(ids, int):
            return decoder[ids].content if ids in decoder else self._convert_id_to_token(ids)
        skip = self._special_id_set() if skip_special_tokens else ()
        tokens = []
        for index in ids:
            index = int(index)
            if index in skip:
                continue
            tokens.append(decoder[index].content if index in decoder else self._convert_id_to_token(index))
        return tokens

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise TokenizerError("Pass one sequence when already_has_special_tokens=True (its ids include the special tokens).")
            return super().get_special_tokens_mask(token_ids_0, None, already_has_special_tokens=True)
        if not self.mask_from_layout:
            return [0] * (len(token_ids_0) + (len(token_ids_1) if token_ids_1 else 0))
        placeholder = -1  # never a token id: where it stands, the layout put a sequence's token
        layout = self.build_inputs_with_special_tokens(
            [placeholder] * len(token_ids_0), None if token_ids_1 is None else [placeholder] * len(token_ids_1)
        )
        return [0 if index == placeholder else 1 for index in layout]

    # ------------------------------------------------------------------ encoding
    def _input_ids(self, text: Any, is_split_into_words: bool, tokenize_kwargs: dict[str, Any]) -> list[int]:
        if isinstance(text, str):
            return self._text_to_ids(text, tokenize_kwargs)
        if isinstance(text, (list, tuple)) and text and isinstance(text[0], str):
            if is_split_into_words:
                words = (self._text_to_ids(word, {**tokenize_kwargs, "is_split_into_words": True}) for word in text)
                return list(itertools.chain.from_iterable(words))
            return self.convert_tokens_to_ids(list(text))
        if isinstance(text, (list, tuple)) and text and isinstance(text[0], int):
            return list(text)
        raise TokenizerError(
            f"Cannot encode {text!r:.80}: expected a str, a list of str"
            f"{' (words, with is_split_into_words=True)' if is_split_into_words else ''} or a list of int ids."
        )

    def _encode_plus(self, text: Any, text_pair: Any = None, options: EncodingOptions | None = None,
                     **keywords: Any) -> BatchEncoding:  # fmt: skip
        options = EncodingOptions.of(options, keywords)
        if options.return_offsets_mapping:
            raise _offsets_error(self)
        tokenize_kwargs = options.tokenize_keywords()
        first = self._input_ids(text, options.is_split_into_words, tokenize_kwargs)
        second = self._input_ids(text_pair, options.is_split_into_words, tokenize_kwargs) if text_pair is not None else None
        return self._prepare(first, second, options, prepend_batch_axis=True)

    def _batch_encode_plus(self, batch: list[Any], options: EncodingOptions | None = None, **keywords: Any) -> BatchEncoding:
        options = EncodingOptions.of(options, keywords)
        if options.return_offsets_mapping:
            raise _offsets_error(self)
        tokenize_kwargs = options.tokenize_keywords()
        split_words = options.is_split_into_words
        # Each example unpadded, without tensors or masks: the batch is padded together below.
        each = options.replace(padding_strategy=PaddingStrategy.DO_NOT_PAD, pad_to_multiple_of=None, padding_side=None,
                               return_tensors=None, return_attention_mask=False)  # fmt: skip
        columns: dict[str, list[Any]] = {}
        for item in batch:
            if not isinstance(item, (list, tuple)) or (split_words and not isinstance(item[0], (list, tuple))):
                text, pair = item, None
            elif len(item) == 2:
                text, pair = item
            else:
                raise TokenizerError(f"A batch item must be a text or a (text, text_pair) pair; got {item!r:.80}.")
            encoded = self._prepare(
                self._input_ids(text, split_words, tokenize_kwargs),
                self._input_ids(pair, split_words, tokenize_kwargs) if pair is not None else None,
                each,
            )
            for key, value in encoded.data.items():
                columns.setdefault(key, []).append(value)
        if not columns:
            return BatchEncoding({name: [] for name in self.model_input_names}, tensor_type=options.return_tensors)
        if type(self)._pad is not PaddingTruncationMixin._pad:
            # A tokenizer with padding of its own (ChatGLM's pads and fills position_ids): each example through
            # its _pad, as the reference pads every batch, even one left unpadded.
            return self.pad(columns, padding=options.padding_strategy, max_length=options.max_length,
                            pad_to_multiple_of=options.pad_to_multiple_of, padding_side=options.padding_side,
                            return_attention_mask=options.return_attention_mask, return_tensors=options.return_tensors,
                            verbose=options.verbose)
        return self._pad_columns(
            columns, options.padding_strategy, options.max_length, options.pad_to_multiple_of, options.padding_side,
            options.return_attention_mask, options.return_tensors,
        )  # fmt: skip

    def _pad_columns(
        self,
        columns: dict[str, list[Any]],
        strategy: PaddingStrategy,
        max_length: int | None,
        pad_to_multiple_of: int | None,
        padding_side: str | None,
        return_attention_mask: bool | None,
        return_tensors: Any,
    ) -> BatchEncoding:
        """Pad a batch held as columns (field -> rows) and build the attention masks in one pass."""
        main = self.model_input_names[0]
        rows = columns[main]
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        if strategy is PaddingStrategy.LONGEST:
            max_length = max(len(row) for row in rows)
        if strategy is PaddingStrategy.DO_NOT_PAD or max_length is None:
            if return_attention_mask:
                columns["attention_mask"] = [[1] * len(row) for row in rows]
            return BatchEncoding(columns, tensor_type=return_tensors)
        if pad_to_multiple_of and max_length % pad_to_multiple_of:
            max_length = (max_length // pad_to_multiple_of + 1) * pad_to_multiple_of
        side = self._side(padding_side if padding_side is not None else self.padding_side, "padding_side")
        fills = {main: self.pad_token_id, "token_type_ids": self.pad_token_type_id, "special_tokens_mask": 1}
        lengths = [len(row) for row in rows]
        if return_attention_mask:
            columns["attention_mask"] = [[1] * n for n in lengths]
            fills["attention_mask"] = 0
        for key, fill in fills.items():
            column = columns.get(key)
            if column is None:
                continue
            for i, n in enumerate(lengths):
                if n < max_length:
                    pad = [fill] * (max_length - n)
                    column[i] = column[i] + pad if side == "right" else pad + column[i]
        return BatchEncoding(columns, tensor_type=return_tensors)

    # ------------------------------------------------------------------ decoding
    def _legacy_added_tokens(self) -> frozenset[str]:
        return self._cached("legacy_added", self._find_legacy_added_tokens)

    def _find_legacy_added_tokens(self) -> frozenset[str]:
        """Added tokens decoded apart from the text around them: the non-special ones, and special ones beyond the
        model's vocabulary."""
        specials = self._special_token_set()
        extra = {t for t in self.additional_special_tokens or [] if self.convert_tokens_to_ids(t) >= self.vocab_size}
        return frozenset((set(self._added_tokens_encoder) - specials) | extra)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(tokens)

    def _decode(
        self,
        token_ids: int | list[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        spaces_between_special_tokens: bool = True,
        **kwargs: Any,
    ) -> str:
        self._decode_use_source_tokenizer = kwargs.pop("use_source_tokenizer", False)
        tokens = self.convert_ids_to_tokens(token_ids, skip_special_tokens=skip_special_tokens)
        if isinstance(tokens, str):
            tokens = [tokens]
        legacy = self._legacy_added_tokens()
        specials = self._special_token_set() if skip_special_tokens else frozenset()
        texts: list[str] = []
        run: list[str] = []
        for token in tokens:
            if token in specials:
                continue
            if token in legacy:
                if run:
                    string = self.convert_tokens_to_string(run)
                    if string:
                        texts.append(string)
                    run = []
                texts.append(token)
            else:
                run.append(token)
        if run:
            texts.append(self.convert_tokens_to_string(run))
        text = (" " if spaces_between_special_tokens else "").join(texts)
        return self._maybe_clean_up(text, clean_up_tokenization_spaces)

    # ------------------------------------------------------------------ saving
    def _save_pretrained(self, directory: Any, file_names: tuple[str, ...], legacy_format: bool | None = None, filename_prefix: str | None = None) -> tuple[str, ...]:
        from modelyard.tokenization import serialization

        if legacy_format is False:
            raise TokenizerError("legacy_format=False saves only tokenizer.json, which only fast tokenizers have.")
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        added_path = directory / (prefix + serialization.ADDED_TOKENS_FILE)
        beyond = {token: index for token, index in self.added_tokens_encoder.items() if index >= self.vocab_size}
        if beyond:
            serialization.write_json(added_path, beyond)
        vocab_files = self.save_vocabulary(str(directory), filename_prefix=filename_prefix)
        return file_names + tuple(vocab_files) + ((str(added_path),) if beyond else ())


def _offsets_error(tokenizer: PreTrainedTokenizerBase) -> TokenizerError:
    return TokenizerError(
        f"return_offsets_mapping=True needs a fast tokenizer; {type(tokenizer).__name__} is a slow (pure Python) one. "
        f"Use {type(tokenizer).__name__}Fast or AutoTokenizer.from_pretrained(..., use_fast=True)."
    )
