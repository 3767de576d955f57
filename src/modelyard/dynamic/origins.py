"""Where each imported remote package came from, for messages that name a remote file.

Kept apart from the import redirection (``remote_imports``) and the compatibility namespace, which both
describe remote files, so neither imports the other.
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_package_origins: dict[str, str] = {}  # remote package -> "repository 'x/y' at commit c"


def remember(package: str, origin: str) -> None:
    with _lock:
        _package_origins[package] = origin


def forget_all() -> None:
    with _lock:
        _package_origins.clear()


def describe_module(module_name: str, filename: str, lineno: int | None = None) -> str:
    """``"modeling_x.py (line 12) of repository 'a/b' at commit c"`` for a remote module."""
    with _lock:
        package = max((p for p in _package_origins if module_name == p or module_name.startswith(p + ".")), key=len, default=None)
        origin = _package_origins.get(package) if package else None
    relative = module_name[len(package) + 1 :].replace(".", "/") + ".py" if package and module_name != package else os.path.basename(filename)
    if os.path.basename(filename) == "__init__.py" and not relative.endswith("__init__.py"):
        relative = relative.removesuffix(".py") + "/__init__.py"
    line = f" (line {lineno})" if lineno else ""
    return f"{relative}{line}" + (f" of {origin}" if origin else "")
