"""Access tokens (stored as their sha256 only) and the web sessions signed in with them."""

from __future__ import annotations

import secrets
import time

from modelyard.server.storage.accounts import Accounts
from modelyard.server.storage.database import Database
from modelyard.server.storage.records import Identity, Session, TokenInfo, hash_token


class Tokens:
    def __init__(self, db: Database, accounts: Accounts) -> None:
        self._db = db
        self._accounts = accounts

    def create(self, user: str, role: str = "write", name: str | None = None) -> str:
        """Mint a token for ``user``; only its sha256 is stored, so the returned value is shown once."""
        if role not in ("read", "write"):
            raise ValueError(f"Token role must be 'read' or 'write', got {role!r}.")
        canonical = self._accounts.canonical_namespace(user)
        if canonical is None or self._accounts.namespace_kind(canonical) != "user":
            raise ValueError(f"User {user!r} does not exist; create it with `modelyard hub user add {user}`.")
        token = "myd_" + secrets.token_urlsafe(30).replace("-", "A").replace("_", "b")
        with self._db.transaction() as db:
            db.execute('INSERT INTO tokens(hash, "user", role, name, created_at) VALUES(?,?,?,?,?)',
                       (hash_token(token), canonical, role, name or f"{canonical}-{role}", time.time()))
        return token

    def revoke(self, user: str, name: str | None = None) -> int:
        """Delete ``user``'s tokens called ``name`` (all of them without a name); returns how many."""
        with self._db.transaction() as db:
            if name is None:
                cur = db.execute('DELETE FROM tokens WHERE "user"=?', (user,))
            else:
                cur = db.execute('DELETE FROM tokens WHERE "user"=? AND name=?', (user, name))
            return cur.rowcount

    def revoke_id(self, user: str, token_id: int) -> bool:
        """Delete one of ``user``'s tokens by id (its web sessions end with it)."""
        with self._db.transaction() as db:
            row = db.execute('SELECT hash FROM tokens WHERE "user"=? AND id=?', (user, token_id)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM tokens WHERE id=?", (token_id,))
            db.execute("DELETE FROM web_sessions WHERE token_hash=?", (row["hash"],))
        return True

    def owned_by(self, user: str) -> list[TokenInfo]:
        rows = self._db.conn().execute(
            'SELECT id, name, role, created_at FROM tokens WHERE "user"=? ORDER BY created_at, id', (user,)).fetchall()
        return [TokenInfo(r["id"], r["name"], r["role"], r["created_at"]) for r in rows]

    def identity(self, token: str) -> Identity | None:
        """Who holds ``token``; None when it is not a valid token."""
        row = self._db.conn().execute(
            'SELECT t."user", t.role, t.name, n.fullname FROM tokens t LEFT JOIN namespaces n ON n.name = t."user" '
            "WHERE t.hash=?", (hash_token(token),)).fetchone()
        if row is None:
            return None
        return Identity(row["user"], self._accounts.user_orgs(row["user"]), row["role"], row["name"],
                        row["fullname"] or "")


class Sessions:
    def __init__(self, db: Database, accounts: Accounts) -> None:
        self._db = db
        self._accounts = accounts

    def create(self, token: str, ttl: float) -> str | None:
        """A new session for the holder of ``token`` (None when the token is not valid); returns the cookie
        value, stored only as its sha256."""
        token_hash = hash_token(token)
        value = secrets.token_urlsafe(32)
        now = time.time()
        with self._db.transaction() as db:
            if db.execute("SELECT 1 FROM tokens WHERE hash=?", (token_hash,)).fetchone() is None:
                return None
            db.execute("DELETE FROM web_sessions WHERE expires_at < ?", (now,))
            db.execute("INSERT INTO web_sessions(hash, token_hash, created_at, expires_at) VALUES(?,?,?,?)",
                       (hash_token(value), token_hash, now, now + ttl))
        return value

    def get(self, value: str) -> Session | None:
        """The live session behind a cookie value; None when unknown, expired, or its token was revoked."""
        row = self._db.conn().execute(
            'SELECT t.id, t."user", t.role, t.name, n.fullname, s.expires_at FROM web_sessions s '
            'JOIN tokens t ON t.hash = s.token_hash LEFT JOIN namespaces n ON n.name = t."user" '
            "WHERE s.hash=? AND s.expires_at >= ?", (hash_token(value), time.time())).fetchone()
        if row is None:
            return None
        identity = Identity(row["user"], self._accounts.user_orgs(row["user"]), row["role"], row["name"],
                            row["fullname"] or "")
        return Session(identity, row["id"], row["expires_at"])

    def delete(self, value: str) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM web_sessions WHERE hash=?", (hash_token(value),))
