"""``transformers.utils.auto_docstring``: the reference generates docstrings with it; here it changes nothing."""

from __future__ import annotations

from typing import Any

from modelyard.compat.transformers._namespace import declare


def auto_docstring(obj: Any = None, **kwargs: Any) -> Any:
    """Both ``@auto_docstring`` and ``@auto_docstring(custom_intro=...)``: the decorated object, unchanged."""
    if obj is None:
        return lambda target: target
    return obj


__getattr__, __dir__ = declare(globals(), {})
