"""``transformers.models.auto.auto_factory``: ``get_values`` (the helper third-party code imports from here) and
``_LazyAutoMapping``, the name-keyed table class third-party code builds its own Auto tables with."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

from modelyard.compat.transformers.models.auto._tables import declare_auto_module
from modelyard.registry import families

_NAMESPACE = "modelyard.compat.transformers"


def _family_module(model_type: str) -> ModuleType | None:
    found = families().get(model_type)
    return importlib.import_module(found[0]) if found is not None else None


def _class_for_name(model_type: str, name: Any) -> Any:
    """The class called ``name`` (a tuple of names: each of them; ``None`` stays ``None``), looked up in the
    package of the family ``model_type`` first, then in the compatibility namespace's top level (a table may
    map a model type to another family's class)."""
    if name is None:
        return None
    if isinstance(name, tuple):
        return tuple(_class_for_name(model_type, n) for n in name)
    family = _family_module(model_type)
    if family is not None and hasattr(family, name):
        return getattr(family, name)
    namespace = importlib.import_module(_NAMESPACE)
    if name in getattr(namespace, "__all__", ()):
        return getattr(namespace, name)
    where = family.__name__ if family is not None else f"a model family of type {model_type!r}"
    raise ValueError(
        f"Could not find {name} neither in {where} nor in {_NAMESPACE}! Check the class name in the table "
        f"(model_type {model_type!r}), or register the class itself with the mapping's register()."
    )


class _LazyAutoMapping(Mapping[type, Any]):  # noqa: N801  # the reference's name, which callers import
    """``config class -> class`` from two name tables, ``model_type -> config class name`` and
    ``model_type -> class name`` (or a tuple of names), resolving the classes on access. ``register`` adds a
    class directly; those entries live in ``_extra_content``."""

    def __init__(self, config_mapping: Mapping[str, str], model_mapping: Mapping[str, Any]) -> None:
        self._config_mapping = config_mapping
        self._reverse_config_mapping = {name: model_type for model_type, name in config_mapping.items()}
        self._model_mapping = model_mapping
        self._extra_content: dict[type, Any] = {}

    def _model_type(self, config_class: object) -> str | None:
        name = getattr(config_class, "__name__", None)
        return self._reverse_config_mapping.get(name) if isinstance(name, str) else None

    def __getitem__(self, config_class: type) -> Any:
        if config_class in self._extra_content:
            return self._extra_content[config_class]
        name = getattr(config_class, "__name__", None)
        # a config class may serve several model types: the first that has an entry
        for model_type, config_name in self._config_mapping.items():
            if config_name == name and model_type in self._model_mapping:
                return _class_for_name(model_type, self._model_mapping[model_type])
        raise KeyError(config_class)

    def _common_types(self) -> list[str]:
        return [t for t in self._config_mapping if t in self._model_mapping]

    # lists, as the reference's lazy mappings give (code concatenates them: ``a.items() + b.items()``)
    def keys(self) -> list[type]:  # type: ignore[override]  # lists, as the reference's (see above)
        built = [_class_for_name(t, self._config_mapping[t]) for t in self._common_types()]
        return built + list(self._extra_content)

    def values(self) -> list[Any]:  # type: ignore[override]  # lists, as the reference's (see above)
        built = [_class_for_name(t, self._model_mapping[t]) for t in self._common_types()]
        return built + list(self._extra_content.values())

    def items(self) -> list[tuple[type, Any]]:  # type: ignore[override]  # lists, as the reference's (see above)
        built = [
            (_class_for_name(t, self._config_mapping[t]), _class_for_name(t, self._model_mapping[t]))
            for t in self._common_types()
        ]
        return built + list(self._extra_content.items())

    def __iter__(self) -> Iterator[type]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._common_types()) + len(self._extra_content)

    def __contains__(self, config_class: object) -> bool:
        if config_class in self._extra_content:
            return True
        model_type = self._model_type(config_class)
        return model_type is not None and model_type in self._model_mapping

    def register(self, key: type, value: Any, exist_ok: bool = False) -> None:
        """Map ``key`` (a config class) to ``value``; a config class the name tables already map is refused
        unless ``exist_ok=True``."""
        model_type = self._model_type(key)
        if model_type is not None and model_type in self._model_mapping and not exist_ok:
            raise ValueError(
                f"'{key}' is already used by a built-in entry ({self._model_mapping[model_type]}); pass "
                "exist_ok=True to replace it on purpose."
            )
        self._extra_content[key] = value


__getattr__, __dir__ = declare_auto_module(globals(), (), (), functions=("get_values",))
