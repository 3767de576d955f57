"""Xorbs: the serialized chunk containers clients upload, parsed and checked before they are stored.

A serialized xorb is a run of chunks, each an 8-byte header (version 0, compressed length as 3 little-endian
bytes, compression scheme, uncompressed length as 3 bytes) and its compressed bytes; schemes are 0 (none),
1 (an LZ4 frame) and 2 (the bytes regrouped by their position in 4-byte words, then an LZ4 frame).
xet-core clients append a footer after the chunks (``XETBLOB`` ident, version, the xorb hash, the chunk
hashes and byte boundaries, then its own length as a trailing u32); the published specification sends the
chunks alone. Both are accepted, and a footer must agree with the chunks.

:class:`XorbParser` decodes every chunk as the bytes arrive, recomputes its hash and the xorb hash, and
refuses anything malformed with a message that says which chunk and what is wrong.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import lz4.frame

from modelyard.server.xet import hashing

CHUNK_HEADER_LEN = 8
MAX_CHUNK_SIZE = 128 * 1024
MAX_XORB_CHUNKS = 8192
# Clients fill a xorb with up to 64 MiB of chunk data; serialized, the chunk headers (and chunks that do not
# compress) come on top, so the serialized chunks may exceed 64 MiB a little (hf_xet sends ~64.005 MiB).
MAX_XORB_DATA = 64 * 1024 * 1024
MAX_XORB_CONTENT = MAX_XORB_DATA + CHUNK_HEADER_LEN * MAX_XORB_CHUNKS + MAX_CHUNK_SIZE
# Plus room for the xet-core footer of 8192 chunks (about 360 KiB).
MAX_XORB_SIZE = MAX_XORB_CONTENT + 1024 * 1024
FOOTER_IDENT = b"XETBLOB"
_HASHES_IDENT = b"XBLBHSH"
_BOUNDARIES_IDENT = b"XBLBBND"
_NONE, _LZ4, _BG4_LZ4 = 0, 1, 2
SCHEMES = {_NONE: "none", _LZ4: "lz4", _BG4_LZ4: "bg4-lz4"}


class XorbFormatError(ValueError):
    """A serialized xorb (or a byte range of one) does not decode."""


@dataclass(frozen=True)
class XorbChunk:
    hash: bytes  # raw 32 bytes
    offset: int  # where its header starts in the serialized xorb
    length: int  # uncompressed length


@dataclass(frozen=True)
class XorbInfo:
    """What the hub keeps about a stored xorb: its chunks and where the chunk bytes end."""

    hash: bytes
    chunks: tuple[XorbChunk, ...]
    content_end: int  # end of the last chunk = start of the footer, if any
    size: int  # the whole serialized xorb

    @property
    def raw_size(self) -> int:
        return sum(c.length for c in self.chunks)

    def byte_range(self, start: int, end: int) -> tuple[int, int]:
        """Serialized bytes ``[first, last]`` (inclusive, as in a Range header) of chunks ``[start, end)``."""
        last = self.chunks[end].offset if end < len(self.chunks) else self.content_end
        return self.chunks[start].offset, last - 1

    def pack(self) -> bytes:
        """Chunk table for the database: per chunk its hash, offset and length (40 bytes)."""
        return b"".join(c.hash + struct.pack("<II", c.offset, c.length) for c in self.chunks)

    @classmethod
    def unpack(cls, hash_raw: bytes, table: bytes, content_end: int, size: int) -> XorbInfo:
        chunks = tuple(XorbChunk(table[i:i + 32], *struct.unpack_from("<II", table, i + 32))
                       for i in range(0, len(table), 40))
        return cls(hash_raw, chunks, content_end, size)


def _regroup4(grouped: bytes) -> bytes:
    """Undo the 4-byte grouping: byte k of every word was stored in group k (groups 0..rem-1 one longer)."""
    n = len(grouped)
    words, rem = divmod(n, 4)
    sizes = [words + (1 if k < rem else 0) for k in range(4)]
    out = bytearray(n)
    start = 0
    for k, size in enumerate(sizes):
        group = grouped[start:start + size]
        out[k:4 * words:4] = group[:words]
        if k < rem:
            out[4 * words + k] = group[words]
        start += size
    return bytes(out)


def decode_chunk(scheme: int, payload: bytes | memoryview, length: int) -> bytes:
    """The uncompressed bytes of one chunk; ``XorbFormatError`` if they do not decode to ``length`` bytes."""
    try:
        if scheme == _NONE:
            data = bytes(payload)
        elif scheme == _LZ4:
            data = lz4.frame.decompress(payload)
        elif scheme == _BG4_LZ4:
            data = _regroup4(lz4.frame.decompress(payload))
        else:
            raise XorbFormatError(f"unknown compression scheme {scheme} (expected 0 none, 1 LZ4 or 2 BG4-LZ4)")
    except RuntimeError as err:  # lz4 reports corrupt frames as RuntimeError
        raise XorbFormatError(f"the {SCHEMES[scheme]} data does not decompress ({err})") from None
    if len(data) != length:
        raise XorbFormatError(f"it decompresses to {len(data)} bytes but its header says {length}")
    return data


def read_header(data: bytes | bytearray | memoryview, pos: int, *, complete: bool = True) -> tuple[int, int, int]:
    """(compressed length, scheme, uncompressed length) of the chunk header at ``pos``, checked (with
    ``complete``, also that the chunk's bytes are all in ``data``)."""
    if len(data) - pos < CHUNK_HEADER_LEN:
        raise XorbFormatError(f"{len(data) - pos} bytes left where an {CHUNK_HEADER_LEN}-byte chunk header starts")
    version = data[pos]
    if version != 0:
        raise XorbFormatError(f"chunk header version {version} (only 0 exists)")
    compressed = int.from_bytes(data[pos + 1:pos + 4], "little")
    scheme = data[pos + 4]
    length = int.from_bytes(data[pos + 5:pos + 8], "little")
    if scheme not in SCHEMES:
        raise XorbFormatError(f"unknown compression scheme {scheme} (expected 0 none, 1 LZ4 or 2 BG4-LZ4)")
    if length > MAX_CHUNK_SIZE or length == 0:
        raise XorbFormatError(f"chunk length {length} is outside 1..{MAX_CHUNK_SIZE} bytes")
    if compressed > 2 * MAX_CHUNK_SIZE or (scheme == _NONE and compressed != length):
        raise XorbFormatError(f"compressed length {compressed} does not fit a {length}-byte chunk")
    if complete and pos + CHUNK_HEADER_LEN + compressed > len(data):
        raise XorbFormatError(f"its {compressed} compressed bytes run past the end of the data")
    return compressed, scheme, length


def iter_chunks(data: bytes | memoryview, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Yield the uncompressed bytes of each chunk of ``data[start:end]`` (whole chunks, in order)."""
    view = memoryview(data)
    end = len(view) if end is None else end
    pos = start
    while pos < end:
        compressed, scheme, length = read_header(view[:end], pos)
        body = view[pos + CHUNK_HEADER_LEN:pos + CHUNK_HEADER_LEN + compressed]
        yield decode_chunk(scheme, body, length)
        pos += CHUNK_HEADER_LEN + compressed


class XorbParser:
    """Checks a serialized xorb as its bytes arrive (:meth:`feed` blocks in order, then :meth:`finish`), so an
    upload is verified while it streams to disk and never has to be read back. At most one chunk is held."""

    def __init__(self, *, expected_hash: bytes | None = None) -> None:
        self._expected = expected_hash
        self._pending = bytearray()  # bytes of a chunk not complete yet
        self._at = 0  # position of self._pending[0] in the xorb
        self._footer: bytearray | None = None
        self._received = 0
        self.chunks: list[XorbChunk] = []

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._received += len(data)
        if self._received > MAX_XORB_SIZE:
            raise XorbFormatError(f"the xorb has more than {MAX_XORB_SIZE} bytes, the limit")
        if self._footer is not None:
            self._footer += data
            return
        self._pending += data
        used = 0
        pending = self._pending
        while used < len(pending):
            if pending[used] == FOOTER_IDENT[0]:  # chunk headers start with version 0, a footer with 'X'
                self._footer = bytearray(pending[used:])
                del pending[used:]
                break
            if len(pending) - used < CHUNK_HEADER_LEN:
                break
            pos = self._at + used
            try:
                compressed, scheme, length = read_header(pending, used, complete=False)
                if used + CHUNK_HEADER_LEN + compressed > len(pending):
                    break  # the rest of this chunk is still on its way
                if len(self.chunks) == MAX_XORB_CHUNKS:
                    raise XorbFormatError(f"more than {MAX_XORB_CHUNKS} chunks")
                start = used + CHUNK_HEADER_LEN
                raw = decode_chunk(scheme, bytes(pending[start:start + compressed]), length)
            except XorbFormatError as err:
                raise XorbFormatError(f"chunk {len(self.chunks)} (at byte {pos}): {err}") from None
            self.chunks.append(XorbChunk(hashing.chunk_hash(raw), pos, length))
            used += CHUNK_HEADER_LEN + compressed
        del pending[:used]
        self._at += used

    def finish(self) -> XorbInfo:
        """The checked xorb; ``XorbFormatError`` says what is wrong."""
        if self._pending:
            pos = self._at
            try:
                compressed, _, _ = read_header(self._pending, 0, complete=False)
            except XorbFormatError as err:
                raise XorbFormatError(f"chunk {len(self.chunks)} (at byte {pos}): {err}") from None
            raise XorbFormatError(f"chunk {len(self.chunks)} (at byte {pos}): its {compressed} compressed bytes "
                                  "run past the end of the data")
        if not self.chunks:
            raise XorbFormatError("the xorb holds no chunk")
        content_end = self._at
        raw = sum(c.length for c in self.chunks)
        if raw > MAX_XORB_DATA + MAX_CHUNK_SIZE or content_end > MAX_XORB_CONTENT:
            raise XorbFormatError(f"it holds {raw} bytes of chunks ({content_end} serialized), above the limit of "
                                  f"{MAX_XORB_DATA} (64 MiB) per xorb; send smaller xorbs")
        computed = hashing.xorb_hash([(c.hash, c.length) for c in self.chunks])
        if self._footer is not None:
            _check_footer(memoryview(bytes(self._footer)), computed, self.chunks, content_end)
        if self._expected is not None and computed != self._expected:
            raise XorbFormatError(f"its chunks hash to {hashing.hash_to_text(computed)}, not to the "
                                  f"{hashing.hash_to_text(self._expected)} it was uploaded as")
        return XorbInfo(computed, tuple(self.chunks), content_end, self._received)


def parse_xorb(data: bytes | memoryview, *, expected_hash: bytes | None = None) -> XorbInfo:
    """Decode and check a whole serialized xorb (see the module docstring and :class:`XorbParser`)."""
    if len(data) > MAX_XORB_SIZE:
        raise XorbFormatError(f"the xorb has {len(data)} bytes, above the limit of {MAX_XORB_SIZE}")
    parser = XorbParser(expected_hash=expected_hash)
    parser.feed(data)
    return parser.finish()


def _check_footer(footer: memoryview, computed: bytes, chunks: Sequence[XorbChunk], content_end: int) -> None:
    """A xet-core footer must describe exactly the chunks before it; anything else after them is refused."""
    def fail(why: str) -> XorbFormatError:
        return XorbFormatError(f"the footer after the last chunk (byte {content_end}) {why}")

    if len(footer) < 4 + len(FOOTER_IDENT) or bytes(footer[:7]) != FOOTER_IDENT:
        raise fail("does not start with 'XETBLOB'")
    info_length = int.from_bytes(footer[-4:], "little")
    if info_length + 4 != len(footer):
        raise fail(f"declares {info_length} bytes but {len(footer) - 4} follow the chunks")
    version = footer[7]
    n = len(chunks)
    ends = [c.offset for c in chunks[1:]] + [content_end]
    try:
        if version == 1:
            hashes, boundaries, unpacked = _footer_v1(footer[:-4], n)
            running, expected_unpacked = 0, []
            for c in chunks:
                running += c.length
                expected_unpacked.append(running)
            if unpacked != expected_unpacked:
                raise fail("has uncompressed offsets that do not match the chunks")
        elif version == 0:
            hashes, boundaries = _footer_v0(footer[:-4], n)
        else:
            raise fail(f"has version {version} (expected 0 or 1)")
    except struct.error:
        raise fail("is cut short") from None
    if footer[8:40] != computed:
        raise fail("names another xorb hash than its chunks hash to")
    if hashes != [c.hash for c in chunks]:
        raise fail("lists chunk hashes that do not match the chunks")
    if boundaries != ends:
        raise fail("lists chunk boundaries that do not match the chunks")


def _footer_v1(body: memoryview, n: int) -> tuple[list[bytes], list[int], list[int]]:
    pos = 40
    if bytes(body[pos:pos + 7]) != _HASHES_IDENT or struct.unpack_from("<I", body, pos + 8)[0] != n:
        raise XorbFormatError(f"the footer's hash section is not one of {n} chunks")
    pos += 12
    hashes = [bytes(body[pos + 32 * i:pos + 32 * i + 32]) for i in range(n)]
    pos += 32 * n
    if bytes(body[pos:pos + 7]) != _BOUNDARIES_IDENT or struct.unpack_from("<I", body, pos + 8)[0] != n:
        raise XorbFormatError(f"the footer's boundary section is not one of {n} chunks")
    pos += 12
    boundaries = list(struct.unpack_from(f"<{n}I", body, pos))
    unpacked = list(struct.unpack_from(f"<{n}I", body, pos + 4 * n))
    pos += 8 * n
    count, _hashes_from_end, _bounds_from_end = struct.unpack_from("<III", body, pos)
    if count != n or pos + 12 + 16 != len(body):
        raise XorbFormatError("the footer's trailer does not match its sections")
    return hashes, boundaries, unpacked


def _footer_v0(body: memoryview, n: int) -> tuple[list[bytes], list[int]]:
    pos = 40
    if struct.unpack_from("<I", body, pos)[0] != n or pos + 4 + 36 * n + 16 != len(body):
        raise XorbFormatError(f"the footer is not one of {n} chunks")
    boundaries = list(struct.unpack_from(f"<{n}I", body, pos + 4))
    start = pos + 4 + 4 * n
    hashes = [bytes(body[start + 32 * i:start + 32 * i + 32]) for i in range(n)]
    return hashes, boundaries


def serialize_chunks(chunks: Sequence[bytes], *, scheme: int = _LZ4) -> bytes:
    """A footer-less xorb of ``chunks`` (what the specification uploads); for tests and tools."""
    out = bytearray()
    for raw in chunks:
        body = raw
        use = _NONE
        if scheme == _LZ4:
            packed = lz4.frame.compress(raw)
            if len(packed) < len(raw):
                body, use = packed, _LZ4
        elif scheme == _BG4_LZ4:
            body, use = lz4.frame.compress(_group4(raw)), _BG4_LZ4
        out += bytes([0]) + len(body).to_bytes(3, "little") + bytes([use]) + len(raw).to_bytes(3, "little")
        out += body
    return bytes(out)


def _group4(raw: bytes) -> bytes:
    return b"".join(raw[k::4] for k in range(4))
