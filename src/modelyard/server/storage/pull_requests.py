"""Pull requests against their target branch: the commits they add, what they change, conflicts, merging.

A pull request's changes are measured from its merge base (the newest commit of its ref that the target
branch also has, on the first-parent chains), as ``git diff base...pr`` does. Merging applies those
changes onto the target branch's head as one new commit (a squash merge, titled ``<title> (#N)``, as the
Hugging Face Hub titles them); a path that the target branch also changed since the merge base, to
something else, is a conflict and stops the merge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from modelyard.server.gitobjects import FileEntry
from modelyard.server.storage.commits import Commits
from modelyard.server.storage.database import Database
from modelyard.server.storage.discussion_events import DiscussionEvents, Event
from modelyard.server.storage.records import PR, Commit, NewCommit, Repo
from modelyard.server.storage.sql import Connection


class MergeRefused(ValueError):
    """The pull request cannot be merged now (its status, no changes, or conflicts: ``conflicts``)."""

    def __init__(self, message: str, conflicts: list[str] | None = None) -> None:
        super().__init__(message)
        self.conflicts = conflicts or []


@dataclass(frozen=True)
class PullRequestState:
    base_ref: str
    base_head: str
    head: str
    merge_base: str | None
    commits: list[Commit]  # the commits of the pull request's ref since the merge base, oldest first


def changed_paths(before: dict[str, FileEntry], after: dict[str, FileEntry]) -> list[str]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def conflicts(merge_base: dict[str, FileEntry], base: dict[str, FileEntry], head: dict[str, FileEntry]) -> list[str]:
    """Paths both sides changed since the merge base, to different results."""
    return [p for p in changed_paths(merge_base, head)
            if base.get(p) != merge_base.get(p) and base.get(p) != head.get(p)]


class PullRequests:
    def __init__(self, db: Database, commits: Commits) -> None:
        self._db = db
        self._commits = commits

    def state(self, repo: Repo, num: int, base_ref: str, db: Connection | None = None) -> PullRequestState:
        """Where pull request ``num`` (onto ``base_ref``) stands; LookupError when a ref is gone."""
        conn = db or self._db.conn()
        refs = {row["name"]: row["target"] for row in conn.execute(
            "SELECT name, target FROM refs WHERE repo_id=? AND name IN (?, ?)", (repo.id, base_ref, f"{PR}{num}"))}
        if base_ref not in refs or f"{PR}{num}" not in refs:
            raise LookupError(base_ref if base_ref not in refs else f"{PR}{num}")
        parents = {row["oid"]: row["parent"] for row in conn.execute(
            "SELECT oid, parent FROM commits WHERE repo_id=?", (repo.id,))}
        on_base: set[str] = set()
        oid: str | None = refs[base_ref]
        while oid and oid not in on_base:
            on_base.add(oid)
            oid = parents.get(oid)
        chain: list[str] = []
        oid = refs[f"{PR}{num}"]
        while oid and oid not in on_base and oid not in chain:
            chain.append(oid)
            oid = parents.get(oid)
        merge_base = oid if oid in on_base else None
        found = {c.oid: c for c in (self._commits.get(repo, o, conn) for o in chain) if c is not None}
        return PullRequestState(base_ref, refs[base_ref], refs[f"{PR}{num}"], merge_base,
                                [found[o] for o in reversed(chain) if o in found])

    def manifests(self, repo: Repo, state: PullRequestState, db: Connection | None = None
                  ) -> tuple[dict[str, FileEntry], dict[str, FileEntry], dict[str, FileEntry]]:
        """(merge base, target branch head, pull request head) manifests."""
        merge_base = self._commits.manifest_of(state.merge_base, repo=repo, db=db) if state.merge_base else {}
        return (merge_base, self._commits.manifest_of(state.base_head, repo=repo, db=db),
                self._commits.manifest_of(state.head, repo=repo, db=db))

    def merge(self, repo: Repo, num: int, author: str, *, comment: str = "") -> tuple[str, Event]:
        """Merge pull request ``num`` into its target branch; (the merge commit, the status-change event).
        LookupError: no such pull request or a ref is gone; :class:`MergeRefused`: not mergeable now."""
        now = time.time()
        with self._db.transaction() as db:
            row = db.execute("SELECT * FROM discussions WHERE repo_id=? AND num=?", (repo.id, num)).fetchone()
            if row is None or not row["is_pr"]:
                raise LookupError(num)
            if row["status"] != "open":
                hint = " Change its status to open first." if row["status"] in ("draft", "closed") else ""
                raise MergeRefused(f"Pull request #{num} is {row['status']}; only an open pull request can be "
                                   f"merged.{hint}")
            state = self.state(repo, num, row["base"], db)
            if not state.commits:
                raise MergeRefused(f"Pull request #{num} has no commits that {row['base']} lacks: nothing to merge.")
            merge_base, base, head = self.manifests(repo, state, db)
            clashes = conflicts(merge_base, base, head)
            if clashes:
                raise MergeRefused(f"Pull request #{num} conflicts with {row['base']} in {len(clashes)} file(s) "
                                   f"({', '.join(clashes[:10])}): update the pull request's branch first.", clashes)
            manifest = dict(base)
            for path in changed_paths(merge_base, head):
                if path in head:
                    manifest[path] = head[path]
                else:
                    manifest.pop(path, None)
            message = "\n".join(f"- {c.title} ({c.oid[:7]})" for c in state.commits)
            oid = self._commits.write(db, repo.id, state.base_head,
                                      NewCommit(manifest, author, f"{row['title']} (#{num})", message), now)
            if db.execute("UPDATE refs SET target=? WHERE repo_id=? AND name=? AND target=?",
                          (oid, repo.id, state.base_ref, state.base_head)).rowcount != 1:
                raise MergeRefused(f"{state.base_ref} moved while merging; try again.")  # writers are serialized
            db.execute("UPDATE discussions SET status='merged', merge_commit=? WHERE repo_id=? AND num=?",
                       (oid, repo.id, num))
            if comment:
                DiscussionEvents.append(db, repo.id, num, "comment", author, now, DiscussionEvents.comment_data(comment))
            event = DiscussionEvents.append(db, repo.id, num, "status-change", author, now, {"status": "merged"})
        return oid, event
