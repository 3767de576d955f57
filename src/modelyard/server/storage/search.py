"""Finding repositories: visibility, author and search terms, sorted by date, downloads or id."""

from __future__ import annotations

import time

from modelyard.server.storage.database import Database, placeholders
from modelyard.server.storage.records import DOWNLOAD_WINDOW_DAYS, Repo, repo_from_row

NO_LIMIT = 2**62  # LIMIT of an unbounded page: SQLite's -1 means none, PostgreSQL refuses it

# Sort keys of repository searches; None keeps the repo-id order (the keys this hub does not track).
SORT_KEYS: dict[str, str | None] = {"lastModified": "last_modified", "createdAt": "created_at",
                                    "downloads": "COALESCE(d.n, 0)", "id": None, "likes": "COALESCE(lk.n, 0)"}


class RepoSearch:
    def __init__(self, db: Database) -> None:
        self._db = db

    def page(self, repo_type: str, *, visible_to: list[str], author: str | None = None,
               terms: list[str] | tuple[str, ...] = (), sort: str | None = "lastModified",
               descending: bool | None = None, offset: int = 0, limit: int = 30) -> tuple[list[Repo], int]:
        """A page of :meth:`matching` (web listings) and how many repos match in all."""
        condition, args = _condition(repo_type, visible_to, author, terms)
        total = self._db.conn().execute(f"SELECT COUNT(*) AS n FROM repos WHERE {condition}", args).fetchone()["n"]
        page = self.matching(repo_type, visible_to=visible_to, author=author, terms=terms, sort=sort,
                             descending=descending, offset=offset, limit=limit)
        return page, total

    def matching(self, repo_type: str, *, visible_to: list[str], author: str | None = None,
                 terms: list[str] | tuple[str, ...] = (), sort: str | None = "lastModified",
                 descending: bool | None = None, offset: int = 0, limit: int | None = None) -> list[Repo]:
        """The repos of ``repo_type`` that are public or in a namespace of ``visible_to``, of namespace ``author``
        if given, whose id contains every term (case-insensitive), in order.

        ``sort``: a key of ``SORT_KEYS`` (``downloads`` counts the last 30 days, ``likes`` all likes), or None for
        the repo-id order;
        ``descending`` defaults to newest / most first, and ascending for the id order.
        """
        if sort is not None and sort not in SORT_KEYS:
            raise ValueError(f"Unknown sort {sort!r}; use one of {', '.join(SORT_KEYS)}.")
        key = SORT_KEYS[sort] if sort else None
        if descending is None:
            descending = key is not None
        way = "DESC" if descending else "ASC"
        order = f"{key} {way}, " if key else ""
        if sort in ("downloads", "likes"):
            order += f"last_modified {way}, "
        id_way = way if sort == "id" else "ASC"
        condition, args = _condition(repo_type, visible_to, author, terms)
        since = int(time.time() // 86400) - DOWNLOAD_WINDOW_DAYS + 1
        rows = self._db.conn().execute(
            "SELECT repos.* FROM repos LEFT JOIN (SELECT repo_id, SUM(count) AS n FROM downloads WHERE day >= ? "
            "GROUP BY repo_id) d ON d.repo_id = repos.id "
            "LEFT JOIN (SELECT repo_id, COUNT(*) AS n FROM likes GROUP BY repo_id) lk ON lk.repo_id = repos.id "
            f"WHERE {condition} "
            f"ORDER BY {order}lower(namespace) {id_way}, lower(name) {id_way} LIMIT ? OFFSET ?",
            [since, *args, NO_LIMIT if limit is None else limit, offset]).fetchall()
        return [repo_from_row(row) for row in rows]


def _condition(repo_type: str, visible_to: list[str], author: str | None,
               terms: list[str] | tuple[str, ...]) -> tuple[str, list]:
    where, args = ["type=?"], [repo_type]
    where.append(f"(private=0 OR namespace IN ({placeholders(visible_to) or 'NULL'}))")
    args += visible_to
    if author:
        where.append("namespace=?")
        args.append(author)
    for term in terms:
        where.append("lower(namespace || '/' || name) LIKE ? ESCAPE '!'")
        args.append("%" + term.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%")
    return " AND ".join(where), args
