"""Garbage collection: remove blobs, trees and temp files that nothing references any more.

What becomes garbage: the regular files of a commit request killed (or refused) after its files were stored,
LFS objects uploaded but never committed, the trees of deleted repositories, and temp files of uploads cut
off while the server kept running. Live is every blob that a tree of a stored commit names (all history of
every repository, so every revision stays downloadable), and the xorbs of the Xet files such trees name
(see ``modelyard.server.xet.gc``).

Safe against uploads in flight, in two ways:

* **grace age**: only blobs and temp files untouched for ``grace`` seconds are candidates. A blob that an
  upload or commit stores again (same content) gets its time refreshed, so a just-uploaded LFS object
  waiting for its commit is never taken;
* **under the write lock**: deletion happens inside one ``BEGIN IMMEDIATE`` transaction that re-reads the
  references, and a commit checks that its blobs exist inside its own transaction, so a commit either lands
  before the collection (and its blobs stay) or after it (and is refused, asking the client to upload again).

Dry run by default (``modelyard hub gc``); ``--apply`` deletes.
"""

from __future__ import annotations

import shutil
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.server.blobstore import BlobStore
from modelyard.server.storage import Storage
from modelyard.server.storage.trees import decode_manifest
from modelyard.server.xet.gc import delete_dead, xet_liveness

# Temp files are only removed after an hour without a write, whatever the grace age: younger ones may belong
# to an upload that is still streaming (the server also empties the temp folder when it starts).
TEMP_GRACE_FLOOR = 3600.0
Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]


def _no_progress(items: Iterable[Any], total: int, what: str) -> Iterable[Any]:
    return items


