"""The stores' SQL dialect, run on SQLite or PostgreSQL through one SQLAlchemy 2 Core engine.

The stores write plain SQL that both engines understand (``?`` placeholders, ``INSERT ... ON CONFLICT``,
``RETURNING``); :class:`Connection` hands it to the driver of the engine in use, turning ``?`` into psycopg's
``%s`` on PostgreSQL, and gives rows that read by column name or position (as ``sqlite3.Row`` did), fetched
whole so a pooled connection goes back to the pool at once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy
from sqlalchemy import exc

from modelyard.server.storage.rows import Result, Row, result_of

__all__ = ["AutocommitReader", "Connection", "IntegrityError", "Result", "Row"]

# What a store catches when an INSERT or UPDATE breaks a uniqueness rule, whatever the engine.
IntegrityError = exc.IntegrityError


@functools.lru_cache(maxsize=1024)
def _for_psycopg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled); the stores put no ``?`` in literals."""
    return sql.replace("%", "%%").replace("?", "%s")


class Connection:
    """A driver connection of the engine, speaking the stores' SQL (see the module docstring)."""

    def __init__(self, raw: sqlalchemy.Connection) -> None:
        self.raw = raw
        self.postgres = raw.dialect.name == "postgresql"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        cursor = self.raw.exec_driver_sql(_for_psycopg(sql) if self.postgres else sql, tuple(params))
        return result_of(cursor)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Result:
        batch = [tuple(row) for row in rows]
        if not batch:
            return Result([], 0)
        cursor = self.raw.exec_driver_sql(_for_psycopg(sql) if self.postgres else sql, batch)
        return result_of(cursor)


class AutocommitReader:
    """``Database.conn()``: each statement on a pooled connection of its own, outside any transaction."""

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        self._engine = engine

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        with self._engine.connect() as raw:
            return Connection(raw).execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Result:
        with self._engine.connect() as raw:
            return Connection(raw).executemany(sql, rows)
