"""What ``import transformers`` means inside remote code, and only there.

Custom code on public hubs is written for the transformers library: ``from transformers import
PreTrainedModel``, ``from transformers.activations import ACT2FN``, ``transformers.utils.logging``. With the
user's consent modelyard runs it, and the switch ``MODELYARD_REMOTE_TRANSFORMERS`` (or
:func:`set_remote_transformers`) says against what:

- ``modelyard`` (the default): the remote modules' ``transformers`` imports resolve to
  :mod:`modelyard.compat.transformers`, modelyard's own classes under the reference's names and paths. The
  code then builds modelyard models, which the Auto classes, ``save_pretrained`` and the loaders handle like
  any other, whether or not the transformers library is installed.
- ``transformers``: the imports resolve to the installed transformers library, as for any other package
  (``pip install transformers`` first). The remote classes are then the reference library's, and modelyard's
  Auto classes hand their loading to those classes' own ``from_pretrained``.

Why ``modelyard`` by default: what a modelyard Auto class returns should not depend on whether some other
package happens to be installed, and a modelyard model keeps modelyard's guarantees (no unpickling,
verdicts on partial loads, the module cache pinned per commit). Choose ``transformers`` for code that needs
parts of the reference this namespace lacks (generation, caches, attention-mask utilities, model families
modelyard does not have); the error for such code says so.

How the scoping works: each remote module (``modelyard_modules.*``, executed by the module cache's loader)
gets its own ``__builtins__`` whose ``__import__`` maps ``transformers`` and ``transformers.<sub>`` to the
compatibility namespace and passes everything else through. Nothing is added to ``sys.modules`` under the
name ``transformers``, ``sys.path`` is not touched, no file is rewritten, and the user's own ``import
transformers`` (or any installed package's) is unaffected. Relative imports between remote files work as
usual. Before any remote module runs, its ``transformers`` imports are read with ``ast`` and every module or
name the namespace lacks is reported at once, with file and line.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import os
import sys
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from modelyard.dynamic import origins
from modelyard.dynamic.imports import iter_imports
from modelyard.errors import ConfigurationError, RemoteCodeCompatibilityError

REMOTE_TRANSFORMERS_ENV = "MODELYARD_REMOTE_TRANSFORMERS"
MODES = ("modelyard", "transformers")
DEFAULT_MODE = "modelyard"
COMPAT_ROOT = "modelyard.compat.transformers"
_REFERENCE = "transformers"

_programmatic_mode: str | None = None
_lock = threading.RLock()
_package_modes: dict[str, str] = {}  # remote package -> the mode its modules were imported under


# ------------------------------------------------------------------ the switch
def set_remote_transformers(mode: str | None) -> None:
    """``"modelyard"`` or ``"transformers"`` for remote code imported from now on in this process (overrides
    ``MODELYARD_REMOTE_TRANSFORMERS``); ``None`` goes back to the environment variable."""
    global _programmatic_mode
    _programmatic_mode = None if mode is None else _check_mode(mode, "set_remote_transformers")


def _check_mode(value: str, where: str) -> str:
    mode = value.strip().lower()
    if mode not in MODES:
        raise ConfigurationError(
            f"{where} must be 'modelyard' (remote code's transformers imports use modelyard's compatibility "
            f"namespace) or 'transformers' (they use the installed transformers library), got {value!r}."
        )
    return mode


def remote_transformers() -> str:
    """The mode in force: the programmatic setting, else the environment variable, else ``"modelyard"``."""
    if _programmatic_mode is not None:
        return _programmatic_mode
    raw = os.environ.get(REMOTE_TRANSFORMERS_ENV, "")
    return _check_mode(raw, REMOTE_TRANSFORMERS_ENV) if raw.strip() else DEFAULT_MODE


def uses_compat() -> bool:
    return remote_transformers() == "modelyard"


# ------------------------------------------------------------------ bookkeeping per remote package
def register_package(package: str, origin: str) -> None:
    """Remember where a package's code came from and check it is not re-imported under another mode."""
    mode = remote_transformers()
    with _lock:
        previous = _package_modes.get(package)
        if previous is not None and previous != mode and any(
            name == package or name.startswith(package + ".") for name in sys.modules
        ):
            raise ConfigurationError(
                f"The code of {origin} was already imported in this process with its transformers imports "
                f"resolved to {'modelyard' if previous == 'modelyard' else 'the transformers library'}; "
                f"{REMOTE_TRANSFORMERS_ENV}={mode} applies to code imported afterwards. Call "
                "modelyard.clear_module_cache() first, or use a new process."
            )
        _package_modes[package] = mode
    origins.remember(package, origin)


def forget_packages() -> None:
    with _lock:
        _package_modes.clear()
    origins.forget_all()


# ------------------------------------------------------------------ the import redirection
_real_import = builtins.__import__


