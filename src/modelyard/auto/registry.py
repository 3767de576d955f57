"""Lazy name tables behind the Auto classes.

Built-in entries are strings (``"distilbert" -> "DistilBertModel"``) resolved by importing
``modelyard.models.<family>`` on first use, so importing an Auto class imports no model family (and no
torch). Users add entries with ``register``; a taken key is an error unless ``exist_ok=True``.
"""

from __future__ import annotations

import importlib
import weakref
from typing import Any

from modelyard.errors import RegistrationError, UnknownModelTypeError

# model_type -> folder under modelyard/models
FAMILY_MODULES: dict[str, str] = {
    "bert": "bert",
    "distilbert": "distilbert",
    "vit": "vit",
    "wav2vec2": "wav2vec2",
    "resnet": "resnet",
}


# Every table, so a snapshot can undo registrations made while importing remote code.
_TABLES: weakref.WeakSet[Any] = weakref.WeakSet()


def registrations_snapshot() -> dict[Any, dict[Any, Any]]:
    """The user registrations of every table now (built-ins never change)."""
    return {table: dict(table._registered) for table in list(_TABLES)}


def restore_registrations(snapshot: dict[Any, dict[Any, Any]]) -> list[str]:
    """Put every table back as in ``snapshot``; returns the descriptions of the tables that had changed."""
    changed = []
    for table in list(_TABLES):
        before = snapshot.get(table, {})
        if table._registered != before:
            changed.append(table.description)
            table._registered.clear()
            table._registered.update(before)
    return sorted(changed)


def import_family_class(model_type: str, class_name: str) -> type:
    module = importlib.import_module(f"modelyard.models.{FAMILY_MODULES[model_type]}")
    return getattr(module, class_name)


class ModelTypeTable:
    """``model_type -> class``: built-in names plus registrations (used for configs, tokenizers, ...)."""

    def __init__(self, description: str, builtin: dict[str, str]) -> None:
        self.description = description
        self._builtin = dict(builtin)
        self._registered: dict[str, Any] = {}
        _TABLES.add(self)

    def __contains__(self, model_type: object) -> bool:
        return model_type in self._registered or model_type in self._builtin

    def model_types(self) -> list[str]:
        return sorted(set(self._builtin) | set(self._registered))

    def get(self, model_type: str) -> Any | None:
        if model_type in self._registered:
            return self._registered[model_type]
        name = self._builtin.get(model_type)
        return import_family_class(model_type, name) if name else None

    def builtin_name(self, model_type: str) -> str | None:
        return self._builtin.get(model_type)

    def builtin(self, model_type: str) -> Any | None:
        """The built-in class for ``model_type``, ignoring registrations that replaced it."""
        name = self._builtin.get(model_type)
        return import_family_class(model_type, name) if name else None

    def require(self, model_type: str | None, *, where: str) -> Any:
        value = self.get(model_type) if model_type else None
        if value is None:
            raise UnknownModelTypeError(
                f"{where}: unknown model_type {model_type!r} for {self.description}. Known model types: "
                f"{', '.join(self.model_types())}. Register your own with "
                f"{self.description}.register(...), or load a repository that ships its code with trust_remote_code=True."
            )
        return value

    def register(self, model_type: str, value: Any, *, exist_ok: bool = False) -> None:
        if model_type in self and not exist_ok:
            origin = "a built-in modelyard class" if model_type in self._builtin else "an earlier registration"
            raise RegistrationError(
                f"model_type {model_type!r} is already used by {origin} in {self.description}. Pick another "
                "model_type for your class, or pass exist_ok=True to replace it on purpose."
            )
        self._registered[model_type] = value

    def unregister(self, model_type: str) -> None:
        """Drop a user registration (tests, plugins unloading); built-ins stay."""
        self._registered.pop(model_type, None)


class ConfigKeyedTable:
    """``config class -> model class`` for one task (AutoModel, AutoModelForMaskedLM, ...).

    A built-in model is returned only for its own built-in config class (or a subclass), never for an
    unrelated custom config that happens to share a ``model_type``.
    """

    def __init__(self, description: str, builtin: dict[str, str], config_table: ModelTypeTable) -> None:
        self.description = description
        self._builtin = dict(builtin)
        self._configs = config_table
        self._registered: dict[type, type] = {}
        _TABLES.add(self)

    def model_types(self) -> list[str]:
        return sorted(set(self._builtin) | {c.model_type for c in self._registered})

    def has_builtin(self, model_type: str | None) -> bool:
        return model_type in self._builtin

    def get(self, config_class: type) -> type | None:
        for klass in config_class.__mro__:
            if klass in self._registered:
                return self._registered[klass]
        model_type = getattr(config_class, "model_type", None)
        name = self._builtin.get(model_type) if model_type else None
        if name is None:
            return None
        # Compare with the built-in config class itself: a user config registered over the same
        # model_type (exist_ok=True) must not inherit the built-in models.
        builtin_config = self._configs.builtin(model_type)
        if builtin_config is None or not issubclass(config_class, builtin_config):
            return None
        return import_family_class(model_type, name)

    def register(self, config_class: type, model_class: type, *, exist_ok: bool = False) -> None:
        declared = getattr(model_class, "config_class", None)
        if declared is not None and declared is not config_class:
            raise RegistrationError(
                f"{model_class.__name__}.config_class is {declared.__name__}, but it is being registered for "
                f"{config_class.__name__}. Set `config_class = {config_class.__name__}` on the model class, or "
                "register it with the config class it declares."
            )
        if not exist_ok and (config_class in self._registered or self.get(config_class) is not None):
            raise RegistrationError(
                f"{config_class.__name__} already has a model in {self.description}: "
                f"{self.get(config_class).__name__}. Pass exist_ok=True to replace it on purpose."  # type: ignore[union-attr]
            )
        self._registered[config_class] = model_class

    def unregister(self, config_class: type) -> None:
        self._registered.pop(config_class, None)
