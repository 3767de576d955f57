"""Where the files of one load come from: a local folder, or a hub repository pinned to one commit.

Every ``from_pretrained`` opens a :class:`FileSource` once and reads all its files through it, so a
config, its weights and any custom code always come from the same commit, even if someone pushes in
between. Remote files go through the gateway's client (:mod:`modelyard.hub.gateway`; any hub: ``HF_ENDPOINT``)
into ``huggingface_hub``'s standard cache, and its failures arrive as modelyard's typed errors.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from modelyard.errors import (
    HubError,
    MissingFileError,
    OfflineModeError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    UnexpectedArgumentError,
    UnsafeFileError,
)
from modelyard.hub import settings
from modelyard.hub.gateway import hub_client

if TYPE_CHECKING:
    from modelyard.keyword_groups import Unpack

logger = logging.getLogger(__name__)

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_REPO_ID_RE = re.compile(r"^(?:[\w\-.]{1,96}/)?[\w\-.]{1,96}$")

PathLike = str | os.PathLike[str]


def is_commit_hash(revision: str | None) -> bool:
    return revision is not None and COMMIT_RE.fullmatch(revision) is not None


class HubKwargs(TypedDict, total=False):
    """Where the files of a load come from, as keywords (:class:`~modelyard.options.HubOptions` documents them and
    ``tests/test_options.py`` holds the two to the same names and types): a signature that takes only them takes
    ``**hub: Unpack[HubKwargs]``, so that a type checker rejects a misspelt or mistyped one."""

    revision: str | None
    cache_dir: str | os.PathLike[str] | None
    token: str | bool | None
    local_files_only: bool
    subfolder: str
    force_download: bool


def _cache_repo_folder(cache_dir: Path, repo_id: str) -> Path:
    return cache_dir / ("models--" + repo_id.replace("/", "--"))


@dataclass(kw_only=True, eq=False, repr=False)
class FileSource:
    """A folder on disk or a hub repository at a fixed commit. Build with :meth:`open`."""

    local_dir: Path | None = None
    repo_id: str | None = None
    commit_hash: str | None = None
    revision: str | None = None
    cache_dir: Path | None = None
    token: str | bool | None = None
    local_files_only: bool = False
    subfolder: str = ""
    unsafe_files: Iterable[str] = ()  # stored as a frozenset
    force_download: bool = False
    _files_cache: list[str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.subfolder = self.subfolder.strip("/")
        self.unsafe_files = frozenset(self.unsafe_files)

    # ---------------------------------------------------------------- construction
    @classmethod
    def open(cls, path_or_repo_id: PathLike | FileSource, **hub: Unpack[HubKwargs]) -> FileSource:
        """Resolve ``path_or_repo_id`` once: a folder is used as is; a repo id is pinned to a commit
        (:meth:`open_repo`, which says what each keyword does; a folder uses only ``subfolder``)."""
        unknown = sorted(set(hub) - HubKwargs.__optional_keys__)
        if unknown:
            raise UnexpectedArgumentError(
                f"FileSource.open got unexpected keyword arguments {unknown}; it takes "
                f"{', '.join(HubKwargs.__annotations__)}."
            )
        subfolder = hub.get("subfolder", "")
        if isinstance(path_or_repo_id, FileSource):
            return path_or_repo_id.with_subfolder(subfolder) if subfolder else path_or_repo_id
        name = os.fspath(path_or_repo_id)
        path = Path(name).expanduser()
        if path.is_dir():
            return cls(local_dir=path, subfolder=subfolder)
        if path.is_file():
            raise MissingFileError(
                f"{name!r} is a file, but a folder or a repository id was expected here. "
                f"Pass the folder that holds it: {str(path.parent)!r}."
            )
        looks_local = name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1)
        if looks_local or not _REPO_ID_RE.fullmatch(name) or "--" in name or ".." in name:
            raise MissingFileError(
                f"{name!r} is neither an existing folder nor a valid hub repository id "
                f"('name' or 'namespace/name'). Check the path (current directory: {os.getcwd()!r})."
            )
        return cls.open_repo(name, **hub)

    @classmethod
    def open_repo(
        cls,
        repo_id: str,
        *,
        revision: str | None = None,
        cache_dir: PathLike | None = None,
        token: str | bool | None = None,
        local_files_only: bool = False,
        subfolder: str = "",
        force_download: bool = False,
    ) -> FileSource:
        """A hub repository pinned to a commit, never a folder that happens to have the same name (for
        references that can only mean the hub, such as ``auto_map``'s ``"owner/repo--module.Class"``).

        ``force_download=True`` downloads every file of this load again even when it is cached.
        """
        if not _REPO_ID_RE.fullmatch(repo_id) or "--" in repo_id or ".." in repo_id:
            raise MissingFileError(f"{repo_id!r} is not a valid hub repository id ('name' or 'namespace/name').")
        offline = local_files_only or settings.is_offline()
        source = cls(
            repo_id=repo_id,
            revision=revision,
            cache_dir=settings.hub_cache_dir(cache_dir),
            token=token,
            local_files_only=offline,
            subfolder=subfolder,
            force_download=force_download and not offline,
        )
        source._pin_commit()
        return source

    def with_subfolder(self, subfolder: str) -> FileSource:
        """The same source, reading from ``subfolder`` inside its current subfolder."""
        return dataclasses.replace(self, subfolder="/".join(p for p in (self.subfolder, subfolder.strip("/")) if p))

    @property
    def is_local(self) -> bool:
        return self.local_dir is not None

    @property
    def name(self) -> str:
        """How to refer to this source in messages and in ``name_or_path``."""
        return str(self.local_dir) if self.local_dir is not None else str(self.repo_id)

    def __repr__(self) -> str:
        if self.is_local:
            return f"FileSource(local_dir={str(self.local_dir)!r}, subfolder={self.subfolder!r})"
        return f"FileSource(repo_id={self.repo_id!r}, commit={self.commit_hash!r}, subfolder={self.subfolder!r})"

    # ---------------------------------------------------------------- pinning
    def _pin_commit(self) -> None:
        """Turn the requested branch/tag into a commit once, so every file comes from that commit."""
        requested = self.revision or "main"
        if is_commit_hash(requested):
            self.commit_hash = requested
            return
        assert self.repo_id is not None and self.cache_dir is not None
        ref_file = _cache_repo_folder(self.cache_dir, self.repo_id) / "refs" / requested
        if self.local_files_only:
            if ref_file.is_file():
                self.commit_hash = ref_file.read_text().strip()
                return
            raise OfflineModeError(
                f"Repository {self.repo_id!r} at revision {requested!r} is not in the local cache "
                f"({self.cache_dir}) and network access is off (local_files_only=True or HF_HUB_OFFLINE=1). "
                "Load it once online, or pass a folder path."
            )
        client = hub_client(f"resolve {self.repo_id!r}@{requested!r}", repo_id=self.repo_id, token=self.token)
        try:
            info = client.repo_info(self.repo_id, revision=requested, files_metadata=True)
        except (RepositoryNotFoundError, RevisionNotFoundError):
            raise
        except Exception as err:  # noqa: BLE001 - a hub unreachable or failing (translated), or not a hub at all
            # Fall back to the last commit seen for this revision, as the client does.
            if ref_file.is_file():
                logger.warning("Could not reach %s (%s); using the cached commit of %r.", settings.endpoint(), err, requested)
                self.commit_hash = ref_file.read_text().strip()
                return
            if isinstance(err, HubError):
                raise
            raise HubError(
                f"Could not resolve {self.repo_id!r}@{requested!r} on {settings.endpoint()}, and nothing is cached "
                f"for it: {err}. Check HF_ENDPOINT and your connection, or pass a folder."
            ) from err
        self.commit_hash = info.sha
        self.unsafe_files = frozenset(_unsafe_siblings(info))
        ref_file.parent.mkdir(parents=True, exist_ok=True)
        ref_file.write_text(str(info.sha))

    # ---------------------------------------------------------------- files
    def _in_subfolder(self, filename: str) -> str:
        return f"{self.subfolder}/{filename}" if self.subfolder else filename

    def list_files(self) -> list[str]:
        """Every file of the source (relative to its subfolder), sorted."""
        if self._files_cache is not None:
            return self._files_cache
        prefix = self._in_subfolder("")
        if self.local_dir is not None:
            root = self.local_dir / self.subfolder if self.subfolder else self.local_dir
            files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        else:
            files = sorted(f[len(prefix):] for f in self._remote_files() if f.startswith(prefix))
        self._files_cache = files
        return files

    def _remote_files(self) -> list[str]:
        assert self.repo_id is not None and self.cache_dir is not None
        snapshot = _cache_repo_folder(self.cache_dir, self.repo_id) / "snapshots" / str(self.commit_hash)
        if self.local_files_only:
            if not snapshot.is_dir():
                return []
            return [p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file()]
        client = hub_client(f"list the files of {self.repo_id!r}", repo_id=self.repo_id, token=self.token)
        files: list[str] = client.list_repo_files(self.repo_id, revision=self.commit_hash)
        return files

    def _local_path(self, filename: str) -> Path:
        assert self.local_dir is not None
        return self.local_dir / self._in_subfolder(filename)

    def get(self, filename: str, *, required: bool = True) -> Path | None:
        """The local path of ``filename``, downloading it if needed; ``None`` if absent and not required."""
        if self.local_dir is not None:
            path = self._local_path(filename)
            if path.is_file():
                return path
            if required:
                raise MissingFileError(self._missing_message(filename))
            return None
        return self._download(filename, required=required)

    def _download(self, filename: str, *, required: bool) -> Path | None:
        full = self._in_subfolder(filename)
        if full in self.unsafe_files:
            raise UnsafeFileError(
                f"The hub marked {full!r} in {self.repo_id!r} as unsafe (its pickle scan found code that would run "
                "on load); modelyard refuses to download it. Ask the publisher for a safetensors file."
            )
        client = hub_client(f"download {full!r} from {self.repo_id!r}", repo_id=self.repo_id, token=self.token)
        try:
            path = client.hf_hub_download(
                self.repo_id, full, revision=self.commit_hash, cache_dir=self.cache_dir,
                local_files_only=self.local_files_only, force_download=self.force_download,
            )
        except OfflineModeError as err:  # not cached, and the network is off: an error only for a required file
            if not self.local_files_only:
                raise
            if not required:
                return None
            raise OfflineModeError(
                f"{full!r} of {self.repo_id!r}@{self.commit_hash} is not in the local cache and network access "
                "is off. Load it once online first."
            ) from err
        except MissingFileError as err:  # the commit has no such file
            if required:
                raise MissingFileError(self._missing_message(filename)) from err
            return None
        return Path(path)

    def _missing_message(self, filename: str) -> str:
        where = (
            f"folder {str(self.local_dir / self.subfolder if self.subfolder else self.local_dir)!r}"
            if self.local_dir is not None
            else f"repository {self.repo_id!r} at commit {self.commit_hash}"
        )
        present = self.list_files()
        shown = ", ".join(present[:12]) + (" ..." if len(present) > 12 else "") if present else "no files"
        return f"{filename!r} was not found in {where}, which holds: {shown}."


# What every from_pretrained loads from: a folder, a hub repository id, or a source already opened.
Location = PathLike | FileSource


def _unsafe_siblings(info: object) -> list[str]:
    """Files the hub's pickle scan flagged as unsafe (or could not parse), from ``securityRepoStatus``.

    The client keeps that top-level field (``ModelInfo.security_repo_status``) but drops unknown keys of
    each sibling, so the per-file ``siblings[].security`` that modelyard's hub also sends is not read here.
    """
    status = getattr(info, "security_repo_status", None) or {}
    issues = status.get("filesWithIssues") or [] if isinstance(status, dict) else []
    return [i["path"] for i in issues if isinstance(i, dict) and i.get("level") in ("unsafe", "error") and i.get("path")]
