"""Git object ids, computed the way git does, so ids the client sees match a git clone of the repo.

* regular file: blob id ``sha1(b"blob {len}\\0" + content)`` (the client compares it to its local file to
  skip unchanged uploads, and caches downloads under it);
* LFS file: the blob is the LFS pointer text; its id and size are what git stores, the content's sha256
  is the LFS oid;
* folder: git tree id over its entries; commit: git commit id over tree, parent, author and message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import NamedTuple

EMPTY_TREE_OID = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class FileEntry(NamedTuple):
    """One file in a commit's tree: content sha256, content size, git blob id, stored through LFS or not."""

    sha256: str
    size: int
    oid: str
    lfs: bool


Manifest = Mapping[str, FileEntry]


def git_blob_oid(content: bytes) -> str:
    h = hashlib.sha1(b"blob %d\x00" % len(content))
    h.update(content)
    return h.hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def lfs_entry(sha256: str, size: int) -> FileEntry:
    return FileEntry(sha256, size, git_blob_oid(lfs_pointer(sha256, size)), True)


def pointer_size(sha256: str, size: int) -> int:
    return len(lfs_pointer(sha256, size))


def tree_oids(manifest: Manifest) -> dict[str, str]:
    """Git tree ids of every folder of ``manifest``, keyed by folder path (``""`` is the root)."""
    children: dict[str, dict[str, tuple[str, str]]] = {"": {}}
    for path, entry in manifest.items():
        parent, _, name = path.rpartition("/")
        children.setdefault(parent, {})[name] = ("100644", entry.oid)
        # Register every ancestor folder so empty intermediate levels still get an entry.
        while parent:
            grand, _, dname = parent.rpartition("/")
            siblings = children.setdefault(grand, {})
            children.setdefault(parent, {})
            if dname in siblings:
                break
            siblings[dname] = ("40000", "")
            parent = grand
    oids: dict[str, str] = {}
    # Deepest folders first, so a folder's subtree ids are known before it is hashed.
    for folder in sorted(children, key=lambda p: p.count("/") + (1 if p else 0), reverse=True):
        body = bytearray()
        entries = children[folder]
        # git sorts tree entries by name, with folder names compared as if they ended in '/'.
        for name in sorted(entries, key=lambda n: n + "/" if entries[n][0] == "40000" else n):
            mode, oid = entries[name]
            if mode == "40000":
                oid = oids[f"{folder}/{name}" if folder else name]
            body += f"{mode} {name}".encode() + b"\x00" + bytes.fromhex(oid)
        h = hashlib.sha1(b"tree %d\x00" % len(body))
        h.update(body)
        oids[folder] = h.hexdigest()
    return oids


def commit_oid(tree: str, parents: Iterable[str], author: str, timestamp: int, message: str) -> str:
    lines = [f"tree {tree}"] + [f"parent {p}" for p in parents]
    ident = f"{author} <{author}@users.noreply.modelyard> {timestamp} +0000"
    text = "\n".join([*lines, f"author {ident}", f"committer {ident}", "", message]) + "\n"
    raw = text.encode("utf-8", "surrogatepass")
    h = hashlib.sha1(b"commit %d\x00" % len(raw))
    h.update(raw)
    return h.hexdigest()


def iso_z(ts: float) -> str:
    """``2024-05-01T12:00:00.000Z``: the only date shape the client's strict parser accepts."""
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
