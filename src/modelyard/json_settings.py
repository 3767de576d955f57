"""``JsonSettings``: the part of ``PretrainedIO`` shared by the kinds whose state is one JSON document of settings.

A configuration (``config.json``), a generation configuration (``generation_config.json``) and a feature
extractor or image processor (``preprocessor_config.json``) are each a bag of settings saved as one JSON file.
They print as their class name followed by that document, compare equal when their settings are, are not
hashable (they are mutable), and load by reading the document and handing it to ``from_dict`` with the caller's
overrides. A kind says where its document is (``_settings_at``), what ``print`` shows (``to_json_string``, or
``_shown_json``) and what equality compares (``_compared``, ``_same_kind``).

Imports no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from modelyard.hub.files import FileSource
from modelyard.pretrained_io import PretrainedIO


class JsonSettings(PretrainedIO):
    """Base of the JSON-settings kinds (see the module doc)."""

    reads_json_files = True

    # ------------------------------------------------------------------ what the object shows and compares
    def to_json_string(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} does not implement to_json_string")

    def _shown_json(self) -> str:
        """The JSON that ``repr`` shows after the class name."""
        return self.to_json_string()

    def _compared(self) -> Any:
        """What ``==`` compares between two objects of the same kind."""
        return self.to_json_string()

    def _same_kind(self, other: JsonSettings) -> bool:
        """Whether ``other`` may equal this object: by default only an object of the same class."""
        return type(self) is type(other)

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self._shown_json()}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JsonSettings):
            return NotImplemented
        return self._same_kind(other) and self._compared() == other._compared()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    # ------------------------------------------------------------------ loading (the PretrainedIO hook)
    @classmethod
    def _from_source(cls, location: FileSource | Path, *, return_unused_kwargs: bool = False,
                     trust_remote_code: bool | None = None, **kwargs: Any) -> Any:
        """Build from the settings document at ``location`` (a folder, a repository or a JSON file); ``kwargs``
        override settings, and those that are none come back with ``return_unused_kwargs=True`` (see the kind's
        ``from_dict``). ``trust_remote_code`` is accepted and unused: only the Auto classes decide about custom
        code."""
        return cls.from_dict(cls._settings_at(location), return_unused_kwargs=return_unused_kwargs, **kwargs)

    @classmethod
    def _settings_at(cls, location: FileSource | Path) -> dict[str, Any]:
        """The raw settings document at ``location``."""
        raise NotImplementedError(f"{cls.__name__} does not implement _settings_at")

    if TYPE_CHECKING:
        # each kind's classmethod ``from_dict(settings, *, return_unused_kwargs=False, **overrides)``, whose first
        # parameter has the reference's name for that kind (``config_dict``, ``feature_extractor_dict``)
        from_dict: ClassVar[Callable[..., Any]]


__all__ = ["JsonSettings"]
