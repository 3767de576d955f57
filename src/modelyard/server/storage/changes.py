"""Which commit last changed each path: first-parent chains and the paths every commit changed.

Tree listings and web pages show, next to each file and folder, the newest commit of the branch's
first-parent history that changed it. Walking history per request is linear in its length, so every commit
records the paths it changed (``commit_paths``, see ``changed_paths``) when it is written, and first-parent
chains (immutable once written) are cached per head.
"""

from __future__ import annotations

import logging

from modelyard.server.lru import LRUCache
from modelyard.server.storage.changed_paths import record_changed_paths
from modelyard.server.storage.commits import Commits
from modelyard.server.storage.database import Database, chunked, placeholders
from modelyard.server.storage.records import Commit, Repo
from modelyard.server.storage.trees import Trees

logger = logging.getLogger(__name__)

_CACHED_CHAINS = 32
_WALK_TO_CACHED = 64  # a new head usually sits a few commits above a cached chain


class ChangeIndex:
    def __init__(self, db: Database, trees: Trees, commits: Commits) -> None:
        self._db = db
        self._trees = trees
        self._commits = commits
        self._chains: LRUCache[tuple[int, str], list[str]] = LRUCache(_CACHED_CHAINS)
        self._indexed_repos: set[int] = set()

    def ensure_indexed(self, repo: Repo) -> int:
        """Index the changed paths of ``repo``'s commits written before the index existed; returns how many.

        New commits are indexed as they are written, so this does real work once per repo of an older database.
        """
        if repo.id in self._indexed_repos:
            return 0
        db = self._db.conn()
        # Oldest first: each commit's parent manifest is then the one just read (the manifest cache keeps it).
        missing = db.execute(
            "SELECT oid, parent, tree FROM commits c WHERE repo_id=? AND NOT EXISTS "
            "(SELECT 1 FROM commit_paths x WHERE x.repo_id=c.repo_id AND x.path='' AND x.oid=c.oid) ORDER BY date",
            (repo.id,)).fetchall()
        if missing:
            logger.info("indexing the changed paths of %d commits of %s (once, for the web pages)", len(missing),
                        repo.repo_id)
        for batch in chunked(missing, 200):
            with self._db.transaction() as tx:
                for row in batch:
                    record_changed_paths(tx, self._trees, repo.id, row["oid"], row["parent"],
                                         self._trees.manifest(row["tree"], tx))
        self._indexed_repos.add(repo.id)
        return len(missing)

    def first_parent_chain(self, repo: Repo, head: str) -> list[str]:
        """Commit ids from ``head`` back to the repo's first commit along first parents (immutable, cached)."""
        key = (repo.id, head)
        cached = self._chains.get(key)
        if cached is not None:
            return cached
        prefix: list[str] = []
        oid: str | None = head
        base: list[str] | None = None
        for _ in range(_WALK_TO_CACHED):
            if oid is None:
                base = []
                break
            base = self._chains.get((repo.id, oid))
            if base is not None:
                break
            prefix.append(oid)
            row = self._db.conn().execute("SELECT parent FROM commits WHERE repo_id=? AND oid=?",
                                          (repo.id, oid)).fetchone()
            if row is None:
                base = []
                break
            oid = row["parent"]
        if base is None:
            rows = self._db.conn().execute(
                "WITH RECURSIVE chain(oid, parent, depth) AS ("
                " SELECT oid, parent, 0 FROM commits WHERE repo_id=? AND oid=?"
                " UNION ALL SELECT c.oid, c.parent, chain.depth + 1 FROM commits c JOIN chain"
                " ON c.repo_id=? AND c.oid=chain.parent)"
                " SELECT oid FROM chain ORDER BY depth", (repo.id, oid, repo.id)).fetchall()
            base = [r["oid"] for r in rows]
        chain = prefix + base
        self._chains.put(key, chain)
        return chain

    def last_changes(self, repo: Repo, head: str, paths: list[str]) -> dict[str, Commit]:
        """For each path (file or folder) of ``head``'s tree, the newest commit of its first-parent history that
        changed it."""
        self.ensure_indexed(repo)
        position = {oid: i for i, oid in enumerate(self.first_parent_chain(repo, head))}
        best: dict[str, tuple[int, str]] = {}
        for chunk in chunked(paths):
            rows = self._db.conn().execute(
                f"SELECT path, oid FROM commit_paths WHERE repo_id=? AND path IN ({placeholders(chunk)})",
                [repo.id, *chunk])
            for row in rows:
                at = position.get(row["oid"])
                if at is not None and (row["path"] not in best or at < best[row["path"]][0]):
                    best[row["path"]] = (at, row["oid"])
        commits = self._commits.by_ids(repo, sorted({oid for _, oid in best.values()}))
        return {path: commits[oid] for path, (_, oid) in best.items() if oid in commits}

    def commits_touching(self, repo: Repo, path: str) -> set[str]:
        """Ids of the commits (of any branch) that changed ``path``, a file or a folder."""
        self.ensure_indexed(repo)
        rows = self._db.conn().execute("SELECT oid FROM commit_paths WHERE repo_id=? AND path=?", (repo.id, path))
        return {r["oid"] for r in rows}
