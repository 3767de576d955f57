"""Discussions and pull requests (a pull request is a discussion with a ``refs/pr/N`` branch)."""

from __future__ import annotations

import time

from modelyard.server.storage.database import Database
from modelyard.server.storage.records import BRANCH, PR, Repo
from modelyard.server.storage.sql import Connection, Row


class Discussions:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def insert(db: Connection, repo: Repo, title: str, description: str, author: str, *, is_pr: bool,
               base: str | None, now: float) -> int:
        """Add a discussion inside the caller's transaction ``db``; returns its number (the next free one)."""
        row = db.execute("SELECT COALESCE(MAX(num), 0) + 1 AS n FROM discussions WHERE repo_id=?",
                         (repo.id,)).one()
        num = int(row["n"])
        db.execute("INSERT INTO discussions(repo_id, num, title, description, is_pr, status, author, created_at, base)"
                   " VALUES(?,?,?,?,?,?,?,?,?)",
                   (repo.id, num, title, description, int(is_pr), "open", author, now, base))
        return num

    def create(self, repo: Repo, title: str, description: str, author: str, *, is_pr: bool,
               base: str = BRANCH + "main") -> int:
        """A discussion; a pull request also gets ``refs/pr/N`` pointing at the head of ``base``."""
        now = time.time()
        with self._db.transaction() as db:
            head = None
            if is_pr:
                row = db.execute("SELECT target FROM refs WHERE repo_id=? AND name=?", (repo.id, base)).fetchone()
                if row is None:
                    raise LookupError(base)
                head = row["target"]
            num = self.insert(db, repo, title, description, author, is_pr=is_pr, base=base if is_pr else None,
                              now=now)
            if head is not None:
                db.execute("INSERT INTO refs(repo_id, name, target) VALUES(?,?,?)", (repo.id, f"{PR}{num}", head))
        return num

    def all(self, repo: Repo) -> list[Row]:
        """The repo's discussions, newest first."""
        return self._db.conn().execute("SELECT * FROM discussions WHERE repo_id=? ORDER BY num DESC",
                                       (repo.id,)).fetchall()

    def get(self, repo: Repo, num: int) -> Row | None:
        return self._db.conn().execute("SELECT * FROM discussions WHERE repo_id=? AND num=?",
                                       (repo.id, num)).fetchone()
