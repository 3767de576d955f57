"""What every Auto class shares: it is a namespace of class methods (``from_pretrained`` and the like) that
pick a class at run time, never an object itself; and its one way to the trust gate for a repository's own
code (:class:`CustomCode`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from modelyard.hub.files import FileSource


class AutoClass:
    """Base of the Auto classes. Instantiating one is an error that names the entry points to call instead."""

    _ENTRY_POINTS: ClassVar[tuple[str, ...]] = ("from_pretrained(...)",)

    def __init__(self) -> None:
        name = type(self).__name__
        uses = " or ".join(f"{name}.{entry}" for entry in self._ENTRY_POINTS)
        raise OSError(f"{name} is not meant to be instantiated; use {uses}.")


@dataclass(frozen=True)
class CustomCode:
    """Where an Auto class may take a repository's own code from (``source``) and the user's word on running it
    (``trust_remote_code``, ``code_revision``): what every question to the trust gate carries."""

    source: FileSource | None
    trust_remote_code: bool | None
    code_revision: str | None

    def resolve(
        self, reference: Any, *, auto_class: str, builtin: type | None, misfit: str | None = None
    ) -> type[Any] | None:
        """The class an ``auto_map`` entry names, imported behind the trust gate; ``None`` means use ``builtin``
        (see :func:`modelyard.dynamic_modules.resolve_remote_class`, which this asks)."""
        from modelyard.dynamic_modules import resolve_remote_class

        return resolve_remote_class(
            reference,
            auto_class=auto_class,
            source=self.source,
            trust_remote_code=self.trust_remote_code,
            code_revision=self.code_revision,
            builtin=builtin,
            misfit=misfit,
        )
