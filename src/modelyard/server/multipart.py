"""Multipart LFS uploads, assembled while the parts arrive.

The client PUTs parts one after the other; each in-order part streams straight into the final blob's temp
file (hashed on the way, see ``BlobWriter``), so completion only checks the sha256 instead of re-reading
gigabytes. A part that arrives early waits in its own file until the gap before it fills; a part that fails
half-way is rolled back (file truncated, hash state restored) so the client's retry starts clean.

State lives in this process's memory: after a restart (which also empties the temp folder) completion
answers that parts are missing and the client uploads again. Uploads idle for longer than the link
lifetime are dropped.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from modelyard.server.blobstore import BlobStore, BlobWriter
from modelyard.server.errors import bad_request

_COPY_BLOCK = 4 * 1024 * 1024
Receiver = Callable[[Request, BlobWriter, int], Awaitable[None]]


@dataclass
class _Upload:
    writer: BlobWriter
    folder: Path
    n_parts: int
    next_part: int = 1
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    touched: float = field(default_factory=time.monotonic)


class MultipartAssembler:
    def __init__(self, store: BlobStore, idle_timeout: float) -> None:
        self._store = store
        self._idle_timeout = idle_timeout
        self._uploads: dict[str, _Upload] = {}

    def _get(self, key: str, n_parts: int) -> _Upload:
        now = time.monotonic()
        for stale in [k for k, u in self._uploads.items() if now - u.touched > self._idle_timeout]:
            self._drop(stale)
        upload = self._uploads.get(key)
        if upload is None:
            folder = self._store.tmp / f"multipart-{key}"
            folder.mkdir(parents=True, exist_ok=True)
            upload = _Upload(self._store.writer(subdir=folder.name), folder, n_parts)
            self._uploads[key] = upload
        upload.touched = now
        return upload

    def _drop(self, key: str) -> None:
        upload = self._uploads.pop(key, None)
        if upload is not None:
            upload.writer.abort()
            shutil.rmtree(upload.folder, ignore_errors=True)

    async def put_part(self, request: Request, key: str, n_parts: int, number: int, expected: int,
                       receive: Receiver) -> None:
        upload = self._get(key, n_parts)
        async with upload.lock:
            if number < upload.next_part:  # a retry of a part already assembled: read and ignore it
                async for _chunk in request.stream():
                    pass
                return
            if number > upload.next_part:  # early: park it in its own file
                await self._park(request, upload.folder / f"{number:06d}.part", number, expected, receive)
                return
            point = await run_in_threadpool(upload.writer.checkpoint)
            try:
                await receive(request, upload.writer, expected)
                if upload.writer.size - point[1] != expected:
                    raise bad_request(f"Part {number} has {upload.writer.size - point[1]} bytes, expected "
                                      f"{expected}; retry the part.")
            except Exception:
                await run_in_threadpool(upload.writer.rollback, point)
                raise
            upload.next_part += 1
            await run_in_threadpool(self._absorb_parked, upload)

    async def _park(self, request: Request, path: Path, number: int, expected: int, receive: Receiver) -> None:
        with self._store.writer(subdir=path.parent.name) as part:
            await receive(request, part, expected)
            if part.size != expected:
                raise bad_request(f"Part {number} has {part.size} bytes, expected {expected}; retry the part.")
            await run_in_threadpool(part.close_into, path)

    def _absorb_parked(self, upload: _Upload) -> None:
        """Append parked parts that are now in order (runs in a worker thread)."""
        while (path := upload.folder / f"{upload.next_part:06d}.part").exists():
            with open(path, "rb") as fh:
                while block := fh.read(_COPY_BLOCK):
                    upload.writer.write(block)
            path.unlink()
            upload.next_part += 1

    def complete(self, key: str, oid: str, size: int) -> None:
        """Check and install the assembled blob (worker thread). 400 if parts are missing or it mismatches.

        Every part must have arrived in this upload even when the object is already stored (e.g. through
        another repo): completing is what proves possession, so it must not succeed on a bare sha256."""
        upload = self._uploads.get(key)
        if upload is None:
            raise bad_request(f"No parts of {oid} were received (or the hub restarted); upload the file again.")
        self._absorb_parked(upload)
        if upload.next_part <= upload.n_parts:
            missing = list(range(upload.next_part, upload.n_parts + 1))[:20]
            raise bad_request(f"Parts {missing} of {oid} were not uploaded; upload them, then complete again.")
        del self._uploads[key]
        try:
            upload.writer.commit(expected_sha256=oid, expected_size=size)
        finally:
            shutil.rmtree(upload.folder, ignore_errors=True)
