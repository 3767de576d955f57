"""The hub's state (settings, database, blob store) and the lookups every route shares."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import quote, unquote

from fastapi import Request

from modelyard.server import bounded, scanning
from modelyard.server.auth import can_read, identify, require_read
from modelyard.server.blobstore_s3 import open_blob_store
from modelyard.server.config import HubSettings
from modelyard.server.content import ContentStore
from modelyard.server.errors import HubHTTPError, bad_request, revision_not_found
from modelyard.server.gitattributes import LfsAttributes, default_gitattributes
from modelyard.server.gitobjects import FileEntry, git_blob_oid, tree_oids
from modelyard.server.lru import LRUCache
from modelyard.server.storage import Commit, Identity, Repo, Storage

logger = logging.getLogger(__name__)

# URL segment <-> repo type ("models" in /api/models/..., "datasets/" prefix on file routes).
REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
MAX_INT = 2**53  # query numbers beyond this are refused (SQLite and JSON consumers overflow past 2**63)


def seg(value: str) -> str:
    """Decode one raw path segment (routes match the undecoded path, see ``app.RawPathMiddleware``).

    A malformed escape (``%ZZ``) or bytes that are not UTF-8 (``%E9``) are a 400, not a guess."""
    if "%" not in value:
        return value
    if _BAD_ESCAPE.search(value):
        raise bad_request(f"Malformed percent-escape in the URL segment {value!r}: a '%' must be followed by two "
                          "hex digits; write a literal '%' as '%25'.")
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise bad_request(f"The URL segment {value!r} does not decode to UTF-8 text; percent-encode the UTF-8 bytes "
                          "of the name.") from None


def _s3_options(settings: HubSettings) -> dict[str, Any]:
    if not (settings.blob_store or "").startswith("s3://"):
        return {}
    return {"redirects": settings.blob_redirects, "public_endpoint": settings.s3_public_endpoint,
            "link_ttl": settings.lfs_link_ttl, "cache_size": settings.blob_cache_size,
            "direct_uploads": settings.direct_uploads}


class Hub:
    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.storage = Storage(settings.database)
        self.store = open_blob_store(settings.blob_store, settings.data_dir, direct_io=settings.direct_io,
                                     **_s3_options(settings))
        self.secret = self.storage.secret()
        # Routes reach file contents only through the content gateway (regular blobs, LFS objects, Xet files);
        # ``store`` is kept for maintenance (health, garbage collection, exports).
        self.content = ContentStore(self.storage, self.store, settings, self.secret)
        self._small_json: LRUCache[str, Any] = LRUCache(512)
        self._trees: LRUCache[str, dict[str, str]] = LRUCache(64)
        self._content_kinds: LRUCache[str, str] = LRUCache(100_000)
        self._lfs_attributes: LRUCache[str, LfsAttributes] = LRUCache(256)
        # Stored at start (as before datasets had attributes of their own), so creating a model repository only
        # touches its .gitattributes; those of datasets and Spaces are stored when the first one is created.
        self.initial_blob("model")

    def health(self) -> dict[str, Any]:
        """Whether the metadata database and the blob store answer (``/api/health``; 503 when one does not)."""
        checks: dict[str, Any] = {}
        for name, probe, where in (("database", self.storage.ping, self.settings.describe_database()),
                                   ("blob_store", self.store.ping, self.store.location)):
            started = time.perf_counter()
            try:
                probe()
            except Exception as err:  # noqa: BLE001 - any failure is what the health check reports
                logger.warning("health check: the %s at %s does not answer: %s", name, where, err)
                checks[name] = {"status": "unreachable", "error": f"{type(err).__name__}: {err}"[:300]}
            else:
                checks[name] = {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}
        ok = all(check["status"] == "ok" for check in checks.values())
        return {"status": "ok" if ok else "unavailable", **checks}

    # -- request helpers ------------------------------------------------------------------------------
    def base_url(self, request: Request) -> str:
        """Absolute URL clients reach us at; the client parses repo URLs and pagination links against it."""
        if self.settings.public_url:
            return self.settings.public_url
        return str(request.base_url).rstrip("/")

    def caller(self, request: Request) -> Identity | None:
        return identify(self.storage, request.headers.get("authorization"))

    def repo_url(self, request: Request, repo: Repo) -> str:
        return f"{self.base_url(request)}/{URL_PREFIX[repo.type]}{repo.repo_id}"

    # -- repos and revisions --------------------------------------------------------------------------
    @staticmethod
    def repo_type(segment: str) -> str:
        try:
            return REPO_TYPES[segment]
        except KeyError:
            raise HubHTTPError(404, f"Unknown repository type {segment!r}; use models, datasets or spaces.") from None

    def find_repo(self, repo_type: str, namespace: str, name: str, *, request: Request | None = None,
                  caller: Identity | None = None) -> Repo | None:
        """The repo named by the raw URL segments ``namespace``/``name``.

        With ``request``, a name that a repo was moved away from answers a 307 redirect to the same URL under
        the repo's new name (what the client expects of renamed repos), if ``caller`` may read it; otherwise
        the old name is simply not found, so a private repo's new name does not leak.
        """
        repo = self.storage.repos.get(repo_type, seg(namespace), seg(name))
        if repo is None and request is not None:
            moved = self.storage.repos.moved(repo_type, seg(namespace), seg(name))
            if moved is not None and can_read(caller, moved):
                raise HubHTTPError(
                    307, f"Repository {seg(namespace)}/{seg(name)} was moved to {moved.repo_id}.",
                    headers={"Location": self._moved_location(request, namespace, name, moved)})
        return repo

    def _moved_location(self, request: Request, namespace: str, name: str, repo: Repo) -> str:
        parts = request.url.path.split("/")
        for i in range(len(parts) - 1):
            if parts[i] == namespace and parts[i + 1] in (name, f"{name}.git"):
                parts[i] = quote(repo.namespace, safe="")
                parts[i + 1] = quote(repo.name, safe="") + parts[i + 1][len(name):]
                break
        query = request.url.query
        return self.location("/".join(parts) + (f"?{query}" if query else ""))

    def location(self, path: str) -> str:
        """A redirect target for ``path``: under the configured public URL, or relative (never built from the
        request's ``Host`` header, which a client or a misrouted proxy may set to anything)."""
        return (self.settings.public_url or "") + path

    def readable_repo(self, request: Request, type_segment: str, namespace: str, name: str
                      ) -> tuple[Repo, Identity | None]:
        caller = self.caller(request)
        repo_type = self.repo_type(type_segment)
        repo = self.find_repo(repo_type, namespace, name, request=request, caller=caller)
        return require_read(caller, repo, f"{seg(namespace)}/{seg(name)}"), caller

    def resolve(self, repo: Repo, revision: str) -> str:
        """Commit id of ``revision`` (branch, tag, refs/pr/N, full or short sha) or 404 RevisionNotFound."""
        commit = self.storage.refs.resolve(repo, revision) if revision else None
        if commit is None:
            raise revision_not_found(repo.repo_id, revision)
        return commit

    def commit(self, repo: Repo, oid: str) -> Commit:
        found = self.storage.commits.get(repo, oid)
        if found is None:  # refs always point at stored commits; this means a damaged database
            raise HubHTTPError(500, f"Commit {oid} of {repo.repo_id!r} is missing from the database.")
        return found

    def manifest(self, repo: Repo, commit: Commit | str) -> dict[str, FileEntry]:
        if isinstance(commit, str):
            commit = self.commit(repo, commit)
        return self.storage.trees.manifest(commit.tree)

    def tree_oids(self, tree: str, manifest: dict[str, FileEntry]) -> dict[str, str]:
        return self._trees.get_or_compute(tree, lambda: tree_oids(manifest))

    def branch_ref(self, repo: Repo, revision: str) -> str:
        """The ref a commit to ``revision`` moves: ``refs/heads/<b>`` or an existing ``refs/pr/N``."""
        ref = revision if revision.startswith(("refs/pr/", "refs/heads/")) else f"refs/heads/{revision}"
        if self.storage.refs.target(repo, ref):
            return ref
        raise HubHTTPError(
            404,
            f"Invalid rev id: {revision!r} is not a branch (or pull-request ref) of {repo.repo_id!r}; commits go to "
            "branches. Create it first with `HfApi.create_branch`.",
            code="RevisionNotFound",
        )

    # -- file contents and scans ----------------------------------------------------------------------
    def open_content(self, entry: FileEntry) -> BinaryIO:
        """A binary reader over a file's content, wherever it is stored (see ``content``); seekable."""
        return self.content.open(entry.sha256)

    def content_opener(self, entry: FileEntry) -> Callable[[], BinaryIO]:
        return lambda: self.open_content(entry)

    def _read_small(self, entry: FileEntry, limit: int) -> bytes | None:
        if entry.size > limit:
            return None
        try:
            with self.open_content(entry) as fh:
                return fh.read(limit + 1)
        except OSError:
            return None

    def small_json(self, entry: FileEntry, limit: int = 1024 * 1024) -> Any:
        """Parsed JSON of a small stored file (config.json...), or None when unreadable."""
        if entry.size > limit:
            return None
        return self._small_json.get_or_compute(entry.sha256, lambda: self._parse_small_json(entry, limit))

    def _parse_small_json(self, entry: FileEntry, limit: int) -> Any:
        raw = self._read_small(entry, limit)
        try:
            return bounded.load_json(raw) if raw is not None else None
        except ValueError:  # not JSON, not UTF-8, or nested too deep to serve (bounded.ContentTooComplex)
            return None

    def small_text(self, entry: FileEntry, limit: int = 1024 * 1024) -> str | None:
        raw = self._read_small(entry, limit)
        try:
            return raw.decode("utf-8") if raw is not None else None
        except UnicodeDecodeError:
            return None

    def content_scan_ext(self, entry: FileEntry) -> str | None:
        """Picklescan extension for a blob's content (magic bytes), sniffed once per content and remembered."""
        return self.content_scan_exts([entry]).get(entry.sha256) or None

    def content_scan_exts(self, entries: Iterable[FileEntry]) -> dict[str, str]:
        """:meth:`content_scan_ext` of many blobs at once ("" = no pickle): cached, then the database, then
        sniffed, with what was sniffed recorded in one transaction."""
        shas = [entry.sha256 for entry in entries]
        found = self._content_kinds.get_many(shas)
        wanted = [sha for sha in shas if sha not in found]
        if not wanted:
            return found
        stored = self.storage.blobs.content_kinds(wanted)
        sniffed: dict[str, str] = {}
        for sha in wanted:
            if sha in stored or sha in sniffed:
                continue
            try:
                sniffed[sha] = scanning.content_scan_ext(functools.partial(self.content.open, sha)) or ""
            except OSError as err:  # a missing blob is a damaged store (or a collected one); not a pickle here
                logger.error("cannot read blob %s to check its content: %s", sha, err)
        self.storage.blobs.put_content_kinds(sniffed)
        found.update(stored)
        found.update(sniffed)
        self._content_kinds.update({**stored, **sniffed})
        return found

    def pickle_shards(self, manifest: dict[str, FileEntry]) -> set[str]:
        """Files of ``manifest`` that a non-safetensors weights index names (see ``scanning``)."""
        indexes = [p for p in manifest if scanning.is_weights_index(p)]
        if not indexes:
            return set()
        return scanning.pickle_shards(indexes, lambda p: self.small_json(manifest[p]))

    def scan_ext(self, path: str, entry: FileEntry, shards: Collection[str]) -> str | None:
        """The picklescan extension to scan ``path`` with, or None when it holds no pickle (name, index, content)."""
        suffix = PurePosixPath(path).suffix.lower()
        if suffix in scanning.PICKLE_EXTENSIONS:
            return suffix
        if path in shards:
            return scanning.AS_PICKLE
        return self.content_scan_ext(entry)

    def ensure_scanned(self, path: str, entry: FileEntry, shards: Collection[str] = ()) -> bool:
        """Scan a pickle-based file (once per content and extension) before the commit that adds it lands.

        Returns True when a scan ran."""
        ext = self.scan_ext(path, entry, shards)
        if ext is None:
            return False
        key = scanning.scan_key(ext)
        if self.storage.blobs.scan(entry.sha256, key) is not None:
            return False
        if entry.size > self.settings.scan_max_size:
            status, details = "unscanned", {"message": f"larger than the scan limit of {self.settings.scan_max_size} "
                                            "bytes", "imports": []}
        else:
            status, details = scanning.scan_pickle(self.content_opener(entry), path, ext)
        if status != "safe":
            logger.warning("security scan of %s (%s): %s - %s", path, entry.sha256, status, details.get("message"))
        self.storage.blobs.put_scan(entry.sha256, key, status, details)
        return True

    def scan_of(self, path: str, entry: FileEntry, shards: Collection[str]) -> tuple[str, dict[str, Any] | None]:
        """(kind, scan result or None) of one file of a manifest whose index-named shards are ``shards``."""
        ext = self.scan_ext(path, entry, shards)
        if ext is None:
            return ("code" if scanning.file_kind(path) == "code" else "data"), None
        return "pickle", self.storage.blobs.scan(entry.sha256, scanning.scan_key(ext))

    @staticmethod
    def int_param(value: str | None, name: str, default: int = 0) -> int:
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise bad_request(f"Query parameter {name}={value!r} must be a non-negative integer.") from None
        if not 0 <= number <= MAX_INT:
            raise bad_request(f"Query parameter {name}={value!r} must be an integer between 0 and {MAX_INT}.")
        return number

    def put_small(self, content: bytes) -> tuple[str, int, str]:
        """Store ``content`` (again, or touch it, so garbage collection keeps it): (sha256, size, git blob id)."""
        return self.content.put_bytes(content), len(content), git_blob_oid(content)

    def initial_blob(self, repo_type: str) -> tuple[str, int, str]:
        """The ``.gitattributes`` of a new repository's initial commit (the Hugging Face Hub's default)."""
        return self.put_small(default_gitattributes(repo_type))

    @property
    def gitattributes_blob(self) -> tuple[str, int, str]:
        """A new model repository's ``.gitattributes``."""
        return self.initial_blob("model")

    def lfs_attributes(self, manifest: dict[str, FileEntry]) -> LfsAttributes | None:
        """The LFS patterns of a commit's ``.gitattributes`` (cached by its content), None without one."""
        entry = manifest.get(".gitattributes")
        if entry is None:
            return None
        return self._lfs_attributes.get_or_compute(entry.sha256, lambda: LfsAttributes(self.small_text(entry) or ""))


def hub_of(request: Request) -> Hub:
    """The hub behind a request (every router and page reads it from here)."""
    return request.app.state.hub
