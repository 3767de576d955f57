"""Commits: writing one atomically on top of a branch (or into a new pull request), and reading history.

A commit is one write transaction that reads the branch head, writes the tree and commit rows and moves the
ref with a compare-and-swap (``UPDATE ... WHERE target = <the head it built on>``). Writers are serialized
(SQLite's write lock, PostgreSQL's advisory lock: see ``database``), and the swap makes that a checked
invariant rather than an assumption: a ref that moved under the commit fails the swap, the transaction rolls
back and the commit is built again on the new head (where ``build`` refuses it if the client named a stale
parent). So concurrent commits, through one replica or several, never lose one, and a killed server leaves
either the whole commit or nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from modelyard.server.gitobjects import FileEntry, commit_oid
from modelyard.server.storage.changed_paths import record_changed_paths
from modelyard.server.storage.database import Database, chunked, placeholders
from modelyard.server.storage.discussions import Discussions
from modelyard.server.storage.records import PR, Commit, NewCommit, Repo, commit_from_row
from modelyard.server.storage.sql import Connection
from modelyard.server.storage.trees import Trees

logger = logging.getLogger(__name__)
_SWAP_ATTEMPTS = 20


class _RefMoved(Exception):
    """The compare-and-swap of a ref found another target than the head the commit was built on."""


class Commits:
    def __init__(self, db: Database, trees: Trees, discussions: Discussions) -> None:
        self._db = db
        self._trees = trees
        self._discussions = discussions

    def write(self, db: Connection, repo_id: int, parent: str | None, new: NewCommit, now: float) -> str:
        """Store the commit ``new`` on top of ``parent`` inside the caller's transaction ``db`` (no ref moves);
        returns its id."""
        tree = self._trees.put(db, new.manifest)
        message = new.title if not new.message else f"{new.title}\n\n{new.message}"
        ts = int(now)
        oid = commit_oid(tree, [parent] if parent else [], new.author, ts, message)
        # Same tree, parent, author, second and message would give the same id: bump the time like git.
        while db.execute("SELECT 1 FROM commits WHERE repo_id=? AND oid=?", (repo_id, oid)).fetchone():
            ts += 1
            oid = commit_oid(tree, [parent] if parent else [], new.author, ts, message)
        db.execute("INSERT INTO commits(repo_id, oid, tree, parent, author, title, message, date) "
                   "VALUES(?,?,?,?,?,?,?,?)", (repo_id, oid, tree, parent, new.author, new.title, new.message, now))
        db.executemany("INSERT INTO repo_blobs(repo_id, sha256) VALUES(?,?) ON CONFLICT DO NOTHING",
                       [(repo_id, sha) for sha in new.lfs_blobs])
        db.execute("UPDATE repos SET last_modified=? WHERE id=?", (now, repo_id))
        record_changed_paths(db, self._trees, repo_id, oid, parent, new.manifest)
        return oid

    def commit(self, repo: Repo, ref: str, build: Callable[[str, dict[str, FileEntry]], NewCommit], *,
               create_pr: bool = False,
               pr_title: str = "", pr_description: str = "", pr_author: str = "") -> tuple[str, int | None]:
        """Apply ``build(head_oid, head_manifest) -> NewCommit`` atomically on top of ``ref``'s head.

        ``build`` runs inside the write transaction, so it sees the latest head and may raise to abort
        (stale parent, missing file...). With ``create_pr`` the new commit goes to a fresh ``refs/pr/N``
        instead of moving ``ref``. Returns (commit id, pull request number or None).
        """
        for _attempt in range(_SWAP_ATTEMPTS):
            now = time.time()
            try:
                with self._db.transaction() as db:
                    row = db.execute("SELECT target FROM refs WHERE repo_id=? AND name=?", (repo.id, ref)).fetchone()
                    if row is None:
                        raise LookupError(ref)
                    head = row["target"]
                    new = build(head, self.manifest_of(head, repo=repo, db=db))
                    oid = self.write(db, repo.id, head, new, now)
                    num = None
                    if create_pr:
                        num = self._discussions.insert(db, repo, pr_title or new.title, pr_description, pr_author,
                                                       is_pr=True, base=ref, now=now)
                        db.execute("INSERT INTO refs(repo_id, name, target) VALUES(?,?,?)",
                                   (repo.id, f"{PR}{num}", oid))
                    elif db.execute("UPDATE refs SET target=? WHERE repo_id=? AND name=? AND target=?",
                                    (oid, repo.id, ref, head)).rowcount != 1:
                        raise _RefMoved(ref)
                    # a pull request's thread shows the commits pushed to its ref
                    Discussions.record_commit(db, repo.id, f"{PR}{num}" if num is not None else ref,
                                                   new.author, oid, new.title, now)
                return oid, num
            except _RefMoved:
                logger.warning("ref %s of %s moved during a commit; building it again on the new head",
                               ref, repo.repo_id)
        raise RuntimeError(f"ref {ref} of {repo.repo_id} kept moving during {_SWAP_ATTEMPTS} commit attempts")

    def get(self, repo: Repo, oid: str, db: Connection | None = None) -> Commit | None:
        row = (db or self._db.conn()).execute("SELECT * FROM commits WHERE repo_id=? AND oid=?",
                                              (repo.id, oid)).fetchone()
        return commit_from_row(row) if row else None

    def by_ids(self, repo: Repo, oids: list[str]) -> dict[str, Commit]:
        """The commits of ``repo`` among ``oids``, by id (unknown ids are left out)."""
        out: dict[str, Commit] = {}
        for chunk in chunked(oids):
            rows = self._db.conn().execute(
                f"SELECT * FROM commits WHERE repo_id=? AND oid IN ({placeholders(chunk)})", [repo.id, *chunk])
            out.update((row["oid"], commit_from_row(row)) for row in rows)
        return out

    def manifest_of(self, commit: str, *, repo: Repo, db: Connection | None = None) -> dict[str, FileEntry]:
        """The manifest of commit ``commit`` of ``repo`` (cached, immutable: do not mutate)."""
        found = self.get(repo, commit, db)
        if found is None:
            raise LookupError(f"commit {commit} is missing from the database")
        return self._trees.manifest(found.tree, db)

    def history(self, repo: Repo, head: str, *, offset: int = 0, limit: int = 50) -> list[Commit]:
        """First-parent history from ``head``, newest first."""
        out: list[Commit] = []
        oid: str | None = head
        index = 0
        while oid and len(out) < limit:
            commit = self.get(repo, oid)
            if commit is None:
                break
            if index >= offset:
                out.append(commit)
            index += 1
            oid = commit.parent
        return out
