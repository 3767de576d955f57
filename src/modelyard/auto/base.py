"""What every Auto class shares: it is a namespace of class methods (``from_pretrained`` and the like) that
pick a class at run time, never an object itself; its one ``from_pretrained`` (:class:`PretrainedAutoClass`);
and its one way to the trust gate for a repository's own code (:class:`CustomCode`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, overload

from modelyard.errors import UnexpectedArgumentError
from modelyard.options import HubOptions

if TYPE_CHECKING:
    from modelyard.hub.files import FileSource, Location
    from modelyard.weights.report import LoadReport

# What a type checker sees of what an Auto class loads: the class is chosen at run time, so the base every class
# it may choose shares (PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase, ...).
R = TypeVar("R")


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
    trust_remote_code: bool | None = None
    code_revision: str | None = None

    def at(self, source: FileSource | None) -> CustomCode:
        """The same word, about the code of ``source``."""
        return dataclasses.replace(self, source=source)

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


class PretrainedAutoClass(AutoClass, Generic[R]):
    """An Auto class that loads: the one ``from_pretrained`` of every Auto class. It takes the hub options out of
    the keywords and the user's word on custom code, and hands them to the subclass's :meth:`_load`, which opens
    the location its way, chooses the class from the files and loads it."""

    # Whether positional arguments after the location go on to the chosen class (a tokenizer's inputs).
    _passes_positional: ClassVar[bool] = False

    # R to a type checker; the two flags that add a second value to the result give a tuple (as for
    # PretrainedIO.from_pretrained: configs and preprocessors return their unused keywords, models a LoadReport).
    @overload
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Location, *args: Any, trust_remote_code: bool | None = None,
                        code_revision: str | None = None, return_unused_kwargs: Literal[True],
                        **kwargs: Any) -> tuple[R, dict[str, Any]]: ...

    @overload
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Location, *args: Any, trust_remote_code: bool | None = None,
                        code_revision: str | None = None, output_loading_info: Literal[True],
                        **kwargs: Any) -> tuple[R, LoadReport]: ...

    @overload
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Location, *args: Any, trust_remote_code: bool | None = None,
                        code_revision: str | None = None, **kwargs: Any) -> R: ...

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Location, *args: Any, trust_remote_code: bool | None = None,
                        code_revision: str | None = None, **kwargs: Any) -> Any:
        """Load from a folder, a hub repository id (any hub: ``HF_ENDPOINT``) or a FileSource, the class chosen
        from its files (see the Auto class).

        Where the files come from: the :class:`~modelyard.options.HubOptions` (``revision``, ``cache_dir``,
        ``token``, ``local_files_only``, ``subfolder``, ``force_download``); every other keyword is the Auto
        class's own or goes to the class it chooses (see the Auto class).

        ``trust_remote_code``: ``True`` runs the repository's own code (``auto_map``), ``False`` never does,
        ``None`` (default) runs it only for a trusted publisher or after a yes on an interactive terminal.
        Without consent, a built-in class is used only where it really fits the files; otherwise
        :class:`~modelyard.errors.TrustRemoteCodeError` is raised. ``revision`` pins the files and the code
        to one commit; ``code_revision`` takes the code from another revision.
        """
        where = f"{cls.__name__}.from_pretrained"
        if args and not cls._passes_positional:
            raise UnexpectedArgumentError(
                f"{where} takes the location as its only positional argument; pass options by keyword (got "
                f"{len(args)} extra positional arguments)."
            )
        hub = HubOptions.take(kwargs, where=where)
        code = CustomCode(None, trust_remote_code, code_revision)
        return cls._load(pretrained_model_name_or_path, hub, code, *args, **kwargs)

    @classmethod
    def _load(cls, location: Location, hub: HubOptions, code: CustomCode, *args: Any, **kwargs: Any) -> Any:
        """``from_pretrained``'s work: open ``location`` under ``hub``, choose the class (custom code as ``code``
        says, once :meth:`CustomCode.at` names the source) and load it with ``args`` and ``kwargs``."""
        raise NotImplementedError(f"{cls.__name__} does not implement _load")
