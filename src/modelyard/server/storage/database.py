"""The metadata database: SQLite (the embedded default) or PostgreSQL, and the write transaction every store uses.

``Database(target)`` takes a SQLite file path or a database URL (``sqlite:///...``,
``postgresql://user:pass@host:port/db``; ``MODELYARD_HUB_DATABASE_URL`` names it for the server). Writes go
through :meth:`Database.transaction`, which serializes writers the same way on both engines: SQLite's
``BEGIN IMMEDIATE`` takes its single write lock, PostgreSQL takes one transaction-scoped advisory lock, so a
read-then-write sequence inside a transaction is race-free across every replica of the hub.
"""

from __future__ import annotations

import logging
import secrets
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event

from modelyard.server.storage.schema import MIGRATIONS, SchemaError, check_schema, upgrade_schema
from modelyard.server.storage.sql import Connection

logger = logging.getLogger(__name__)

# The key of PostgreSQL's advisory lock that writers hold (any constant; "modelyard" in ASCII, folded to 63 bits).
WRITE_LOCK_KEY = 0x6D6F64656C79617264 & 0x7FFFFFFFFFFFFFFF

__all__ = ["MIGRATIONS", "Database", "SchemaError", "chunked", "database_url", "placeholders"]


def database_url(target: str | Path) -> str:
    """The SQLAlchemy URL of ``target``: a URL as it is (``postgresql://`` means psycopg 3), a path as SQLite."""
    text = str(target)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


class Database:
    """The metadata database (thread-safe; see the module docstring).

    ``migrate``: bring the schema up to date on open (the SQLite default: an embedded hub needs no separate
    step); otherwise the schema must already be at this version's head (``modelyard hub migrate``), and a
    database whose revision this version does not know is refused either way.
    """

    def __init__(self, target: str | Path, *, migrate: bool | None = None) -> None:
        self.url = database_url(target)
        self.engine = _engine(self.url)
        self.postgres = self.engine.dialect.name == "postgresql"
        self.db_path = Path(self.engine.url.database or "") if not self.postgres else None
        self._local = threading.local()
        if self.db_path is not None:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
        if migrate is None:
            migrate = not self.postgres
        if migrate:
            upgrade_schema(self.engine)
        check_schema(self.engine)

    def conn(self) -> Connection:
        """This thread's connection (autocommit outside :meth:`transaction`, the transaction inside it).

        A PostgreSQL connection found closed (the server restarted, a proxy dropped it) is replaced."""
        db: Connection | None = getattr(self._local, "db", None)
        if db is None or (self.postgres and db.dbapi.closed and not getattr(self._local, "in_tx", False)):
            # Made and configured by the engine, then owned by this thread (not the pool): closed when the
            # thread ends, as a server's worker threads come and go.
            fairy = self.engine.raw_connection()
            dbapi = fairy.driver_connection
            fairy.detach()
            weakref.finalize(threading.current_thread(), dbapi.close)  # type: ignore[union-attr]  # a pooled connection's driver
            db = self._local.db = Connection(dbapi, postgres=self.postgres)
        return db

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, serialized with every other writer (see the module docstring)."""
        if getattr(self._local, "in_tx", False):
            raise RuntimeError("a hub store opened a transaction inside another one on the same thread")
        db = self.conn()
        db.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        self._local.in_tx = True
        try:
            if self.postgres:
                db.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK_KEY,))
            yield db
        except BaseException:
            self._end(db, "ROLLBACK")
            raise
        self._end(db, "COMMIT")

    def _end(self, db: Connection, statement: str) -> None:
        self._local.in_tx = False
        try:
            db.execute(statement)
        except Exception:
            if statement == "COMMIT":
                raise
            logger.warning("could not roll back a hub transaction (the connection is gone?)", exc_info=True)

    def ping(self) -> None:
        """Raise unless the database answers a query (for health checks)."""
        self.conn().execute("SELECT 1")

    def close(self) -> None:
        """Close this thread's connection and the engine's (a new statement opens them again)."""
        db: Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.dbapi.close()
            self._local.db = None
        self.engine.dispose()

    def secret(self) -> bytes:
        """The server's signing key for links and tokens (created on first use, kept in the database): every
        replica of the hub signs with the same key."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key='signing_key'").fetchone()
            if row is None:
                value = secrets.token_hex(32)
                db.execute("INSERT INTO meta(key, value) VALUES('signing_key', ?)", (value,))
                return bytes.fromhex(value)
            return bytes.fromhex(row["value"])


def _engine(url: str) -> sqlalchemy.Engine:
    # AUTOCOMMIT: the driver opens no transaction of its own; Database.transaction says BEGIN and COMMIT itself
    # (SQLite needs BEGIN IMMEDIATE, which pysqlite's implicit transactions cannot say).
    if url.startswith("sqlite"):
        engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT", pool_size=8, max_overflow=-1,
                                          connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:  # the driver's connection
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        return engine
    # One connection per server thread (uvicorn's pool of 40 by default): no overflow limit to wait on.
    return sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT", pool_size=8, max_overflow=-1)


def placeholders(values: list | tuple) -> str:
    """``?,?,?`` for an ``IN (...)`` of ``values`` (callers chunk lists to stay under SQLite's variable limit)."""
    return ",".join("?" * len(values))


def chunked(values: list, size: int = 500) -> Iterator[list]:
    """``values`` in slices of ``size``: one ``IN (...)`` query each."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
