"""``EncodingOptions``: how to encode, as one value.

Calling a tokenizer takes seventeen keywords (special tokens, padding, truncation, what to return, ...). The
public methods keep the reference's signatures, positional and keyword, and turn their arguments into one
``EncodingOptions`` at the door (padding and truncation resolved to strategies there, once); everything
behind the door (``_encode_plus``, ``_batch_encode_plus``, ``_prepare`` of slow and fast tokenizers) takes
that value instead of the keywords one by one.

Subclasses written for the reference (custom code) may still call the internal methods with the reference's
keywords (``padding_strategy=...``, ``truncation_strategy=...``); :meth:`EncodingOptions.of` accepts either.
The padding and truncation strategies are defined here (and re-exported by ``tokenization.padding``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from modelyard.tokenization.encoding import TensorType
    from modelyard.tokenization.padding import PaddingTruncationMixin


class PaddingStrategy(str, enum.Enum):
    LONGEST = "longest"
    MAX_LENGTH = "max_length"
    DO_NOT_PAD = "do_not_pad"


class TruncationStrategy(str, enum.Enum):
    ONLY_FIRST = "only_first"
    ONLY_SECOND = "only_second"
    LONGEST_FIRST = "longest_first"
    DO_NOT_TRUNCATE = "do_not_truncate"


@dataclass(frozen=True)
class EncodingOptions:
    """The settings of one encoding call.

    Attributes:
        add_special_tokens: add the model's special tokens (``[CLS] ... [SEP]``, BOS, ...).
        padding_strategy, truncation_strategy, max_length: padding and truncation, resolved.
        stride: overlap of the windows returned with ``return_overflowing_tokens``.
        is_split_into_words: the input is a list of words (or a batch of such lists).
        pad_to_multiple_of, padding_side: how padding is laid out.
        return_tensors: ``"pt"``, ``"np"`` or ``None`` (lists).
        return_*: which fields the encoding holds.
        verbose: warn about too-long sequences and the like.
        split_special_tokens: tokenize special tokens like ordinary text.
        tokenize_kwargs: other keywords, handed to ``tokenize`` of slow tokenizers.
    """

    add_special_tokens: bool = True
    padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD
    truncation_strategy: TruncationStrategy = TruncationStrategy.DO_NOT_TRUNCATE
    max_length: int | None = None
    stride: int = 0
    is_split_into_words: bool = False
    pad_to_multiple_of: int | None = None
    padding_side: str | None = None
    return_tensors: str | TensorType | None = None
    return_token_type_ids: bool | None = None
    return_attention_mask: bool | None = None
    return_overflowing_tokens: bool = False
    return_special_tokens_mask: bool = False
    return_offsets_mapping: bool = False
    return_length: bool = False
    verbose: bool = True
    split_special_tokens: bool = False
    tokenize_kwargs: Mapping[str, Any] = field(default_factory=dict)

    # The keywords of a call that are taken as they are (padding/truncation/max_length are resolved first).
    CALL_KEYWORDS: ClassVar[tuple[str, ...]] = (
        "add_special_tokens", "stride", "is_split_into_words", "pad_to_multiple_of", "padding_side", "return_tensors",
        "return_token_type_ids", "return_attention_mask", "return_overflowing_tokens", "return_special_tokens_mask",
        "return_offsets_mapping", "return_length", "verbose",
    )  # fmt: skip

    @classmethod
    def from_call(
        cls, tokenizer: PaddingTruncationMixin, arguments: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> EncodingOptions:
        """Options from a public method's arguments (``padding``, ``truncation``, ``max_length`` and
        :attr:`CALL_KEYWORDS`; missing ones take their defaults); ``extra`` keywords go to ``tokenize``."""
        extra = dict(extra or {})
        split = extra.pop("split_special_tokens", getattr(tokenizer, "split_special_tokens", False))
        verbose = arguments.get("verbose", True)
        padding, truncation, max_length, _ = tokenizer._get_padding_truncation_strategies(
            padding=arguments.get("padding", False),
            truncation=arguments.get("truncation"),
            max_length=arguments.get("max_length"),
            pad_to_multiple_of=arguments.get("pad_to_multiple_of"),
            verbose=verbose,
        )
        taken = {name: arguments[name] for name in cls.CALL_KEYWORDS if name in arguments}
        return cls(padding_strategy=padding, truncation_strategy=truncation, max_length=max_length,
                   split_special_tokens=split, tokenize_kwargs=extra, **taken)  # fmt: skip

    @classmethod
    def of(cls, options: EncodingOptions | None, keywords: Mapping[str, Any]) -> EncodingOptions:
        """``options`` itself, or options from the reference's internal keywords (strategies already resolved)."""
        if options is not None and not keywords:
            return options
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in keywords.items() if k in names}
        extra = {k: v for k, v in keywords.items() if k not in names}
        if "padding_strategy" in known:
            known["padding_strategy"] = PaddingStrategy(known["padding_strategy"])
        if "truncation_strategy" in known:
            known["truncation_strategy"] = TruncationStrategy(known["truncation_strategy"])
        base = options if options is not None else cls()
        return base.replace(**known, tokenize_kwargs={**base.tokenize_kwargs, **known.get("tokenize_kwargs", {}), **extra})

    def replace(self, **changes: Any) -> EncodingOptions:
        return dataclasses.replace(self, **changes)

    def tokenize_keywords(self) -> dict[str, Any]:
        """The keywords a slow tokenizer's ``tokenize`` gets."""
        return {"split_special_tokens": self.split_special_tokens, **self.tokenize_kwargs}
