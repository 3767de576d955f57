"""TensorBoard event files (``events.out.tfevents.*``) read without TensorBoard or TensorFlow.

An event file is a sequence of TFRecords (``uint64`` length, masked CRC-32C of the length, payload, masked
CRC-32C of the payload), each payload an ``Event`` protocol buffer whose ``summary`` holds tagged values: a
``simple_value`` (what tensorboardX and PyTorch's ``SummaryWriter`` write for scalars), or a ``tensor`` (what
TensorFlow 2 writes: a one-element float, double or integer tensor for a scalar, a string tensor for text).

Why a reader of our own: ``tensorboard``'s reader pulls TensorFlow-sized dependencies into the hub; the
``protobuf`` package is not a dependency of the server extra and would still need the ``Event`` schema compiled
in. The handful of fields read here take a short wire-format decoder, which is also easy to bound: records
longer than :data:`MAX_RECORD` (images, histograms, graphs) are skipped unread, and the caller caps the bytes
read. Every record read has both checksums verified, so a damaged file stops the reading instead of drawing
wrong numbers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

MAX_RECORD = 64 * 1024  # scalar and text events are tens to thousands of bytes
MAX_SKIP = 1 << 40  # a longer record (with a valid length checksum: anyone can compute one) is damage
_DT_FLOAT, _DT_DOUBLE, _DT_INT32, _DT_STRING, _DT_INT64, _DT_HALF = 1, 2, 3, 7, 9, 19


class EventFileError(ValueError):
    """An event file that is not a well-formed sequence of TFRecords holding Event messages."""


def _crc_tables() -> tuple[list[int], ...]:
    """CRC-32C (Castagnoli, reflected) lookup tables for four bytes at a time ("slicing by 4")."""
    first = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        first.append(crc)
    tables = [first]
    for _ in range(3):
        previous = tables[-1]
        tables.append([(previous[i] >> 8) ^ first[previous[i] & 0xFF] for i in range(256)])
    return tuple(tables)


_T0, _T1, _T2, _T3 = _crc_tables()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    whole = len(data) // 4 * 4
    t0, t1, t2, t3 = _T0, _T1, _T2, _T3
    for (word,) in struct.iter_unpack("<I", data[:whole]):
        crc ^= word
        crc = t3[crc & 0xFF] ^ t2[(crc >> 8) & 0xFF] ^ t1[(crc >> 16) & 0xFF] ^ t0[crc >> 24]
    for byte in data[whole:]:
        crc = t0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The checksum TFRecords store: CRC-32C rotated right by 15 bits plus a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


@dataclass
class RecordStats:
    """What :func:`records` went through: bytes read, records skipped for their size, why it stopped early."""

    read: int = 0
    skipped: int = 0
    stopped: str | None = None  # None: the whole file was read


def records(stream: BinaryIO, *, limit: int, stats: RecordStats | None = None) -> Iterator[bytes]:
    """The payloads of the TFRecords in ``stream``, reading at most ``limit`` bytes; records longer than
    :data:`MAX_RECORD` are skipped unread. Stops (recording why in ``stats``) at the byte limit, at a partial
    last record (a file still being written), or at damage (a checksum that does not match)."""
    stats = stats if stats is not None else RecordStats()
    while True:
        if stats.read + 12 > limit:
            stats.stopped = f"stopped after {stats.read} bytes (the reading limit)"
            return
        header = stream.read(12)
        stats.read += len(header)
        if not header:
            return
        if len(header) < 12:
            stats.stopped = "ends with a partial record"
            return
        length_bytes, length_crc = header[:8], struct.unpack("<I", header[8:])[0]
        if masked_crc32c(length_bytes) != length_crc:
            stats.stopped = f"damaged: the length checksum of the record at byte {stats.read - 12} does not match"
            return
        (length,) = struct.unpack("<Q", length_bytes)
        if length > MAX_SKIP:
            stats.stopped = f"damaged: the record at byte {stats.read - 12} claims {length} bytes"
            return
        if length > MAX_RECORD:
            stream.seek(length + 4, 1)  # an image, histogram or graph: not drawn here
            stats.skipped += 1
            continue
        if stats.read + length + 4 > limit:
            stats.stopped = f"stopped after {stats.read - 12} bytes (the reading limit)"
            return
        body = stream.read(length + 4)
        stats.read += len(body)
        if len(body) < length + 4:
            stats.stopped = "ends with a partial record"
            return
        payload = body[:length]
        if masked_crc32c(payload) != struct.unpack("<I", body[length:])[0]:
            stats.stopped = f"damaged: the checksum of the record at byte {stats.read - length - 16} does not match"
            return
        yield payload


# -- protocol buffer wire format ----------------------------------------------------------------------
def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise EventFileError("a varint runs past its message")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of a message: an int for varints and fixed-width values (their raw bits),
    the bytes of length-delimited ones. Groups (wire types 3 and 4, unused by these messages) are refused."""
    pos, end = 0, len(data)
    while pos < end:
        key = data[pos]
        if key < 0x80:  # one-byte keys: every field of these messages
            pos += 1
        else:
            key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 2:
            size = data[pos] if pos < end else 0x80
            if size < 0x80:
                pos += 1
            else:
                size, pos = _varint(data, pos)
            if pos + size > end:
                raise EventFileError("a length-delimited field runs past its message")
            value, pos = data[pos:pos + size], pos + size
        elif wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            if pos + 8 > end:
                raise EventFileError("a 64-bit field runs past its message")
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            if pos + 4 > end:
                raise EventFileError("a 32-bit field runs past its message")
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise EventFileError(f"wire type {wire} (field {number}) is not used by event files")
        yield number, wire, value


