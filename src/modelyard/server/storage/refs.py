"""Branches, tags and pull-request refs, and turning a revision name into a commit id."""

from __future__ import annotations

from modelyard.server.storage.database import Database
from modelyard.server.storage.records import BRANCH, TAG, Repo
from modelyard.server.storage.sql import Row


class Refs:
    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self, repo: Repo) -> list[Row]:
        """Every ref of ``repo`` (``name``, ``target``, ``message``), by name."""
        return self._db.conn().execute("SELECT name, target, message FROM refs WHERE repo_id=? ORDER BY name",
                                       (repo.id,)).fetchall()

    def target(self, repo: Repo, ref: str) -> str | None:
        """The commit ``ref`` (a full ``refs/...`` name) points at; None if there is no such ref."""
        row = self._db.conn().execute("SELECT target FROM refs WHERE repo_id=? AND name=?",
                                      (repo.id, ref)).fetchone()
        return row["target"] if row else None

    def resolve(self, repo: Repo, revision: str) -> str | None:
        """Commit id for a branch, tag, ``refs/...`` name, full commit id or unambiguous prefix (>= 7 hex)."""
        for ref in (BRANCH + revision, TAG + revision, revision):
            if ref.startswith("refs/"):
                target = self.target(repo, ref)
                if target:
                    return target
        lowered = revision.lower()
        if 7 <= len(lowered) <= 40 and all(c in "0123456789abcdef" for c in lowered):
            rows = self._db.conn().execute(
                "SELECT oid FROM commits WHERE repo_id=? AND oid >= ? AND oid < ? LIMIT 2",
                (repo.id, lowered, lowered + "g")).fetchall()
            if len(rows) == 1:
                return rows[0]["oid"]
        return None

    def create(self, repo: Repo, ref: str, target: str, message: str | None = None) -> bool:
        """Add ``ref`` -> ``target``; False when the ref already exists."""
        with self._db.transaction() as db:
            return db.execute("INSERT INTO refs(repo_id, name, target, message) VALUES(?,?,?,?) ON CONFLICT DO NOTHING",
                              (repo.id, ref, target, message)).rowcount > 0

    def delete(self, repo: Repo, ref: str) -> bool:
        """Remove ``ref``; False when there was no such ref."""
        with self._db.transaction() as db:
            return db.execute("DELETE FROM refs WHERE repo_id=? AND name=?", (repo.id, ref)).rowcount > 0
