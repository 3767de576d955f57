"""The hub's metadata in one database (SQLite or PostgreSQL, see ``database``), one store per concern.

``Storage(target)`` opens the database (a SQLite file path, in WAL mode with ``synchronous=FULL`` next to the
blob store, or a ``postgresql://`` URL) and offers:

* ``accounts``: users, organisations and memberships; ``tokens``: access tokens; ``sessions``: web sign-ins;
* ``repos``: repositories, their renames and visibility; ``search``: finding them; ``downloads``: counts;
  ``likes``: users' likes of repositories;
* ``commits``: writing commits atomically and reading history; ``trees``: the manifest of each commit;
  ``refs``: branches, tags, pull-request refs and revision lookup; ``changes``: which commit last changed
  each path; ``history``: squashing a branch, removing LFS objects from every commit;
* ``blobs``: which repos may use an LFS object, scan verdicts and sniffed content kinds;
* ``discussions``: discussions and pull requests (``discussions.events``: what happens in them);
  ``pull_requests``: their commits, changes, conflicts and merging;
* ``gating``: gated repositories and their access requests.

File contents never live here, only their ids (see ``modelyard.server.blobstore``). ``conn()`` and
``transaction()`` are for the modules that own tables of their own (Xet, garbage collection).
"""

from __future__ import annotations

from pathlib import Path

from modelyard.server.storage.accounts import Accounts
from modelyard.server.storage.blobs import BlobRecords
from modelyard.server.storage.changed_paths import changed_paths
from modelyard.server.storage.changes import ChangeIndex
from modelyard.server.storage.commits import Commits
from modelyard.server.storage.database import Database
from modelyard.server.storage.discussions import Discussions
from modelyard.server.storage.downloads import Downloads
from modelyard.server.storage.gating import Gating
from modelyard.server.storage.history import History
from modelyard.server.storage.likes import Likes
from modelyard.server.storage.pull_requests import PullRequests
from modelyard.server.storage.records import (
    BRANCH,
    DOWNLOAD_WINDOW_DAYS,
    PR,
    TAG,
    Commit,
    Identity,
    NewCommit,
    Repo,
    Session,
    TokenInfo,
    hash_token,
    repo_from_row,
)
from modelyard.server.storage.refs import Refs
from modelyard.server.storage.repos import Repos
from modelyard.server.storage.search import RepoSearch
from modelyard.server.storage.tokens import Sessions, Tokens
from modelyard.server.storage.trees import Trees

__all__ = [
    "BRANCH", "DOWNLOAD_WINDOW_DAYS", "PR", "TAG", "Commit", "Identity", "NewCommit", "Repo",
    "Session", "Storage", "TokenInfo", "changed_paths", "hash_token", "repo_from_row",
]


class Storage(Database):
    """Thread-safe access to the metadata database (one connection per thread), by concern."""

    def __init__(self, target: str | Path, *, migrate: bool | None = None) -> None:
        super().__init__(target, migrate=migrate)
        self.accounts = Accounts(self)
        self.tokens = Tokens(self, self.accounts)
        self.sessions = Sessions(self, self.accounts)
        self.discussions = Discussions(self)
        self.trees = Trees(self)
        self.commits = Commits(self, self.trees, self.discussions)
        self.changes = ChangeIndex(self, self.trees, self.commits)
        self.history = History(self, self.commits)
        self.refs = Refs(self)
        self.repos = Repos(self, self.commits)
        self.search = RepoSearch(self)
        self.downloads = Downloads(self)
        self.likes = Likes(self)
        self.blobs = BlobRecords(self)
        self.pull_requests = PullRequests(self, self.commits)
        self.gating = Gating(self)
