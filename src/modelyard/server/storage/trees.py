"""Trees: the path -> file map (manifest) of every commit, stored once per distinct tree and cached.

A manifest is stored packed, column by column, so that reading one back is a handful of C-level calls rather than
a JSON object of 10,000 small lists walked entry by entry (a tree page of a 10,000-file repo after a restart paid
about 15 ms for that; the packed form decodes in about 5, and takes 40% less room)::

    b"MYM1" | n: uint32 | sizes: n x int64 | LFS flags: n bytes (0/1) | sha256: n x 32 bytes
            | git blob ids: n x 20 bytes | paths: UTF-8, separated by NUL

all little-endian, in path order. Databases written before hold the same map as JSON text
(``{"path": [sha256, size, oid, lfs], ...}``); :func:`decode_manifest` reads both forms (the column's type tells
them apart: BLOB or TEXT), so nothing needs migrating, and new trees are written packed.
"""

from __future__ import annotations

import json
import struct
from array import array
from collections.abc import Mapping
from itertools import repeat

from modelyard.server.gitobjects import FileEntry, tree_oids
from modelyard.server.lru import LRUCache
from modelyard.server.storage.database import Database
from modelyard.server.storage.sql import Connection

_CACHED_MANIFESTS = 256
MAGIC = b"MYM1"
_HEADER = struct.Struct("<4sI")
_ROW_BYTES = 8 + 1 + 32 + 20  # size, LFS flag, sha256, git blob id
# array("q") is the platform's 8-byte signed integer; the packed form is little-endian on every platform.
_SWAP = struct.pack("=q", 1) != struct.pack("<q", 1)


def encode_manifest(manifest: Mapping[str, FileEntry]) -> bytes:
    """The packed form of ``manifest`` (see the module docstring). Raises ValueError on what it cannot hold
    exactly: a path that is empty or contains NUL, a hash that is not lowercase hex of its length, a size outside
    0..2**63 (the commit API refuses all of these before a manifest is built)."""
    paths = sorted(manifest)
    entries = [manifest[p] for p in paths]
    joined = "\x00".join(paths)
    # Checked column by column (C-level calls): a loop over the entries would cost more than the encoding.
    shas = _hex_column([e.sha256 for e in entries], 64)
    oids = _hex_column([e.oid for e in entries], 40)
    try:
        sizes = array("q", [e.size for e in entries])
    except (OverflowError, TypeError):
        sizes = None
    problem = ("a path is empty or contains NUL" if (paths and not paths[0]) or joined.count("\x00") != max(len(paths) - 1, 0)
               else "a sha256 is not 64 lowercase hex digits" if shas is None
               else "a git blob id is not 40 lowercase hex digits" if oids is None
               else "a size is not an integer in 0..2**63" if sizes is None or (sizes and min(sizes) < 0)
               else None)
    if problem is not None or shas is None or oids is None or sizes is None:
        raise ValueError(f"cannot store a manifest of {len(paths)} files: {problem}")
    if _SWAP:
        sizes.byteswap()
    return b"".join([_HEADER.pack(MAGIC, len(paths)), sizes.tobytes(), bytes(bool(e.lfs) for e in entries),
                     shas, oids, joined.encode("utf-8", "surrogatepass")])


def _hex_column(values: list[str], width: int) -> bytes | None:
    """The bytes of ``values``, each ``width`` lowercase hex digits; None if one is not."""
    joined = "".join(values)
    if set(map(len, values)) - {width} or joined != joined.lower():
        return None
    try:
        raw = bytes.fromhex(joined)
    except ValueError:
        return None
    return raw if 2 * len(raw) == len(joined) else None  # fromhex skips whitespace


def decode_manifest(stored: bytes | str) -> dict[str, FileEntry]:
    """The manifest of a ``trees.manifest`` value: packed (BLOB) or the JSON text of older databases."""
    if isinstance(stored, str):
        return {p: FileEntry(v[0], int(v[1]), v[2], bool(v[3])) for p, v in json.loads(stored).items()}
    data = memoryview(stored)
    if len(data) < _HEADER.size:
        raise ValueError(f"corrupt manifest: {len(data)} bytes, shorter than its header")
    magic, n = _HEADER.unpack_from(data)
    if magic != MAGIC or len(data) < _HEADER.size + n * _ROW_BYTES:
        raise ValueError(f"corrupt manifest: header {bytes(magic)!r} for {n} entries in {len(data)} bytes")
    if n == 0:
        return {}
    at = _HEADER.size
    sizes = array("q")
    sizes.frombytes(data[at:at + 8 * n])
    if _SWAP:
        sizes.byteswap()
    at += 8 * n
    lfs = map(bool, data[at:at + n])
    at += n
    sha = data[at:at + 32 * n].hex()
    at += 32 * n
    oid = data[at:at + 20 * n].hex()
    at += 20 * n
    paths = str(data[at:], "utf-8", "surrogatepass").split("\x00")
    if len(paths) != n:
        raise ValueError(f"corrupt manifest: {len(paths)} paths for {n} entries")
    shas = [sha[i:i + 64] for i in range(0, 64 * n, 64)]
    oids = [oid[i:i + 40] for i in range(0, 40 * n, 40)]
    # tuple.__new__ through map builds the FileEntry tuples without a Python-level call per entry.
    return dict(zip(paths, map(tuple.__new__, repeat(FileEntry), zip(shas, sizes, oids, lfs))))


class Trees:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._manifests: LRUCache[str, dict[str, FileEntry]] = LRUCache(_CACHED_MANIFESTS)

    def put(self, db: Connection, manifest: Mapping[str, FileEntry]) -> str:
        """Store ``manifest`` (inside the caller's transaction ``db``) and return its git tree id."""
        tree = tree_oids(manifest)[""]
        db.execute("INSERT INTO trees(oid, manifest) VALUES(?,?) ON CONFLICT DO NOTHING", (tree, encode_manifest(manifest)))
        return tree

    def manifest(self, tree: str, db: Connection | None = None) -> dict[str, FileEntry]:
        """The (cached, immutable: do not mutate) path -> FileEntry map of a tree, in path order."""
        cached = self._manifests.get(tree)
        if cached is not None:
            return cached
        row = (db or self._db.conn()).execute("SELECT manifest FROM trees WHERE oid=?", (tree,)).fetchone()
        if row is None:
            raise LookupError(f"tree {tree} is missing from the database")
        manifest = decode_manifest(row["manifest"])
        self._manifests.put(tree, manifest)
        return manifest
