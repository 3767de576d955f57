"""The blob backend of the content gateway: LFS objects (and regular files' git blobs) in the blob store.

Both live in the content-addressed blob store (a folder, or an S3 bucket), named by their SHA-256. An LFS
object is *held* by a repository only once it was uploaded to it (or copied into it): the link is proof of
possession, so knowing a private file's sha256 does not let anyone commit it elsewhere. Regular files are
stored by the commit that adds them and are never linked or redirected.

Uploads come in three shapes: one PUT through the hub, parts through the hub (assembled as they arrive,
``multipart``), or, with the S3 store, presigned PUTs straight into the bucket (``direct``), adopted once the
object store has hashed them. Downloads of LFS objects on S3 answer a presigned redirect; the file store (and
S3 with redirects off) serves the bytes itself.
"""

from __future__ import annotations

import math
from typing import Any, BinaryIO
from urllib.parse import urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from modelyard.server.auth import sign
from modelyard.server.blobstore import BlobStore, BlobWriter
from modelyard.server.blobstore_s3 import S3BlobStore
from modelyard.server.config import HubSettings
from modelyard.server.content.direct import adopt_staged, direct_upload_actions, finish_staged_parts
from modelyard.server.errors import bad_request
from modelyard.server.multipart import MultipartAssembler
from modelyard.server.responses import BlobResponse
from modelyard.server.storage import Repo
from modelyard.server.storage.blobs import BlobRecords
from modelyard.server.upload_stream import stream_blocks


