"""What a statement gives back: rows that read by column name or position (as ``sqlite3.Row`` did), fetched
whole, and how many rows it changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


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

    def one(self) -> Row:
        """The first row of a statement that always returns one (an aggregate, a row just written)."""
        if not self.rows:
            raise LookupError("The statement returned no row, but one was expected.")
        return self.rows[0]

    def fetchall(self) -> list[Row]:
        return self.rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


def result_of(cursor: Any) -> Result:
    """The rows of a DBAPI cursor that just executed a statement (sqlite3 or psycopg), all fetched."""
    rowcount = cursor.rowcount
    if cursor.description is None:
        return Result([], rowcount)
    index = {column[0]: i for i, column in enumerate(cursor.description)}
    return Result([Row(index, tuple(values)) for values in cursor.fetchall()], rowcount)
