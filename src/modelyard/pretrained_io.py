"""``PretrainedIO``: save, load, share and register, written once for every kind of object.

Configurations, models, tokenizers, feature extractors, image processors and processors all save into a
folder, load from a folder or hub repository, push to a hub and ship their code for an Auto class. This base
does the common part once:

- ``from_pretrained(location, *args, **kwargs)`` takes the :class:`~modelyard.options.HubOptions` out of the
  keywords, opens one :class:`~modelyard.hub.files.FileSource` (every file of the load comes from the same
  commit), refuses near-miss keywords with a suggestion, and calls the kind's ``_from_source``;
- ``save_pretrained(directory, *args, push_to_hub=False, **kwargs)`` checks the folder, splits the push
  keywords from the save options, calls the kind's ``_save_into`` and pushes the folder if asked;
- ``register_for_auto_class`` checks the Auto class against the kind's choices.

A kind implements ``_from_source(source, *args, **kwargs)``, ``_save_into(directory, *args, **options)`` and
``_accepted_keywords()`` (the names it takes, for the near-miss check), and sets ``auto_class_choices``.
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, overload

from modelyard.errors import ConfigurationError
from modelyard.hub.files import FileSource
from modelyard.hub.push import PushToHubMixin
from modelyard.options import REFERENCE_FLAGS, HubOptions, refuse_near_misses, unknown_keywords_error

if TYPE_CHECKING:
    from modelyard.weights.report import LoadReport

T = TypeVar("T", bound="PretrainedIO")


def _push_keywords() -> frozenset[str]:
    params = inspect.signature(PushToHubMixin.push_to_hub).parameters
    return frozenset(params) - {"self", "_folder", "deprecated_kwargs"}


def locate(location: str | os.PathLike[str] | FileSource, hub: HubOptions | None = None, *,
           json_files: bool = False) -> FileSource | Path:
    """The FileSource of ``location`` under ``hub``; with ``json_files``, the path itself when it names a JSON
    file (the caller reads it, and says what is there when it is missing)."""
    if json_files and not isinstance(location, FileSource):
        path = Path(os.fspath(location)).expanduser()
        if path.is_file() or (path.suffix == ".json" and not path.is_dir()):
            return path
    return (hub or HubOptions()).open(location)


class PretrainedIO(PushToHubMixin):
    """Base of everything with ``save_pretrained`` / ``from_pretrained`` (see the module doc)."""

    _auto_class: ClassVar[str | None] = None
    # The Auto classes this kind can register with; the first is the default.
    auto_class_choices: ClassVar[tuple[str, ...]] = ()
    # Whether from_pretrained also takes the path of a single JSON file (configs, preprocessors).
    reads_json_files: ClassVar[bool] = False
    # The error this kind raises for bad settings (a wrong Auto class, ...).
    settings_error: ClassVar[type[Exception]] = ConfigurationError

    # ------------------------------------------------------------------ loading
    # Typed so that ``BertModel.from_pretrained(...)`` is a BertModel to a type checker or IDE; the two flags
    # that add a second value to the result (configs' unused keywords, models' load report) give a tuple.
    @overload
    @classmethod
    def from_pretrained(cls: type[T], pretrained_model_name_or_path: str | os.PathLike[str] | FileSource | None,
                        *args: Any, return_unused_kwargs: Literal[True], **kwargs: Any) -> tuple[T, dict[str, Any]]: ...

    @overload
    @classmethod
    def from_pretrained(cls: type[T], pretrained_model_name_or_path: str | os.PathLike[str] | FileSource | None,
                        *args: Any, output_loading_info: Literal[True], **kwargs: Any) -> tuple[T, LoadReport]: ...

    @overload
    @classmethod
    def from_pretrained(cls: type[T], pretrained_model_name_or_path: str | os.PathLike[str] | FileSource | None,
                        *args: Any, **kwargs: Any) -> T: ...

    @classmethod
    def from_pretrained(cls: type[T], pretrained_model_name_or_path: str | os.PathLike[str] | FileSource | None,
                        *args: Any, **kwargs: Any) -> Any:
        """Load from a folder, a hub repository id (any hub: ``HF_ENDPOINT``) or a FileSource.

        Where the files come from: ``revision``, ``cache_dir``, ``token``, ``local_files_only``,
        ``subfolder``, ``force_download`` (:class:`~modelyard.options.HubOptions`). Every other keyword is the
        kind's own (see its ``_from_source``); a misspelt one is an error naming the intended name.
        """
        where = f"{cls.__name__}.from_pretrained"
        hub = HubOptions.take(kwargs, where=where)
        # a keyword named like one of the class's methods is no misspelling: the kind says what it clashes with
        refuse_near_misses(where, [k for k in kwargs if not callable(getattr(cls, k, None))], cls.accepted_keywords())
        if pretrained_model_name_or_path is None:  # the hub options mean nothing without files
            return cls._from_no_files(*args, **kwargs)
        return cls._from_source(cls._locate(pretrained_model_name_or_path, hub), *args, **kwargs)

    @classmethod
    def accepted_keywords(cls) -> frozenset[str]:
        """Every keyword ``from_pretrained`` takes: the hub options, the reference's flags and the kind's own."""
        return HubOptions.field_names() | frozenset(REFERENCE_FLAGS) | frozenset(cls._accepted_keywords())

    @classmethod
    def _accepted_keywords(cls) -> set[str]:
        """The kind's own keywords (its ``_from_source`` parameters and the settings it keeps)."""
        params = inspect.signature(cls._from_source).parameters.values()
        return {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)} - {"cls", "location"}

    @classmethod
    def _locate(cls, location: str | os.PathLike[str] | FileSource, hub: HubOptions) -> FileSource | Path:
        return locate(location, hub, json_files=cls.reads_json_files)

    @classmethod
    def _from_no_files(cls: type[T], *args: Any, **kwargs: Any) -> Any:
        """``from_pretrained(None, ...)``: a kind that can be built without files (a model, from ``config=`` and
        ``state_dict=``, as the reference allows) overrides this."""
        raise cls.settings_error(
            f"{cls.__name__}.from_pretrained needs a folder, a hub repository id or a FileSource, got None."
        )

    @classmethod
    def _from_source(cls: type[T], location: FileSource | Path, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{cls.__name__} does not implement _from_source")

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, save_directory: str | os.PathLike[str], *args: Any, push_to_hub: bool = False,
                        **kwargs: Any) -> Any:
        """Write the object's files into ``save_directory`` (created if needed); returns the files written.

        ``push_to_hub=True`` then uploads the folder: ``repo_id`` (default: the folder's name) and the other
        keywords of :meth:`push_to_hub` (``commit_message``, ``private``, ``token``, ...) are taken from
        ``kwargs``; the rest are the kind's save options (see its ``_save_into``).
        """
        directory = Path(save_directory)
        if directory.is_file():
            raise type(self).settings_error(
                f"save_directory {str(directory)!r} is a file; save_pretrained writes into a folder. Pass a folder path."
            )
        # Save options first: push_to_hub shares some names (max_shard_size), which mean the save here.
        options = set(inspect.signature(self._save_into).parameters) - {"directory", "args", "kwargs"}
        push_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k not in options and k in _push_keywords()}
        unknown = [k for k in kwargs if k not in options]
        if unknown:
            raise unknown_keywords_error(
                f"{type(self).__name__}.save_pretrained", unknown, options | _push_keywords(),
                "save options nor push_to_hub options",
            )
        directory.mkdir(parents=True, exist_ok=True)
        written = self._save_into(directory, *args, **kwargs)
        if push_to_hub:
            self.push_to_hub(push_kwargs.pop("repo_id", directory.name), _folder=directory, **push_kwargs)
        return written

    def _save_into(self, directory: Path, *args: Any, **options: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement _save_into")

    # ------------------------------------------------------------------ custom code
    @classmethod
    def register_for_auto_class(cls, auto_class: str | type | None = None) -> None:
        """Ship this class's code with the files it saves, so ``auto_class`` (default: this kind's usual one)
        loads it elsewhere with ``trust_remote_code=True``.

        The copied code imports what it builds on; written as ``from modelyard import PreTrainedModel`` it runs
        only where modelyard is installed. To let users of the transformers library load it too, write the
        import in the portable form (or save with ``save_pretrained(..., portable_code=True)``, which writes the
        copies that way; ``modelyard.dynamic_modules.check_portable_code`` lists what ties code to modelyard)::

            try:  # modelyard where it is installed; the transformers library (same API) elsewhere
                from modelyard import PreTrainedModel
            except ImportError:
                from transformers import PreTrainedModel
        """
        choices = cls.auto_class_choices
        name = choices[0] if auto_class is None else auto_class
        name = name if isinstance(name, str) else name.__name__
        if name not in choices:
            allowed = f"only for {choices[0]!r}" if len(choices) == 1 else f"for one of {', '.join(map(repr, choices))}"
            raise cls.settings_error(f"{cls.__name__} registers {allowed}, not {name!r}.")
        cls._auto_class = name



def constructor_arguments(*, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """The arguments of the calling constructor as keywords: its named parameters (``self`` left out) with their
    current values, and its ``**kwargs`` merged in.

    A tokenizer's or processor's ``__init__`` spells out the reference's parameters (their names and defaults
    are its public signature) and hands them all to the base class, which records them for saving (a
    tokenizer's ``init_kwargs``, a processor's attributes): ``super().__init__(**constructor_arguments())`` says
    that once instead of repeating every name. Only parameters are taken, never other local variables; a
    parameter re-bound before the call (e.g. a default token made an ``AddedToken``) passes its new value.
    ``leave_out`` names parameters the constructor used itself and the reference does not record (e.g. a
    vocabulary file it read).
    """
    caller = sys._getframe(1)
    code, values = caller.f_code, caller.f_locals
    count = code.co_argcount + code.co_kwonlyargcount
    names = code.co_varnames[1:count]
    arguments = {name: values[name] for name in names if name not in leave_out}
    if code.co_flags & inspect.CO_VARKEYWORDS:
        extra_name = code.co_varnames[count + (1 if code.co_flags & inspect.CO_VARARGS else 0)]
        arguments.update(values[extra_name])
    return arguments


__all__ = ["PretrainedIO", "constructor_arguments", "locate"]
