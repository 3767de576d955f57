"""What the stores hand out: repositories, commits, identities and sessions, and the names of refs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from modelyard.server.gitobjects import FileEntry
from modelyard.server.storage.sql import Row

DOWNLOAD_WINDOW_DAYS = 30  # what "downloads" means on pages and in the API, as on the Hugging Face Hub
BRANCH = "refs/heads/"
TAG = "refs/tags/"
PR = "refs/pr/"


def hash_token(token: str) -> str:
    """What the database keeps of a token or session cookie: its sha256, never the value."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Identity:
    """The caller behind a token."""

    name: str
    orgs: tuple[str, ...]
    role: str
    token_name: str
    fullname: str = ""


@dataclass(frozen=True)
class Repo:
    id: int
    type: str  # "model" | "dataset" | "space"
    namespace: str
    name: str
    private: bool
    created_at: float
    last_modified: float
    gated: str | None = None  # None (not gated), "auto" or "manual": see storage.gating

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"


def repo_from_row(row: Row) -> Repo:
    return Repo(row["id"], row["type"], row["namespace"], row["name"], bool(row["private"]),
                row["created_at"], row["last_modified"], row["gated"])


@dataclass(frozen=True)
class Commit:
    oid: str
    tree: str
    parent: str | None
    author: str
    title: str
    message: str
    date: float


def commit_from_row(row: Row) -> Commit:
    return Commit(row["oid"], row["tree"], row["parent"], row["author"], row["title"], row["message"], row["date"])


@dataclass
class NewCommit:
    """What a commit request asks for, after the operations were applied to the parent's manifest."""

    manifest: dict[str, FileEntry]
    author: str
    title: str
    message: str
    lfs_blobs: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class TokenInfo:
    """A stored token as its owner sees it (the value itself is never stored)."""

    id: int
    name: str
    role: str
    created_at: float


@dataclass(frozen=True)
class Session:
    """A signed-in web session: who, through which token, until when."""

    identity: Identity
    token_id: int
    expires_at: float
