"""The stores' SQL dialect, run on SQLite or PostgreSQL through one SQLAlchemy 2 Core engine.

The stores write plain SQL that both engines understand (``?`` placeholders, ``INSERT ... ON CONFLICT``,
``RETURNING``); :class:`Connection` hands it to the driver of the engine in use, turning ``?`` into psycopg's
``%s`` on PostgreSQL, and gives rows that read by column name or position (as ``sqlite3.Row`` did), fetched
whole so a pooled connection goes back to the pool at once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy
from sqlalchemy import exc

# What a store catches when an INSERT or UPDATE breaks a uniqueness rule, whatever the engine.
IntegrityError = exc.IntegrityError


class Row:
    """One result row: ``row["column"]``, ``row[0]``, ``dict(row)``."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: tuple) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values))!r})"


class Result:
    """The rows of one statement (all fetched) and how many rows it changed."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Row | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Row]:
        return self.rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


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
        return _result(cursor)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Result:
        batch = [tuple(row) for row in rows]
        if not batch:
            return Result([], 0)
        cursor = self.raw.exec_driver_sql(_for_psycopg(sql) if self.postgres else sql, batch)
        return _result(cursor)


def _result(cursor: sqlalchemy.CursorResult) -> Result:
    rowcount = cursor.rowcount
    if not cursor.returns_rows:
        return Result([], rowcount)
    index = {key: i for i, key in enumerate(cursor.keys())}
    return Result([Row(index, tuple(values)) for values in cursor.fetchall()], rowcount)


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
