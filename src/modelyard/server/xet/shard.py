"""Shards: how clients register uploaded files (file info) and new xorbs (CAS info), and how the global
dedupe API answers.

Layout (all integers little-endian): a 48-byte header (a fixed 32-byte tag, version 2, footer size), the file
info section, the CAS info section, and an optional 200-byte footer (uploads leave it out). Every record is
48 bytes. A file is a header record (file hash, flags, number of terms), one record per term (xorb hash,
flags, unpacked bytes, chunk range), then with flag bit 31 one verification record per term, and with bit 30
one metadata record holding the file's SHA-256. A xorb is a header record (xorb hash, flags, number of chunks,
raw bytes, serialized bytes) then one record per chunk (chunk hash, raw offset, raw length). A record whose
hash is 32 bytes of 0xFF ends each section.
"""

from __future__ import annotations

import itertools
import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from modelyard.server.xet import hashing

HEADER_TAG = b"HFRepoMetaData\x00" + bytes([85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205,
                                            209, 74, 169])
HEADER_VERSION = 2
FOOTER_VERSION = 1
FOOTER_SIZE = 200
RECORD = 48
BOOKEND = b"\xff" * 32 + bytes(16)
FLAG_VERIFICATION = 1 << 31
FLAG_METADATA = 1 << 30
MAX_SHARD_SIZE = 64 * 1024 * 1024


class ShardFormatError(ValueError):
    """An uploaded shard does not parse."""


@dataclass(frozen=True)
class Term:
    xorb: bytes
    start: int  # chunk index, inclusive
    end: int  # chunk index, exclusive
    length: int  # unpacked bytes


@dataclass(frozen=True)
class FileRecord:
    hash: bytes
    terms: tuple[Term, ...]
    verifications: tuple[bytes, ...] | None
    sha256: bytes | None

    @property
    def size(self) -> int:
        return sum(t.length for t in self.terms)


@dataclass(frozen=True)
class XorbRecord:
    hash: bytes
    chunks: tuple[tuple[bytes, int, int], ...]  # (chunk hash, raw offset, raw length)
    raw_size: int
    serialized_size: int


@dataclass(frozen=True)
class Shard:
    files: tuple[FileRecord, ...]
    xorbs: tuple[XorbRecord, ...]


