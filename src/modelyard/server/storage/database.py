"""One SQLite file, one connection per thread, and the write transaction every store uses."""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modelyard.server.storage.schema import SCHEMA


class Database:
    """The metadata database (WAL mode, ``synchronous=FULL``): thread-safe, created on first open."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.conn().executescript(SCHEMA)

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (rows as ``sqlite3.Row``; autocommit outside :meth:`transaction`)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.db_path, isolation_level=None, timeout=60)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=60000")
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE``: takes the write lock up front, so read-then-write sequences are race-free."""
        db = self.conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def secret(self) -> bytes:
        """The server's signing key for links and tokens (created on first use, kept in the database)."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key='signing_key'").fetchone()
            if row is None:
                value = secrets.token_hex(32)
                db.execute("INSERT INTO meta(key, value) VALUES('signing_key', ?)", (value,))
                return bytes.fromhex(value)
            return bytes.fromhex(row["value"])


def placeholders(values: list | tuple) -> str:
    """``?,?,?`` for an ``IN (...)`` of ``values`` (callers chunk lists to stay under SQLite's variable limit)."""
    return ",".join("?" * len(values))


def chunked(values: list, size: int = 500) -> Iterator[list]:
    """``values`` in slices of ``size``: one ``IN (...)`` query each."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
