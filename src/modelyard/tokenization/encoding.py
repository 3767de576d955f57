"""``BatchEncoding``: what a tokenizer call returns, plus tensor conversion.

A ``BatchEncoding`` is a mapping (``input_ids``, ``attention_mask``, ...) readable by key and by attribute.
From a fast tokenizer it also keeps the Rust ``Encoding`` objects, which answer alignment questions
(``word_ids``, ``char_to_token``, ``token_to_chars``...). NumPy and torch are imported only when tensors are
asked for, so tokenizing never imports torch.
"""

from __future__ import annotations

import enum
import logging
import sys
from collections import UserDict
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

from modelyard.batch_dict import BatchDict
from modelyard.errors import TokenizerError

logger = logging.getLogger(__name__)


class TensorType(str, enum.Enum):
    """Accepted values of ``return_tensors``."""

    PYTORCH = "pt"
    NUMPY = "np"


class CharSpan(NamedTuple):
    """Character span ``[start, end)`` in the original string."""

    start: int
    end: int


class TokenSpan(NamedTuple):
    """Token span ``[start, end)`` in the encoded sequence."""

    start: int
    end: int


def tensor_type_of(value: str | TensorType | None) -> TensorType | None:
    if value is None or isinstance(value, TensorType):
        return value
    try:
        return TensorType(value)
    except ValueError:
        raise TokenizerError(
            f"return_tensors={value!r} is not supported; use 'pt' (torch tensors), 'np' (NumPy arrays) or None "
            "(Python lists)."
        ) from None


def to_py_obj(value: Any) -> Any:
    """Turn tensors and arrays (torch, NumPy) into Python lists and numbers, without importing torch."""
    if isinstance(value, (int, str, float, bool)) or value is None:
        return value
    if isinstance(value, dict) or isinstance(value, UserDict):
        return {k: to_py_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_py_obj(v) for v in value]
    if hasattr(value, "tolist"):  # torch.Tensor, numpy arrays and scalars
        if hasattr(value, "detach"):
            value = value.detach().cpu()
        return value.tolist()
    return value


def _is_array(value: Any, kind: TensorType) -> bool:
    module = type(value).__module__
    if kind is TensorType.PYTORCH:
        return module.startswith("torch") and type(value).__name__ in ("Tensor", "Parameter")
    return module == "numpy" and type(value).__name__ == "ndarray"


# Fields tokenizers fill with Python ints only (safe to convert without NumPy's type inference).
_INT_FIELDS = frozenset({
    "input_ids", "token_type_ids", "attention_mask", "special_tokens_mask", "offset_mapping", "length",
    "overflow_to_sample_mapping", "overflowing_tokens", "num_truncated_tokens", "labels",
})


def _to_numpy(value: Any, key: str = "") -> Any:
    import numpy as np

    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple, np.ndarray)):
        if len({len(row) for row in value}) > 1:
            # Ragged rows: an object array (the reference's behaviour); torch refuses these below.
            ragged = np.empty(len(value), dtype=object)
            for i, row in enumerate(value):
                ragged[i] = np.asarray(row)
            return ragged
    if isinstance(value, (list, tuple)) and not _has_items(value):
        return np.asarray(value, dtype=np.int64)
    # Token ids, masks and offsets are Python ints: saying so skips NumPy's type inference (a third faster).
    if key in _INT_FIELDS and type(_first_scalar(value)) is int:
        return np.array(value, dtype=np.int64)
    return np.asarray(value)


def _first_scalar(value: Any) -> Any:
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value


def _has_items(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_has_items(v) for v in value)
    return True


def _convert(value: Any, kind: TensorType, key: str) -> Any:
    array = _to_numpy(value, key)
    if kind is TensorType.NUMPY:
        return array
    import torch

    if array.dtype == object:
        raise ValueError("ragged rows")
    if type(_first_scalar(value)) is float:  # Python floats become torch's default dtype, as torch.tensor() does
        return torch.from_numpy(array).to(torch.get_default_dtype())
    return torch.from_numpy(array)


