"""Custom code shared with the weights: ``register_for_auto_class``, ``auto_map`` and ``trust_remote_code``.

This package is the loading half (an upper layer: it imports the compatibility namespace and the hub client):
:mod:`.trust` (the consent gate), :mod:`.provenance` (whether a trusted publisher committed a revision),
:mod:`.cache` (the on-disk module cache and its import machinery) and :mod:`.remote_imports` (the
``transformers`` namespace modules of remote code see). What saving needs is the core package
:mod:`modelyard.dynamic`.

Saving: a class registered with ``register_for_auto_class`` has its module (and every module that imports
relatively, recursively) copied next to the saved files, and ``auto_map`` records ``"module.Class"``.

Loading: an Auto class that meets an ``auto_map`` entry (``"module.Class"``, or ``"owner/repo--module.Class"``
for code in another repository) asks :func:`resolve_remote_class`, which

1. decides consent *before touching any code* (see :mod:`modelyard.dynamic_modules.trust`): without it, nothing
   from the repository is imported and the error names the repository, files and classes;
2. fetches the module and its relative imports at the same commit as the weights (or ``code_revision``);
3. copies them into the module cache, one folder per repository and commit (local folders: per content
   hash), with file locks and atomic renames, so a later push or edit never changes code already pinned;
4. checks the imports of every file with ``ast`` and reports all missing packages in one error;
5. imports the module under ``modelyard_modules.<repo>.<commit>`` and returns the class. Any Auto-class
   registration the code makes while being imported is undone, so remote code never changes what a later
   load without it returns.
"""

from __future__ import annotations

import hashlib
import keyword
import logging
import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard import registry
from modelyard.dynamic.closure import DirectoryReader, SourceReader, collect
from modelyard.dynamic.imports import check_dependencies, scan_imports
from modelyard.dynamic.naming import ROOT_PACKAGE, file_for_module, hub_package, local_package
from modelyard.dynamic.portability import CodeTie, check_portable_code
from modelyard.dynamic.saving import save_custom_code
from modelyard.dynamic_modules import cache, remote_imports
from modelyard.dynamic_modules.provenance import unvouched_reason
from modelyard.dynamic_modules.remote_imports import (
    REMOTE_TRANSFORMERS_ENV,
    remote_transformers,
    set_remote_transformers,
)
from modelyard.dynamic_modules.trust import (
    PROMPT_TIMEOUT_ENV,
    TRUSTED_PUBLISHERS_ENV,
    ask,
    can_prompt,
    is_trusted_publisher,
    normalise_endpoint,
    prompt_timeout,
    publisher_of,
    set_trusted_publishers,
    trusted_elsewhere,
    trusted_publishers,
)
from modelyard.errors import ConfigurationError, MissingFileError, TrustRemoteCodeError
from modelyard.hub import settings
from modelyard.hub.files import FileSource, HubKwargs

if TYPE_CHECKING:
    from modelyard.keyword_groups import Unpack

logger = logging.getLogger(__name__)

__all__ = [
    "PROMPT_TIMEOUT_ENV",
    "REMOTE_TRANSFORMERS_ENV",
    "TRUSTED_PUBLISHERS_ENV",
    "CodeTie",
    "check_portable_code",
    "clear_module_cache",
    "get_class_from_dynamic_module",
    "modules_cache_dir",
    "parse_class_reference",
    "remote_transformers",
    "resolve_remote_class",
    "save_custom_code",
    "set_remote_transformers",
    "set_trusted_publishers",
    "trusted_publishers",
]

_SKIPPED_DIRS = {"__pycache__", "node_modules", "site-packages"}


@dataclass(frozen=True)
class _Origin:
    key: tuple[str, ...]  # ("hub", repo_id, commit) or ("local", folder)
    source: FileSource


# Where each class returned by resolve_remote_class came from (for from_config and saving).
_ORIGINS: weakref.WeakKeyDictionary[type, _Origin] = weakref.WeakKeyDictionary()


def modules_cache_dir() -> Path:
    """The folder holding cached remote code (``$MODELYARD_HOME/modules``)."""
    return cache.modules_root()


def clear_module_cache() -> None:
    """Delete all cached remote code and forget the modules imported from it; the next load fetches again.
    Objects already built from that code keep working."""
    cache.clear()


