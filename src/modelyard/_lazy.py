"""PEP 562 lazy attribute tables: ``import modelyard`` stays cheap and never imports torch.

A package declares ``{public_name: "module.path"}``; the module is imported on first attribute access and
the object cached in the package namespace, so later accesses are plain lookups. An entry whose path is the
package's own submodule of that name (``"logging": "modelyard.logging"``) serves the submodule itself.
:func:`lazy_package` is the one call a package's ``__init__.py`` makes for all three of its module hooks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package_name: str,
    package_globals: dict[str, Any],
    table: Mapping[str, str] | Callable[[], Mapping[str, str]],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` functions serving ``table`` for the package ``package_name``.

    ``table`` may be a function that builds it; it is called on first need, once.
    """
    cache: list[Mapping[str, str]] = []

    def names() -> Mapping[str, str]:
        if not cache:
            cache.append(table() if callable(table) else table)
        return cache[0]

    def __getattr__(name: str) -> Any:
        module_path = names().get(name)
        if module_path is None:
            raise AttributeError(f"module {package_name!r} has no attribute {name!r}")
        module = importlib.import_module(module_path)
        value = module if module_path == f"{package_name}.{name}" else getattr(module, name)
        package_globals[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(package_globals) | set(names()))

    return __getattr__, __dir__


def by_module(groups: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """A lazy table ``{public_name: "module.path"}`` from ``{"module.path": names}``: each module is written once,
    with the names it serves, as the imports under ``if TYPE_CHECKING:`` write them."""
    return {name: module for module, names in groups.items() for name in names}


def lazy_package(
    package_globals: dict[str, Any], table: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """A package's ``__getattr__``, ``__dir__`` and ``__all__`` (every name of ``table``, sorted), for its
    ``__init__.py``: ``__getattr__, __dir__, __all__ = lazy_package(globals(), _EXPORTS)``."""
    getattr_, dir_ = lazy_exports(package_globals["__name__"], package_globals, table)
    return getattr_, dir_, sorted(table)
