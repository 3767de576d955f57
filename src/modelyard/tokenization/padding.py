"""Padding and truncation: strategy resolution, ``pad``, ``truncate_sequences`` and ``prepare_for_model``.

Shared by slow and fast tokenizers (fast ones hand the resolved strategy to the Rust tokenizer instead of
padding in Python, but ``pad`` on already-encoded inputs is the same for both).
"""

from __future__ import annotations

import enum
import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelyard.errors import TokenizerError
from modelyard.tokenization.encoding import BatchEncoding, TensorType, to_py_obj
from modelyard.tokenization.encoding_options import (
    EncodingKwargs,
    EncodingOptions,
    PaddingStrategy,
    TruncationStrategy,
    takes_encoding_keywords,
)

if TYPE_CHECKING:
    from modelyard.keyword_groups import Unpack

logger = logging.getLogger(__name__)

VERY_LARGE_INTEGER = int(1e30)  # "no limit" value of model_max_length, as in the reference's files
LARGE_INTEGER = int(1e20)


def _enum_value(enum_cls: type[enum.Enum], value: Any, argument: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in enum_cls)
        raise TokenizerError(f"{argument}={value!r} is not valid; use True, False or one of {choices}.") from None


class PaddingTruncationMixin:
    """Padding/truncation logic; expects the attributes of ``PreTrainedTokenizerBase``."""

    model_max_length: int
    padding_side: str
    truncation_side: str
    model_input_names: list[str]
    # The reference's name for the warnings already given (once per tokenizer); ``tokenizer.deprecation_warnings
    # = {}`` re-arms them, as code written for the reference does.
    deprecation_warnings: dict[str, bool]

    if TYPE_CHECKING:  # given by the tokenizer classes this mixin is part of
        pad_token: Any
        pad_token_id: int | None

        @property
        def pad_token_type_id(self) -> int: ...

        @property
        def is_fast(self) -> bool: ...

        def num_special_tokens_to_add(self, pair: bool = False) -> int: ...

        def build_inputs_with_special_tokens(self, token_ids_0: list[int],
                                             token_ids_1: list[int] | None = None) -> list[int]: ...

        def create_token_type_ids_from_sequences(self, token_ids_0: list[int],
                                                 token_ids_1: list[int] | None = None) -> list[int]: ...

        def get_special_tokens_mask(self, token_ids_0: list[int], token_ids_1: list[int] | None = None,
                                    already_has_special_tokens: bool = False) -> list[int]: ...

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if not self.deprecation_warnings.get(key):
            self.deprecation_warnings[key] = True
            logger.warning(message, *args)

    def _get_padding_truncation_strategies(
        self,
        padding: bool | str | PaddingStrategy = False,
        truncation: bool | str | TruncationStrategy | None = None,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        verbose: bool = True,
        **kwargs: Any,
    ) -> tuple[PaddingStrategy, TruncationStrategy, int | None, dict[str, Any]]:
        """Turn the user's padding/truncation arguments into strategies and an effective ``max_length``."""
        if max_length is not None and padding is False and truncation is None:
            if verbose:
                self._warn_once(
                    "implicit-truncation",
                    "max_length=%s was given without truncation=...; truncating with 'longest_first'. Pass "
                    "truncation=True (or a strategy) to say so explicitly.",
                    max_length,
                )
            truncation = "longest_first"

        if padding is False or padding is None:
            padding_strategy = PaddingStrategy.DO_NOT_PAD
        elif padding is True:
            if verbose and max_length is not None and truncation in (None, False, "do_not_truncate"):
                warnings.warn(
                    "max_length is ignored when padding=True and there is no truncation; use "
                    "padding='max_length' to pad to max_length.",
                    stacklevel=4,
                )
            padding_strategy = PaddingStrategy.LONGEST
        else:
            padding_strategy = _enum_value(PaddingStrategy, padding, "padding")

        if truncation is False or truncation is None:
            truncation_strategy = TruncationStrategy.DO_NOT_TRUNCATE
        elif truncation is True:
            truncation_strategy = TruncationStrategy.LONGEST_FIRST
        else:
            truncation_strategy = _enum_value(TruncationStrategy, truncation, "truncation")

        if max_length is None:
            if padding_strategy is PaddingStrategy.MAX_LENGTH:
                if self.model_max_length > LARGE_INTEGER:
                    if verbose:
                        self._warn_once(
                            "pad-no-max",
                            "padding='max_length' without max_length, and this tokenizer has no model_max_length: "
                            "not padding. Pass max_length=...",
                        )
                    padding_strategy = PaddingStrategy.DO_NOT_PAD
                else:
                    max_length = self.model_max_length
            if truncation_strategy is not TruncationStrategy.DO_NOT_TRUNCATE:
                if self.model_max_length > LARGE_INTEGER:
                    if verbose:
                        self._warn_once(
                            "truncate-no-max",
                            "Truncation without max_length, and this tokenizer has no model_max_length: not "
                            "truncating. Pass max_length=...",
                        )
                    truncation_strategy = TruncationStrategy.DO_NOT_TRUNCATE
                else:
                    max_length = self.model_max_length

        if padding_strategy is not PaddingStrategy.DO_NOT_PAD:
            pad_id = self.pad_token_id
            if self.pad_token is None or pad_id is None or pad_id < 0:
                raise TokenizerError(
                    "Padding was asked for, but this tokenizer has no padding token. Set one, e.g. "
                    "tokenizer.pad_token = tokenizer.eos_token, or tokenizer.add_special_tokens({'pad_token': '[PAD]'})."
                )
        if (
            truncation_strategy is not TruncationStrategy.DO_NOT_TRUNCATE
            and padding_strategy is not PaddingStrategy.DO_NOT_PAD
            and pad_to_multiple_of is not None
            and max_length is not None
            and max_length % pad_to_multiple_of != 0
        ):
            raise TokenizerError(
                f"Truncation and padding are both on, but the truncation length ({max_length}) is not a multiple "
                f"of pad_to_multiple_of ({pad_to_multiple_of}). Pick a max_length that is."
            )
        return padding_strategy, truncation_strategy, max_length, kwargs

    # ------------------------------------------------------------------ truncation
    def truncate_sequences(
        self,
        ids: list[int],
        pair_ids: list[int] | None = None,
        num_tokens_to_remove: int = 0,
        truncation_strategy: str | TruncationStrategy = "longest_first",
        stride: int = 0,
    ) -> tuple[list[int], list[int] | None, list[int]]:
        """Remove ``num_tokens_to_remove`` ids as the strategy says; returns (ids, pair_ids, overflowing ids)."""
        if num_tokens_to_remove <= 0:
            return ids, pair_ids, []
        strategy = _enum_value(TruncationStrategy, truncation_strategy, "truncation")
        side = self.truncation_side
        if side not in ("left", "right"):
            raise TokenizerError(f"truncation_side must be 'left' or 'right', got {side!r}.")
        overflowing: list[int] = []
        if strategy is TruncationStrategy.ONLY_FIRST or (strategy is TruncationStrategy.LONGEST_FIRST and pair_ids is None):
            if len(ids) > num_tokens_to_remove:
                window = min(len(ids), stride + num_tokens_to_remove)
                if side == "left":
                    overflowing, ids = ids[:window], ids[num_tokens_to_remove:]
                else:
                    overflowing, ids = ids[-window:], ids[:-num_tokens_to_remove]
            else:
                logger.error(
                    "Cannot remove %d tokens: the first sequence has only %d.%s",
                    num_tokens_to_remove,
                    len(ids),
                    " Use truncation='longest_first' or 'only_second'." if strategy is TruncationStrategy.ONLY_FIRST else "",
                )
        elif strategy is TruncationStrategy.LONGEST_FIRST:
            assert pair_ids is not None
            logger.warning(
                "Overflowing tokens are not returned for pairs truncated with 'longest_first'; the list stays empty."
            )
            len_ids, len_pair = len(ids), len(pair_ids)
            first = min(abs(len_pair - len_ids), num_tokens_to_remove)
            rest = num_tokens_to_remove - first
            if len_ids > len_pair:
                from_ids, from_pair = first + rest // 2, rest - rest // 2
            else:
                from_ids, from_pair = rest // 2, first + rest - rest // 2
            if side == "right":
                ids = ids[:-from_ids] if from_ids > 0 else ids
                pair_ids = pair_ids[:-from_pair] if from_pair > 0 else pair_ids
            else:
                ids, pair_ids = ids[from_ids:], pair_ids[from_pair:]
        elif strategy is TruncationStrategy.ONLY_SECOND and pair_ids is not None:
            if len(pair_ids) > num_tokens_to_remove:
                window = min(len(pair_ids), stride + num_tokens_to_remove)
                if side == "right":
                    overflowing, pair_ids = pair_ids[-window:], pair_ids[:-num_tokens_to_remove]
                else:
                    overflowing, pair_ids = pair_ids[:window], pair_ids[num_tokens_to_remove:]
            else:
                logger.error(
                    "Cannot remove %d tokens: the second sequence has only %d. Use truncation='longest_first' or "
                    "'only_first'.",
                    num_tokens_to_remove,
                    len(pair_ids),
                )
        return ids, pair_ids, overflowing

    # ------------------------------------------------------------------ padding
    def _pad(
        self,
        encoded_inputs: dict[str, Any],
        max_length: int | None = None,
        padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
    ) -> dict[str, Any]:
        """Pad one encoded example (a dict of lists) in place of its lists; returns the dict."""
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        main = self.model_input_names[0]
        required = encoded_inputs[main]
        if padding_strategy is PaddingStrategy.LONGEST:
            max_length = len(required)
        if max_length is not None and pad_to_multiple_of is not None and max_length % pad_to_multiple_of:
            max_length = (max_length // pad_to_multiple_of + 1) * pad_to_multiple_of
        if return_attention_mask and "attention_mask" not in encoded_inputs:
            encoded_inputs["attention_mask"] = [1] * len(required)
        if padding_strategy is PaddingStrategy.DO_NOT_PAD or max_length is None or len(required) == max_length:
            return encoded_inputs
        difference = max_length - len(required)
        if difference < 0:
            return encoded_inputs
        side = padding_side if padding_side is not None else self.padding_side
        if side not in ("left", "right"):
            raise TokenizerError(f"padding_side must be 'left' or 'right', got {side!r}.")
        fills = {
            "attention_mask": 0,
            "token_type_ids": self.pad_token_type_id,
            "special_tokens_mask": 1,
            main: self.pad_token_id,
        }
        for key, fill in fills.items():
            if key not in encoded_inputs or (key == "attention_mask" and not return_attention_mask):
                continue
            padding = [fill] * difference
            value = list(encoded_inputs[key])
            encoded_inputs[key] = value + padding if side == "right" else padding + value
        return encoded_inputs

    def pad(
        self,
        encoded_inputs: Any,
        padding: bool | str | PaddingStrategy = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | TensorType | None = None,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Pad already-encoded inputs (one example or a batch: a dict of lists, or a list of dicts)."""
        if self.is_fast:
            # once per tokenizer, under the reference's key; the sentence is the reference's, which callers match
            self._warn_once(
                "Asking-to-pad-a-fast-tokenizer",
                "%s is a fast tokenizer. Please note that with a fast tokenizer, using the `__call__` method is faster "
                "than using a method to encode the text followed by a call to the `pad` method to get a padded "
                "encoding. tokenizer(texts, padding=True) encodes and pads in one pass.",
                type(self).__name__,
            )
        if isinstance(encoded_inputs, (list, tuple)) and encoded_inputs and isinstance(encoded_inputs[0], Mapping):
            encoded_inputs = {key: [example[key] for example in encoded_inputs] for key in encoded_inputs[0]}
        main = self.model_input_names[0]
        if not isinstance(encoded_inputs, Mapping) or main not in encoded_inputs:
            keys = list(encoded_inputs.keys()) if isinstance(encoded_inputs, Mapping) else type(encoded_inputs).__name__
            raise TokenizerError(f"pad() needs encoded inputs with a {main!r} field; got {keys}.")
        encoded_inputs = dict(encoded_inputs)
        required = encoded_inputs[main]
        if required is None or (isinstance(required, Sequence) and len(required) == 0):
            if return_attention_mask:
                encoded_inputs["attention_mask"] = []
            return BatchEncoding(encoded_inputs)
        first = required[0]
        if isinstance(first, (list, tuple)):
            first = next((row[0] for row in required if len(row)), first)
        if not isinstance(first, (int, list, tuple)):
            # Tensors or arrays: pad as lists and give back the same kind.
            kind = "pt" if type(first).__module__.startswith("torch") else "np"
            return_tensors = kind if return_tensors is None else return_tensors
            encoded_inputs = {key: to_py_obj(value) for key, value in encoded_inputs.items()}
        padding_strategy, _, max_length, _ = self._get_padding_truncation_strategies(
            padding=padding, max_length=max_length, verbose=verbose
        )
        required = encoded_inputs[main]
        if required and not isinstance(required[0], (list, tuple)):
            padded = self._pad(
                encoded_inputs,
                max_length=max_length,
                padding_strategy=padding_strategy,
                pad_to_multiple_of=pad_to_multiple_of,
                padding_side=padding_side,
                return_attention_mask=return_attention_mask,
            )
            return BatchEncoding(padded, tensor_type=return_tensors)
        batch_size = len(required)
        for key, value in encoded_inputs.items():
            if len(value) != batch_size:
                raise TokenizerError(
                    f"pad(): field {key!r} has {len(value)} rows but {main!r} has {batch_size}; every field needs one row per example."
                )
        if padding_strategy is PaddingStrategy.LONGEST:
            max_length = max(len(row) for row in required)
            padding_strategy = PaddingStrategy.MAX_LENGTH
        batch: dict[str, list[Any]] = {}
        for i in range(batch_size):
            example = self._pad(
                {key: value[i] for key, value in encoded_inputs.items()},
                max_length=max_length,
                padding_strategy=padding_strategy,
                pad_to_multiple_of=pad_to_multiple_of,
                padding_side=padding_side,
                return_attention_mask=return_attention_mask,
            )
            for key, value in example.items():
                batch.setdefault(key, []).append(value)
        return BatchEncoding(batch, tensor_type=return_tensors)

    def _eventual_warn_about_too_long_sequence(self, ids: list[int], max_length: int | None, verbose: bool) -> None:
        if max_length is None and verbose and self.model_max_length and len(ids) > self.model_max_length:
            self._warn_once(
                "too-long",
                "Token indices sequence length is longer than the specified maximum sequence length for this model "
                "(%d > %d). Running this sequence through the model will result in indexing errors; pass "
                "truncation=True to cut it.",
                len(ids),
                self.model_max_length,
            )

    # ------------------------------------------------------------------ one example, ids to model inputs
    @takes_encoding_keywords
    def prepare_for_model(
        self,
        ids: list[int],
        pair_ids: list[int] | None = None,
        *,
        prepend_batch_axis: bool = False,
        **kwargs: Unpack[EncodingKwargs],
    ) -> BatchEncoding:
        """Turn ids (or a pair) into model inputs: special tokens, truncation, padding, masks (the keywords of
        calling the tokenizer; ``is_split_into_words`` and keywords for ``tokenize`` mean nothing here)."""
        return self._prepare(ids, pair_ids, EncodingOptions.from_call(self, kwargs), prepend_batch_axis=prepend_batch_axis)

    def _prepare(self, ids: list[int], pair_ids: list[int] | None, options: EncodingOptions, *,
                 prepend_batch_axis: bool = False) -> BatchEncoding:  # fmt: skip
        """``prepare_for_model`` with strategies already resolved (the hot path of slow tokenizers)."""
        add_special_tokens = options.add_special_tokens
        padding_strategy, truncation_strategy = options.padding_strategy, options.truncation_strategy
        max_length, verbose = options.max_length, options.verbose
        return_token_type_ids, return_attention_mask = options.return_token_type_ids, options.return_attention_mask
        return_overflowing_tokens = options.return_overflowing_tokens
        pair = pair_ids is not None
        if return_token_type_ids and not add_special_tokens:
            raise TokenizerError(
                "return_token_type_ids=True needs add_special_tokens=True (token types are defined by the special-token "
                "layout); leave return_token_type_ids unset or add the special tokens."
            )
        if return_overflowing_tokens and pair and truncation_strategy is TruncationStrategy.LONGEST_FIRST:
            # opens with the reference's sentence, which callers match
            raise TokenizerError(
                "Not possible to return overflowing tokens for pair of sequences with the `longest_first`. Please "
                "select another truncation strategy than `longest_first`, for instance `only_second` or `only_first`."
            )
        names = self.model_input_names
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in names
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in names
        total = len(ids) + (len(pair_ids) if pair_ids is not None else 0)
        if add_special_tokens:
            total += self.num_special_tokens_to_add(pair=pair)
        encoded: dict[str, Any] = {}
        overflowing: list[int] = []
        if truncation_strategy is not TruncationStrategy.DO_NOT_TRUNCATE and max_length and total > max_length:
            ids, pair_ids, overflowing = self.truncate_sequences(
                ids, pair_ids, num_tokens_to_remove=total - max_length, truncation_strategy=truncation_strategy,
                stride=options.stride,
            )
        if return_overflowing_tokens:
            encoded["overflowing_tokens"] = overflowing
            encoded["num_truncated_tokens"] = total - max_length if max_length is not None else 0
        if add_special_tokens:
            sequence = self.build_inputs_with_special_tokens(ids, pair_ids)
            type_ids = self.create_token_type_ids_from_sequences(ids, pair_ids) if return_token_type_ids else None
        else:
            sequence = ids + pair_ids if pair_ids is not None else list(ids)
            type_ids = [0] * len(sequence)
        encoded["input_ids"] = sequence
        if return_token_type_ids:
            encoded["token_type_ids"] = type_ids
        if options.return_special_tokens_mask:
            encoded["special_tokens_mask"] = (
                self.get_special_tokens_mask(ids, pair_ids) if add_special_tokens else [0] * len(sequence)
            )
        if verbose and max_length is None and len(sequence) > self.model_max_length:
            self._eventual_warn_about_too_long_sequence(sequence, max_length, verbose)
        # A tokenizer's own _pad (ChatGLM's fills position_ids) runs whenever the reference's would: also unpadded,
        # when there is an attention mask to make.
        own_pad = type(self)._pad is not PaddingTruncationMixin._pad
        if padding_strategy is not PaddingStrategy.DO_NOT_PAD or (own_pad and return_attention_mask):
            encoded = self._pad(encoded, max_length, padding_strategy, options.pad_to_multiple_of, options.padding_side,
                                return_attention_mask)  # fmt: skip
        elif return_attention_mask:
            encoded["attention_mask"] = [1] * len(sequence)
        if options.return_length:
            encoded["length"] = len(encoded["input_ids"])
        return BatchEncoding(encoded, tensor_type=options.return_tensors, prepend_batch_axis=prepend_batch_axis)


def pad_without_fast_tokenizer_warning(tokenizer: Any, *args: Any, **kwargs: Any) -> Any:
    """``tokenizer.pad(*args, **kwargs)`` without the advice that ``__call__`` pads faster: for code that pads
    already-encoded examples on purpose (data collators). The advice stays armed for the tokenizer's own users."""
    warnings = getattr(tokenizer, "deprecation_warnings", None)
    if not isinstance(warnings, dict):
        return tokenizer.pad(*args, **kwargs)
    key = "Asking-to-pad-a-fast-tokenizer"
    given = warnings.get(key, False)
    warnings[key] = True
    try:
        return tokenizer.pad(*args, **kwargs)
    finally:
        warnings[key] = given