def parse_class_reference(reference: str) -> tuple[str | None, str, str]:
    """``"owner/repo--pkg.module.Class"`` -> ``("owner/repo", "pkg.module", "Class")``; the repo is ``None``
    for a reference to the same repository (``"module.Class"``).

    The repository part must be a hub repository id by the Hub's own rules (``validate_repo_id``): no path
    (``..``, absolute, ``~``), no more than one ``/``. It is checked here, before any trust decision, because
    the namespace before the ``/`` is what a trusted-publisher setting is matched against.
    """
    repo_id: str | None
    repo_id, separator, rest = reference.partition("--")
    if not separator:
        repo_id, rest = None, reference
    elif not _is_repo_id(repo_id):
        raise ConfigurationError(
            f"auto_map entry {reference!r} names {repo_id!r}, which is not a valid repository id: code from another "
            "repository is written 'owner/repo--module.Class' (letters, digits, '-', '_' and '.', no '..' or path). "
            "Fix the entry in the repository's config; a folder on disk cannot be named there."
        )
    module, _, class_name = rest.rpartition(".")
    parts = [*module.split("."), class_name] if module else []
    if not parts or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise ConfigurationError(
            f"auto_map entry {reference!r} is not a class reference: expected 'module.Class' (the module file "
            "next to config.json, without .py) or 'owner/repo--module.Class' for code in another repository."
        )
    return repo_id, module, class_name


def _is_repo_id(text: str) -> bool:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True


def _choose(reference: str | list[str | None] | tuple[str | None, ...]) -> str:
    """Tokenizer entries are ``[slow, fast]``: the fast class when there is one (pass a string to choose)."""
    if isinstance(reference, str):
        return reference
    choices = [r for r in reference if isinstance(r, str) and r]
    if not choices:
        raise ConfigurationError(f"auto_map entry {reference!r} names no class.")
    return choices[-1]


def _source_key(source: FileSource) -> tuple[str, ...]:
    if source.local_dir is not None:  # source.is_local
        root = source.local_dir / source.subfolder if source.subfolder else source.local_dir
        return ("local", str(Path(root).resolve()))
    return ("hub", str(source.repo_id), str(source.commit_hash), source.subfolder)


def _describe_repo(source: FileSource | None, other_repo: str | None, code_revision: str | None) -> str:
    if other_repo is not None:
        pinned = f" at revision {code_revision!r}" if code_revision else " (its default branch)"
        return f"repository {other_repo!r}{pinned}"
    if source is None:
        return "an unknown location"
    if source.is_local:
        return f"folder {source.name!r}"
    commit = code_revision or source.commit_hash
    return f"repository {source.repo_id!r} at commit {commit}"


def _code_repo(source: FileSource | None, other_repo: str | None) -> str | None:
    if other_repo is not None:
        return other_repo
    return source.repo_id if source is not None and not source.is_local else None


def _request_text(auto_class: str, reference: str, module: str, class_name: str, where: str) -> str:
    return (
        f"The {where} ships custom code for {auto_class}: class {class_name} in {file_for_module(module)} "
        f"(auto_map entry {reference!r}), plus any module that file imports relatively."
    )


@dataclass
class _Consent:
    given: bool
    code_source: FileSource | None = None  # opened while deciding (a trusted publisher's commit was checked)
    publisher_note: str | None = None  # why a trusted publisher's namespace did not vouch for this code


def _publisher_hint(code_repo: str | None, consent: _Consent) -> str:
    """How to trust the publisher, or why its trust did not apply here."""
    if consent.publisher_note:
        return f" The trusted-publisher setting does not cover this code: {consent.publisher_note}."
    endpoint = settings.endpoint()
    publisher = publisher_of(code_repo, endpoint)
    if publisher is None:
        return ""
    hint = f", or trust the publisher with {TRUSTED_PUBLISHERS_ENV}={publisher} (code it commits to its branches)"
    elsewhere = trusted_elsewhere(code_repo, endpoint)
    if elsewhere:
        hint += f" ({publisher.namespace} is trusted on {', '.join(elsewhere)} only; this code is on {normalise_endpoint(endpoint)})"
    return hint


