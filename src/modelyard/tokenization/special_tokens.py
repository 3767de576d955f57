"""Special tokens (bos/eos/unk/sep/pad/cls/mask + additional) as attributes of a tokenizer.

Each special token is a property backed by ``_special_tokens_map`` (values are ``str`` or ``AddedToken``);
``<name>_id`` properties convert through the vocabulary. Derived lists (``all_special_tokens``, their ids)
are cached because encoding and decoding read them on every call; every change clears the cache.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from modelyard.errors import TokenizerError
from modelyard.tokenization.added_tokens import AddedToken

logger = logging.getLogger(__name__)

T = TypeVar("T")

SPECIAL_TOKENS_ATTRIBUTES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
    "additional_special_tokens",
)


def _token_property(name: str) -> property:
    def getter(self: SpecialTokensMixin) -> str | None:
        value = self._special_tokens_map.get(name)
        if value is None:
            if self.verbose:
                logger.error("Using %s, but it is not set yet.", name)
            return None
        return str(value)

    def setter(self: SpecialTokensMixin, value: str | AddedToken | None) -> None:
        if value is not None and not isinstance(value, (str, AddedToken)):
            value = _rust_token_or_fail(name, value)
        self._special_tokens_map[name] = value
        self._special_tokens_changed()

    return property(getter, setter, doc=f"The {name.replace('_', ' ')} (a string), or None if not set.")


def _id_property(name: str) -> property:
    def getter(self: SpecialTokensMixin) -> int | None:
        token = getattr(self, name)
        return self.convert_tokens_to_ids(token) if token is not None else None

    def setter(self: SpecialTokensMixin, value: int | None) -> None:
        setattr(self, name, self.convert_ids_to_tokens(value) if value is not None else None)

    return property(getter, setter, doc=f"The id of the {name.replace('_', ' ')}, or None if not set.")


def _rust_token_or_fail(name: str, value: Any) -> AddedToken:
    if hasattr(value, "content") and hasattr(value, "special"):
        return AddedToken.from_any(value)
    raise TokenizerError(f"{name} must be a str or an AddedToken, got {type(value).__name__}: {value!r}.")


class SpecialTokensMixin:
    """Special-token attributes shared by slow and fast tokenizers."""

    SPECIAL_TOKENS_ATTRIBUTES: ClassVar[list[str]] = list(SPECIAL_TOKENS_ATTRIBUTES)  # a list, as the reference's

    bos_token = _token_property("bos_token")
    eos_token = _token_property("eos_token")
    unk_token = _token_property("unk_token")
    sep_token = _token_property("sep_token")
    pad_token = _token_property("pad_token")
    cls_token = _token_property("cls_token")
    mask_token = _token_property("mask_token")
    bos_token_id = _id_property("bos_token")
    eos_token_id = _id_property("eos_token")
    unk_token_id = _id_property("unk_token")
    sep_token_id = _id_property("sep_token")
    pad_token_id = _id_property("pad_token")
    cls_token_id = _id_property("cls_token")
    mask_token_id = _id_property("mask_token")

    _special_tokens_map: dict[str, Any]
    verbose: bool

    def _init_special_tokens(self, kwargs: dict[str, Any]) -> None:
        """Take the special tokens out of ``kwargs`` (values stay unvalidated against the vocabulary)."""
        self._pad_token_type_id = 0
        self._special_cache: dict[Any, Any] = {}  # keyed by a name, or by a tuple of the settings it depends on
        self._special_tokens_map = dict.fromkeys(SPECIAL_TOKENS_ATTRIBUTES)
        self._special_tokens_map["additional_special_tokens"] = []
        for key in SPECIAL_TOKENS_ATTRIBUTES:
            value = kwargs.pop(key, None)
            if value is None:
                continue
            if key == "additional_special_tokens":
                self.additional_special_tokens = value
            elif isinstance(value, (str, AddedToken)):
                self._special_tokens_map[key] = value
            elif isinstance(value, dict):
                self._special_tokens_map[key] = AddedToken.from_any({"special": True, **value})
            else:
                self._special_tokens_map[key] = _rust_token_or_fail(key, value)
        extra = kwargs.pop("extra_special_tokens", None) or {}
        if isinstance(extra, (list, tuple)):
            # Older files list extra tokens without names: treat them as additional special tokens.
            self.additional_special_tokens = list(self._special_tokens_map["additional_special_tokens"]) + list(extra)
            extra = {}
        self.extra_special_tokens: dict[str, Any] = dict(extra)
        for key, value in self.extra_special_tokens.items():
            if not isinstance(value, (str, AddedToken)):
                raise TokenizerError(f"extra_special_tokens[{key!r}] must be a str or an AddedToken, got {value!r}.")
            self._special_tokens_map[key] = value
        self._special_tokens_changed()

    def __getattr__(self, key: str) -> Any:
        # Only reached for unknown attributes: serve model-specific extra special tokens (and their ids).
        specials = self.__dict__.get("_special_tokens_map")
        if specials is not None and not key.startswith("__"):
            if key in specials:
                value = specials[key]
                return str(value) if value is not None else None
            if key.endswith("_id") and key[:-3] in specials:
                token = specials[key[:-3]]
                return self.convert_tokens_to_ids(str(token)) if token is not None else None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    # ------------------------------------------------------------------ additional special tokens
    @property
    def additional_special_tokens(self) -> list[str] | None:
        """The additional special tokens; ``None`` after ``tokenizer.additional_special_tokens = None``, as for the
        other special-token attributes (the tokenizer itself then works with none)."""
        if self.__dict__.get("_additional_special_tokens_unset"):
            return None
        return [str(token) for token in self._special_tokens_map["additional_special_tokens"]]

    @additional_special_tokens.setter
    def additional_special_tokens(self, value: list[str | AddedToken] | tuple[str | AddedToken, ...] | None) -> None:
        self.__dict__["_additional_special_tokens_unset"] = value is None
        if value is None:
            value = []
        if not isinstance(value, (list, tuple)):
            raise TokenizerError(
                f"additional_special_tokens must be a list of str or AddedToken, got {type(value).__name__}: {value!r}."
            )
        tokens = [t if isinstance(t, (str, AddedToken)) else _rust_token_or_fail("additional_special_tokens", t) for t in value]
        self._special_tokens_map["additional_special_tokens"] = tokens
        self._special_tokens_changed()

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.additional_special_tokens or [])

    @additional_special_tokens_ids.setter
    def additional_special_tokens_ids(self, values: list[int]) -> None:
        self.additional_special_tokens = [self.convert_ids_to_tokens(v) for v in values]

    @property
    def pad_token_type_id(self) -> int:
        return self._pad_token_type_id

    # ------------------------------------------------------------------ derived views
    def _special_tokens_changed(self) -> None:
        self._special_cache = {}

    def _attribute_names(self) -> list[str]:
        return list(SPECIAL_TOKENS_ATTRIBUTES) + [k for k in self.extra_special_tokens if k not in SPECIAL_TOKENS_ATTRIBUTES]

    @property
    def special_tokens_map(self) -> dict[str, str | list[str]]:
        """Set special tokens by attribute name, as strings."""
        result: dict[str, Any] = {}
        for name in self._attribute_names():
            value = self._special_tokens_map.get(name)
            if value:
                result[name] = [str(t) for t in value] if isinstance(value, list) else str(value)
        return result

    @property
    def special_tokens_map_extended(self) -> dict[str, Any]:
        """Like :attr:`special_tokens_map`, keeping ``AddedToken`` objects."""
        result: dict[str, Any] = {}
        for name in self._attribute_names():
            value = self._special_tokens_map.get(name)
            if value:
                result[name] = value
        return result

    def _cached(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()``, kept in the cache that a change of special or added tokens empties."""
        value = self._special_cache.get(key)
        if value is None:
            value = self._special_cache[key] = compute()
        return value

    def _distinct_special_tokens(self) -> list[str | AddedToken]:
        distinct: dict[str, str | AddedToken] = {}
        for value in self.special_tokens_map_extended.values():
            for token in value if isinstance(value, list) else [value]:
                distinct.setdefault(str(token), token)
        return list(distinct.values())

    @property
    def all_special_tokens_extended(self) -> list[str | AddedToken]:
        return list(self._cached("extended", self._distinct_special_tokens))

    @property
    def all_special_tokens(self) -> list[str]:
        """Every distinct special token, as strings."""
        return list(self._cached("tokens", lambda: [str(t) for t in self.all_special_tokens_extended]))

    @property
    def all_special_ids(self) -> list[int]:
        return list(self._cached("ids", lambda: self.convert_tokens_to_ids(self.all_special_tokens)))

    def _special_token_set(self) -> frozenset[str]:
        return self._cached("token_set", lambda: frozenset(self.all_special_tokens))

    def _special_id_set(self) -> frozenset[int]:
        return self._cached("id_set", lambda: frozenset(self.all_special_ids))

    # ------------------------------------------------------------------ adding
    def add_special_tokens(
        self,
        special_tokens_dict: dict[str, str | AddedToken | list[str | AddedToken]],
        replace_additional_special_tokens: bool = True,
    ) -> int:
        """Set special tokens by attribute name, adding those missing from the vocabulary; returns how many were added.

        Special tokens are never split and are skipped by ``decode(..., skip_special_tokens=True)``.
        """
        if not special_tokens_dict:
            return 0
        to_add: list[str | AddedToken] = []
        for key, value in special_tokens_dict.items():
            if key not in SPECIAL_TOKENS_ATTRIBUTES:
                raise TokenizerError(
                    f"{key!r} is not a special-token attribute; use one of {', '.join(SPECIAL_TOKENS_ATTRIBUTES)} "
                    "(or add_tokens([...], special_tokens=True) for other tokens)."
                )
            if key == "additional_special_tokens":
                if not isinstance(value, (list, tuple)) or not all(isinstance(t, (str, AddedToken)) for t in value):
                    raise TokenizerError(f"additional_special_tokens must be a list of str or AddedToken, got {value!r}.")
                new = [
                    AddedToken(t, rstrip=False, lstrip=False, normalized=False, special=True) if isinstance(t, str) else t
                    for t in value
                ]
                if not replace_additional_special_tokens:
                    present = set(self.additional_special_tokens or [])
                    new = [t for t in new if str(t) not in present]
                if replace_additional_special_tokens and new:
                    self.additional_special_tokens = list(new)
                else:
                    self._special_tokens_map["additional_special_tokens"].extend(new)
                    self._special_tokens_changed()
                to_add.extend(new)
            else:
                if isinstance(value, str):
                    value = AddedToken(value, rstrip=False, lstrip=False, normalized=False, special=True)
                elif not isinstance(value, AddedToken):
                    raise TokenizerError(f"The value for {key} must be a str or an AddedToken, got {value!r}.")
                setattr(self, key, value)
                if value not in to_add:
                    to_add.append(value)
        return self.add_tokens(to_add, special_tokens=True)

    def add_tokens(
        self, new_tokens: str | AddedToken | list[str | AddedToken] | tuple[str | AddedToken, ...], special_tokens: bool = False
    ) -> int:
        """Add tokens to the vocabulary (those already in it are only marked as added); returns how many are new.

        Added tokens are matched before the model's own tokenization and never split.
        """
        if not new_tokens:
            return 0
        if not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]
        return self._add_tokens(list(new_tokens), special_tokens=special_tokens)

    def _add_tokens(self, new_tokens: list[str | AddedToken], special_tokens: bool = False) -> int:
        raise NotImplementedError