def _double(bits: int) -> float:
    return float(struct.unpack("<d", bits.to_bytes(8, "little"))[0])


def _float(bits: int) -> float:
    return float(struct.unpack("<f", bits.to_bytes(4, "little"))[0])


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# -- Event, Summary, TensorProto ----------------------------------------------------------------------
@dataclass
class Event:
    step: int = 0
    wall_time: float = 0.0
    scalars: list[tuple[str, float]] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)


def parse_event(payload: bytes) -> Event:
    """The step, wall time, scalar values and text values of one serialised ``Event``."""
    event = Event()
    for number, wire, value in fields(payload):
        if number == 1 and wire == 1:
            event.wall_time = _double(value)  # type: ignore[arg-type]
        elif number == 2 and wire == 0:
            event.step = _signed(value)  # type: ignore[arg-type]
        elif number == 5 and wire == 2:
            for v_number, v_wire, item in fields(value):  # type: ignore[arg-type]
                if v_number == 1 and v_wire == 2:
                    _summary_value(item, event)  # type: ignore[arg-type]
    return event


def _summary_value(data: bytes, event: Event) -> None:
    tag = ""
    simple: float | None = None
    tensor: bytes | None = None
    for number, wire, value in fields(data):
        if number == 1 and wire == 2:
            tag = value.decode("utf-8", "replace")  # type: ignore[union-attr]
        elif number == 2 and wire == 5:
            simple = _float(value)  # type: ignore[arg-type]
        elif number == 8 and wire == 2:
            tensor = value  # type: ignore[assignment]
    if simple is not None:
        event.scalars.append((tag, simple))
    elif tensor is not None:
        found = _tensor_value(tensor)
        if isinstance(found, str):
            event.texts.append((tag, found))
        elif found is not None:
            event.scalars.append((tag, found))


def _tensor_value(data: bytes) -> float | str | None:
    """The single value of a one-element numeric tensor, or the first string of a string tensor."""
    dtype = 0
    content = b""
    numbers: list[float] = []
    strings: list[bytes] = []
    for number, wire, value in fields(data):
        if number == 1 and wire == 0:
            dtype = value  # type: ignore[assignment]
        elif number == 4 and wire == 2:
            content = value  # type: ignore[assignment]
        elif number == 8 and wire == 2:
            strings.append(value)  # type: ignore[arg-type]
        elif number in (5, 6, 7, 10, 13):
            numbers.extend(_repeated(number, wire, value))
    if dtype == _DT_STRING:
        return strings[0].decode("utf-8", "replace") if strings else None
    if content:
        formats = {_DT_FLOAT: "<f", _DT_DOUBLE: "<d", _DT_INT32: "<i", _DT_INT64: "<q", _DT_HALF: "<e"}
        fmt = formats.get(dtype)
        if fmt is None or len(content) != struct.calcsize(fmt):
            return None
        return float(struct.unpack(fmt, content)[0])
    if len(numbers) != 1:
        return None
    return numbers[0]


def _repeated(number: int, wire: int, value: int | bytes) -> list[float]:
    """Values of a repeated numeric TensorProto field, packed (one length-delimited blob) or one per field."""
    if isinstance(value, bytes):  # packed
        if number == 5:  # float_val
            return [float(v) for v in struct.unpack(f"<{len(value) // 4}f", value[:len(value) // 4 * 4])]
        if number == 6:  # double_val
            return [float(v) for v in struct.unpack(f"<{len(value) // 8}d", value[:len(value) // 8 * 8])]
        bits = _packed_varints(value)
    elif number == 5 and wire == 5:
        return [_float(value)]
    elif number == 6 and wire == 1:
        return [_double(value)]
    elif number in (7, 10, 13) and wire == 0:
        bits = [value]
    else:
        return []
    if number == 13:  # half_val: each half's bits in a varint
        return [float(struct.unpack("<e", (b & 0xFFFF).to_bytes(2, "little"))[0]) for b in bits]
    if number in (7, 10):  # int_val, int64_val
        return [float(_signed(b)) for b in bits]
    return []


def _packed_varints(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        out.append(value)
    return out
