"""``transformers.utils.hub``: the file lookups remote code calls to read its own repository's files.

They resolve through modelyard's :class:`~modelyard.hub.files.FileSource` (the same hub settings, caches
and offline rules as every load), and shard names from an index are confined to their folder.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from modelyard.compat.transformers._namespace import declare
from modelyard.errors import HubConnectionError, MissingFileError, UnsafeFileError
from modelyard.hub import settings
from modelyard.hub.files import FileSource
from modelyard.weights.checkpoint import check_shard_name

_SNAPSHOT = re.compile(r"snapshots[\\/]([0-9a-f]{40})(?:[\\/]|$)")


def is_remote_url(url_or_filename: str | os.PathLike[str]) -> bool:
    return str(url_or_filename).startswith(("http://", "https://"))


def is_offline_mode() -> bool:
    return settings.is_offline()


def extract_commit_hash(resolved_file: str | None, commit_hash: str | None) -> str | None:
    """The commit a cached file was downloaded at (from its snapshot folder), unless ``commit_hash`` is given."""
    if resolved_file is None or commit_hash is not None:
        return commit_hash
    found = _SNAPSHOT.search(str(resolved_file))
    return found.group(1) if found else None


def _source(path_or_repo_id: Any, *, revision: str | None, commit_hash: str | None, cache_dir: Any,
            token: Any, local_files_only: bool, subfolder: str, force_download: bool) -> FileSource:
    return FileSource.open(
        path_or_repo_id, revision=commit_hash or revision, cache_dir=cache_dir, token=token,
        local_files_only=local_files_only, subfolder=subfolder or "", force_download=force_download,
    )


def cached_file(
    path_or_repo_id: str | os.PathLike[str],
    filename: str,
    cache_dir: str | os.PathLike[str] | None = None,
    force_download: bool = False,
    resume_download: bool | None = None,
    proxies: dict[str, str] | None = None,
    token: str | bool | None = None,
    revision: str | None = None,
    local_files_only: bool = False,
    subfolder: str = "",
    repo_type: str | None = None,
    user_agent: Any = None,
    _raise_exceptions_for_gated_repo: bool = True,
    _raise_exceptions_for_missing_entries: bool = True,
    _raise_exceptions_for_connection_errors: bool = True,
    _commit_hash: str | None = None,
    **deprecated_kwargs: Any,
) -> str | None:
    """The local path of ``filename`` in a folder or repository (downloaded if needed), or None where the
    reference's flags ask for None instead of an error (missing file, unreachable hub)."""
    if Path(filename).is_absolute() or ".." in Path(filename).parts or "\\" in filename:
        raise UnsafeFileError(
            f"cached_file was asked for {filename!r} in {os.fspath(path_or_repo_id)!r}: only names inside the folder or "
            "repository are read (no absolute paths, no '..', no backslashes)."
        )
    try:
        source = _source(path_or_repo_id, revision=revision, commit_hash=_commit_hash, cache_dir=cache_dir,
                         token=token, local_files_only=local_files_only, subfolder=subfolder,
                         force_download=force_download)
        path = source.get(filename, required=_raise_exceptions_for_missing_entries)
    except HubConnectionError:
        if _raise_exceptions_for_connection_errors:
            raise
        return None
    except MissingFileError:
        if _raise_exceptions_for_missing_entries:
            raise
        return None
    return None if path is None else str(path)


def has_file(
    path_or_repo: str | os.PathLike[str],
    filename: str,
    revision: str | None = None,
    proxies: dict[str, str] | None = None,
    token: str | bool | None = None,
    *,
    local_files_only: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    repo_type: str | None = None,
    **deprecated_kwargs: Any,
) -> bool:
    """Whether the folder or repository holds ``filename`` (nothing is downloaded)."""
    if Path(os.fspath(path_or_repo)).is_dir():
        return (Path(os.fspath(path_or_repo)) / filename).is_file()
    source = _source(path_or_repo, revision=revision, commit_hash=None, cache_dir=cache_dir, token=token,
                     local_files_only=local_files_only, subfolder="", force_download=False)
    return filename in source.list_files()


def get_checkpoint_shard_files(
    pretrained_model_name_or_path: str | os.PathLike[str],
    index_filename: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str] | None = None,
    force_download: bool = False,
    proxies: dict[str, str] | None = None,
    resume_download: bool | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    user_agent: Any = None,
    revision: str | None = None,
    subfolder: str = "",
    _commit_hash: str | None = None,
    **deprecated_kwargs: Any,
) -> tuple[list[str], dict[str, Any]]:
    """Every shard an index names (local paths, in the index's order of first use) and the index's metadata
    with ``all_checkpoint_keys`` and ``weight_map``, as the reference returns them."""
    index_path = Path(os.fspath(index_filename))
    if not index_path.is_file():
        raise MissingFileError(f"The shard index {str(index_path)!r} does not exist; pass the path of the "
                               "model.safetensors.index.json (or pytorch_model.bin.index.json) file.")
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        weight_map = dict(index["weight_map"])
    except (ValueError, KeyError, TypeError) as err:
        raise MissingFileError(f"{str(index_path)!r} is not a shard index (JSON with a 'weight_map'): {err}") from err
    shards = list(dict.fromkeys(weight_map.values()))
    for shard in shards:
        check_shard_name(shard, str(index_path))
    metadata = dict(index.get("metadata", {}))
    metadata["all_checkpoint_keys"] = list(weight_map)
    metadata["weight_map"] = weight_map.copy()
    local = Path(os.fspath(pretrained_model_name_or_path))
    if local.is_dir():
        folder = local / subfolder if subfolder else local
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing:
            raise MissingFileError(f"{str(folder)!r} lacks the shards its index names: {missing}.")
        return [str(folder / s) for s in shards], metadata
    source = _source(pretrained_model_name_or_path, revision=revision, commit_hash=_commit_hash,
                     cache_dir=cache_dir, token=token, local_files_only=local_files_only, subfolder=subfolder,
                     force_download=force_download)
    return [str(source.get(shard)) for shard in shards], metadata


__getattr__, __dir__ = declare(globals(), {"PushToHubMixin": "modelyard.hub.push"})