class BatchEncoding(BatchDict):
    """The output of a tokenizer: a dict of model inputs, with alignment helpers for fast tokenizers."""

    _state_fields: ClassVar[dict[str, str]] = {"_encodings": "encodings", "_n_sequences": "n_sequences"}

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        encoding: Any | Sequence[Any] | None = None,
        tensor_type: str | TensorType | None = None,
        prepend_batch_axis: bool = False,
        n_sequences: int | None = None,
    ) -> None:
        self.data = dict(data) if data is not None else {}
        if encoding is not None and not isinstance(encoding, (list, tuple)):
            encoding = [encoding]
        self._encodings = list(encoding) if encoding is not None else None
        if n_sequences is None and self._encodings:
            n_sequences = self._encodings[0].n_sequences
        self._n_sequences = n_sequences
        if tensor_type is not None or prepend_batch_axis:
            self.convert_to_tensors(tensor_type=tensor_type, prepend_batch_axis=prepend_batch_axis)

    # ------------------------------------------------------------------ mapping access
    def __getitem__(self, item: str | int | slice) -> Any:
        if isinstance(item, str):
            return self.data[item]
        if self._encodings is not None and isinstance(item, int):
            return self._encodings[item]
        if isinstance(item, slice):
            return {key: value[item] for key, value in self.data.items()}
        raise KeyError(
            f"Invalid key {item!r}: use a field name (str), an integer index into the fast tokenizer's encodings, "
            "or a slice of the batch."
        )

    @property
    def n_sequences(self) -> int | None:
        """1 or 2 (single texts or pairs) when known."""
        return self._n_sequences

    @property
    def is_fast(self) -> bool:
        return self._encodings is not None

    @property
    def encodings(self) -> list[Any] | None:
        """The ``tokenizers.Encoding`` objects of a fast tokenizer (``None`` for a slow one)."""
        return self._encodings

    # ------------------------------------------------------------------ alignment (fast tokenizers)
    def _encoding(self, method: str, batch_index: int) -> Any:
        if not self._encodings:
            raise TokenizerError(
                f"BatchEncoding.{method}() needs the alignment data of a fast tokenizer; this encoding came from a "
                "slow (pure Python) tokenizer. Use the Fast class (e.g. BertTokenizerFast) or "
                "AutoTokenizer.from_pretrained(..., use_fast=True)."
            )
        return self._encodings[batch_index]

    def _split_index(self, first: int, second: int | None) -> tuple[int, int]:
        return (first, second) if second is not None else (0, first)

    def tokens(self, batch_index: int = 0) -> list[str]:
        return self._encoding("tokens", batch_index).tokens

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        return self._encoding("sequence_ids", batch_index).sequence_ids

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token, the index of the word it comes from (``None`` for special tokens and padding)."""
        return self._encoding("word_ids", batch_index).word_ids

    def words(self, batch_index: int = 0) -> list[int | None]:
        return self.word_ids(batch_index)

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int:
        batch, token = self._split_index(batch_or_token_index, token_index)
        encoding = self._encoding("token_to_sequence", batch)
        return encoding.token_to_sequence(token if token >= 0 else len(encoding.ids) + token)

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int:
        batch, token = self._split_index(batch_or_token_index, token_index)
        encoding = self._encoding("token_to_word", batch)
        return encoding.token_to_word(token if token >= 0 else len(encoding.ids) + token)

    def word_to_tokens(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> TokenSpan | None:
        batch, word = self._split_index(batch_or_word_index, word_index)
        span = self._encoding("word_to_tokens", batch).word_to_tokens(word, sequence_index)
        return TokenSpan(*span) if span is not None else None

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> CharSpan | None:
        """The character span of a token in its original text (``None`` for special tokens)."""
        batch, token = self._split_index(batch_or_token_index, token_index)
        span = self._encoding("token_to_chars", batch).token_to_chars(token)
        return CharSpan(*span) if span is not None else None

    def char_to_token(self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0) -> int | None:
        """The index of the token that covers a character of the original text."""
        batch, char = self._split_index(batch_or_char_index, char_index)
        return self._encoding("char_to_token", batch).char_to_token(char, sequence_index)

    def word_to_chars(self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0) -> CharSpan:
        batch, word = self._split_index(batch_or_word_index, word_index)
        return CharSpan(*self._encoding("word_to_chars", batch).word_to_chars(word, sequence_index))

    def char_to_word(self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0) -> int | None:
        batch, char = self._split_index(batch_or_char_index, char_index)
        return self._encoding("char_to_word", batch).char_to_word(char, sequence_index)

    # ------------------------------------------------------------------ tensors
    def convert_to_tensors(
        self, tensor_type: str | TensorType | None = None, prepend_batch_axis: bool = False
    ) -> BatchEncoding:
        """Convert every field in place to torch tensors (``"pt"``) or NumPy arrays (``"np"``)."""
        kind = tensor_type_of(tensor_type)
        if kind is None:
            return self
        for key, value in self.data.items():
            if prepend_batch_axis:
                value = [value]
            if _is_array(value, kind):
                continue
            try:
                self.data[key] = _convert(value, kind, key)
            except (ValueError, TypeError) as err:
                if key == "overflowing_tokens":
                    raise TokenizerError(
                        "Cannot make a tensor of overflowing tokens of different lengths; use a fast tokenizer "
                        "(its overflowing windows come back as rows of the batch) or return_tensors=None."
                    ) from err
                raise TokenizerError(
                    f"Cannot make a tensor of field {key!r}: its rows have different lengths or it is nested "
                    "too deeply. Pass padding=True (and truncation=True) so every row has the same length, or "
                    "return_tensors=None to get lists."
                ) from err
        return self

    def to(self, device: Any, *, non_blocking: bool = False) -> BatchEncoding:
        """Move every tensor to ``device`` (a string, an index or a ``torch.device``); returns ``self``."""
        torch = sys.modules.get("torch")
        is_device = isinstance(device, (str, int)) or (torch is not None and isinstance(device, torch.device))
        if not is_device:
            logger.warning("BatchEncoding.to(%r): not a device; nothing was moved.", device)
            return self
        self.data = {
            key: value.to(device=device, non_blocking=non_blocking) if callable(getattr(value, "to", None)) else value
            for key, value in self.data.items()
        }
        return self

    def __repr__(self) -> str:
        return f"BatchEncoding({self.data!r})"
