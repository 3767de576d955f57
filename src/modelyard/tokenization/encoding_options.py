"""``EncodingOptions``: how to encode, as one value; ``EncodingKwargs``: the same options as keywords.

Calling a tokenizer takes seventeen keywords (special tokens, padding, truncation, what to return, ...). They
are declared once, as the ``EncodingKwargs`` TypedDict: the public methods (``__call__``, ``encode_plus``,
``batch_encode_plus``, ``encode``, ``prepare_for_model``) name their leading inputs and take the rest as
``**kwargs: Unpack[EncodingKwargs]``, so a type checker or an IDE still sees every name and type (a misspelled
keyword is an error), and :func:`takes_encoding_keywords` gives them the signature ``inspect`` reports, with
every keyword named. The keywords become one ``EncodingOptions`` at the door (padding and truncation resolved
to strategies there, once); everything behind the door (``_encode_plus``, ``_batch_encode_plus``, ``_prepare``
of slow and fast tokenizers) takes that value instead of the keywords one by one.

Subclasses written for the reference (custom code) may still call the internal methods with the reference's
keywords (``padding_strategy=...``, ``truncation_strategy=...``); :meth:`EncodingOptions.of` accepts either.
The padding and truncation strategies are defined here (and re-exported by ``tokenization.padding``).
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict, TypeVar

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


class EncodingKwargs(TypedDict, total=False):
    """The keywords of an encoding call, each with the meaning :class:`EncodingOptions` gives it (defaults:
    ``ENCODING_DEFAULTS``). ``split_special_tokens`` defaults to the tokenizer's own setting. Keywords beyond
    these are accepted at run time and handed to ``tokenize`` (a slow tokenizer's own options)."""

    add_special_tokens: bool
    padding: bool | str | PaddingStrategy
    truncation: bool | str | TruncationStrategy | None
    max_length: int | None
    stride: int
    is_split_into_words: bool
    pad_to_multiple_of: int | None
    padding_side: str | None
    return_tensors: str | TensorType | None
    return_token_type_ids: bool | None
    return_attention_mask: bool | None
    return_overflowing_tokens: bool
    return_special_tokens_mask: bool
    return_offsets_mapping: bool
    return_length: bool
    verbose: bool
    split_special_tokens: bool


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
        """Options from a public method's keywords (:class:`EncodingKwargs`; missing ones take their defaults).
        ``extra``: the keywords for ``tokenize``; by default those of ``arguments`` that are not encoding keywords."""
        if extra is None:
            extra = {key: value for key, value in arguments.items() if key not in ENCODING_DEFAULTS}
        else:
            extra = dict(extra)
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


# The defaults of the encoding keywords, in their declaration order: ``padding=False`` (no padding), and for the
# others the defaults of EncodingOptions. ``split_special_tokens`` is left out: it defaults to the tokenizer's own.
_FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(EncodingOptions)}
ENCODING_DEFAULTS: dict[str, Any] = {
    **{name: _FIELD_DEFAULTS.get(name) for name in EncodingKwargs.__annotations__ if name != "split_special_tokens"},
    "padding": False,
}

F = TypeVar("F", bound=Callable[..., Any])


def takes_encoding_keywords(method: F) -> F:
    """Mark ``method``'s ``**kwargs: Unpack[EncodingKwargs]``: ``inspect.signature`` (and ``help``) then name every
    encoding keyword, keyword-only with its default, as when they were written out in the signature (processors
    send a keyword to the parts whose ``__call__`` names it)."""
    signature = inspect.signature(method)
    parameters = list(signature.parameters.values())
    # ``**kwargs`` stays, for the other keywords (those of ``tokenize``)
    rest = [p.replace(annotation="Any") for p in parameters if p.kind is inspect.Parameter.VAR_KEYWORD]
    hints = EncodingKwargs.__annotations__  # strings here (postponed annotations), as ForwardRefs
    named = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                          annotation=getattr(hints[name], "__forward_arg__", hints[name]))
        for name, default in ENCODING_DEFAULTS.items() if name not in signature.parameters
    ]  # fmt: skip
    kept = [p for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]
    method.__signature__ = signature.replace(parameters=[*kept, *named, *rest])  # type: ignore[attr-defined]  # read by inspect
    return method
