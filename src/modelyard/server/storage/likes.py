"""Likes: a user's mark on a repository, counted on the repository and listed per user."""

from __future__ import annotations

import time

from modelyard.server.storage.database import Database, chunked, placeholders
from modelyard.server.storage.records import Repo, repo_from_row


class Likes:
    def __init__(self, db: Database) -> None:
        self._db = db

    def like(self, user: str, repo: Repo) -> None:
        """Idempotent: liking twice keeps the first like (and its date)."""
        with self._db.transaction() as db:
            db.execute('INSERT INTO likes("user", repo_id, created_at) VALUES(?,?,?) ON CONFLICT DO NOTHING',
                       (user, repo.id, time.time()))

    def unlike(self, user: str, repo: Repo) -> None:
        with self._db.transaction() as db:
            db.execute('DELETE FROM likes WHERE "user"=? AND repo_id=?', (user, repo.id))

    def counts(self, repo_ids: list[int]) -> dict[int, int]:
        """Likes of each repo; repos without any are left out."""
        out: dict[int, int] = {}
        for chunk in chunked(repo_ids):
            rows = self._db.conn().execute(
                f"SELECT repo_id, COUNT(*) AS n FROM likes WHERE repo_id IN ({placeholders(chunk)}) GROUP BY repo_id",
                chunk)
            out.update((r["repo_id"], r["n"]) for r in rows)
        return out

    def liked_by(self, user: str) -> list[tuple[Repo, float]]:
        """The repos ``user`` likes with the time of each like, newest first."""
        rows = self._db.conn().execute(
            'SELECT r.*, l.created_at AS liked_at FROM likes l JOIN repos r ON r.id = l.repo_id WHERE l."user"=? '
            "ORDER BY l.created_at DESC, r.id DESC", (user,)).fetchall()
        return [(repo_from_row(row), row["liked_at"]) for row in rows]

    def likers(self, repo: Repo) -> list[tuple[str, str]]:
        """(user, full name) of everyone who likes ``repo``, newest like first."""
        rows = self._db.conn().execute(
            'SELECT l."user", n.fullname FROM likes l LEFT JOIN namespaces n ON n.name = l."user" WHERE l.repo_id=? '
            "ORDER BY l.created_at DESC", (repo.id,)).fetchall()
        return [(r["user"], r["fullname"] or "") for r in rows]
