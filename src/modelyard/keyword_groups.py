"""Keyword groups (PEP 692): a group of keywords several public signatures share is declared once, as a
``TypedDict``, and taken as ``**kwargs: Unpack[ThatDict]`` (type checkers and IDEs see every name and type).

This module gives the modules that declare such a group the one ``Unpack`` for the Python they run on, and code
that reads signatures at run time (processors routing keywords to their parts, the Trainer keeping the dataset
columns a forward takes) the names a group declares (:func:`group_keywords`).
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable
from typing import Any

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # torch, a dependency, brings typing_extensions
    from typing_extensions import Unpack

# What ``Unpack[...]`` may have been spelt with where a group is declared (typing's, or typing_extensions' on 3.11).
_UNPACK_FORMS: set[Any] = {Unpack}
try:
    import typing_extensions

    _UNPACK_FORMS.add(typing_extensions.Unpack)
except ImportError:  # pragma: no cover - torch depends on it
    pass


def group_keywords(function: Callable[..., Any], parameter: str) -> tuple[str, ...] | None:
    """The names the group ``**parameter: Unpack[SomeTypedDict]`` of ``function`` declares; None when that
    parameter is a plain ``**kwargs`` or its annotation does not resolve at run time (a name imported only for type
    checkers)."""
    try:
        annotation = typing.get_type_hints(function, include_extras=True).get(parameter)
    except Exception:  # get_type_hints evaluates the module's annotations: any of them may fail to resolve
        return None
    arguments = typing.get_args(annotation)
    if typing.get_origin(annotation) in _UNPACK_FORMS and len(arguments) == 1 and typing.is_typeddict(arguments[0]):
        return tuple(arguments[0].__annotations__)
    return None


__all__ = ["Unpack", "group_keywords"]
