"""Plain HTTP downloads of Xet-stored files: the bytes rebuilt from their xorbs as they stream out.

For clients that do not speak Xet (old clients, ``HF_HUB_DISABLE_XET=1``, curl, git-lfs, web pages), on the
``resolve`` and LFS download routes.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from modelyard.server.errors import HubHTTPError
from modelyard.server.xet.store import XetFile, XetStore


def _plain_range(header: str, size: int) -> tuple[int, int] | None:
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


def content_response(xet: XetStore, request: Request, xet_file: XetFile, headers: dict[str, str], *,
                     media_type: str, filename: str | None = None) -> Response:
    """The bytes of a Xet-stored file as a response (``Range`` honoured; HEAD answers the headers only)."""
    size = xet_file.size
    headers = {**headers, "Accept-Ranges": "bytes"}
    if filename is not None:
        quoted = quote(filename)
        headers["Content-Disposition"] = (f"inline; filename*=utf-8''{quoted}" if quoted != filename
                                          else f'inline; filename="{filename}"')
    wanted = _plain_range(request.headers.get("range", ""), size) if size else None
    start, end = wanted or (0, size)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if request.method == "HEAD" or end == start:
        return Response(status_code=status, headers=headers, media_type=media_type)
    skip, pieces = xet.plan(xet_file, start, end)
    return StreamingResponse(xet.iter_bytes(pieces, skip, skip + end - start), status_code=status,
                             headers=headers, media_type=media_type)
