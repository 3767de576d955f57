"""The stores' SQL dialect, run on SQLite or PostgreSQL.

The stores write plain SQL that both engines understand (``?`` placeholders, ``INSERT ... ON CONFLICT``,
``RETURNING``). SQLAlchemy's engine makes and configures the driver connections (URL, dialect, pragmas,
autocommit mode) and runs the migrations; statements then go straight to the driver's cursor on one connection
per thread, as the hub did on SQLite before: SQLAlchemy's per-statement execution machinery cost 10x the
statement itself on SQLite (about 400 us against 30 us per lookup, measured), and a hub page runs dozens.
:class:`Connection` turns ``?`` into psycopg's ``%s`` on PostgreSQL and gives rows that read by column name
or position (``rows``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from modelyard.server.storage.rows import Result, Row, result_of

__all__ = ["Connection", "Result", "Row"]


@functools.lru_cache(maxsize=1024)
def _for_psycopg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled); the stores put no ``?`` in literals."""
    return sql.replace("%", "%%").replace("?", "%s")


class Connection:
    """A driver connection (sqlite3 or psycopg, in autocommit mode) speaking the stores' SQL."""

    def __init__(self, dbapi: Any, *, postgres: bool) -> None:
        self.dbapi = dbapi
        self.postgres = postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(_for_psycopg(sql) if self.postgres else sql, tuple(params))
            return result_of(cursor)
        finally:
            cursor.close()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Result:
        batch = [tuple(row) for row in rows]
        if not batch:
            return Result([], 0)
        cursor = self.dbapi.cursor()
        try:
            cursor.executemany(_for_psycopg(sql) if self.postgres else sql, batch)
            return result_of(cursor)
        finally:
            cursor.close()
