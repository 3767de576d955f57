"""``transformers.utils.doc``: the docstring decorators remote code puts on its classes and ``forward``.

The reference uses them to generate documentation; here they only attach the text they are given (or
nothing), so decorated code behaves exactly as undecorated code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelyard.compat.transformers._namespace import declare


def _prepend(docstrings: tuple[str, ...]) -> Callable[[Any], Any]:
    def decorate(obj: Any) -> Any:
        try:
            obj.__doc__ = "".join(docstrings) + (obj.__doc__ or "")
        except (AttributeError, TypeError):  # some objects have a read-only __doc__
            pass
        return obj

    return decorate


def add_start_docstrings(*docstr: str) -> Callable[[Any], Any]:
    return _prepend(docstr)


def add_start_docstrings_to_model_forward(*docstr: str) -> Callable[[Any], Any]:
    return _prepend(docstr)


def add_end_docstrings(*docstr: str) -> Callable[[Any], Any]:
    def decorate(obj: Any) -> Any:
        try:
            obj.__doc__ = (obj.__doc__ or "") + "".join(docstr)
        except (AttributeError, TypeError):
            pass
        return obj

    return decorate


def replace_return_docstrings(output_type: Any = None, config_class: Any = None) -> Callable[[Any], Any]:
    return lambda obj: obj


def add_code_sample_docstrings(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    return lambda obj: obj


__getattr__, __dir__ = declare(globals(), {})
