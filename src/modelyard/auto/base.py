"""What every Auto class shares: it is a namespace of class methods (``from_pretrained`` and the like) that
pick a class at run time, never an object itself."""

from __future__ import annotations

from typing import ClassVar


class AutoClass:
    """Base of the Auto classes. Instantiating one is an error that names the entry points to call instead."""

    _ENTRY_POINTS: ClassVar[tuple[str, ...]] = ("from_pretrained(...)",)

    def __init__(self) -> None:
        name = type(self).__name__
        uses = " or ".join(f"{name}.{entry}" for entry in self._ENTRY_POINTS)
        raise OSError(f"{name} is not meant to be instantiated; use {uses}.")
