"""Discussions and pull requests (a pull request is a discussion with a ``refs/pr/N`` branch): opening them,
listing them, and their title and status. What happens inside one is in ``discussion_events``."""

from __future__ import annotations

import time

from modelyard.server.storage.database import Database
from modelyard.server.storage.discussion_events import DiscussionEvents, Event, next_number
from modelyard.server.storage.records import BRANCH, PR, Repo
from modelyard.server.storage.sql import Connection, Row

STATUSES = ("open", "closed", "merged", "draft")


class Discussions:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.events = DiscussionEvents(db)

    @staticmethod
    def insert(db: Connection, repo: Repo, title: str, description: str, author: str, *, is_pr: bool,
               base: str | None, now: float, status: str = "open") -> int:
        """Add a discussion inside the caller's transaction ``db`` (its description is its first comment);
        returns its number (the next free one)."""
        num = next_number(db, "SELECT COALESCE(MAX(num), 0) + 1 AS n FROM discussions WHERE repo_id=?", (repo.id,))
        db.execute("INSERT INTO discussions(repo_id, num, title, description, is_pr, status, author, created_at, base)"
                   " VALUES(?,?,?,?,?,?,?,?,?)",
                   (repo.id, num, title, description, int(is_pr), status, author, now, base))
        DiscussionEvents.append(db, repo.id, num, "comment", author, now, DiscussionEvents.comment_data(description))
        return num

    def create(self, repo: Repo, title: str, description: str, author: str, *, is_pr: bool,
               base: str = BRANCH + "main", status: str = "open") -> int:
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
                              now=now, status=status)
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

    @staticmethod
    def record_commit(db: Connection, repo_id: int, ref: str, author: str, oid: str, subject: str,
                      now: float) -> None:
        """A commit landed on ``ref``: when that is a pull request's ref, it becomes an event of the pull request."""
        number = ref[len(PR):] if ref.startswith(PR) else ""
        if not (number.isascii() and number.isdigit() and len(number) <= 15):
            return
        num = int(number)
        if db.execute("SELECT 1 FROM discussions WHERE repo_id=? AND num=?", (repo_id, num)).fetchone():
            DiscussionEvents.append(db, repo_id, num, "commit", author, now, {"subject": subject, "oid": oid})

    def comment_counts(self, repo: Repo) -> dict[int, int]:
        """How many comments each discussion of ``repo`` has (its opening description included)."""
        rows = self._db.conn().execute("SELECT num, COUNT(*) AS n FROM discussion_events WHERE repo_id=? AND "
                                       "kind='comment' GROUP BY num", (repo.id,)).fetchall()
        return {int(row["num"]): int(row["n"]) for row in rows}

    def set_status(self, repo: Repo, num: int, status: str, author: str, *, comment: str = "") -> Event:
        """Close, reopen or publish (draft to open) a discussion; the event, after the comment if one is given.
        Raises LookupError when it does not exist, ValueError when the change is not allowed."""
        if status not in ("open", "closed"):
            raise ValueError(f"Unknown status {status!r}: a discussion can be set to 'open' or 'closed'.")
        now = time.time()
        with self._db.transaction() as db:
            row = self._row(db, repo, num)
            if row["status"] == "merged":
                raise ValueError(f"Pull request #{num} is merged; its status cannot change any more.")
            if row["status"] == status:
                raise ValueError(f"Discussion #{num} is already {status}.")
            db.execute("UPDATE discussions SET status=? WHERE repo_id=? AND num=?", (status, repo.id, num))
            if comment:
                DiscussionEvents.append(db, repo.id, num, "comment", author, now, DiscussionEvents.comment_data(comment))
            return DiscussionEvents.append(db, repo.id, num, "status-change", author, now, {"status": status})

    def rename(self, repo: Repo, num: int, title: str, author: str) -> Event:
        """Give a discussion a new title; the title-change event. LookupError when it does not exist."""
        now = time.time()
        with self._db.transaction() as db:
            row = self._row(db, repo, num)
            db.execute("UPDATE discussions SET title=? WHERE repo_id=? AND num=?", (title, repo.id, num))
            return DiscussionEvents.append(db, repo.id, num, "title-change", author, now,
                                           {"from": row["title"], "to": title})

    @staticmethod
    def _row(db: Connection, repo: Repo, num: int) -> Row:
        row = db.execute("SELECT * FROM discussions WHERE repo_id=? AND num=?", (repo.id, num)).fetchone()
        if row is None:
            raise LookupError(num)
        return row
