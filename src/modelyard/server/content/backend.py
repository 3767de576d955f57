"""What every blob backend under the content gateway answers (LFS and Xet today), so that the gateway, not
the routes, decides where a file's bytes live: a new backend implements this and joins
:attr:`ContentStore.backends <modelyard.server.content.gateway.ContentStore.backends>`.

Content is named by its SHA-256 (what commits and LFS pointers name). A backend *holds* content for a
repository when it was uploaded to (or copied into) that repository; it *stores* content when it can serve the
bytes at all, whoever uploaded them (reading is authorised by the commit that names the content).
"""

from __future__ import annotations

from typing import BinaryIO, Protocol

from fastapi import Request
from fastapi.responses import Response

from modelyard.server.storage import Repo


class ContentBackend(Protocol):
    #: the name of the content kind it keeps ("lfs", "xet"), as :meth:`ContentStore.kind_of` answers
    kind: str
    #: how errors name what it keeps ("the uploaded object", "the file uploaded through Xet")
    described: str

    def holds(self, repo: Repo, sha256: str, size: int | None = None) -> bool:
        """Whether ``repo`` may use content ``sha256`` (of ``size`` bytes, when given) from this backend."""
        ...

    def held_size(self, repo: Repo, sha256: str) -> int | None:
        """The size of content ``sha256`` held for ``repo``; None when this backend holds none for it."""
        ...

    def stores(self, sha256: str, size: int) -> bool:
        """Whether the backend can serve content ``sha256`` of ``size`` bytes now (to anyone)."""
        ...

    def open(self, sha256: str) -> BinaryIO | None:
        """A seekable binary reader over the content; None when this backend does not store it."""
        ...

    def respond(self, request: Request, sha256: str, headers: dict[str, str], *, repo: Repo | None,
                redirect: bool, media_type: str | None, filename: str | None) -> Response | None:
        """The HTTP answer with the content (``Range`` honoured, HEAD answered with headers only; with
        ``redirect``, a redirect to where the client may fetch it itself, where the backend has one); None when
        this backend does not store it."""
        ...

    def copy(self, source: Repo, target: Repo, sha256: str) -> dict[str, str] | None:
        """Let ``target`` use content ``source`` holds here; the fields of the ``lfs-files/duplicate`` answer,
        or None when ``source`` holds no such content here."""
        ...
