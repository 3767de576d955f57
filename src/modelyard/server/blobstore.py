"""Content-addressed blob store: ``blobs/<aa>/<bb>/<hash>`` under the data folder, named by the SHA-256 of
the bytes (regular files, LFS objects) or, for Xet xorbs, by their xorb hash (verified on upload).

A blob becomes visible only by an atomic rename of a fully written, fsynced temp file, so a server killed
mid-upload leaves at most a stray temp file (removed at the next start), never a truncated blob. Blobs are
immutable and shared by every repo and commit that holds the same content.

Large uploads are written with ``O_DIRECT`` where the OS and filesystem allow it: a blob is written once
and read rarely, so copying it through the page cache only costs CPU and memory (fresh cache pages for
every gigabyte) and leaves the final fsync a gigabyte to flush. Direct writes need aligned buffers,
offsets and lengths; the receive loop hands over page-aligned blocks from :func:`aligned_buffer`, and any
other write (a short tail, a plain ``bytes`` block, a rollback to an odd size) switches that file back to
buffered writes for good.
"""

from __future__ import annotations

import errno
import hashlib
import io
import mmap
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

from modelyard.server.errors import bad_request

try:
    import fcntl
except ImportError:  # Windows: no O_DIRECT either
    fcntl = None  # type: ignore[assignment]  # no fcntl on Windows

_O_DIRECT: int = getattr(os, "O_DIRECT", 0)
DIRECT_ALIGN = 4096  # covers the logical block size of common disks (512 or 4096 bytes)


def aligned_buffer(size: int) -> mmap.mmap:
    """A writable, page-aligned buffer of ``size`` bytes (anonymous memory), usable for direct writes."""
    return mmap.mmap(-1, size)


def _set_direct(fd: int, on: bool) -> bool:
    """Turn O_DIRECT on or off for ``fd``; False where the OS or filesystem refuses it."""
    if not _O_DIRECT or fcntl is None:
        return False
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | _O_DIRECT) if on else (flags & ~_O_DIRECT))
    except OSError:
        return False
    return True


_BLOB_NAME = re.compile(r"[0-9a-f]{64}")


class SeekableReader(io.RawIOBase):
    """The position bookkeeping of a random-access raw reader over ``size`` bytes (an S3 object read by
    ranges, a Xet file read by chunks); a subclass reads at ``self._pos`` in ``readinto`` and names what it
    reads in ``_label`` (for errors). Wrap it in ``io.BufferedReader`` for ``read``/``readline``."""

    def __init__(self, size: int, label: str) -> None:
        super().__init__()
        self._size = size
        self._label = label
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset} in {self._label}")
        self._pos = base + offset
        return self._pos


class StoredBlob(NamedTuple):
    """A blob as the store lists it (for garbage collection and exports)."""

    name: str
    size: int
    mtime: float


class BlobStore:
    """Blobs on the local disk (see the module docstring). ``blobstore_s3.S3BlobStore`` is the same interface
    over an S3 bucket; ``blobstore_s3.open_blob_store`` picks one from the settings."""

    def __init__(self, root: Path, *, direct_io: bool = False, blobs_folder: str = "blobs") -> None:
        self.root = Path(root)
        self.direct_io = direct_io
        self.blobs = self.root / blobs_folder
        self.tmp = self.root / "tmp"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def clean_tmp(self) -> None:
        """Remove temp files left by an interrupted upload (call at start, before serving)."""
        for entry in self.tmp.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    @property
    def location(self) -> str:
        return self.blobs.as_uri()

    def path(self, sha256: str) -> Path:
        """The blob's file on the local disk (on S3: the replica's copy, fetched first when it has none)."""
        return self._file(sha256)

    def _file(self, name: str) -> Path:
        # Where the blob's file is, or would be, on the local disk. The store's own bookkeeping (has, size, touch,
        # age) asks this, never ``path``: on S3 ``path`` downloads the object.
        return self.blobs / name[:2] / name[2:4] / name

    def size(self, name: str) -> int | None:
        """The blob's size in bytes; None when it is not stored."""
        try:
            return self._file(name).stat().st_size
        except FileNotFoundError:
            return None

    def open(self, name: str) -> BinaryIO:
        """A seekable binary reader over the blob (``FileNotFoundError`` when it is not stored)."""
        return open(self._file(name), "rb")  # noqa: SIM115 - the caller closes it

    def download_url(self, name: str, *, filename: str | None = None, media_type: str | None = None) -> str | None:
        """A URL the client may download the blob from directly instead of through the hub; None: serve it."""
        return None

    def stored(self) -> Iterator[StoredBlob]:
        """Every blob the store holds (named by a sha256 or xorb hash), with its size and last store time."""
        for first in self.blobs.iterdir():
            if not first.is_dir():
                continue
            for second in first.iterdir():
                if not second.is_dir():
                    continue
                for entry in second.iterdir():
                    if _BLOB_NAME.fullmatch(entry.name):
                        try:
                            st = entry.stat()
                        except FileNotFoundError:
                            continue
                        yield StoredBlob(entry.name, st.st_size, st.st_mtime)

    def age(self, name: str) -> float | None:
        """Seconds since the blob was last stored (or stored again); None when it is gone."""
        import time

        try:
            return time.time() - self._file(name).stat().st_mtime
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        """Remove a blob (garbage collection); no error when it is gone already."""
        self._file(name).unlink(missing_ok=True)

    def ping(self) -> None:
        """Raise unless the store can be read (for health checks)."""
        if not self.blobs.is_dir():
            raise OSError(f"the blob folder {self.blobs} is missing")

    def has(self, sha256: str, size: int | None = None) -> bool:
        try:
            st = self._file(sha256).stat()
        except FileNotFoundError:
            return False
        return size is None or st.st_size == size

    def touch(self, sha256: str) -> None:
        """Mark a blob as just stored again, so garbage collection's grace age starts over (see ``gc``)."""
        try:
            os.utime(self._file(sha256))
        except FileNotFoundError:
            pass

    def put_bytes(self, content: bytes) -> str:
        """Store ``content``; returns its sha256."""
        sha = hashlib.sha256(content).hexdigest()
        if self.has(sha, len(content)):
            self.touch(sha)
        else:
            with self.writer() as w:
                w.write(content)
                w.commit(expected_sha256=sha, expected_size=len(content))
        return sha

    def writer(self, *, subdir: str | None = None) -> BlobWriter:
        folder = self.tmp / subdir if subdir else self.tmp
        folder.mkdir(parents=True, exist_ok=True)
        return BlobWriter(self, folder, direct_io=self.direct_io)

    def install(self, temp_path: Path, sha256: str) -> None:
        """Move a complete, fsynced temp file into place as blob ``sha256`` (no-op if already stored)."""
        final = self._file(sha256)
        if final.exists():
            temp_path.unlink(missing_ok=True)
            self.touch(sha256)
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temp_path, 0o444)
        os.replace(temp_path, final)
        _fsync_dir(final.parent)