def _refusal(
    request: str,
    *,
    trust_remote_code: bool | None,
    code_repo: str | None,
    pin: str | None,
    misfit: str | None,
    consent: _Consent,
) -> str:
    if trust_remote_code is False:
        why = "trust_remote_code=False"
    elif prompt_timeout() <= 0:
        why = f"trust_remote_code was not set and prompting is off ({PROMPT_TIMEOUT_ENV}=0)"
    elif not can_prompt():
        why = "trust_remote_code was not set and there is no terminal to ask on"
    else:
        why = "the question was not answered yes"
    lines = [request, f"None of it was imported or run ({why})."]
    if misfit:
        lines.append(f"A built-in class cannot stand in for it: {misfit}")
    fix = "Read the code, then pass trust_remote_code=True to run it"
    if pin:
        fix += f" (add revision={pin!r} so a later push cannot change what runs)"
    hint = _publisher_hint(code_repo, consent)
    lines.append(fix + (hint if hint.startswith(",") else "") + "." + (hint if hint.startswith(" ") else ""))
    return " ".join(lines)


def _consent(
    trust_remote_code: bool | None,
    *,
    source: FileSource | None,
    other_repo: str | None,
    code_revision: str | None,
    fallback: bool,
    request: str,
) -> _Consent:
    if trust_remote_code is True:
        return _Consent(True)
    if trust_remote_code is not None:
        if trust_remote_code is not False:
            raise ConfigurationError(f"trust_remote_code must be True, False or None, got {trust_remote_code!r}.")
        return _Consent(False)
    code_repo = _code_repo(source, other_repo)
    note = None
    if is_trusted_publisher(code_repo, settings.endpoint()):
        # Pinning the commit reads metadata only; no code is fetched before the decision.
        code_source = _open_code_source(source, other_repo, code_revision)
        note = unvouched_reason(code_source)
        if note is None:
            logger.info(
                "Running code from %s at commit %s: its namespace is a trusted publisher on %s and a branch holds "
                "that commit.",
                code_repo,
                code_source.commit_hash,
                settings.endpoint(),
            )
            return _Consent(True, code_source=code_source)
        logger.info("The trusted publisher of %s does not vouch for this code: %s.", code_repo, note)
    if fallback or not can_prompt():
        return _Consent(False, publisher_note=note)
    question = request + (f" (The trusted-publisher setting does not cover it: {note}.)" if note else "")
    return _Consent(ask(question), publisher_note=note)


def _is_source_itself(source: FileSource | None, repo_id: str) -> bool:
    """Whether ``repo_id`` names the folder the user loaded (a copy of a repository kept under its id, relative to
    the working directory, whose ``auto_map`` names its own repository): its code is then the folder's own, as
    in the reference. Any other repository id always means the hub, never a folder that happens to match."""
    if source is None or source.local_dir is None:
        return False
    root = source.local_dir / source.subfolder if source.subfolder else source.local_dir
    return Path(repo_id).resolve() == Path(root).resolve()


def _open_code_source(source: FileSource | None, other_repo: str | None, code_revision: str | None) -> FileSource:
    if other_repo is not None:  # always the hub: never a folder that happens to have the repository's name
        return FileSource.open_repo(
            other_repo,
            revision=code_revision,
            cache_dir=source.cache_dir if source is not None and not source.is_local else None,
            token=source.token if source is not None else None,
            local_files_only=bool(source is not None and source.local_files_only),
        )
    if source is None:
        raise ConfigurationError("custom code without a source")  # callers check this first
    if code_revision is None or code_revision == source.commit_hash:
        return source
    if source.is_local:
        logger.warning("code_revision=%r is ignored for the local folder %s.", code_revision, source.name)
        return source
    return FileSource.open_repo(
        str(source.repo_id),
        revision=code_revision,
        cache_dir=source.cache_dir,
        token=source.token,
        local_files_only=source.local_files_only,
        subfolder=source.subfolder,
    )


