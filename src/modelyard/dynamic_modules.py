"""Custom code shared with the weights (``auto_map``, ``register_for_auto_class``, ``trust_remote_code``).

INTERFACE STUB: the full implementation (module cache keyed by repo and commit, trust gate, prompts,
trusted publishers, dependency checks) replaces this file. The two functions below are what the rest of
the library calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.errors import TrustRemoteCodeError


def save_custom_code(obj: Any, save_directory: Path, *, config: Any | None = None) -> list[Path]:
    """Copy the modules defining ``type(obj)`` (and their relative imports) into ``save_directory`` and
    record ``auto_map`` (on ``config`` when given, else on ``obj``'s own file). Returns the files written."""
    raise NotImplementedError("saving custom code is not implemented yet")


def resolve_remote_class(
    reference: str | list[str | None],
    *,
    auto_class: str,
    source: Any | None,
    trust_remote_code: bool | None,
    code_revision: str | None,
    builtin: type | None,
) -> type | None:
    """The class named by an ``auto_map`` entry (``"module.Class"`` or ``"repo--module.Class"``), imported
    behind the trust gate; ``None`` means "use ``builtin``" (only when the user did not trust the code and
    the built-in class really fits)."""
    raise TrustRemoteCodeError(
        f"The repository {getattr(source, 'name', '?')} defines custom code for {auto_class} ({reference}); "
        "loading custom code is not implemented yet."
    )


def clear_module_cache() -> None:
    """Remove every cached remote-code module."""