class LfsBackend:
    """LFS objects in the blob store, linked to the repositories they were uploaded to (module docstring)."""

    kind = "lfs"
    described = "the uploaded object"

    def __init__(self, blobs: BlobStore, links: BlobRecords, settings: HubSettings, secret: bytes) -> None:
        self.blobs = blobs
        self._links = links
        self._settings = settings
        self._secret = secret
        self._parts = MultipartAssembler(blobs, settings.lfs_link_ttl)

    # -- the backend interface ------------------------------------------------------------------------
    def holds(self, repo: Repo, sha256: str, size: int | None = None) -> bool:
        return self.blobs.has(sha256, size) and self._links.is_linked(repo, sha256)

    def held_size(self, repo: Repo, sha256: str) -> int | None:
        # The store's size (a HEAD on S3): committing a file must not fetch its bytes into this replica.
        return self.blobs.size(sha256) if self._links.is_linked(repo, sha256) else None

    def stores(self, sha256: str, size: int) -> bool:
        return self.blobs.has(sha256, size)

    def open(self, sha256: str) -> BinaryIO | None:
        try:
            return self.blobs.open(sha256)
        except FileNotFoundError:
            return None

    def respond(self, request: Request, sha256: str, headers: dict[str, str], *, repo: Repo | None,
                redirect: bool, media_type: str | None, filename: str | None) -> Response | None:
        if redirect:
            if not self.blobs.has(sha256):
                return None
            url = self.blobs.download_url(sha256, filename=filename, media_type=media_type)
            if url:  # the object store serves it
                return Response(status_code=302, headers={**headers, "Location": url})
        path = self.blobs.path(sha256)
        if not path.is_file():
            return None
        return BlobResponse(path, headers=headers, media_type=media_type, filename=filename,
                            content_disposition_type="inline")

    def copy(self, source: Repo, target: Repo, sha256: str) -> dict[str, str] | None:
        if not (self.blobs.has(sha256) and self._links.is_linked(source, sha256)):
            return None
        self._links.link(target, sha256)
        return {"sha256": sha256}

    # -- regular files ----------------------------------------------------------------------------------
    def put_bytes(self, content: bytes) -> str:
        """Store a regular file's bytes (a no-op that refreshes its age when stored already); its sha256."""
        return self.blobs.put_bytes(content)

    # -- uploads: the batch answer ------------------------------------------------------------------------
    def upload_actions(self, repo: Repo, base: str, oid: str, size: int, expires: int,
                       transfers: list[str]) -> dict[str, Any]:
        """The LFS batch answer's ``actions`` for uploading one object: straight into the object store where it
        takes it (:mod:`~modelyard.server.content.direct`), else to the hub's signed links under ``base``."""
        if (store := self._direct_store(size)) is not None:
            return direct_upload_actions(store, self._settings, self._secret, repo, base, oid, size, expires,
                                         transfers)
        s = self._settings
        verify = {"href": f"{base}/verify", "header": {}}
        if "multipart" in transfers and size >= s.lfs_multipart_threshold and size > 0:
            chunk = s.lfs_chunk_size
            sig = sign(self._secret, "multipart", repo.type, repo.repo_id, oid, size, chunk, expires)
            query = urlencode({"size": size, "chunk": chunk, "exp": expires, "sig": sig})
            header: dict[str, str] = {"chunk_size": str(chunk)}
            for n in range(1, math.ceil(size / chunk) + 1):
                header[str(n)] = f"{base}/{oid}/part/{n}?{query}"
            return {"upload": {"href": f"{base}/{oid}/complete?{query}", "header": header}, "verify": verify}
        sig = sign(self._secret, "upload", repo.type, repo.repo_id, oid, size, 0, expires)
        query = urlencode({"size": size, "exp": expires, "sig": sig})
        return {"upload": {"href": f"{base}/{oid}?{query}", "header": {}}, "verify": verify}

    # -- uploads through the hub --------------------------------------------------------------------------
    async def receive(self, request: Request, repo: Repo, oid: str, size: int) -> None:
        """Store the body of ``request`` as object ``oid`` of ``size`` bytes for ``repo`` (400 on a mismatch)."""
        with self.blobs.writer() as writer:
            await _receive(request, writer, size)
            await run_in_threadpool(writer.commit, expected_sha256=oid, expected_size=size)
        await run_in_threadpool(self._links.link, repo, oid)

    async def receive_part(self, request: Request, upload: str, n_parts: int, number: int, expected: int) -> None:
        """Take part ``number`` (of ``n_parts``, ``expected`` bytes) of multipart upload ``upload``."""
        await self._parts.put_part(request, upload, n_parts, number, expected, _receive)

    def complete_parts(self, repo: Repo, upload: str, oid: str, size: int) -> None:
        """Check and store the assembled object of multipart upload ``upload``, for ``repo``."""
        self._parts.complete(upload, oid, size)
        self._links.link(repo, oid)

    # -- uploads straight into the object store ------------------------------------------------------------
    def _direct_store(self, size: int) -> S3BlobStore | None:
        store = self.blobs
        return store if isinstance(store, S3BlobStore) and store.accepts_direct(size) else None

    def staging_key(self, oid: str, size: int, token: str) -> str | None:
        """Where a direct upload of ``size`` bytes was staged; None when this hub (no longer) takes it directly."""
        store = self._direct_store(size)
        return None if store is None else store.staging_key(oid, token)

    def finish_staged_parts(self, key: str, oid: str, size: int, upload_id: str, etags: list[str]) -> None:
        finish_staged_parts(self._staged_store(size), key, oid, upload_id, etags)

    def adopt_staged(self, repo: Repo, key: str, oid: str, size: int) -> None:
        """Verify the object staged at ``key`` and store it as ``oid`` for ``repo`` (400 when it is not that)."""
        adopt_staged(self._staged_store(size), self._links, repo, key, oid, size)

    def _staged_store(self, size: int) -> S3BlobStore:
        store = self._direct_store(size)
        if store is None:  # staging_key answered a key for this size, so the store takes it
            raise RuntimeError(f"the blob store {self.blobs.location} takes no direct uploads of {size} bytes")
        return store


async def _receive(request: Request, writer: BlobWriter, limit: int) -> None:
    """Stream the request body into ``writer``, hashing and writing each block in worker threads."""
    await stream_blocks(request, (writer.hash_block, writer.write_block), limit=limit,
                        too_large=lambda: bad_request(f"The upload is larger than the announced {limit} bytes."))