def _requester(module_globals: dict[str, Any] | None) -> str:
    """The remote file (and the line of the import statement) whose globals are ``module_globals``."""
    name = (module_globals or {}).get("__name__", "")
    filename = (module_globals or {}).get("__file__", "") or ""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals is not module_globals:
        frame = frame.f_back  # type: ignore[assignment]
    lineno = frame.f_lineno if frame is not None else None
    return origins.describe_module(name, filename, lineno) if isinstance(name, str) and name else "remote code"


def _compat_module(reference_name: str, module_globals: dict[str, Any] | None) -> ModuleType:
    target = COMPAT_ROOT + reference_name[len(_REFERENCE) :]
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as err:
        if err.name is None or not (target == err.name or target.startswith(err.name + ".")):
            raise  # a module the namespace itself needs is missing: not the remote code's fault
        raise RemoteCodeCompatibilityError(
            f"{_requester(module_globals)} imports {reference_name}, a module of the transformers library that "
            f"modelyard's compatibility layer does not provide. {_SWITCH_HINT}"
        ) from None


_SWITCH_HINT = (
    f"To run this code with the transformers library itself, install it and set {REMOTE_TRANSFORMERS_ENV}=transformers."
)


def _compat_import(
    name: str,
    globals: dict[str, Any] | None = None,  # noqa: A002 - the signature of builtins.__import__
    locals: Any = None,  # noqa: A002
    fromlist: Iterable[str] | None = (),
    level: int = 0,
) -> ModuleType:
    if level != 0 or not (name == _REFERENCE or name.startswith(_REFERENCE + ".")):
        return _real_import(name, globals, locals, fromlist or (), level)
    module = _compat_module(name, globals)
    if not fromlist:
        return sys.modules[COMPAT_ROOT]  # `import transformers.x.y` binds `transformers`
    from modelyard.compat.transformers._namespace import provides

    for item in fromlist:
        if item == "*" or provides(module, item):
            continue
        try:  # `from transformers.models.bert import modeling_bert`: a submodule
            importlib.import_module(f"{module.__name__}.{item}")
            continue
        except ModuleNotFoundError:
            pass
        raise RemoteCodeCompatibilityError(
            f"{_requester(globals)} imports {item} from {name}, which modelyard's compatibility layer for the "
            f"transformers library does not provide. {_SWITCH_HINT}"
        )
    return module


_COMPAT_BUILTINS: dict[str, Any] | None = None


def builtins_for_remote_module() -> dict[str, Any] | None:
    """The ``__builtins__`` a remote module is executed with: ``None`` (the normal ones) unless remote
    ``transformers`` imports are redirected."""
    global _COMPAT_BUILTINS
    if not uses_compat():
        return None
    if _COMPAT_BUILTINS is None:
        namespace = dict(builtins.__dict__)
        namespace["__import__"] = _compat_import
        _COMPAT_BUILTINS = namespace
    return _COMPAT_BUILTINS


# ------------------------------------------------------------------ the check before anything runs
def _module_exists(reference_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(COMPAT_ROOT + reference_name[len(_REFERENCE) :])
    except ModuleNotFoundError:
        return None


def unsupported_uses(files: dict[str, bytes]) -> list[str]:
    """Every required ``transformers`` module or name the compatibility namespace lacks, as
    ``"<file> line N: <what>"`` (imports under ``try``/``except ImportError`` or ``if is_x_available()`` are
    optional and skipped)."""
    from modelyard.compat.transformers._namespace import provides

    problems: list[str] = []
    for relpath, data in files.items():
        if not relpath.endswith(".py"):
            continue
        tree = ast.parse(data, filename=relpath)
        for node, optional in iter_imports(tree):
            if optional:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if (alias.name == _REFERENCE or alias.name.startswith(_REFERENCE + ".")) and _module_exists(alias.name) is None:
                        problems.append(f"{relpath} line {node.lineno}: module {alias.name}")
            elif node.level == 0 and node.module and (node.module == _REFERENCE or node.module.startswith(_REFERENCE + ".")):
                module = _module_exists(node.module)
                if module is None:
                    problems.append(f"{relpath} line {node.lineno}: module {node.module}")
                    continue
                for alias in node.names:
                    if alias.name == "*" or provides(module, alias.name):
                        continue
                    if _module_exists(f"{node.module}.{alias.name}") is None:
                        problems.append(f"{relpath} line {node.lineno}: {node.module}.{alias.name}")
    return problems


def check_transformers_uses(files: dict[str, bytes], *, where: str) -> None:
    """Raise one :class:`RemoteCodeCompatibilityError` listing what the code needs from transformers that
    modelyard's namespace lacks (only when the namespace is in use)."""
    if not uses_compat():
        return
    problems = unsupported_uses(files)
    if problems:
        raise RemoteCodeCompatibilityError(
            f"The custom code of {where} was written for the transformers library and uses parts of it that "
            f"modelyard's compatibility layer does not provide: {'; '.join(problems)}. Nothing of it was run. "
            + _SWITCH_HINT
        )
