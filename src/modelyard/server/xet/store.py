"""Xet storage in the hub: xorbs on the blob store, file reconstructions and access links in the database.

* A **xorb** is stored once, as a blob of the same blob store as LFS objects (its serialized bytes, named by
  the xorb hash, which is as much a content hash as an LFS object's SHA-256 and is verified on upload), with
  a database row holding its chunk table. A xorb is *visible* to whoever can read a repository it was
  uploaded into; only visible xorbs are offered by the global dedupe API, so a private repo's chunk hashes
  never reach anyone who cannot read it.
* A **file** is a list of terms (xorb, chunk range) registered by a shard upload, checked against the stored
  xorbs, with its content's SHA-256 computed from the reconstructed bytes: commits refer to files by that
  SHA-256 (as for LFS), and scans and caches keyed by it stay truthful. A file is linked to the repositories
  it was uploaded to (or copied into); reconstruction is answered only through those links.
* Content is what a commit names (a SHA-256). Which store serves it (an LFS blob, or a Xet file with that
  SHA-256) is decided by the content gateway, :mod:`modelyard.server.content`, which drives this store as its
  Xet backend; the CAS routes (``routes``) reach it through that gateway too.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO, TypeVar

from modelyard.server.auth import can_read
from modelyard.server.blobstore import BlobStore, SeekableReader
from modelyard.server.lru import LRUCache
from modelyard.server.storage import Identity, Repo, Storage, repo_from_row
from modelyard.server.xet import hashing
from modelyard.server.xet.files import Piece, XetError, XetFile
from modelyard.server.xet.shard import FileRecord, Shard, Term, XorbRecord
from modelyard.server.xet.xorb import XorbFormatError, XorbInfo, iter_chunks

T = TypeVar("T")

# Largest run of serialized chunk bytes read from a xorb at once while streaming a file.
_READ_BATCH = 8 * 1024 * 1024


class XetStore:
    def __init__(self, storage: Storage, store: BlobStore) -> None:
        self.storage = storage
        self.store = store
        self._xorbs: LRUCache[str, XorbInfo] = LRUCache(512)
        self._files: LRUCache[str, XetFile] = LRUCache(1024)

    # -- xorbs ----------------------------------------------------------------------------------------
    def _cached(self, cache: LRUCache[str, T], text: str, query: str, build: Callable[[Any], T]) -> T | None:
        """``cache``'s entry for the hash ``text``, else ``build`` of the row ``query`` finds for it, remembered
        (not a miss: the row may be written by the next upload)."""
        found = cache.get(text)
        if found is not None:
            return found
        row = self.storage.conn().execute(query, (text,)).fetchone()
        if row is None:
            return None
        found = build(row)
        cache.put(text, found)
        return found

    def xorb(self, text: str) -> XorbInfo | None:
        return self._cached(self._xorbs, text, "SELECT chunks, content_end, size FROM xet_xorbs WHERE hash=?",
                            lambda row: XorbInfo.unpack(hashing.text_to_hash(text), row["chunks"], row["content_end"],
                                                        row["size"]))

    def xorb_blob(self, text: str) -> str | None:
        row = self.storage.conn().execute("SELECT blob FROM xet_xorbs WHERE hash=?", (text,)).fetchone()
        return row["blob"] if row else None

    def add_xorb(self, repo: Repo, info: XorbInfo, blob: str) -> bool:
        """Record an uploaded xorb (``blob``: its stored bytes; a xorb stored before keeps its first copy) and link
        it to ``repo``. True when ``repo`` did not hold it yet (so the answer tells nothing about other repos)."""
        text = hashing.hash_to_text(info.hash)
        with self.storage.transaction() as db:
            db.execute("INSERT INTO xet_xorbs(hash, blob, size, content_end, chunks, created_at) "
                       "VALUES(?,?,?,?,?,?) ON CONFLICT DO NOTHING", (text, blob, info.size, info.content_end, info.pack(), time.time()))
            db.execute("UPDATE xet_xorbs SET created_at=? WHERE hash=?", (time.time(), text))
            eligible = [(hashing.hash_to_text(c.hash), text) for c in info.chunks if hashing.dedupe_eligible(c.hash)]
            db.executemany("INSERT INTO xet_dedupe(chunk, xorb) VALUES(?,?) ON CONFLICT DO NOTHING", eligible)
            return db.execute("INSERT INTO xet_xorb_repos(repo_id, xorb) VALUES(?,?) ON CONFLICT DO NOTHING",
                              (repo.id, text)).rowcount > 0

    def xorb_visible(self, text: str, caller: Identity | None) -> bool:
        """Whether ``caller`` may read some repository this xorb was uploaded into."""
        rows = self.storage.conn().execute(
            "SELECT r.* FROM xet_xorb_repos l JOIN repos r ON r.id = l.repo_id WHERE l.xorb=?", (text,)).fetchall()
        return any(can_read(caller, repo_from_row(r)) for r in rows)

    def dedupe_xorbs(self, chunk: str, caller: Identity | None, *, max_chunks: int = 65536) -> list[XorbInfo]:
        """Xorbs holding chunk ``chunk`` that ``caller`` may see, then (most useful to a client uploading a new
        version of a file) the other visible xorbs of the files that use them, in file order, up to about
        ``max_chunks`` chunks in all. Invisible xorbs are never included (see the module docstring)."""
        db = self.storage.conn()
        rows = db.execute("SELECT xorb FROM xet_dedupe WHERE chunk=? LIMIT 64", (chunk,)).fetchall()
        # Only from xorbs the caller may see: the neighbours of an invisible one would tell that it exists.
        primary = [r["xorb"] for r in rows if self.xorb_visible(r["xorb"], caller)]
        candidates = list(primary)
        for xorb in primary:
            for row in db.execute("SELECT file FROM xet_file_xorbs WHERE xorb=? LIMIT 8", (xorb,)).fetchall():
                found = self.file(row["file"])
                if found is not None:
                    candidates.extend(hashing.hash_to_text(t.xorb) for t in found.terms)
        out: list[XorbInfo] = []
        seen: set[str] = set()
        total = 0
        for text in candidates:
            if text in seen:
                continue
            seen.add(text)
            info = self.xorb(text)
            if info is None or not self.xorb_visible(text, caller):
                continue
            if out and total + len(info.chunks) > max_chunks:
                break
            out.append(info)
            total += len(info.chunks)
        return out

    # -- files ----------------------------------------------------------------------------------------
    def file(self, text: str) -> XetFile | None:
        return self._cached(self._files, text, "SELECT sha256, size, terms FROM xet_files WHERE hash=?",
                            lambda row: XetFile(text, row["sha256"], row["size"], XetFile.unpack_terms(row["terms"])))

    def file_linked(self, repo: Repo, text: str) -> bool:
        return self.storage.conn().execute("SELECT 1 FROM xet_file_repos WHERE repo_id=? AND file=?",
                                           (repo.id, text)).fetchone() is not None

    def link_file(self, repo: Repo, text: str) -> None:
        with self.storage.transaction() as db:
            db.execute("INSERT INTO xet_file_repos(repo_id, file) VALUES(?,?) ON CONFLICT DO NOTHING", (repo.id, text))

    def files_of_repo(self, repo: Repo) -> dict[str, str]:
        """SHA-256 -> Xet file hash of every file linked to ``repo``."""
        rows = self.storage.conn().execute(
            "SELECT f.sha256, f.hash FROM xet_file_repos l JOIN xet_files f ON f.hash = l.file WHERE l.repo_id=? "
            "ORDER BY f.created_at", (repo.id,)).fetchall()
        return {r["sha256"]: r["hash"] for r in rows}

    def file_for_sha(self, sha256: str, repo: Repo | None = None) -> XetFile | None:
        """A Xet file with this content (linked to ``repo`` when given)."""
        if repo is None:
            row = self.storage.conn().execute("SELECT hash FROM xet_files WHERE sha256=? LIMIT 1",
                                              (sha256,)).fetchone()
        else:
            row = self.storage.conn().execute(
                "SELECT f.hash FROM xet_file_repos l JOIN xet_files f ON f.hash = l.file "
                "WHERE l.repo_id=? AND f.sha256=? LIMIT 1", (repo.id, sha256)).fetchone()
        return self.file(row["hash"]) if row else None

    def complete_file(self, sha256: str, size: int) -> bool:
        """Whether a Xet file of ``size`` bytes holds content ``sha256`` with all its xorbs stored."""
        db = self.storage.conn()
        for row in db.execute("SELECT size, terms FROM xet_files WHERE sha256=?", (sha256,)).fetchall():
            xorbs = {hashing.hash_to_text(t.xorb) for t in XetFile.unpack_terms(row["terms"])}
            blobs = [db.execute("SELECT blob FROM xet_xorbs WHERE hash=?", (x,)).fetchone() for x in xorbs]
            if row["size"] == size and all(b is not None and self.store.has(b["blob"]) for b in blobs):
                return True
        return False

    # -- shard registration ---------------------------------------------------------------------------
    def register_shard(self, repo: Repo, shard: Shard, caller: Identity | None,
                       progress: Callable[[int, int], None] | None = None) -> int:
        """Check every file and xorb a shard describes, then record the files and link them to ``repo``.

        Returns the number of files that were new to the hub. Raises :class:`XetError` on the first problem.
        Terms may use any stored xorb, provided the term's verification hash proves the uploader knows the
        chunk hashes of its range; errors about xorbs ``caller`` cannot see do not tell whether they exist.
        """
        for record in shard.xorbs:
            self._check_listed_xorb(record, caller)
        checked: list[XetFile] = []
        total = len(shard.files)
        for n, file_record in enumerate(shard.files):
            checked.append(self._check_file(file_record, caller))
            if progress is not None:
                progress(n + 1, total)
        new = 0
        now = time.time()
        with self.storage.transaction() as db:
            for xet_file in checked:
                for term in xet_file.terms:  # garbage collection may have run since the checks
                    if db.execute("SELECT 1 FROM xet_xorbs WHERE hash=?",
                                  (hashing.hash_to_text(term.xorb),)).fetchone() is None:
                        raise XetError(f"Xorb {hashing.hash_to_text(term.xorb)} was removed from the hub while "
                                       "the shard was checked; upload it again.")
                new += db.execute("INSERT INTO xet_files(hash, sha256, size, terms, created_at) "
                                  "VALUES(?,?,?,?,?) ON CONFLICT DO NOTHING", (xet_file.hash, xet_file.sha256, xet_file.size,
                                                        xet_file.pack_terms(), now)).rowcount
                db.execute("UPDATE xet_files SET created_at=? WHERE hash=?", (now, xet_file.hash))
                db.execute("INSERT INTO xet_file_repos(repo_id, file) VALUES(?,?) ON CONFLICT DO NOTHING",
                           (repo.id, xet_file.hash))
                db.executemany("INSERT INTO xet_file_xorbs(xorb, file) VALUES(?,?) ON CONFLICT DO NOTHING",
                               [(hashing.hash_to_text(t.xorb), xet_file.hash) for t in xet_file.terms])
                first = xet_file.terms[0]
                info = self.xorb(hashing.hash_to_text(first.xorb))
                if info is not None:  # the file's first chunk is what clients ask the dedupe API about first
                    db.execute("INSERT INTO xet_dedupe(chunk, xorb) VALUES(?,?) ON CONFLICT DO NOTHING",
                               (hashing.hash_to_text(info.chunks[first.start].hash), hashing.hash_to_text(first.xorb)))
        return new

    def _opaque(self, text: str) -> XetError:
        return XetError(f"Xorb {text} is not stored on this hub, or the shard does not prove knowledge of its "
                        "chunks (a verification hash does not match); upload the xorb first.")

    def _check_listed_xorb(self, record: XorbRecord, caller: Identity | None) -> None:
        text = hashing.hash_to_text(record.hash)
        info = self.xorb(text)
        if info is None or not self.xorb_visible(text, caller):
            raise XetError(f"The shard lists xorb {text}, which was not uploaded through this repository's "
                           "token; upload the xorb before the shard that lists it.")
        listed = [(h, length) for h, _offset, length in record.chunks]
        stored = [(c.hash, c.length) for c in info.chunks]
        if listed != stored:
            raise XetError(f"The shard's CAS info for xorb {text} lists {len(listed)} chunks that differ from "
                           f"the {len(stored)} stored; the client's metadata is damaged.")

    def _check_file(self, record: FileRecord, caller: Identity | None) -> XetFile:
        text = hashing.hash_to_text(record.hash)
        if record.verifications is None:
            raise XetError(f"File {text} has no verification entries; shard uploads must carry one per term.")
        chunks: list[tuple[bytes, int]] = []
        for n, (term, verification) in enumerate(zip(record.terms, record.verifications)):
            xorb_text = hashing.hash_to_text(term.xorb)
            info = self.xorb(xorb_text)
            visible = info is not None and self.xorb_visible(xorb_text, caller)
            if info is None:
                raise self._opaque(xorb_text)
            if not 0 <= term.start < term.end <= len(info.chunks):
                if not visible:
                    raise self._opaque(xorb_text)
                raise XetError(f"File {text}, term {n}: chunk range [{term.start}, {term.end}) is outside xorb "
                               f"{xorb_text}, which has {len(info.chunks)} chunks.")
            span = info.chunks[term.start:term.end]
            if hashing.verification_hash([c.hash for c in span]) != verification:
                if not visible:
                    raise self._opaque(xorb_text)
                raise XetError(f"File {text}, term {n}: the verification hash does not match chunks "
                               f"[{term.start}, {term.end}) of xorb {xorb_text}.")
            length = sum(c.length for c in span)
            if length != term.length:
                raise XetError(f"File {text}, term {n}: the term says {term.length} bytes but chunks "
                               f"[{term.start}, {term.end}) of xorb {xorb_text} hold {length}.")
            chunks.extend((c.hash, c.length) for c in span)
        computed = hashing.file_hash(chunks)
        if computed != record.hash:
            raise XetError(f"File {text}: its terms reconstruct a file whose hash is "
                           f"{hashing.hash_to_text(computed)}; the shard is damaged.")
        size = record.size
        claimed = hashing.hash_to_text(record.sha256) if record.sha256 else None
        known = self.file(text)
        if known is not None:
            sha256 = known.sha256
        else:
            # Reconstruct once and hash: the hub trusts no client's SHA-256 (scan results and LFS pointers hang on it).
            digest = hashlib.sha256()
            for piece in self.iter_bytes(self._pieces(record.terms), 0, size):
                digest.update(piece)
            sha256 = digest.hexdigest()
        if claimed is not None and claimed != sha256:
            raise XetError(f"File {text}: the shard gives SHA-256 {claimed} but the file's bytes hash to {sha256}.")
        return XetFile(text, sha256, size, record.terms)

    # -- reading --------------------------------------------------------------------------------------
    def _pieces(self, terms: Sequence[Term]) -> list[Piece]:
        pieces = []
        for term in terms:
            info = self.xorb(hashing.hash_to_text(term.xorb))
            if info is None:
                raise XetError(f"Xorb {hashing.hash_to_text(term.xorb)} is missing from the hub's store.")
            pieces.append(Piece(info, term.start, term.end, term.length))
        return pieces

    def pieces(self, xet_file: XetFile) -> list[Piece]:
        return self._pieces(xet_file.terms)

    def plan(self, xet_file: XetFile, start: int, end: int) -> tuple[int, list[Piece]]:
        """The pieces covering bytes ``[start, end)``, trimmed to whole chunks, and how many bytes of the first
        piece come before ``start`` (a reconstruction answer's ``offset_into_first_range``)."""
        out: list[Piece] = []
        skip = 0
        pos = 0
        for piece in self.pieces(xet_file):
            piece_end = pos + piece.length
            if piece_end <= start or pos >= end:
                pos = piece_end
                continue
            chunks = piece.xorb.chunks
            first, first_pos = piece.start, pos
            while first_pos + chunks[first].length <= start:
                first_pos += chunks[first].length
                first += 1
            last, last_pos = first, first_pos
            while last < piece.end and last_pos < end:
                last_pos += chunks[last].length
                last += 1
            if not out:
                skip = start - first_pos if start > first_pos else 0
            out.append(Piece(piece.xorb, first, last, last_pos - first_pos))
            pos = piece_end
        return skip, out

    def iter_bytes(self, pieces: Sequence[Piece], start: int, end: int) -> Iterator[bytes]:
        """The file's bytes ``[start, end)`` given the pieces of the whole file, decoded in batches."""
        pos = 0
        files: dict[str, BinaryIO] = {}
        try:
            for piece in pieces:
                piece_end = pos + piece.length
                if piece_end <= start:
                    pos = piece_end
                    continue
                if pos >= end:
                    break
                for data in self._decode(piece, files):
                    data_end = pos + len(data)
                    if data_end > start and pos < end:
                        yield data[max(0, start - pos):min(len(data), end - pos)]
                    pos = data_end
                    if pos >= end:
                        break
        finally:
            for fh in files.values():
                fh.close()

    def _decode(self, piece: Piece, files: dict[str, BinaryIO]) -> Iterator[bytes]:
        text = hashing.hash_to_text(piece.xorb.hash)
        fh = files.get(text)
        if fh is None:
            blob = self.xorb_blob(text)
            if blob is None:
                raise XetError(f"Xorb {text} is missing from the hub's store.")
            fh = files[text] = open(self.store.path(blob), "rb")  # noqa: SIM115 - closed by the caller
        info = piece.xorb
        index = piece.start
        while index < piece.end:
            # Whole chunks, up to _READ_BATCH serialized bytes at a time (at least one chunk).
            begin = info.chunks[index].offset
            stop = index + 1
            while stop < piece.end and info.byte_range(index, stop + 1)[1] + 1 - begin <= _READ_BATCH:
                stop += 1
            _, last = info.byte_range(index, stop)
            fh.seek(begin)
            data = fh.read(last + 1 - begin)
            try:
                yield from iter_chunks(data)
            except XorbFormatError as err:
                raise XetError(f"Xorb {text} is damaged in the hub's store: {err}") from None
            index = stop

    def open_file(self, xet_file: XetFile) -> BinaryIO:
        """A seekable binary reader over a Xet file's bytes."""
        return io.BufferedReader(_XetFileRaw(self, xet_file), buffer_size=1024 * 1024)


class _XetFileRaw(SeekableReader):
    """Random access to a Xet file: the term of a position is found by bisection over the terms, then its
    chunk over that term's chunks (computed for one term at a time); the last decoded chunk is kept, so
    sequential reads decode each chunk once."""

    def __init__(self, xet: XetStore, xet_file: XetFile) -> None:
        super().__init__(xet_file.size, f"a Xet file of {xet_file.size} bytes")
        self._xet = xet
        self._pieces = xet.pieces(xet_file)
        self._starts: list[int] = []  # file offset of each piece
        pos = 0
        for piece in self._pieces:
            self._starts.append(pos)
            pos += piece.length
        self._offsets: tuple[int, list[int]] = (-1, [])  # (piece, file offset of each of its chunks)
        self._cached: tuple[tuple[int, int], bytes] | None = None
        self._handles: dict[str, BinaryIO] = {}

    def _chunk_at(self, pos: int) -> tuple[int, bytes]:
        """(file offset of the chunk holding ``pos``, its bytes)."""
        n = bisect.bisect_right(self._starts, pos) - 1
        piece = self._pieces[n]
        if self._offsets[0] != n:
            offsets, at = [], self._starts[n]
            for index in range(piece.start, piece.end):
                offsets.append(at)
                at += piece.xorb.chunks[index].length
            self._offsets = (n, offsets)
        offsets = self._offsets[1]
        k = bisect.bisect_right(offsets, pos) - 1
        key = (n, k)
        if self._cached is not None and self._cached[0] == key:
            return offsets[k], self._cached[1]
        info, index = piece.xorb, piece.start + k
        text = hashing.hash_to_text(info.hash)
        fh = self._handles.get(text)
        if fh is None:
            blob = self._xet.xorb_blob(text)
            if blob is None:
                raise OSError(f"xorb {text} is missing from the hub's store")
            fh = self._handles[text] = open(self._xet.store.path(blob), "rb")  # noqa: SIM115 - closed in close()
        begin, last = info.byte_range(index, index + 1)
        fh.seek(begin)
        raw = fh.read(last + 1 - begin)
        try:
            data = next(iter_chunks(raw))
        except XorbFormatError as err:
            raise OSError(f"xorb {text} is damaged: {err}") from None
        self._cached = (key, data)
        return offsets[k], data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]  # RawIOBase's readinto takes any buffer; this one takes what it is given
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            start, data = self._chunk_at(self._pos)
            offset = self._pos - start
            take = min(len(data) - offset, len(view) - done)
            view[done:done + take] = data[offset:offset + take]
            done += take
            self._pos += take
        return done

    def close(self) -> None:
        for fh in self._handles.values():
            fh.close()
        self._handles.clear()
        super().close()
