"""Download counts per repository and day (UTC), as the Hugging Face Hub counts them (one per model load)."""

from __future__ import annotations

import time

from modelyard.server.storage.database import Database, chunked, placeholders
from modelyard.server.storage.records import DOWNLOAD_WINDOW_DAYS, Repo


class Downloads:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, repo: Repo, when: float | None = None) -> None:
        day = int((time.time() if when is None else when) // 86400)
        with self._db.transaction() as db:
            db.execute("INSERT INTO downloads(repo_id, day, count) VALUES(?,?,1) "
                       "ON CONFLICT(repo_id, day) DO UPDATE SET count = downloads.count + 1", (repo.id, day))

    def counts(self, repo_ids: list[int], days: int = DOWNLOAD_WINDOW_DAYS) -> dict[int, int]:
        """Downloads of each repo over the last ``days`` days (today included); repos without any are left out."""
        since = int(time.time() // 86400) - days + 1
        out: dict[int, int] = {}
        for chunk in chunked(repo_ids):
            rows = self._db.conn().execute(
                f"SELECT repo_id, SUM(count) AS n FROM downloads WHERE day >= ? AND repo_id IN "
                f"({placeholders(chunk)}) GROUP BY repo_id", [since, *chunk])
            out.update((r["repo_id"], r["n"]) for r in rows)
        return out
