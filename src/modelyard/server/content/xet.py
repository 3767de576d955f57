"""The Xet backend of the content gateway: files registered by shards, rebuilt from their xorbs.

Xet clients fetch such a file from the CAS themselves (the ``resolve`` answer names it with ``X-Xet-Hash`` and
a ``Link: rel="xet-auth"`` to the read-token route); for everyone else (old clients, ``HF_HUB_DISABLE_XET=1``,
curl, git-lfs, web pages) the bytes are rebuilt from the xorbs as they stream out. The CAS protocol routes
(``modelyard.server.xet.routes``) drive :attr:`XetBackend.cas`, the Xet store itself.
"""

from __future__ import annotations

from typing import BinaryIO
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from modelyard.server.blobstore import BlobStore, BlobWriter
from modelyard.server.errors import HubHTTPError
from modelyard.server.responses import BlobResponse
from modelyard.server.storage import Repo
from modelyard.server.xet.files import XetFile
from modelyard.server.xet.store import XetStore


def plain_range(header: str, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a single-range ``Range`` header; None to send the whole file (no header, or several
    ranges, which HTTP lets a server ignore). 416 when the range lies outside the file."""
    spec = header.strip()
    if not spec.lower().startswith("bytes=") or "," in spec:
        return None
    first, sep, last = spec[6:].strip().partition("-")
    if not sep or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()) or (
            last and not last.isdigit()):
        raise HubHTTPError(400, f"Malformed Range header {header!r}.")
    if not first:  # the last N bytes
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), min(size, int(last) + 1) if last else size
    if start >= size or start >= end:
        raise HubHTTPError(416, f"Range {header!r} lies outside the file ({size} bytes).",
                           headers={"Content-Range": f"bytes */{size}"})
    return start, end


class XetBackend:
    """Content stored as Xet files (see the module docstring), linked to the repositories it was uploaded to."""

    kind = "xet"
    described = "the file uploaded through Xet"

    def __init__(self, cas: XetStore, blobs: BlobStore) -> None:
        self.cas = cas
        self._blobs = blobs

    # -- the backend interface ------------------------------------------------------------------------
    def holds(self, repo: Repo, sha256: str, size: int | None = None) -> bool:
        found = self.cas.file_for_sha(sha256, repo)
        return found is not None and (size is None or found.size == size)

    def held_size(self, repo: Repo, sha256: str) -> int | None:
        found = self.cas.file_for_sha(sha256, repo)
        return None if found is None else found.size

    def stores(self, sha256: str, size: int) -> bool:
        return self.cas.complete_file(sha256, size)

    def open(self, sha256: str) -> BinaryIO | None:
        found = self.cas.file_for_sha(sha256)
        return None if found is None else self.cas.open_file(found)

    def respond(self, request: Request, sha256: str, headers: dict[str, str], *, repo: Repo | None,
                redirect: bool, media_type: str | None, filename: str | None) -> Response | None:
        # The file linked to the repo first; any file with the content serves the same bytes.
        found = (self.cas.file_for_sha(sha256, repo) if repo is not None else None) or self.cas.file_for_sha(sha256)
        if found is None:
            return None
        return self._stream(request, found, headers, media_type=media_type or "application/octet-stream",
                            filename=filename)

    def copy(self, source: Repo, target: Repo, sha256: str) -> dict[str, str] | None:
        found = self.cas.file_for_sha(sha256, source)
        if found is None:
            return None
        self.cas.link_file(target, found.hash)  # the target may now use (and serve) that file
        return {"sha256": sha256, "xetHash": found.hash}

    # -- what only Xet answers ------------------------------------------------------------------------
    def download_headers(self, repo: Repo, sha256: str, auth_url: str) -> dict[str, str]:
        """``X-Xet-Hash`` and the ``xet-auth`` link (``auth_url``: the read-token route) when ``repo`` holds the
        content as a Xet file: Xet clients then fetch it from the CAS."""
        found = self.cas.file_for_sha(sha256, repo)
        if found is None:
            return {}
        return {"X-Xet-Hash": found.hash, "Link": f'<{auth_url}>; rel="xet-auth"'}

    def hashes(self, repo: Repo) -> dict[str, str]:
        """SHA-256 -> Xet file hash of every file linked to ``repo`` (the listings' ``xetHash``)."""
        return self.cas.files_of_repo(repo)

    def xorb_writer(self) -> BlobWriter:
        """A writer for an uploaded xorb; the caller checks it and installs it with ``commit_as(<xorb hash>)``."""
        return self._blobs.writer()

    def xorb_response(self, text: str) -> Response:
        """The stored bytes of xorb ``text`` (``Range`` honoured); 404 when it is gone."""
        blob = self.cas.xorb_blob(text)
        if blob is None:
            raise HubHTTPError(404, f"Xorb {text} is no longer stored.")
        return BlobResponse(self._blobs.path(blob), media_type="application/octet-stream")

    def _stream(self, request: Request, xet_file: XetFile, headers: dict[str, str], *, media_type: str,
                filename: str | None) -> Response:
        """The bytes of a Xet file as a response (``Range`` honoured; HEAD answers the headers only)."""
        size = xet_file.size
        headers = {**headers, "Accept-Ranges": "bytes"}
        if filename is not None:
            quoted = quote(filename)
            headers["Content-Disposition"] = (f"inline; filename*=utf-8''{quoted}" if quoted != filename
                                              else f'inline; filename="{filename}"')
        wanted = plain_range(request.headers.get("range", ""), size) if size else None
        start, end = wanted or (0, size)
        status = 200
        if wanted is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        headers["Content-Length"] = str(end - start)
        if request.method == "HEAD" or end == start:
            return Response(status_code=status, headers=headers, media_type=media_type)
        skip, pieces = self.cas.plan(xet_file, start, end)
        return StreamingResponse(self.cas.iter_bytes(pieces, skip, skip + end - start), status_code=status,
                                 headers=headers, media_type=media_type)
