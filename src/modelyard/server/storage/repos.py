"""Repositories: create, delete, rename (with redirects from the old name) and visibility."""

from __future__ import annotations

import time
from collections.abc import Mapping

from modelyard.server.gitobjects import FileEntry
from modelyard.server.storage.commits import Commits
from modelyard.server.storage.database import Database
from modelyard.server.storage.records import BRANCH, NewCommit, Repo, repo_from_row
from modelyard.server.storage.schema import REPO_TABLES


class Repos:
    def __init__(self, db: Database, commits: Commits) -> None:
        self._db = db
        self._commits = commits

    def all(self) -> list[Repo]:
        """Every repository, of every type, in creation order."""
        return [repo_from_row(r) for r in self._db.conn().execute("SELECT * FROM repos ORDER BY id")]

    def get(self, repo_type: str, namespace: str, name: str) -> Repo | None:
        row = self._db.conn().execute("SELECT * FROM repos WHERE type=? AND namespace=? AND name=?",
                                      (repo_type, namespace, name)).fetchone()
        return repo_from_row(row) if row else None

    def by_id(self, repo_id: int) -> Repo | None:
        row = self._db.conn().execute("SELECT * FROM repos WHERE id=?", (repo_id,)).fetchone()
        return repo_from_row(row) if row else None

    def create(self, repo_type: str, namespace: str, name: str, *, private: bool, author: str,
               initial_blob: tuple[str, int, str],
               extra_files: Mapping[str, tuple[str, int, str]] | None = None) -> Repo | None:
        """Create the repo with HF's "initial commit" by ``author`` (a ``.gitattributes``, plus ``extra_files``:
        path -> (sha256, size, git blob id) of small stored files); None if it already exists."""
        now = time.time()
        manifest = {".gitattributes": FileEntry(initial_blob[0], initial_blob[1], initial_blob[2], False)}
        for path, (sha256, size, oid) in (extra_files or {}).items():
            manifest[path] = FileEntry(sha256, size, oid, False)
        with self._db.transaction() as db:
            row = db.execute(
                "INSERT INTO repos(type, namespace, name, private, created_at, last_modified) VALUES(?,?,?,?,?,?) "
                "ON CONFLICT DO NOTHING RETURNING id", (repo_type, namespace, name, int(private), now, now)).fetchone()
            if row is None:
                return None
            repo_id = row["id"]
            # A new repo takes over a name that used to redirect to a moved one.
            db.execute("DELETE FROM moved WHERE type=? AND namespace=? AND name=?", (repo_type, namespace, name))
            oid = self._commits.write(db, repo_id, None, NewCommit(manifest, author, "initial commit", ""), now)
            db.execute("INSERT INTO refs(repo_id, name, target) VALUES(?,?,?)", (repo_id, BRANCH + "main", oid))
            row = db.execute("SELECT * FROM repos WHERE id=?", (repo_id,)).fetchone()
        return repo_from_row(row)

    def delete(self, repo: Repo) -> None:
        with self._db.transaction() as db:
            for table in REPO_TABLES:
                db.execute(f"DELETE FROM {table} WHERE repo_id=?", (repo.id,))
            db.execute("DELETE FROM repos WHERE id=?", (repo.id,))

    def move(self, repo: Repo, namespace: str, name: str) -> Repo | None:
        """Rename ``repo`` to ``namespace/name`` keeping its id (so history, refs, LFS objects and pull
        requests stay); the old name then redirects to it. None if the new name is taken."""
        with self._db.transaction() as db:
            # Writers are serialized (Database.transaction), so this check holds until the UPDATE.
            if db.execute("SELECT 1 FROM repos WHERE type=? AND namespace=? AND name=? AND id<>?",
                          (repo.type, namespace, name, repo.id)).fetchone():
                return None
            db.execute("UPDATE repos SET namespace=?, name=? WHERE id=?", (namespace, name, repo.id))
            db.execute("DELETE FROM moved WHERE type=? AND namespace=? AND name=?", (repo.type, namespace, name))
            db.execute("INSERT INTO moved(type, namespace, name, repo_id, moved_at) VALUES(?,?,?,?,?) "
                       "ON CONFLICT(type, namespace, name) DO UPDATE SET repo_id=excluded.repo_id, "
                       "moved_at=excluded.moved_at", (repo.type, repo.namespace, repo.name, repo.id, time.time()))
            row = db.execute("SELECT * FROM repos WHERE id=?", (repo.id,)).fetchone()
        return repo_from_row(row)

    def moved(self, repo_type: str, namespace: str, name: str) -> Repo | None:
        """The repo that ``namespace/name`` was moved away from (under its current name), if any."""
        row = self._db.conn().execute(
            "SELECT r.* FROM moved m JOIN repos r ON r.id = m.repo_id WHERE m.type=? AND m.namespace=? AND m.name=?",
            (repo_type, namespace, name)).fetchone()
        return repo_from_row(row) if row else None

    def set_private(self, repo: Repo, private: bool) -> None:
        with self._db.transaction() as db:
            db.execute("UPDATE repos SET private=? WHERE id=?", (int(private), repo.id))
