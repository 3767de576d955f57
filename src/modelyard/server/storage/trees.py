"""Trees: the path -> file map (manifest) of every commit, stored once per distinct tree and cached."""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict

from modelyard.server.gitobjects import FileEntry, manifest_from_json, manifest_to_json, tree_oids
from modelyard.server.storage.database import Database

_CACHED_MANIFESTS = 256


class Trees:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._manifests: OrderedDict[str, dict[str, FileEntry]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, db: sqlite3.Connection, manifest: dict[str, FileEntry]) -> str:
        """Store ``manifest`` (inside the caller's transaction ``db``) and return its git tree id."""
        tree = tree_oids(manifest)[""]
        db.execute("INSERT OR IGNORE INTO trees(oid, manifest) VALUES(?,?)", (tree, manifest_to_json(manifest)))
        return tree

    def manifest(self, tree: str, db: sqlite3.Connection | None = None) -> dict[str, FileEntry]:
        """The (cached, immutable: do not mutate) path -> FileEntry map of a tree."""
        with self._lock:
            cached = self._manifests.get(tree)
            if cached is not None:
                self._manifests.move_to_end(tree)
                return cached
        row = (db or self._db.conn()).execute("SELECT manifest FROM trees WHERE oid=?", (tree,)).fetchone()
        if row is None:
            raise LookupError(f"tree {tree} is missing from the database")
        manifest = manifest_from_json(row["manifest"])
        with self._lock:
            self._manifests[tree] = manifest
            while len(self._manifests) > _CACHED_MANIFESTS:
                self._manifests.popitem(last=False)
        return manifest