@dataclass
class GcReport:
    """What a collection found (and, with ``applied``, removed)."""

    applied: bool
    grace: float
    live_blobs: int = 0
    orphan_blobs: list[tuple[str, int]] = field(default_factory=list)  # (sha256, bytes)
    young_orphans: int = 0  # unreferenced but inside the grace age: kept
    orphan_trees: int = 0
    orphan_xet_files: int = 0  # Xet files no commit names (their rows; their xorbs go with them)
    orphan_xorbs: int = 0
    stale_temp: list[tuple[Path, int]] = field(default_factory=list)
    # Uploads staged in the object store (presigned, direct) whose client never asked to verify them.
    stale_staged: list[tuple[str, int]] = field(default_factory=list)

    @property
    def orphan_bytes(self) -> int:
        return (sum(size for _, size in self.orphan_blobs) + sum(size for _, size in self.stale_temp)
                + sum(size for _, size in self.stale_staged))

    def summary(self) -> str:
        verb = "Removed" if self.applied else "Would remove"
        staged = f", {len(self.stale_staged)} abandoned direct upload(s)" if self.stale_staged else ""
        text = (f"{verb} {len(self.orphan_blobs)} unreferenced blob(s), {len(self.stale_temp)} stale temp file(s)"
                f"{staged} and {self.orphan_trees} unreferenced tree(s): {_human(self.orphan_bytes)}. ")
        if self.orphan_xet_files or self.orphan_xorbs:
            text += (f"Among them: {self.orphan_xorbs} Xet xorb(s), and {self.orphan_xet_files} Xet file record(s) "
                     "no commit uses. ")
        text += f"{self.live_blobs} blob(s) are in use"
        if self.young_orphans:
            text += (f"; {self.young_orphans} unreferenced blob(s) younger than the grace age "
                     f"({_human_age(self.grace)}) were kept, as uploads may still commit them")
        text += "."
        if not self.applied and (self.orphan_blobs or self.stale_temp or self.stale_staged or self.orphan_trees or self.orphan_xorbs
                                 or self.orphan_xet_files):
            text += " Run again with --apply to delete."
        return text


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _human_age(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _referenced(db: Any, trees: Iterable[str]) -> set[str]:
    live: set[str] = set()
    for oid in trees:
        row = db.execute("SELECT manifest FROM trees WHERE oid=?", (oid,)).fetchone()
        if row is not None:
            live.update(entry.sha256 for entry in decode_manifest(row["manifest"]).values())
    return live


def collect_garbage(storage: Storage, store: BlobStore, *, grace: float, apply: bool,
                    progress: Progress = _no_progress) -> GcReport:
    """Find (and with ``apply`` remove) what nothing references; see the module docstring."""
    report = GcReport(applied=apply, grace=grace)
    now = time.time()
    db = storage.conn()
    # 1. Candidates, outside the lock (a long walk over the disk): unreferenced and older than the grace age.
    trees = [r["oid"] for r in db.execute("SELECT DISTINCT tree AS oid FROM commits")]
    live = _referenced(db, progress(trees, len(trees), "reading trees"))
    xet = xet_liveness(db, live, now=now, grace=grace)
    live |= xet.blobs
    blobs = list(store.stored())
    candidates: list[tuple[str, int]] = []
    for blob in progress(blobs, len(blobs), "checking blobs"):
        if blob.name in live:
            continue
        if now - blob.mtime < grace:
            report.young_orphans += 1
        else:
            candidates.append((blob.name, blob.size))
    report.live_blobs = len(blobs) - len(candidates) - report.young_orphans
    report.orphan_trees = db.execute(
        "SELECT COUNT(*) FROM trees WHERE oid NOT IN (SELECT tree FROM commits)").fetchone()[0]
    temp_grace = max(grace, TEMP_GRACE_FLOOR)
    for entry in store.tmp.iterdir() if store.tmp.exists() else ():
        age, size = _temp_age_and_size(entry, now)
        if age is not None and age >= temp_grace:
            report.stale_temp.append((entry, size))
    report.orphan_xet_files, report.orphan_xorbs = len(xet.dead_files), len(xet.dead_xorbs)
    sweep_staging = getattr(store, "sweep_staging", None)  # stores that take uploads directly (S3)
    if sweep_staging is not None:
        report.stale_staged = sweep_staging(temp_grace, apply=apply)
    if not apply:
        report.orphan_blobs = list(candidates)
        return report

    # 2. Under the write lock: re-check against the references of now, then delete.
    with storage.transaction() as tx:
        report.orphan_trees = tx.execute(
            "DELETE FROM trees WHERE oid NOT IN (SELECT tree FROM commits)").rowcount
        trees = [r["oid"] for r in tx.execute("SELECT DISTINCT tree AS oid FROM commits")]
        live = _referenced(tx, trees)
        xet = xet_liveness(tx, live, now=now, grace=grace)
        live |= xet.blobs
        delete_dead(tx, xet)
        report.orphan_xet_files, report.orphan_xorbs = len(xet.dead_files), len(xet.dead_xorbs)
        for name, size in progress(candidates, len(candidates), "removing blobs"):
            if name in live:
                continue
            age = store.age(name)
            if age is None or age < grace:  # gone, or stored again meanwhile
                continue
            store.delete(name)
            report.orphan_blobs.append((name, size))
        gone = [(sha,) for sha, _ in report.orphan_blobs]
        for table in ("repo_blobs", "scans", "content_kinds"):
            tx.executemany(f"DELETE FROM {table} WHERE sha256=?", gone)
    for entry, _size in report.stale_temp:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return report


def _temp_age_and_size(entry: Path, now: float) -> tuple[float | None, int]:
    """Age of the newest write under ``entry`` (a temp file or a multipart folder) and its size."""
    try:
        if entry.is_dir():
            stats = [p.stat() for p in entry.rglob("*") if p.is_file()] or [entry.stat()]
        else:
            stats = [entry.stat()]
    except FileNotFoundError:
        return None, 0
    return now - max(s.st_mtime for s in stats), sum(s.st_size for s in stats if stat.S_ISREG(s.st_mode))
