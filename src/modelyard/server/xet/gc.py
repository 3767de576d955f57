"""What garbage collection keeps of Xet storage (see ``modelyard.server.gc``).

A Xet file is live when a tree of a stored commit names its content (SHA-256), or when it was registered
less than the grace age ago (its commit may still come); a xorb is live when a live file uses it, or when it
was uploaded less than the grace age ago (its shard may still come). The blobs of live xorbs are live.
Everything else is removed: rows, repository links, dedupe index entries, and (through the blob sweep)
the xorbs' bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modelyard.server.xet import hashing
from modelyard.server.xet.files import XetFile


@dataclass
class XetLiveness:
    files: set[str]
    xorbs: set[str]
    blobs: set[str]  # sha256 of the stored bytes of live xorbs
    dead_files: list[str]
    dead_xorbs: list[str]


def xet_liveness(db: Any, live_content: Iterable[str], *, now: float, grace: float) -> XetLiveness:
    content = set(live_content)
    files: set[str] = set()
    xorbs: set[str] = set()
    dead_files: list[str] = []
    for row in db.execute("SELECT hash, sha256, terms, created_at FROM xet_files"):
        if row["sha256"] in content or now - row["created_at"] < grace:
            files.add(row["hash"])
            xorbs.update(hashing.hash_to_text(t.xorb) for t in XetFile.unpack_terms(row["terms"]))
        else:
            dead_files.append(row["hash"])
    blobs: set[str] = set()
    dead_xorbs: list[str] = []
    for row in db.execute("SELECT hash, blob, created_at FROM xet_xorbs"):
        if row["hash"] in xorbs or now - row["created_at"] < grace:
            xorbs.add(row["hash"])
            blobs.add(row["blob"])
        else:
            dead_xorbs.append(row["hash"])
    return XetLiveness(files, xorbs, blobs, dead_files, dead_xorbs)


def delete_dead(tx: Any, liveness: XetLiveness) -> None:
    """Remove the rows of dead files and xorbs (inside the collection's write transaction)."""
    files = [(h,) for h in liveness.dead_files]
    tx.executemany("DELETE FROM xet_files WHERE hash=?", files)
    tx.executemany("DELETE FROM xet_file_repos WHERE file=?", files)
    tx.executemany("DELETE FROM xet_file_xorbs WHERE file=?", files)
    xorbs = [(h,) for h in liveness.dead_xorbs]
    tx.executemany("DELETE FROM xet_xorbs WHERE hash=?", xorbs)
    tx.executemany("DELETE FROM xet_xorb_repos WHERE xorb=?", xorbs)
    tx.executemany("DELETE FROM xet_dedupe WHERE xorb=?", xorbs)
    tx.executemany("DELETE FROM xet_file_xorbs WHERE xorb=?", xorbs)
