"""The Xet hashes: chunk, xorb and file hashes, term verification hashes, and their text form.

Every hash is 32 bytes, a BLAKE3 keyed hash (the ``blake3`` package) under one of the protocol's fixed keys:

* chunk hash: BLAKE3 of the chunk's bytes under ``DATA_KEY``;
* xorb hash: the root of an aggregated Merkle tree over ``(chunk hash, chunk length)`` pairs. A level is cut
  into groups of 2 to 9 nodes, a group ending after the first node (from its third on) whose hash is
  0 mod 4 (last 8 bytes read as a little-endian integer); a group's hash is BLAKE3 under
  ``INTERNAL_NODE_KEY`` of the lines ``"{hash text} : {length}\\n"`` of its members. Levels collapse until
  one node is left;
* file hash: the same tree's root, hashed once more under an all-zero key;
* term verification hash: BLAKE3 under ``VERIFICATION_KEY`` of the raw chunk hashes of one term's range.

The text form of a hash (URLs, JSON, ``X-Xet-Hash``) is not plain hex: each 8-byte quarter is read as a
little-endian 64-bit integer and written as 16 hex digits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import blake3

HASH_LEN = 32
DATA_KEY = bytes([102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28, 157, 228, 33, 16,
                  155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41])
INTERNAL_NODE_KEY = bytes([1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230, 93, 221, 83,
                           111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63])
VERIFICATION_KEY = bytes([127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243, 164, 205, 38,
                          213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195])
ZERO_KEY = bytes(HASH_LEN)
# Tree shape: a mean of 4 children per node, at least 2 and at most 9.
_BRANCHING = 4
_MAX_GROUP = 2 * _BRANCHING + 1
_HEX64 = re.compile(r"[0-9a-f]{64}")


def keyed(key: bytes, data: bytes | bytearray | memoryview) -> bytes:
    return blake3.blake3(data, key=key).digest()


def chunk_hash(data: bytes | bytearray | memoryview) -> bytes:
    return keyed(DATA_KEY, data)


def hash_to_text(raw: bytes) -> str:
    """The protocol's text form of a 32-byte hash (see the module docstring)."""
    return "".join(raw[i:i + 8][::-1].hex() for i in range(0, HASH_LEN, 8))


def text_to_hash(text: str) -> bytes:
    """Inverse of :func:`hash_to_text`; ``ValueError`` unless ``text`` is 64 lowercase hex digits."""
    if not _HEX64.fullmatch(text):
        raise ValueError(f"{text!r} is not a Xet hash: expected 64 lowercase hex digits")
    return b"".join(bytes.fromhex(text[i:i + 16])[::-1] for i in range(0, 64, 16))


def is_hash_text(text: str) -> bool:
    return bool(_HEX64.fullmatch(text))


def _natural_cut(raw: bytes) -> bool:
    return int.from_bytes(raw[24:32], "little") % _BRANCHING == 0


def _group_end(level: Sequence[tuple[bytes, int]], start: int) -> int:
    remaining = len(level) - start
    if remaining <= 2:
        return len(level)
    end = start + min(_MAX_GROUP, remaining)
    for i in range(start + 2, end):
        if _natural_cut(level[i][0]):
            return i + 1
    return end


def _merge(group: Sequence[tuple[bytes, int]]) -> tuple[bytes, int]:
    text = "".join(f"{hash_to_text(h)} : {size}\n" for h, size in group)
    return keyed(INTERNAL_NODE_KEY, text.encode("ascii")), sum(size for _, size in group)


def merkle_root(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """Root of the aggregated tree over ``(chunk hash, length)`` pairs; 32 zero bytes for no chunks."""
    if not chunks:
        return ZERO_KEY
    level = list(chunks)
    while len(level) > 1:
        merged = []
        start = 0
        while start < len(level):
            end = _group_end(level, start)
            merged.append(_merge(level[start:end]))
            start = end
        level = merged
    return level[0][0]


def xorb_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    return merkle_root(chunks)


def file_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    if not chunks:
        return ZERO_KEY
    return keyed(ZERO_KEY, merkle_root(chunks))


def verification_hash(chunk_hashes: Sequence[bytes]) -> bytes:
    return keyed(VERIFICATION_KEY, b"".join(chunk_hashes))


def dedupe_eligible(raw: bytes) -> bool:
    """Whether clients may ask the global dedupe API about this chunk (besides a file's first chunk)."""
    return int.from_bytes(raw[24:32], "little") % 1024 == 0
