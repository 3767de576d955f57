"""How each module of the compatibility namespace declares what it provides.

A module lists ``{reference name: "modelyard.module"}`` (or ``"modelyard.module:attribute"`` when the name
differs) and defines the reference-only helpers itself. :func:`declare` installs a PEP 562 ``__getattr__``
that imports a target on first use (no torch until a name needs it) and, for a name the reference has but
modelyard does not provide, raises :class:`~modelyard.errors.MissingCompatibilityAttributeError` naming the
name and the remote file that asked for it. :func:`provides` answers "is this name here?" without importing
the targets, for the checks that run before remote code does.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from types import FrameType, ModuleType
from typing import Any

from modelyard.errors import MissingCompatibilityAttributeError

ROOT = "modelyard.compat.transformers"
REFERENCE = "transformers"
SWITCH_HINT = (
    "To run this code with the transformers library itself, install it and set "
    "MODELYARD_REMOTE_TRANSFORMERS=transformers."
)


def reference_name(module_name: str) -> str:
    """``modelyard.compat.transformers.modeling_utils`` -> ``transformers.modeling_utils``."""
    return REFERENCE + module_name[len(ROOT) :] if module_name.startswith(ROOT) else module_name


def caller_description(skip_modules: Iterable[str] = ()) -> str | None:
    """The remote file (and line) whose code is running further up the stack, if any."""
    from modelyard.dynamic.origins import describe_module

    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if isinstance(name, str) and name.startswith("modelyard_modules."):
            return describe_module(name, frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return None


def missing_message(module_name: str, name: str, requester: str | None) -> str:
    asked = f"{requester} asks for" if requester else "Code asked for"
    return (
        f"{asked} {reference_name(module_name)}.{name}, which modelyard's compatibility layer for the transformers "
        f"library does not provide (it covers the core API: configurations, models, outputs, activations, "
        f"tokenizers, feature extractors, processors, logging and the model families modelyard has). {SWITCH_HINT}"
    )


def _resolve(target: str, name: str) -> Any:
    """``"pkg.module"``: its attribute ``name``; ``"pkg.module:other"``: its attribute ``other``;
    ``"pkg.module:"``: the module itself."""
    module_path, colon, attribute = target.partition(":")
    module = importlib.import_module(module_path)
    if colon and not attribute:
        return module
    return getattr(module, attribute or name)


def declare(
    module_globals: dict[str, Any],
    exports: Mapping[str, str],
    *,
    submodules: Iterable[str] = (),
    constants: Iterable[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for a compatibility module; also sets ``__all__`` and the tables
    :func:`provides` reads. The module's own public names are the functions and classes it defines plus
    ``constants``; what it merely imports (``torch``, ``Any``) is not part of the namespace."""
    module_name = module_globals["__name__"]
    table = dict(exports)
    children = frozenset(submodules)
    own = {k for k, v in module_globals.items() if not k.startswith("_") and getattr(v, "__module__", None) == module_name}
    module_globals["_EXPORTS"] = table
    module_globals["_SUBMODULES"] = children
    module_globals["__all__"] = sorted(set(table) | own | set(constants))

    def __getattr__(name: str) -> Any:
        target = table.get(name)
        if target is not None:
            value = _resolve(target, name)
            module_globals[name] = value
            return value
        if name in children:
            return importlib.import_module(f"{module_name}.{name}")
        if name.startswith("__"):
            raise AttributeError(f"module {reference_name(module_name)!r} has no attribute {name!r}")
        raise MissingCompatibilityAttributeError(missing_message(module_name, name, caller_description()))

    def __dir__() -> list[str]:
        return sorted(set(module_globals) | set(table) | children)

    return __getattr__, __dir__


def entries_for(table: Mapping[str, str], *modules: str) -> dict[str, str]:
    """The entries of a lazy export table (``{name: "modelyard.module"}``) whose module is one of ``modules``:
    a compatibility module that mirrors one of modelyard's modules offers what modelyard's table lists there."""
    return {name: target for name, target in table.items() if target in modules}


def provides(module: ModuleType, name: str) -> bool:
    """Whether ``module`` (a compatibility module) has ``name``, without importing what it points at."""
    if "_EXPORTS" not in module.__dict__:  # a family alias module (see .models)
        lookup = getattr(module, "_provides", None)
        return bool(lookup(name)) if lookup is not None else False
    return name in module.__dict__["__all__"] or name in module.__dict__["_SUBMODULES"]
