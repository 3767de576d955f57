"""Options as data: where files come from, and one policy for keywords nothing takes.

:class:`HubOptions` is the single declaration of the keywords every ``from_pretrained`` takes to locate files
(a folder or a hub repository at a revision); its fields are the accepted names, their documentation and the
vocabulary of "did you mean" suggestions. ``from_pretrained(location, **kwargs)`` takes them out of the
keywords once, at the door (:meth:`HubOptions.take`), and hands the rest to the kind being loaded.

:class:`~modelyard.hub.files.HubKwargs` declares the same names for a type checker: a signature that takes nothing
but them (``FileSource.open``) takes ``**hub: Unpack[HubKwargs]``, so a misspelt or mistyped one is a type error
there.

The reference library's flags that modelyard takes and ignores are one table, :data:`IGNORED_FLAGS`, each with
why ignoring it is right: its own private flags (which its Auto classes and pipelines pass to whatever class they
load) are dropped for every kind (:data:`REFERENCE_FLAGS`), the rest where a model is loaded
(:mod:`modelyard.weights.load_options`).

The policy for a keyword that nothing takes is the same for every kind (:func:`refuse_near_misses`): a near
miss of an accepted name is an error that names the likely intended one; anything else is left to the kind,
whose rule is documented on it (configs, tokenizers and feature extractors keep extra settings, as the
reference does; a model has nowhere to keep one and refuses it). This module never imports torch.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from modelyard.errors import UnexpectedArgumentError

T = TypeVar("T")

if TYPE_CHECKING:
    from modelyard.hub.files import FileSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IgnoredFlag:
    """A keyword of the reference that modelyard takes and ignores: why that is right, and whether only model
    loading takes it (the others every ``from_pretrained`` takes)."""

    why: str
    models_only: bool = False


# The reference's flags that modelyard takes and ignores (none is half-honoured: the others it refuses).
IGNORED_FLAGS: dict[str, IgnoredFlag] = {
    "_from_auto": IgnoredFlag("the reference's Auto classes mark their calls with it; loading is the same either way"),
    "_from_pipeline": IgnoredFlag("the reference's pipelines mark their calls with it"),
    "_commit_hash": IgnoredFlag("the file source already pins one commit for every file of the load"),
    "resume_download": IgnoredFlag("interrupted downloads always resume"),
    "mirror": IgnoredFlag("choose the hub with HF_ENDPOINT"),
    "proxies": IgnoredFlag("set HTTPS_PROXY / HTTP_PROXY in the environment; huggingface_hub reads them"),
    "trust_remote_code": IgnoredFlag(
        "only the Auto classes run custom code; a concrete class is already chosen", models_only=True
    ),
    "code_revision": IgnoredFlag("only the Auto classes fetch custom code", models_only=True),
    "low_cpu_mem_usage": IgnoredFlag(
        "modelyard always loads without a second copy of the weights (meta-device build)", models_only=True
    ),
    "offload_state_dict": IgnoredFlag(
        "weights are read one tensor at a time; there is no whole state dict to offload", models_only=True
    ),
    "use_kernels": IgnoredFlag("modelyard's layers are plain PyTorch", models_only=True),
    "adapter_name": IgnoredFlag(
        "only meaningful with an adapter, and adapters are refused (see adapter_kwargs)", models_only=True
    ),
}
# The reference's own flags, taken by every from_pretrained and dropped (name -> why it is right to drop them).
REFERENCE_FLAGS: dict[str, str] = {name: flag.why for name, flag in IGNORED_FLAGS.items() if not flag.models_only}
# How close a keyword must be to an accepted name to count as a misspelling of it (difflib ratio).
NEAR_MISS_CUTOFF = 0.8


@dataclass(frozen=True)
class HubOptions:
    """Where the files of a load come from.

    Attributes:
        revision: the branch, tag or full commit hash of a hub repository (default: ``main``).
        cache_dir: the download cache folder (default: ``HF_HUB_CACHE`` or ``HF_HOME/hub``).
        token: the hub token; ``False`` sends none (default: ``HF_TOKEN`` or the stored login).
        local_files_only: use the cache only, never the network (also ``HF_HUB_OFFLINE=1``).
        subfolder: read the files from this folder inside the folder or repository.
        force_download: download every file again even when it is cached.
    """

    revision: str | None = None
    cache_dir: str | os.PathLike[str] | None = None
    token: str | bool | None = None
    local_files_only: bool = False
    subfolder: str = ""
    force_download: bool = False

    DROPPED: ClassVar[dict[str, str]] = REFERENCE_FLAGS

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))

    @classmethod
    def take(cls, kwargs: dict[str, Any], *, where: str) -> HubOptions:
        """Remove this class's fields (and the reference's private flags) from ``kwargs``; returns the options."""
        for name in [k for k in kwargs if k in REFERENCE_FLAGS]:
            value = kwargs.pop(name)
            if name == "proxies" and value:
                logger.warning("%s: proxies=%r is ignored; %s.", where, value, REFERENCE_FLAGS[name])
        if "use_auth_token" in kwargs:
            raise UnexpectedArgumentError(f"{where} takes token=, not use_auth_token= (the reference's old name).")
        options = cls(**{name: kwargs.pop(name) for name in cls.field_names() & set(kwargs)})
        # A misspelt hub option would otherwise travel on as a setting and be silently ignored.
        refuse_near_misses(where, kwargs, cls.field_names())
        return options

    def open(self, location: str | os.PathLike[str] | FileSource) -> FileSource:
        """The :class:`~modelyard.hub.files.FileSource` of ``location`` under these options."""
        from modelyard.hub.files import FileSource

        return FileSource.open(location, **dataclasses.asdict(self))


def near_miss(key: str, accepted: Iterable[str]) -> str | None:
    """The accepted name ``key`` most likely misspells, or None."""
    matches = difflib.get_close_matches(key, sorted(accepted), n=1, cutoff=NEAR_MISS_CUTOFF)
    return matches[0] if matches else None


def near_misses_message(where: str, keys: Iterable[str], accepted: Iterable[str]) -> str | None:
    """A sentence naming every key that is not accepted but misspells an accepted name, or None."""
    accepted = set(accepted)
    misses = {key: match for key in keys if key not in accepted and (match := near_miss(key, accepted))}
    if not misses:
        return None
    shown = ", ".join(f"{key!r} (did you mean {match!r}?)" for key, match in misses.items())
    return f"{where} got keyword arguments that look misspelt: {shown}."


def refuse_near_misses(where: str, keys: Iterable[str], accepted: Iterable[str]) -> None:
    """Raise for every key that is not accepted but misspells an accepted name (all named in one error)."""
    message = near_misses_message(where, keys, accepted)
    if message:
        raise UnexpectedArgumentError(message)


def unknown_keywords_error(where: str, unknown: Iterable[str], accepted: Iterable[str], what: str) -> UnexpectedArgumentError:
    """The error for keywords nothing takes, with a suggestion for each near miss."""
    accepted = set(accepted)
    parts = [f"{k!r} (did you mean {m!r}?)" if (m := near_miss(k, accepted)) else repr(k) for k in unknown]
    return UnexpectedArgumentError(f"{where} got keyword arguments that are neither {what}: {', '.join(parts)}.")


def answer_with_unused(
    obj: T, unused: dict[str, Any], *, return_unused_kwargs: bool, where: str
) -> T | tuple[T, dict[str, Any]]:
    """What ``from_dict`` returns: ``(obj, unused)`` when the caller asked for the keywords that were not settings,
    otherwise ``obj``, with a warning naming those keywords (the reference's behaviour)."""
    if return_unused_kwargs:
        return obj, unused
    if unused:
        warnings.warn(
            f"{where}: ignored keyword arguments that are not attributes: {sorted(unused)}. "
            "Pass return_unused_kwargs=True to receive them.",
            UserWarning,
            stacklevel=4,  # from_dict's caller's caller (this helper is one frame more)
        )
    return obj


__all__ = ["IGNORED_FLAGS", "REFERENCE_FLAGS", "HubOptions", "IgnoredFlag", "answer_with_unused",
           "near_miss", "near_misses_message", "refuse_near_misses", "unknown_keywords_error"]
