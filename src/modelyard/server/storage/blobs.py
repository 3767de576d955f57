"""What the database knows of stored blobs: which repos may use them, their scan verdicts and content kinds.

The bytes live in the blob store (``modelyard.server.blobstore``); a repo may reference an LFS object in a
commit only once it is linked to it (uploaded there, or copied by someone who could read it). The links are
read and written by the content gateway's LFS backend (``modelyard.server.content.lfs``) only.
"""

from __future__ import annotations

import json

from modelyard.server.storage.database import Database, chunked, placeholders
from modelyard.server.storage.records import Repo


class BlobRecords:
    def __init__(self, db: Database) -> None:
        self._db = db

    def link(self, repo: Repo, sha256: str) -> None:
        with self._db.transaction() as db:
            db.execute("INSERT INTO repo_blobs(repo_id, sha256) VALUES(?,?) ON CONFLICT DO NOTHING", (repo.id, sha256))

    def is_linked(self, repo: Repo, sha256: str) -> bool:
        return self._db.conn().execute("SELECT 1 FROM repo_blobs WHERE repo_id=? AND sha256=?",
                                       (repo.id, sha256)).fetchone() is not None

    # -- malware scans ------------------------------------------------------------------------------------
    def scan(self, sha256: str, kind: str) -> dict | None:
        """The stored verdict of scanner ``kind`` on a blob: ``{"status": ..., **details}``; None if not scanned."""
        row = self._db.conn().execute("SELECT status, details FROM scans WHERE sha256=? AND kind=?",
                                      (sha256, kind)).fetchone()
        return {"status": row["status"], **json.loads(row["details"])} if row else None

    def put_scan(self, sha256: str, kind: str, status: str, details: dict) -> None:
        with self._db.transaction() as db:
            db.execute("INSERT INTO scans(sha256, kind, status, details) VALUES(?,?,?,?) ON CONFLICT(sha256, kind) "
                       "DO UPDATE SET status=excluded.status, details=excluded.details",
                       (sha256, kind, status, json.dumps(details)))

    def delete_scan(self, sha256: str, kind: str) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM scans WHERE sha256=? AND kind=?", (sha256, kind))

    # -- content kinds (what the scanner sniffed a blob to be, whatever its file name) ----------------------
    def put_content_kinds(self, kinds: dict[str, str]) -> None:
        """Record sniffed content kinds, all in one transaction."""
        if kinds:
            with self._db.transaction() as db:
                db.executemany("INSERT INTO content_kinds(sha256, scan_ext) VALUES(?,?) "
                               "ON CONFLICT(sha256) DO UPDATE SET scan_ext=excluded.scan_ext", kinds.items())

    def content_kinds(self, sha256s: list[str]) -> dict[str, str]:
        """The picklescan extension recorded for each blob's content ("" = holds no pickles); unsniffed: absent."""
        out: dict[str, str] = {}
        for chunk in chunked(sha256s):
            rows = self._db.conn().execute(
                f"SELECT sha256, scan_ext FROM content_kinds WHERE sha256 IN ({placeholders(chunk)})", chunk)
            out.update((r["sha256"], r["scan_ext"]) for r in rows)
        return out