def parse_shard(data: bytes | memoryview) -> Shard:
    """Parse an uploaded shard; ``ShardFormatError`` names the offending record."""
    view = memoryview(data)
    if len(view) > MAX_SHARD_SIZE:
        raise ShardFormatError(f"the shard has {len(view)} bytes, above the limit of {MAX_SHARD_SIZE}; "
                               "split the upload into several shards")
    if len(view) < RECORD or bytes(view[:32]) != HEADER_TAG:
        raise ShardFormatError("it does not start with the shard header tag")
    version, footer_size = struct.unpack_from("<QQ", view, 32)
    if version != HEADER_VERSION:
        raise ShardFormatError(f"header version {version} (expected {HEADER_VERSION})")
    if footer_size not in (0, FOOTER_SIZE) or footer_size > len(view) - RECORD:
        raise ShardFormatError(f"footer size {footer_size} (expected 0, or {FOOTER_SIZE} with a footer)")
    end = len(view) - footer_size
    pos = RECORD

    def record(what: str) -> memoryview:
        nonlocal pos
        if pos + RECORD > end:
            raise ShardFormatError(f"it ends inside {what} (byte {pos}); a section bookend is missing")
        out = view[pos:pos + RECORD]
        pos += RECORD
        return out

    def section(what: str) -> Iterator[memoryview]:
        """The head record of each entry of a section, up to the record that ends the section."""
        for index in itertools.count():
            head = record(f"{what} {index}")
            if bytes(head[:32]) == BOOKEND[:32]:
                return
            yield head

    def entries(head: memoryview, count: int, owner: str, unit: str, what: str) -> list[memoryview]:
        """The ``count`` records of ``unit`` (terms, chunks) that follow an entry's ``head``."""
        if count > (end - pos) // RECORD:
            raise ShardFormatError(f"{owner} {hashing.hash_to_text(bytes(head[:32]))} claims {count} {unit}, more "
                                   "than the shard holds")
        return [record(what) for _ in range(count)]

    files: list[FileRecord] = []
    for head in section("file info record"):
        flags, count = struct.unpack_from("<II", head, 32)
        if count == 0:
            raise ShardFormatError(f"file {hashing.hash_to_text(bytes(head[:32]))} has no term")
        terms = []
        for rec in entries(head, count, "file", "terms", "a file term"):
            _flags, length, start, stop = struct.unpack_from("<IIII", rec, 32)
            terms.append(Term(bytes(rec[:32]), start, stop, length))
        verifications = None
        if flags & FLAG_VERIFICATION:
            verifications = tuple(bytes(record("a verification record")[:32]) for _ in range(count))
        sha256 = bytes(record("a metadata record")[:32]) if flags & FLAG_METADATA else None
        files.append(FileRecord(bytes(head[:32]), tuple(terms), verifications, sha256))

    xorbs: list[XorbRecord] = []
    for head in section("CAS info record"):
        _flags, count, raw_size, serialized = struct.unpack_from("<IIII", head, 32)
        chunks = []
        for rec in entries(head, count, "xorb", "chunks", "a CAS chunk record"):
            offset, length = struct.unpack_from("<II", rec, 32)
            chunks.append((bytes(rec[:32]), offset, length))
        xorbs.append(XorbRecord(bytes(head[:32]), tuple(chunks), raw_size, serialized))
    if pos != end:
        raise ShardFormatError(f"{end - pos} bytes follow the CAS info section")
    return Shard(tuple(files), tuple(xorbs))


def _file_bytes(f: FileRecord) -> bytes:
    flags = (FLAG_VERIFICATION if f.verifications is not None else 0) | (FLAG_METADATA if f.sha256 else 0)
    out = bytearray(f.hash + struct.pack("<II", flags, len(f.terms)) + bytes(8))
    for t in f.terms:
        out += t.xorb + struct.pack("<IIII", 0, t.length, t.start, t.end)
    for v in f.verifications or ():
        out += v + bytes(16)
    if f.sha256:
        out += f.sha256 + bytes(16)
    return bytes(out)


def _xorb_bytes(x: XorbRecord) -> bytes:
    out = bytearray(x.hash + struct.pack("<IIII", 0, len(x.chunks), x.raw_size, x.serialized_size))
    for chunk_hash, offset, length in x.chunks:
        out += chunk_hash + struct.pack("<II", offset, length) + bytes(8)
    return bytes(out)


def serialize_shard(files: Sequence[FileRecord], xorbs: Sequence[XorbRecord], *, footer: bool,
                    hmac_key: bytes = bytes(32), expiry: int | None = None) -> bytes:
    """A shard of ``files`` and ``xorbs``; with ``footer`` it carries the 200-byte footer (dedupe answers,
    which clients cache as shard files) with the HMAC key its chunk hashes are keyed with and an expiry."""
    body = bytearray(HEADER_TAG + struct.pack("<QQ", HEADER_VERSION, FOOTER_SIZE if footer else 0))
    file_info_offset = len(body)
    for f in files:
        body += _file_bytes(f)
    body += BOOKEND
    xorb_info_offset = len(body)
    for x in xorbs:
        body += _xorb_bytes(x)
    body += BOOKEND
    if footer:
        end = len(body)
        now = int(time.time())
        # No lookup tables: their offsets all point at the footer and they have no entries, which tells readers
        # to scan the sections instead.
        body += struct.pack("<9Q", FOOTER_VERSION, file_info_offset, xorb_info_offset, end, 0, end, 0, end, 0)
        body += hmac_key + struct.pack("<QQ", now, expiry if expiry is not None else 2**64 - 1)
        body += bytes(48) + struct.pack("<QQQQ", 0, 0, 0, end)
    return bytes(body)
