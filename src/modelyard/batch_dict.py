"""``BatchDict``: the dict of model inputs a tokenizer or a feature extractor returns, whose keys read as attributes.

``BatchEncoding`` (tokenizers) and ``BatchFeature`` (feature extractors, image processors) are both a ``UserDict``
of model inputs in which ``batch["input_ids"]`` and ``batch.input_ids`` are the same value. This base gives them
that attribute access and their pickled state (``{"data": ...}`` plus the fields a subclass keeps beside the
data, under the reference's key names, so pickles travel between the two libraries). It imports nothing heavy.
"""

from __future__ import annotations

from collections import UserDict
from typing import Any, ClassVar


class BatchDict(UserDict):
    """A ``UserDict`` whose keys are attributes too; see the module doc."""

    # The attributes a subclass keeps beside ``data`` (attribute name -> key in the pickled state).
    _state_fields: ClassVar[dict[str, str]] = {}

    def __getattr__(self, item: str) -> Any:
        # Only called when normal lookup fails. The dict's own storage (and dunder lookups made by copy and
        # pickle on a half-built object) must fail plainly rather than recurse into ``data``.
        if item.startswith("__") or item == "data" or item in self._state_fields:
            raise AttributeError(item)
        try:
            return self.data[item]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no key {item!r} (nor an attribute of that name); its keys: {list(self.data)}"
            ) from None

    def __getstate__(self) -> dict[str, Any]:
        state = {"data": self.data}
        state.update({key: getattr(self, name) for name, key in self._state_fields.items()})
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.data = state.get("data", {})
        for name, key in self._state_fields.items():
            setattr(self, name, state.get(key))


__all__ = ["BatchDict"]
