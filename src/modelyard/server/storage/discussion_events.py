"""What happens in a discussion or pull request, in order: comments (edited, hidden), status and title
changes, commits pushed to the pull request's ref, its merge.

Each event has a random 24-hex id (what clients address a comment by) and a sequence number in its
discussion; its details are JSON text. A comment keeps its earlier versions (``history``, newest first, at
most ``MAX_HISTORY``); hiding one forgets its text and history for good, as on the Hugging Face Hub.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from modelyard.server.storage.database import Database
from modelyard.server.storage.records import Repo
from modelyard.server.storage.sql import Connection, Row

MAX_HISTORY = 50


@dataclass(frozen=True)
class Event:
    id: str
    num: int
    seq: int
    kind: str  # "comment" | "status-change" | "title-change" | "commit"
    author: str
    created_at: float
    data: dict[str, Any]


def next_number(db: Connection, sql: str, args: tuple[int, ...]) -> int:
    """The ``n`` an aggregate query (``SELECT COALESCE(MAX(...), 0) + 1 AS n ...``) gives."""
    row = db.execute(sql, args).fetchone()
    return int(row["n"]) if row is not None else 1


def _event(row: Row) -> Event:
    return Event(row["id"], row["num"], row["seq"], row["kind"], row["author"], row["created_at"],
                 json.loads(row["data"]))


class DiscussionEvents:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def comment_data(text: str) -> dict[str, Any]:
        return {"raw": text, "hidden": False, "history": [], "editedAt": None, "editor": None}

    @staticmethod
    def append(db: Connection, repo_id: int, num: int, kind: str, author: str, now: float,
               data: dict[str, Any]) -> Event:
        """Add an event to discussion ``num`` inside the caller's transaction ``db``."""
        seq = next_number(db, "SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM discussion_events WHERE repo_id=? AND num=?",
                          (repo_id, num))
        event = Event(secrets.token_hex(12), num, seq, kind, author, now, data)
        db.execute("INSERT INTO discussion_events(repo_id, num, seq, id, kind, author, created_at, data) "
                   "VALUES(?,?,?,?,?,?,?,?)", (repo_id, num, event.seq, event.id, kind, author, now, json.dumps(data)))
        return event

    def of(self, repo: Repo, num: int) -> list[Event]:
        """The events of discussion ``num``, oldest first."""
        rows = self._db.conn().execute("SELECT * FROM discussion_events WHERE repo_id=? AND num=? ORDER BY seq",
                                       (repo.id, num)).fetchall()
        return [_event(row) for row in rows]

    def get(self, repo: Repo, num: int, event_id: str) -> Event | None:
        row = self._db.conn().execute("SELECT * FROM discussion_events WHERE repo_id=? AND num=? AND id=?",
                                      (repo.id, num, event_id)).fetchone()
        return _event(row) if row else None

    def add_comment(self, repo: Repo, num: int, author: str, text: str) -> Event:
        """A new comment on discussion ``num`` (LookupError when there is no such discussion)."""
        with self._db.transaction() as db:
            if not db.execute("SELECT 1 FROM discussions WHERE repo_id=? AND num=?", (repo.id, num)).fetchone():
                raise LookupError(num)
            return self.append(db, repo.id, num, "comment", author, time.time(), self.comment_data(text))

    def edit_comment(self, repo: Repo, num: int, event_id: str, editor: str, text: str) -> Event:
        """Replace a comment's text, keeping the previous one in its history. LookupError: no such comment;
        ValueError: it is hidden."""
        return self._update_comment(repo, num, event_id, editor, text)

    def hide_comment(self, repo: Repo, num: int, event_id: str, by: str) -> Event:
        """Hide a comment for good: its text and history are forgotten. LookupError: no such comment."""
        return self._update_comment(repo, num, event_id, by, None)

    def _update_comment(self, repo: Repo, num: int, event_id: str, by: str, text: str | None) -> Event:
        """``text``: the comment's new text; None hides it."""
        now = time.time()
        with self._db.transaction() as db:
            row = db.execute("SELECT * FROM discussion_events WHERE repo_id=? AND num=? AND id=? AND kind='comment'",
                             (repo.id, num, event_id)).fetchone()
            if row is None:
                raise LookupError(event_id)
            event = _event(row)
            data = event.data
            if text is None:
                data.update(raw="", history=[], hidden=True, hiddenBy=by, editedAt=data["editedAt"] or now)
            elif data["hidden"]:
                raise ValueError("This comment is hidden; it can no longer be edited.")
            else:
                previous = {"raw": data["raw"], "updatedAt": data["editedAt"] or event.created_at,
                            "editor": data["editor"] or event.author}
                data.update(raw=text, editedAt=now, editor=by, history=[previous, *data["history"]][:MAX_HISTORY])
            db.execute("UPDATE discussion_events SET data=? WHERE repo_id=? AND num=? AND id=?",
                       (json.dumps(data), repo.id, num, event_id))
            return event
