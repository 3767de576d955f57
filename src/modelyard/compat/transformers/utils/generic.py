"""``transformers.utils.generic``: ``ModelOutput``, the string enums, and ``can_return_tuple``."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any, TypedDict

import torch

from modelyard.compat.transformers._namespace import declare


class ExplicitEnum(str, Enum):
    """A string enum whose unknown values say which values are valid."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        raise ValueError(f"{value!r} is not a valid {cls.__name__}, please select one of {list(cls._value2member_map_)}")


class TransformersKwargs(TypedDict, total=False):
    """The keyword arguments a reference model's ``forward`` passes down (for ``Unpack[...]`` annotations)."""

    output_hidden_states: bool | None
    output_attentions: bool | None
    num_items_in_batch: torch.Tensor | None
    output_router_logits: bool | None


def can_return_tuple(func: Callable[..., Any]) -> Callable[..., Any]:
    """Let a ``forward`` that always builds a ``ModelOutput`` honour ``return_dict=False`` (argument or config)."""

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        config = getattr(self, "config", None)
        return_dict = getattr(config, "return_dict", True) if config is not None else True
        passed = kwargs.pop("return_dict", None)
        if passed is not None:
            return_dict = passed
        output = func(self, *args, **kwargs)
        if not return_dict and not isinstance(output, tuple):
            output = output.to_tuple()
        return output

    return wrapper


class ContextManagers:
    """Enter every context manager of a list on ``with`` (and leave them in reverse order), as the reference's."""

    def __init__(self, context_managers: Iterable[Any]) -> None:
        self.context_managers = list(context_managers)
        self.stack = contextlib.ExitStack()

    def __enter__(self) -> None:
        for manager in self.context_managers:
            self.stack.enter_context(manager)

    def __exit__(self, *exc_info: Any) -> None:
        self.stack.__exit__(*exc_info)


_TRUE = frozenset({"y", "yes", "t", "true", "on", "1"})
_FALSE = frozenset({"n", "no", "f", "false", "off", "0"})


def strtobool(val: str) -> int:
    """1 for a yes-like string (``"yes"``, ``"true"``, ``"on"``, ``"1"``...), 0 for a no-like one, as distutils' was."""
    lowered = val.lower()
    if lowered in _TRUE:
        return 1
    if lowered in _FALSE:
        return 0
    raise ValueError(f"invalid truth value {val!r}: expected one of {sorted(_TRUE | _FALSE)}")


def torch_int(x: Any) -> Any:
    """An int64 tensor while tracing (so the value stays symbolic), a Python int otherwise."""
    if isinstance(x, torch.Tensor) and torch.jit.is_tracing():
        return x.to(torch.int64)
    return int(x)


__getattr__, __dir__ = declare(
    globals(),
    {
        "ModelOutput": "modelyard.outputs",
        "TensorType": "modelyard.tokenization.encoding",
        "PaddingStrategy": "modelyard.tokenization.padding",
    },
)
