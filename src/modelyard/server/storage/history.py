"""Rewriting history: squashing a ref to one commit, and removing LFS objects from every commit of a repo.

Both are one write transaction. Old commits stay in the database (other refs, pull requests and pinned
downloads may still name them); only refs move. Removing LFS objects also drops the repo's links to them, so
garbage collection reclaims their bytes once no other repository uses them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from modelyard.server.gitobjects import FileEntry
from modelyard.server.storage.commits import Commits
from modelyard.server.storage.database import Database, chunked, placeholders
from modelyard.server.storage.records import BRANCH, NewCommit, Repo
from modelyard.server.storage.sql import Connection


@dataclass(frozen=True)
class LfsObject:
    """An LFS object a repo's history holds: where it was first seen (path, commit date, ref)."""

    sha256: str
    size: int
    path: str
    pushed_at: float
    ref: str | None


class History:
    def __init__(self, db: Database, commits: Commits) -> None:
        self._db = db
        self._commits = commits

    def squash(self, repo: Repo, ref: str, *, author: str, title: str) -> str | None:
        """Point ``ref`` at one new parentless commit holding its head's files; None if there is no such ref."""
        with self._db.transaction() as db:
            row = db.execute("SELECT target FROM refs WHERE repo_id=? AND name=?", (repo.id, ref)).fetchone()
            if row is None:
                return None
            manifest = self._commits.manifest_of(row["target"], repo=repo, db=db)
            oid = self._commits.write(db, repo.id, None, NewCommit(dict(manifest), author, title, ""), time.time())
            db.execute("UPDATE refs SET target=? WHERE repo_id=? AND name=?", (oid, repo.id, ref))
        return oid

    def _chain(self, db: Connection, repo: Repo, head: str) -> list[str]:
        """Commit ids from the root to ``head`` (first parents)."""
        chain: list[str] = []
        oid: str | None = head
        while oid:
            row = db.execute("SELECT parent FROM commits WHERE repo_id=? AND oid=?", (repo.id, oid)).fetchone()
            if row is None:
                break
            chain.append(oid)
            oid = row["parent"]
        return chain[::-1]

    def lfs_objects(self, repo: Repo) -> list[LfsObject]:
        """Every LFS object in the history of the repo's refs, once each; ``main`` is looked at first, so an
        object on main reports main as its ref."""
        db = self._db.conn()
        refs = db.execute("SELECT name, target FROM refs WHERE repo_id=?", (repo.id,)).fetchall()
        refs.sort(key=lambda r: (r["name"] != BRANCH + "main", r["name"]))
        found: dict[str, LfsObject] = {}
        for ref in refs:
            for oid in self._chain(db, repo, ref["target"]):
                commit = self._commits.get(repo, oid, db)
                if commit is None:
                    continue
                for path, entry in self._commits.manifest_of(oid, repo=repo, db=db).items():
                    if entry.lfs and entry.sha256 not in found:
                        name = ref["name"]
                        found[entry.sha256] = LfsObject(entry.sha256, entry.size, path, commit.date,
                                                        name[len(BRANCH):] if name.startswith(BRANCH) else name)
        return sorted(found.values(), key=lambda o: (o.pushed_at, o.path))

    def remove_lfs_objects(self, repo: Repo, sha256s: set[str], *, rewrite_history: bool) -> None:
        """Unlink the LFS objects ``sha256s`` from the repo; with ``rewrite_history``, every ref's history is
        rewritten without the files holding them (same authors, messages and dates, new commit ids)."""
        with self._db.transaction() as db:
            if rewrite_history:
                rewritten: dict[str, str] = {}
                for ref in db.execute("SELECT name, target FROM refs WHERE repo_id=?", (repo.id,)).fetchall():
                    head = self._rewrite(db, repo, ref["target"], sha256s, rewritten)
                    if head != ref["target"]:
                        db.execute("UPDATE refs SET target=? WHERE repo_id=? AND name=?", (head, repo.id, ref["name"]))
                db.execute("UPDATE repos SET last_modified=? WHERE id=?", (time.time(), repo.id))
            for chunk in chunked(sorted(sha256s)):
                db.execute(f"DELETE FROM repo_blobs WHERE repo_id=? AND sha256 IN ({placeholders(chunk)})",
                           [repo.id, *chunk])
                db.execute(f"DELETE FROM xet_file_repos WHERE repo_id=? AND file IN (SELECT hash FROM xet_files "
                           f"WHERE sha256 IN ({placeholders(chunk)}))", [repo.id, *chunk])

    def _rewrite(self, db: Connection, repo: Repo, head: str, sha256s: set[str], rewritten: dict[str, str]) -> str:
        parent: str | None = None
        for oid in self._chain(db, repo, head):
            if oid in rewritten:
                parent = rewritten[oid]
                continue
            commit = self._commits.get(repo, oid, db)
            if commit is None:  # a broken chain: keep what follows as it is
                return head
            manifest = self._commits.manifest_of(oid, repo=repo, db=db)
            kept: dict[str, FileEntry] = {p: e for p, e in manifest.items() if not (e.lfs and e.sha256 in sha256s)}
            if len(kept) == len(manifest) and parent == commit.parent:
                rewritten[oid] = oid  # untouched so far: the commit stays as it is
            else:
                new = NewCommit(kept, commit.author, commit.title, commit.message)
                rewritten[oid] = self._commits.write(db, repo.id, parent, new, commit.date)
            parent = rewritten[oid]
        return parent or head