class BlobWriter:
    """Stream bytes to a temp file while hashing them; :meth:`commit` checks and installs the blob.

    ``write`` may run in a worker thread while the event loop receives the next block; the lock makes
    ``abort`` wait for an in-flight write, so the descriptor is never closed (and reused) under it.
    """

    def __init__(self, store: BlobStore, folder: Path, *, direct_io: bool = False) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._hash_lock = threading.Lock()
        fd, name = tempfile.mkstemp(dir=folder, prefix="upload-", suffix=".part")
        self._file = os.fdopen(fd, "wb", buffering=0)
        self.direct = direct_io and _set_direct(fd, True)
        self.temp_path = Path(name)
        self._hash = hashlib.sha256()
        self.size = 0
        self.sha256: str | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.hash_block(data)
        self.write_block(data)

    # The two halves of `write`, for callers that run them in parallel threads (block by block, in order).
    def hash_block(self, data: bytes | bytearray | memoryview) -> None:
        with self._hash_lock:
            self._hash.update(data)

    def write_block(self, data: bytes | bytearray | memoryview) -> None:
        with self._lock:
            if self._file.closed:
                raise OSError("upload aborted")
            view = memoryview(data).cast("B")
            nbytes = len(view)
            if self.direct and (nbytes % DIRECT_ALIGN or self.size % DIRECT_ALIGN):
                self._buffered()
            while view:
                try:
                    written = self._file.write(view)
                except OSError as err:
                    if not (self.direct and err.errno == errno.EINVAL):
                        raise
                    self._buffered()  # misaligned buffer, or a filesystem that takes the flag but not the write
                    continue
                view = view[written:]
            self.size += nbytes

    def _buffered(self) -> None:
        _set_direct(self._file.fileno(), False)
        self.direct = False

    def checkpoint(self) -> tuple[object, int]:
        """The hash state and size now, for :meth:`rollback` (a multipart part that fails half-way)."""
        with self._hash_lock, self._lock:
            return self._hash.copy(), self.size

    def rollback(self, point: tuple[object, int]) -> None:
        hash_state, size = point
        with self._hash_lock, self._lock:
            self._hash = hash_state.copy()  # type: ignore[attr-defined]  # hashlib's hash objects (untyped union in the stubs) have copy()
            self.size = size
            self._file.truncate(size)
            self._file.seek(size)

    def commit(self, *, expected_sha256: str | None = None, expected_size: int | None = None) -> str:
        """fsync, verify against the announced oid/size, and install. Raises 400 on a mismatch."""
        with self._lock:
            os.fsync(self._file.fileno())
            self._file.close()
        sha = self._hash.hexdigest()
        if expected_size is not None and self.size != expected_size:
            self.abort()
            raise bad_request(f"Upload of {expected_sha256 or sha} has {self.size} bytes, expected {expected_size}; "
                              "the transfer was cut or the announced size is wrong. Retry the upload.")
        if expected_sha256 is not None and sha != expected_sha256:
            self.abort()
            raise bad_request(f"Uploaded content has sha256 {sha}, but {expected_sha256} was announced; "
                              "the file changed during upload or was corrupted. Retry the upload.")
        self._store.install(self.temp_path, sha)
        self.sha256 = sha
        return sha

    def commit_as(self, name: str) -> None:
        """fsync and install as blob ``name`` without a SHA-256: for content the caller has checked against
        another content hash it is named by (Xet xorbs, named by their xorb hash). Use ``write_block`` only."""
        with self._lock:
            os.fsync(self._file.fileno())
            self._file.close()
        self._store.install(self.temp_path, name)
        self.sha256 = name

    def close_into(self, path: Path) -> None:
        """Finish as a plain file at ``path`` (not a blob): used for parked multipart parts."""
        with self._lock:
            self._file.close()
        os.replace(self.temp_path, path)
        self.sha256 = ""  # nothing left for __exit__ to clean up

    def abort(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()
        self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.sha256 is None:
            self.abort()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

