"""The content gateway: the one place that knows where a file's bytes live and how to hand them out.

A file of a commit names its content by SHA-256 (:class:`~modelyard.server.gitobjects.FileEntry`). The bytes
of a *regular* file are a blob of the blob store; those of an *LFS* file are an LFS object in the same store or
a *Xet* file rebuilt from xorbs. The backends (:attr:`ContentStore.backends`, peers under one interface,
:class:`~modelyard.server.content.backend.ContentBackend`) are asked in order, the blob store first: a second
blob backend joins that tuple and every route serves, checks and links its content. Routes call this gateway
only (``tests/test_structure.py`` checks that none reaches the stores under it).
"""

from __future__ import annotations

import mimetypes
from typing import BinaryIO

from fastapi import Request
from fastapi.responses import Response

from modelyard.server.blobstore import BlobStore
from modelyard.server.config import HubSettings
from modelyard.server.content.backend import ContentBackend
from modelyard.server.content.lfs import LfsBackend
from modelyard.server.content.xet import XetBackend
from modelyard.server.errors import HubHTTPError, bad_request
from modelyard.server.gitobjects import FileEntry, lfs_entry
from modelyard.server.storage import Repo, Storage
from modelyard.server.xet.store import XetStore

#: what :meth:`ContentStore.kind_of` answers for a regular (non-LFS) file
REGULAR = "regular"


class ContentStore:
    """Whether the hub holds a file's content, its bytes, the HTTP answer for it, and its entry in a commit."""

    def __init__(self, storage: Storage, blobs: BlobStore, settings: HubSettings, secret: bytes) -> None:
        self._blobs = blobs
        self.lfs = LfsBackend(blobs, storage.blobs, settings, secret)
        self.xet = XetBackend(XetStore(storage, blobs), blobs)
        # Asked in this order: an LFS blob serves content before a Xet file with the same bytes is rebuilt.
        self.backends: tuple[ContentBackend, ...] = (self.lfs, self.xet)

    # -- regular files ----------------------------------------------------------------------------------
    def put_bytes(self, content: bytes) -> str:
        """Store a regular file's bytes (they live in the blob store); returns their sha256."""
        return self.lfs.put_bytes(content)

    @property
    def spool_dir(self) -> str:
        """A folder on the blob store's disk for request bodies spooled while they are parsed."""
        return str(self._blobs.tmp)

    # -- do we hold it ----------------------------------------------------------------------------------
    def holder(self, repo: Repo, sha256: str, size: int | None = None) -> ContentBackend | None:
        """The backend through which ``repo`` holds content ``sha256`` (of ``size`` bytes, when given)."""
        return next((b for b in self.backends if b.holds(repo, sha256, size)), None)

    def holds(self, repo: Repo, sha256: str, size: int | None = None) -> bool:
        """Whether ``repo`` may use content ``sha256``: uploaded to it (or copied into it) through any backend."""
        return self.holder(repo, sha256, size) is not None

    def present(self, sha256: str, size: int) -> bool:
        """Whether content ``sha256`` of ``size`` bytes can be served now: a blob, or a Xet file whose xorbs are
        all stored (checked again at commit time: garbage collection may have removed an old upload)."""
        return any(b.stores(sha256, size) for b in self.backends)

    def kind_of(self, entry: FileEntry) -> str | None:
        """Where the bytes of a commit's file live: ``"regular"`` (a git blob of the blob store), or the kind of
        the backend that serves an LFS file (``"lfs"``, ``"xet"``); None when no backend stores them."""
        for backend in self.backends:
            if backend.stores(entry.sha256, entry.size):
                return REGULAR if not entry.lfs else backend.kind
        return None

    # -- open it ----------------------------------------------------------------------------------------
    def open(self, sha256: str) -> BinaryIO:
        """A seekable binary reader over content ``sha256``, wherever it is stored (``FileNotFoundError``)."""
        for backend in self.backends:
            reader = backend.open(sha256)
            if reader is not None:
                return reader
        raise FileNotFoundError(f"content {sha256} is not stored on this hub")

    # -- answer a request for it ------------------------------------------------------------------------
    def file_response(self, request: Request, repo: Repo, entry: FileEntry, path: str, headers: dict[str, str], *,
                      xet_auth_url: str) -> Response:
        """The ``resolve`` answer for file ``path`` of a commit of ``repo``: its bytes (``Range`` honoured), or
        for LFS files a redirect to the object store where it has one. LFS files carry ``X-Linked-Etag`` (the
        sha256, which the client prefers to the git ``ETag``) and ``X-Linked-Size``, and when stored through
        Xet, ``X-Xet-Hash`` and the ``xet-auth`` link (``xet_auth_url``) Xet clients follow to the CAS."""
        if entry.lfs:
            headers = {**headers, "X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size),
                       **self.xet.download_headers(repo, entry.sha256, xet_auth_url)}
        media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return self.respond(request, entry.sha256, headers, repo=repo, redirect=entry.lfs, media_type=media_type,
                            filename=path.rsplit("/", 1)[-1], missing=f"The content of {path!r} ({entry.sha256})")

    def respond(self, request: Request, sha256: str, headers: dict[str, str], *, repo: Repo | None,
                redirect: bool, media_type: str | None = None, filename: str | None = None,
                missing: str | None = None) -> Response:
        """The bytes of content ``sha256`` from the first backend storing it (with ``redirect``: a redirect
        where that backend has one); 500 when none does, the store being damaged (``missing`` names it)."""
        for backend in self.backends:
            answer = backend.respond(request, sha256, headers, repo=repo, redirect=redirect, media_type=media_type,
                                     filename=filename)
            if answer is not None:
                return answer
        raise HubHTTPError(500, f"{missing or f'Content {sha256}'} is missing from the hub's store.")

    # -- link it into a repository and a commit -----------------------------------------------------------
    def commit_entry(self, repo: Repo, sha256: str, size: int | None, path: str) -> FileEntry:
        """The entry of an ``lfsFile`` commit line: content held for ``repo`` by a backend (400 otherwise, or
        when ``size`` is given and differs)."""
        # One answer for "stored, but for another repo" and "stored nowhere": the error must not tell whether
        # someone's private object exists, nor its size. Sizes are compared only afterwards.
        for backend in self.backends:
            held = backend.held_size(repo, sha256)
            if held is None:
                continue
            if size is not None and size != held:
                raise bad_request(f"LFS file {path!r}: size {size} does not match {backend.described} ({held} bytes).")
            return lfs_entry(sha256, held)
        raise bad_request(f"LFS object {sha256} for {path!r} was not uploaded to {repo.repo_id!r}; upload it through "
                          "this repository's LFS batch API or its Xet storage first.")

    def copy(self, source: Repo, target: Repo, sha256: str) -> dict[str, str] | None:
        """Let ``target`` use content ``source`` holds (a cross-repo copy); the fields of the duplicate answer,
        None when ``source`` holds no such content."""
        for backend in self.backends:
            done = backend.copy(source, target, sha256)
            if done is not None:
                return done
        return None

    def xet_hashes(self, repo: Repo) -> dict[str, str]:
        """SHA-256 -> Xet file hash of the content ``repo`` holds through Xet (listings name it ``xetHash``)."""
        return self.xet.hashes(repo)
