"""Gated repositories: the gating mode of a repository and its users' access requests.

A repository is gated ``auto`` (a request is accepted as it is made) or ``manual`` (an owner accepts or
rejects each one), or not at all. An access request is one row per user and repository, pending, accepted
or rejected; an owner may also grant access to a user who never asked (``granted``). Who may do what is
decided by the routes (``server.auth``); this store keeps the rows.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace

from modelyard.server.storage.database import Database
from modelyard.server.storage.records import Repo
from modelyard.server.storage.sql import Row

GATED_MODES = ("auto", "manual")
REQUEST_STATUSES = ("pending", "accepted", "rejected")


@dataclass(frozen=True)
class AccessRequest:
    id: str
    user: str
    status: str  # "pending" | "accepted" | "rejected"
    granted: bool  # given by an owner without a request
    reason: str | None  # why it was rejected
    created_at: float
    updated_at: float


def _request(row: Row) -> AccessRequest:
    return AccessRequest(row["id"], row["user"], row["status"], bool(row["granted"]), row["reason"],
                         row["created_at"], row["updated_at"])


class Gating:
    def __init__(self, db: Database) -> None:
        self._db = db

    def set_mode(self, repo: Repo, mode: str | None) -> None:
        """Gate ``repo`` (``auto`` or ``manual``) or open it (None). Requests are kept: gating it again
        restores who had access."""
        if mode is not None and mode not in GATED_MODES:
            raise ValueError(f"Unknown gating mode {mode!r}; use one of {', '.join(GATED_MODES)} or None.")
        with self._db.transaction() as db:
            db.execute("UPDATE repos SET gated=? WHERE id=?", (mode, repo.id))

    def request(self, repo: Repo, user: str) -> str:
        """``user`` asks for access: the request's status afterwards (accepted at once under ``auto``; a rejected
        request stays rejected until an owner changes it)."""
        now = time.time()
        with self._db.transaction() as db:
            mode = db.execute("SELECT gated FROM repos WHERE id=?", (repo.id,)).fetchone()
            status = "accepted" if mode is not None and mode["gated"] == "auto" else "pending"
            row = db.execute('SELECT * FROM access_requests WHERE repo_id=? AND "user"=?', (repo.id, user)).fetchone()
            if row is not None and row["status"] in ("accepted", "rejected"):
                return str(row["status"])
            if row is None:
                db.execute('INSERT INTO access_requests(repo_id, "user", id, status, granted, reason, created_at, '
                           "updated_at) VALUES(?,?,?,?,0,NULL,?,?)", (repo.id, user, secrets.token_hex(12), status,
                                                                      now, now))
            elif status != row["status"]:
                db.execute('UPDATE access_requests SET status=?, updated_at=? WHERE repo_id=? AND "user"=?',
                           (status, now, repo.id, user))
            return status

    def get(self, repo: Repo, *, user: str | None = None, request_id: str | None = None) -> AccessRequest | None:
        """The request of ``user`` (case-insensitive), or the one with id ``request_id``."""
        where, value = ('"user"=?', user) if user is not None else ("id=?", request_id)
        row = self._db.conn().execute(f"SELECT * FROM access_requests WHERE repo_id=? AND {where}",
                                      (repo.id, value)).fetchone()
        return _request(row) if row else None

    def has_access(self, repo: Repo, user: str) -> bool:
        """Whether ``user``'s request to ``repo`` is accepted (owners need none: see ``server.auth``)."""
        row = self._db.conn().execute('SELECT status FROM access_requests WHERE repo_id=? AND "user"=?',
                                      (repo.id, user)).fetchone()
        return row is not None and row["status"] == "accepted"

    def listed(self, repo: Repo, status: str, *, offset: int = 0, limit: int = 100) -> list[AccessRequest]:
        """The requests of ``repo`` with ``status``, oldest first."""
        rows = self._db.conn().execute(
            "SELECT * FROM access_requests WHERE repo_id=? AND status=? ORDER BY created_at, id LIMIT ? OFFSET ?",
            (repo.id, status, limit, offset)).fetchall()
        return [_request(row) for row in rows]

    def handle(self, repo: Repo, request_id: str, status: str, *, reason: str | None = None) -> AccessRequest:
        """Move a request to ``status``; LookupError when there is none, ValueError when it already has it."""
        if status not in REQUEST_STATUSES:
            raise ValueError(f"Unknown request status {status!r}; use one of {', '.join(REQUEST_STATUSES)}.")
        now = time.time()
        with self._db.transaction() as db:
            row = db.execute("SELECT * FROM access_requests WHERE repo_id=? AND id=?", (repo.id, request_id)).fetchone()
            if row is None:
                raise LookupError(request_id)
            if row["status"] == status:
                raise ValueError(f"The access request of {row['user']!r} is already {status}.")
            db.execute("UPDATE access_requests SET status=?, reason=?, updated_at=? WHERE repo_id=? AND id=?",
                       (status, reason if status == "rejected" else None, now, repo.id, request_id))
            return replace(_request(row), status=status, reason=reason if status == "rejected" else None,
                           updated_at=now)

    def grant(self, repo: Repo, user: str) -> AccessRequest:
        """Give ``user`` access without a request of theirs; ValueError when they have it already."""
        now = time.time()
        with self._db.transaction() as db:
            row = db.execute('SELECT * FROM access_requests WHERE repo_id=? AND "user"=?', (repo.id, user)).fetchone()
            if row is not None and row["status"] == "accepted":
                raise ValueError(f"{row['user']!r} already has access to {repo.repo_id!r}.")
            if row is None:
                db.execute('INSERT INTO access_requests(repo_id, "user", id, status, granted, reason, created_at, '
                           "updated_at) VALUES(?,?,?,'accepted',1,NULL,?,?)", (repo.id, user, secrets.token_hex(12),
                                                                               now, now))
            else:
                db.execute("UPDATE access_requests SET status='accepted', granted=1, reason=NULL, updated_at=? "
                           'WHERE repo_id=? AND "user"=?', (now, repo.id, user))
            found = db.execute('SELECT * FROM access_requests WHERE repo_id=? AND "user"=?', (repo.id, user)).fetchone()
            if found is None:  # written just above, in this transaction
                raise LookupError(user)
            return _request(found)