def _folder_hash(root: Path) -> str:
    """Hash of every .py file under a local folder: any edit gives a new package (no stale modules)."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIPPED_DIRS)
        for name in sorted(filenames):
            if name.endswith(".py"):
                path = Path(dirpath) / name
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def _entry_file(reader: Any, module: str) -> str:
    plain = file_for_module(module)
    package = module.replace(".", "/") + "/__init__.py"
    if not reader.exists(plain) and reader.exists(package):
        return package
    return plain


def _fetch(code_source: FileSource, module: str) -> tuple[str, dict[str, bytes], str]:
    """``(package, {relpath: content}, where)`` with the files in the module cache."""
    if code_source.local_dir is not None:  # code_source.is_local
        root = code_source.local_dir / code_source.subfolder if code_source.subfolder else code_source.local_dir
        reader = DirectoryReader(root, where=f"folder {str(root)!r}")
        closure = collect(reader, _entry_file(reader, module))
        package = local_package(root, _folder_hash(root))
        cache.install(package, module, closure.files)
        return package, closure.files, reader.where
    where = f"repository {code_source.repo_id!r} at commit {code_source.commit_hash}"
    package = hub_package(str(code_source.repo_id), str(code_source.commit_hash), code_source.subfolder)
    cached = cache.cached_files(package, module)
    if cached is not None:  # pinned and complete: no network needed at all
        return package, cache.read_cached(package, cached), where
    remote = SourceReader(code_source, where=where)
    closure = collect(remote, _entry_file(remote, module))
    cache.install(package, module, closure.files)
    return package, closure.files, where


def _import_class(package: str, module: str, class_name: str, files: dict[str, bytes], where: str) -> type[Any]:
    provided = {"transformers"} if remote_imports.uses_compat() else set()  # the compatibility namespace
    required = {}
    for path, data in files.items():
        lines = scan_imports(data, filename=path).first_lines
        required[path] = {name: line for name, line in lines.items() if name not in provided}
    check_dependencies(required, where=where, local_modules={p.split("/")[0].removesuffix(".py") for p in files})
    remote_imports.check_transformers_uses(files, where=where)
    remote_imports.register_package(package, where)
    before = registry.registrations_snapshot()
    try:
        loaded = cache.import_module(package, module)
    finally:
        changed = registry.restore_registrations(before)
        if changed:
            logger.warning(
                "The custom code of %s registered classes with %s while being imported; that was undone so it "
                "cannot change later loads. Use the classes it returns instead.",
                where,
                ", ".join(changed),
            )
    klass = getattr(loaded, class_name, None)
    if not isinstance(klass, type):
        raise MissingFileError(
            f"{file_for_module(module)} in {where} defines no class {class_name!r} (auto_map points at it). "
            f"Classes it defines: {', '.join(sorted(n for n, v in vars(loaded).items() if isinstance(v, type))) or 'none'}."
        )
    return klass


def resolve_remote_class(
    reference: str | list[str | None],
    *,
    auto_class: str,
    source: FileSource | None,
    trust_remote_code: bool | None,
    code_revision: str | None,
    builtin: type | None,
    misfit: str | None = None,
) -> type[Any] | None:
    """The class an ``auto_map`` entry names, imported behind the trust gate.

    Returns ``None`` when the user did not consent and ``builtin`` (a built-in or registered class that fits
    the checkpoint) should be used instead; the caller must then check the weights really fit (models load with
    ``_require_fit=True``) and call again with ``builtin=None`` and ``misfit=<why>`` if they do not. Without
    consent and without a usable ``builtin`` it raises :class:`TrustRemoteCodeError`.
    """
    chosen = _choose(reference)
    other_repo, module, class_name = parse_class_reference(chosen)
    if other_repo is not None and _is_source_itself(source, other_repo):
        other_repo = None
    where = _describe_repo(source, other_repo, code_revision)
    code_repo = _code_repo(source, other_repo)
    request = _request_text(auto_class, chosen, module, class_name, where)
    if misfit:
        request += f" A built-in class cannot stand in for it: {misfit}"
    fallback = builtin is not None and misfit is None
    consent = _consent(
        trust_remote_code, source=source, other_repo=other_repo, code_revision=code_revision, fallback=fallback,
        request=request,
    )
    if not consent.given:
        if fallback:
            logger.warning(
                "%s trust_remote_code is not set, so the built-in %s stands in for it (a model class only where the "
                "checkpoint fits it completely; otherwise the load is refused). Pass trust_remote_code=True to use "
                "the repository's own code.",
                request,
                getattr(builtin, "__name__", builtin),
            )
            return None
        pin = code_revision or (source.commit_hash if source is not None and other_repo is None else None)
        raise TrustRemoteCodeError(
            _refusal(
                _request_text(auto_class, chosen, module, class_name, where),
                trust_remote_code=trust_remote_code,
                code_repo=code_repo,
                pin=pin,
                misfit=misfit,
                consent=consent,
            )
        )
    if source is None and other_repo is None:
        raise TrustRemoteCodeError(
            f"{auto_class} needs custom code ({chosen!r}), but this configuration does not say where it was loaded "
            "from. Load it with from_pretrained(<folder or repo id>, trust_remote_code=True) instead."
        )
    code_source = consent.code_source or _open_code_source(source, other_repo, code_revision)
    package, files, code_where = _fetch(code_source, module)
    klass = _import_class(package, module, class_name, files, code_where)
    klass._auto_class = auto_class  # saving it copies its code again
    _ORIGINS[klass] = _Origin(_source_key(code_source), code_source)
    return klass


def is_modelyard_class(klass: type[Any]) -> bool:
    """Whether ``klass`` builds on modelyard (remote code run on modelyard's compatibility namespace does);
    ``False`` for a class built on the transformers library (``MODELYARD_REMOTE_TRANSFORMERS=transformers``)."""
    return any(base.__module__ == "modelyard" or base.__module__.startswith("modelyard.") for base in klass.__mro__)


def overrides_from_pretrained(klass: type) -> bool:
    """Whether custom code defines ``from_pretrained`` itself (nomic-bert reads its weights that way): such an
    override was written for the reference's call, a location string and the hub keywords."""
    for base in klass.__mro__:
        if "from_pretrained" in vars(base):
            return base.__module__.startswith(f"{ROOT_PACKAGE}.")
    return False


def load_pretrained(klass: type[Any], source: FileSource, *args: Any, **kwargs: Any) -> Any:
    """``klass.from_pretrained`` for a class an Auto class resolved. A modelyard class gets the pinned
    ``source`` itself; a class of the transformers library gets the folder, or the repository id pinned to the
    same commit (``revision=<commit>``) with the same cache and token, and ``device`` as its ``device_map``.
    A modelyard class whose custom code overrides ``from_pretrained`` is called as the reference calls it:
    with the folder or pinned repository id and those keywords, since it reads the location itself."""
    if is_modelyard_class(klass) and not overrides_from_pretrained(klass):
        return klass.from_pretrained(source, *args, **kwargs)
    if "device" in kwargs and not is_modelyard_class(klass):
        kwargs["device_map"] = kwargs.pop("device")
    options: dict[str, Any] = {"subfolder": source.subfolder} if source.subfolder else {}
    if source.is_local:
        location = str(source.local_dir)
    else:
        location = str(source.repo_id)
        options.update(revision=source.commit_hash, cache_dir=str(source.cache_dir), local_files_only=source.local_files_only)
        if source.token is not None:
            options["token"] = source.token
    return klass.from_pretrained(location, *args, **options, **kwargs)


def loaded_from(klass: type[Any], source: FileSource | None) -> bool:
    """Whether ``klass`` came from the custom code of ``source`` (same repository and commit, or same folder)."""
    origin = _ORIGINS.get(klass)
    return origin is not None and source is not None and origin.key == _source_key(source)


def source_for_config(config: Any) -> FileSource | None:
    """Where a config's custom code can be found when no source is given (``AutoModel.from_config``)."""
    origin = _ORIGINS.get(type(config))
    if origin is not None:
        return origin.source
    name = getattr(config, "name_or_path", "") or ""
    commit = getattr(config, "_commit_hash", None)
    if name and Path(name).is_dir():
        return FileSource.open(name)
    if name and commit:
        try:
            return FileSource.open(name, revision=commit)
        except (OSError, ValueError):
            return None
    return None


def get_class_from_dynamic_module(
    class_reference: str,
    pretrained_model_name_or_path: str | os.PathLike[str] | FileSource,
    *,
    trust_remote_code: bool | None = None,
    code_revision: str | None = None,
    auto_class: str = "AutoModel",
    **hub: Unpack[HubKwargs],
) -> type[Any]:
    """Load one class of custom code directly (``"module.Class"`` in the given folder or repository, or
    ``"owner/repo--module.Class"``), behind the same trust gate as the Auto classes. Where the code comes
    from: the :class:`~modelyard.options.HubOptions` (``revision``, ``cache_dir``, ``token``, ...)."""
    source = FileSource.open(pretrained_model_name_or_path, **hub)
    klass = resolve_remote_class(
        class_reference,
        auto_class=auto_class,
        source=source,
        trust_remote_code=trust_remote_code,
        code_revision=code_revision,
        builtin=None,
    )
    assert klass is not None  # builtin=None: a refusal raises
    return klass

