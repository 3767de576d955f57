"""SQLite metadata of the hub: accounts, tokens, repos, commits, trees, refs, scans and pull requests.

One database file (WAL mode, ``synchronous=FULL``) next to the blob store. A commit is one ``BEGIN
IMMEDIATE`` transaction that reads the branch head, writes the tree and commit rows and moves the ref:
SQLite's single writer lock serializes concurrent commits, so none is lost, and a killed server leaves
either the whole commit or nothing. File contents never live here, only their ids (see ``blobstore``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from modelyard.server.gitobjects import FileEntry, commit_oid, manifest_from_json, manifest_to_json, tree_oids

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces(
    name TEXT PRIMARY KEY COLLATE NOCASE, kind TEXT NOT NULL CHECK(kind IN ('user', 'org')),
    fullname TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members(
    org TEXT NOT NULL COLLATE NOCASE, user TEXT NOT NULL COLLATE NOCASE, PRIMARY KEY(org, user));
CREATE TABLE IF NOT EXISTS tokens(
    id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, user TEXT NOT NULL COLLATE NOCASE,
    role TEXT NOT NULL CHECK(role IN ('read', 'write')), name TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS repos(
    id INTEGER PRIMARY KEY, type TEXT NOT NULL, namespace TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE, private INTEGER NOT NULL, created_at REAL NOT NULL,
    last_modified REAL NOT NULL, UNIQUE(type, namespace, name));
CREATE TABLE IF NOT EXISTS moved(
    type TEXT NOT NULL, namespace TEXT NOT NULL COLLATE NOCASE, name TEXT NOT NULL COLLATE NOCASE,
    repo_id INTEGER NOT NULL, moved_at REAL NOT NULL, PRIMARY KEY(type, namespace, name));
CREATE TABLE IF NOT EXISTS trees(oid TEXT PRIMARY KEY, manifest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commits(
    repo_id INTEGER NOT NULL, oid TEXT NOT NULL, tree TEXT NOT NULL, parent TEXT, author TEXT NOT NULL,
    title TEXT NOT NULL, message TEXT NOT NULL, date REAL NOT NULL, PRIMARY KEY(repo_id, oid));
CREATE TABLE IF NOT EXISTS refs(
    repo_id INTEGER NOT NULL, name TEXT NOT NULL, target TEXT NOT NULL, message TEXT,
    PRIMARY KEY(repo_id, name));
CREATE TABLE IF NOT EXISTS repo_blobs(repo_id INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY(repo_id, sha256));
CREATE TABLE IF NOT EXISTS scans(
    sha256 TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, details TEXT NOT NULL,
    PRIMARY KEY(sha256, kind));
CREATE TABLE IF NOT EXISTS content_kinds(sha256 TEXT PRIMARY KEY, scan_ext TEXT NOT NULL);
-- Xet storage (see modelyard.server.xet): xorbs (their bytes are blobs), the files clients registered with
-- shards, which repos may use them, and the chunks the global dedupe API can be asked about.
CREATE TABLE IF NOT EXISTS xet_xorbs(
    hash TEXT PRIMARY KEY, blob TEXT NOT NULL, size INTEGER NOT NULL, content_end INTEGER NOT NULL,
    chunks BLOB NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS xet_xorb_repos(repo_id INTEGER NOT NULL, xorb TEXT NOT NULL, PRIMARY KEY(repo_id, xorb));
CREATE INDEX IF NOT EXISTS xet_xorb_repos_xorb ON xet_xorb_repos(xorb);
CREATE TABLE IF NOT EXISTS xet_files(
    hash TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, terms BLOB NOT NULL,
    created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS xet_files_sha256 ON xet_files(sha256);
CREATE TABLE IF NOT EXISTS xet_file_repos(repo_id INTEGER NOT NULL, file TEXT NOT NULL, PRIMARY KEY(repo_id, file));
CREATE TABLE IF NOT EXISTS xet_file_xorbs(xorb TEXT NOT NULL, file TEXT NOT NULL, PRIMARY KEY(xorb, file));
CREATE TABLE IF NOT EXISTS xet_dedupe(chunk TEXT NOT NULL, xorb TEXT NOT NULL, PRIMARY KEY(chunk, xorb));
CREATE TABLE IF NOT EXISTS discussions(
    repo_id INTEGER NOT NULL, num INTEGER NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
    is_pr INTEGER NOT NULL, status TEXT NOT NULL, author TEXT NOT NULL, created_at REAL NOT NULL,
    base TEXT, PRIMARY KEY(repo_id, num));
-- Paths each commit changed (files, their folders, and '' for the commit itself), for "last commit touching
-- this entry" on the web pages; written with each commit, backfilled for older databases.
CREATE TABLE IF NOT EXISTS commit_paths(
    repo_id INTEGER NOT NULL, path TEXT NOT NULL, oid TEXT NOT NULL, PRIMARY KEY(repo_id, path, oid)) WITHOUT ROWID;
-- Web sign-in sessions: the sha256 of the cookie value, bound to the token the user signed in with (revoking
-- the token ends its sessions).
-- Downloads per repo and day (UTC): requests for the files the Hugging Face Hub counts (config.json...).
CREATE TABLE IF NOT EXISTS downloads(
    repo_id INTEGER NOT NULL, day INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(repo_id, day)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS web_sessions(
    hash TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL);
"""

GITATTRIBUTES = b"""*.7z filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
"""

DOWNLOAD_WINDOW_DAYS = 30  # what "downloads" means on pages and in the API, as on the Hugging Face Hub
BRANCH = "refs/heads/"
TAG = "refs/tags/"
PR = "refs/pr/"


def hash_token(token: str) -> str:
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

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Commit:
    oid: str
    tree: str
    parent: str | None
    author: str
    title: str
    message: str
    date: float


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


def changed_paths(before: dict[str, FileEntry], after: dict[str, FileEntry]) -> set[str]:
    """Files added, changed or removed between two manifests, with every folder above them and ``""``."""
    files = {p for p, e in after.items() if before.get(p) != e}
    files.update(p for p in before if p not in after)
    out = {""}
    for path in files:
        while path and path not in out:
            out.add(path)
            path = path.rpartition("/")[0]
    return out


@dataclass
class NewCommit:
    """What a commit request asks for, after the operations were applied to the parent's manifest."""

    manifest: dict[str, FileEntry]
    author: str
    title: str
    message: str
    lfs_blobs: set[str] = field(default_factory=set)


class Storage:
    """Thread-safe access to the metadata database (one connection per thread)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._manifests: OrderedDict[str, dict[str, FileEntry]] = OrderedDict()
        self._manifest_lock = threading.Lock()
        self._chains: OrderedDict[tuple[int, str], list[str]] = OrderedDict()
        self._indexed_repos: set[int] = set()
        self.conn().executescript(SCHEMA)

    # -- connections ----------------------------------------------------------------------------------
    def conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.db_path, isolation_level=None, timeout=60)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=60000")
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE``: takes the write lock up front, so read-then-write sequences are race-free."""
        db = self.conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def secret(self) -> bytes:
        """The server's signing key for LFS links (created on first use, kept in the database)."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key='signing_key'").fetchone()
            if row is None:
                value = secrets.token_hex(32)
                db.execute("INSERT INTO meta(key, value) VALUES('signing_key', ?)", (value,))
                return bytes.fromhex(value)
            return bytes.fromhex(row["value"])

    # -- accounts -------------------------------------------------------------------------------------
    def namespace_kind(self, name: str) -> str | None:
        row = self.conn().execute("SELECT kind FROM namespaces WHERE name=?", (name,)).fetchone()
        return row["kind"] if row else None

    def canonical_namespace(self, name: str) -> str | None:
        row = self.conn().execute("SELECT name FROM namespaces WHERE name=?", (name,)).fetchone()
        return row["name"] if row else None

    def add_namespace(self, name: str, kind: str, fullname: str = "") -> None:
        with self.transaction() as db:
            taken = db.execute("SELECT kind FROM namespaces WHERE name=?", (name,)).fetchone()
            if taken:
                raise ValueError(f"The name {name!r} is already taken by a {taken['kind']}; choose another name.")
            db.execute("INSERT INTO namespaces(name, kind, fullname, created_at) VALUES(?,?,?,?)",
                       (name, kind, fullname, time.time()))

    def add_member(self, org: str, user: str) -> None:
        if self.namespace_kind(org) != "org":
            raise ValueError(f"Organisation {org!r} does not exist; create it with `modelyard hub org add {org}`.")
        if self.namespace_kind(user) != "user":
            raise ValueError(f"User {user!r} does not exist; create it with `modelyard hub user add {user}`.")
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO members(org, user) VALUES(?,?)", (org, user))

    def user_orgs(self, user: str) -> tuple[str, ...]:
        rows = self.conn().execute(
            "SELECT n.name FROM members m JOIN namespaces n ON n.name = m.org WHERE m.user=? ORDER BY n.name",
            (user,)).fetchall()
        return tuple(r["name"] for r in rows)

    def org_members(self, org: str) -> list[str]:
        rows = self.conn().execute("SELECT user FROM members WHERE org=? ORDER BY lower(user)", (org,)).fetchall()
        return [r["user"] for r in rows]

    def list_namespaces(self) -> list[sqlite3.Row]:
        return self.conn().execute("SELECT * FROM namespaces ORDER BY kind, name").fetchall()

    def create_token(self, user: str, role: str = "write", name: str | None = None) -> str:
        """Mint a token for ``user``; only its sha256 is stored, so the returned value is shown once."""
        if role not in ("read", "write"):
            raise ValueError(f"Token role must be 'read' or 'write', got {role!r}.")
        canonical = self.canonical_namespace(user)
        if canonical is None or self.namespace_kind(canonical) != "user":
            raise ValueError(f"User {user!r} does not exist; create it with `modelyard hub user add {user}`.")
        token = "myd_" + secrets.token_urlsafe(30).replace("-", "A").replace("_", "b")
        with self.transaction() as db:
            db.execute("INSERT INTO tokens(hash, user, role, name, created_at) VALUES(?,?,?,?,?)",
                       (hash_token(token), canonical, role, name or f"{canonical}-{role}", time.time()))
        return token

    def revoke_tokens(self, user: str, name: str | None = None) -> int:
        with self.transaction() as db:
            if name is None:
                cur = db.execute("DELETE FROM tokens WHERE user=?", (user,))
            else:
                cur = db.execute("DELETE FROM tokens WHERE user=? AND name=?", (user, name))
            return cur.rowcount

    def identity(self, token: str) -> Identity | None:
        row = self.conn().execute(
            "SELECT t.user, t.role, t.name, n.fullname FROM tokens t LEFT JOIN namespaces n ON n.name = t.user "
            "WHERE t.hash=?", (hash_token(token),)).fetchone()
        if row is None:
            return None
        return Identity(row["user"], self.user_orgs(row["user"]), row["role"], row["name"], row["fullname"] or "")

    # -- repositories ---------------------------------------------------------------------------------
    @staticmethod
    def repo_from_row(row: sqlite3.Row) -> Repo:
        return Repo(row["id"], row["type"], row["namespace"], row["name"], bool(row["private"]),
                    row["created_at"], row["last_modified"])

    def get_repo(self, repo_type: str, namespace: str, name: str) -> Repo | None:
        row = self.conn().execute("SELECT * FROM repos WHERE type=? AND namespace=? AND name=?",
                                  (repo_type, namespace, name)).fetchone()
        return self.repo_from_row(row) if row else None

    def get_repo_by_id(self, repo_id: int) -> Repo | None:
        row = self.conn().execute("SELECT * FROM repos WHERE id=?", (repo_id,)).fetchone()
        return self.repo_from_row(row) if row else None

    def create_repo(self, repo_type: str, namespace: str, name: str, *, private: bool, author: str,
                    initial_blob: tuple[str, int, str]) -> Repo | None:
        """Create the repo with HF's "initial commit" (a ``.gitattributes``); None if it already exists."""
        now = time.time()
        manifest = {".gitattributes": FileEntry(initial_blob[0], initial_blob[1], initial_blob[2], False)}
        with self.transaction() as db:
            try:
                cur = db.execute(
                    "INSERT INTO repos(type, namespace, name, private, created_at, last_modified) VALUES(?,?,?,?,?,?)",
                    (repo_type, namespace, name, int(private), now, now))
            except sqlite3.IntegrityError:
                return None
            repo_id = cur.lastrowid
            # A new repo takes over a name that used to redirect to a moved one.
            db.execute("DELETE FROM moved WHERE type=? AND namespace=? AND name=?", (repo_type, namespace, name))
            oid = self._write_commit(db, repo_id, None, NewCommit(manifest, "system", "initial commit", ""), now)
            db.execute("INSERT INTO refs(repo_id, name, target) VALUES(?,?,?)", (repo_id, BRANCH + "main", oid))
            row = db.execute("SELECT * FROM repos WHERE id=?", (repo_id,)).fetchone()
        return self.repo_from_row(row)

    def delete_repo(self, repo: Repo) -> None:
        with self.transaction() as db:
            for table in ("refs", "commits", "repo_blobs", "discussions", "moved", "commit_paths",
                          "downloads", "xet_xorb_repos", "xet_file_repos"):
                db.execute(f"DELETE FROM {table} WHERE repo_id=?", (repo.id,))
            db.execute("DELETE FROM repos WHERE id=?", (repo.id,))

    def move_repo(self, repo: Repo, namespace: str, name: str) -> Repo | None:
        """Rename ``repo`` to ``namespace/name`` keeping its id (so history, refs, LFS objects and pull
        requests stay); the old name then redirects to it. None if the new name is taken."""
        with self.transaction() as db:
            try:
                db.execute("UPDATE repos SET namespace=?, name=? WHERE id=?", (namespace, name, repo.id))
            except sqlite3.IntegrityError:
                return None
            db.execute("DELETE FROM moved WHERE type=? AND namespace=? AND name=?", (repo.type, namespace, name))
            db.execute("INSERT OR REPLACE INTO moved(type, namespace, name, repo_id, moved_at) VALUES(?,?,?,?,?)",
                       (repo.type, repo.namespace, repo.name, repo.id, time.time()))
            row = db.execute("SELECT * FROM repos WHERE id=?", (repo.id,)).fetchone()
        return self.repo_from_row(row)

    def moved_repo(self, repo_type: str, namespace: str, name: str) -> Repo | None:
        """The repo that ``namespace/name`` was moved away from (under its current name), if any."""
        row = self.conn().execute(
            "SELECT r.* FROM moved m JOIN repos r ON r.id = m.repo_id WHERE m.type=? AND m.namespace=? AND m.name=?",
            (repo_type, namespace, name)).fetchone()
        return self.repo_from_row(row) if row else None

    def set_private(self, repo: Repo, private: bool) -> None:
        with self.transaction() as db:
            db.execute("UPDATE repos SET private=? WHERE id=?", (int(private), repo.id))

    # -- commits, trees, refs -------------------------------------------------------------------------
    def _write_commit(self, db: sqlite3.Connection, repo_id: int, parent: str | None, new: NewCommit,
                      now: float) -> str:
        tree = tree_oids(new.manifest)[""]
        db.execute("INSERT OR IGNORE INTO trees(oid, manifest) VALUES(?,?)", (tree, manifest_to_json(new.manifest)))
        message = new.title if not new.message else f"{new.title}\n\n{new.message}"
        ts = int(now)
        oid = commit_oid(tree, [parent] if parent else [], new.author, ts, message)
        # Same tree, parent, author, second and message would give the same id: bump the time like git.
        while db.execute("SELECT 1 FROM commits WHERE repo_id=? AND oid=?", (repo_id, oid)).fetchone():
            ts += 1
            oid = commit_oid(tree, [parent] if parent else [], new.author, ts, message)
        db.execute("INSERT INTO commits(repo_id, oid, tree, parent, author, title, message, date) "
                   "VALUES(?,?,?,?,?,?,?,?)", (repo_id, oid, tree, parent, new.author, new.title, new.message, now))
        db.executemany("INSERT OR IGNORE INTO repo_blobs(repo_id, sha256) VALUES(?,?)",
                       [(repo_id, sha) for sha in new.lfs_blobs])
        db.execute("UPDATE repos SET last_modified=? WHERE id=?", (now, repo_id))
        self._index_commit_paths(db, repo_id, oid, parent, new.manifest)
        return oid

    def commit(self, repo: Repo, ref: str, build: Callable[[str, dict[str, FileEntry]], NewCommit], *,
               create_pr: bool = False,
               pr_title: str = "", pr_description: str = "", pr_author: str = "") -> tuple[str, int | None]:
        """Apply ``build(head_oid, head_manifest) -> NewCommit`` atomically on top of ``ref``'s head.

        ``build`` runs inside the write transaction, so it sees the latest head and may raise to abort
        (stale parent, missing file...). With ``create_pr`` the new commit goes to a fresh ``refs/pr/N``
        instead of moving ``ref``. Returns (commit id, pull request number or None).
        """
        now = time.time()
        with self.transaction() as db:
            row = db.execute("SELECT target FROM refs WHERE repo_id=? AND name=?", (repo.id, ref)).fetchone()
            if row is None:
                raise LookupError(ref)
            head = row["target"]
            new = build(head, self.manifest_of(head, repo=repo, db=db))
            oid = self._write_commit(db, repo.id, head, new, now)
            num = None
            if create_pr:
                num = self._new_discussion(db, repo, pr_title or new.title, pr_description, pr_author,
                                           is_pr=True, base=ref, now=now)
                db.execute("INSERT INTO refs(repo_id, name, target) VALUES(?,?,?)", (repo.id, f"{PR}{num}", oid))
            else:
                db.execute("UPDATE refs SET target=? WHERE repo_id=? AND name=?", (oid, repo.id, ref))
        return oid, num

    def get_commit(self, repo: Repo, oid: str, db: sqlite3.Connection | None = None) -> Commit | None:
        row = (db or self.conn()).execute("SELECT * FROM commits WHERE repo_id=? AND oid=?",
                                          (repo.id, oid)).fetchone()
        if row is None:
            return None
        return Commit(row["oid"], row["tree"], row["parent"], row["author"], row["title"], row["message"],
                      row["date"])

    def manifest(self, tree: str, db: sqlite3.Connection | None = None) -> dict[str, FileEntry]:
        """The (cached, immutable: do not mutate) path -> FileEntry map of a tree."""
        with self._manifest_lock:
            cached = self._manifests.get(tree)
            if cached is not None:
                self._manifests.move_to_end(tree)
                return cached
        row = (db or self.conn()).execute("SELECT manifest FROM trees WHERE oid=?", (tree,)).fetchone()
        if row is None:
            raise LookupError(f"tree {tree} is missing from the database")
        manifest = manifest_from_json(row["manifest"])
        with self._manifest_lock:
            self._manifests[tree] = manifest
            while len(self._manifests) > 256:
                self._manifests.popitem(last=False)
        return manifest

    def manifest_of(self, commit: str, *, repo: Repo, db: sqlite3.Connection | None = None) -> dict[str, FileEntry]:
        found = self.get_commit(repo, commit, db)
        if found is None:
            raise LookupError(f"commit {commit} is missing from the database")
        return self.manifest(found.tree, db)

    def refs(self, repo: Repo) -> list[sqlite3.Row]:
        return self.conn().execute("SELECT name, target, message FROM refs WHERE repo_id=? ORDER BY name",
                                   (repo.id,)).fetchall()

    def ref_target(self, repo: Repo, ref: str) -> str | None:
        row = self.conn().execute("SELECT target FROM refs WHERE repo_id=? AND name=?", (repo.id, ref)).fetchone()
        return row["target"] if row else None

    def resolve(self, repo: Repo, revision: str) -> str | None:
        """Commit id for a branch, tag, ``refs/...`` name, full commit id or unambiguous prefix (>= 7 hex)."""
        for ref in (BRANCH + revision, TAG + revision, revision):
            if ref.startswith("refs/"):
                target = self.ref_target(repo, ref)
                if target:
                    return target
        lowered = revision.lower()
        if 7 <= len(lowered) <= 40 and all(c in "0123456789abcdef" for c in lowered):
            rows = self.conn().execute("SELECT oid FROM commits WHERE repo_id=? AND oid >= ? AND oid < ? LIMIT 2",
                                       (repo.id, lowered, lowered + "g")).fetchall()
            if len(rows) == 1:
                return rows[0]["oid"]
        return None

    def create_ref(self, repo: Repo, ref: str, target: str, message: str | None = None) -> bool:
        with self.transaction() as db:
            try:
                db.execute("INSERT INTO refs(repo_id, name, target, message) VALUES(?,?,?,?)",
                           (repo.id, ref, target, message))
            except sqlite3.IntegrityError:
                return False
        return True

    def delete_ref(self, repo: Repo, ref: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM refs WHERE repo_id=? AND name=?", (repo.id, ref)).rowcount > 0

    def history(self, repo: Repo, head: str, *, offset: int = 0, limit: int = 50) -> list[Commit]:
        """First-parent history from ``head``, newest first."""
        out: list[Commit] = []
        oid: str | None = head
        index = 0
        while oid and len(out) < limit:
            commit = self.get_commit(repo, oid)
            if commit is None:
                break
            if index >= offset:
                out.append(commit)
            index += 1
            oid = commit.parent
        return out

    # -- LFS objects and scans ------------------------------------------------------------------------
    def link_blob(self, repo: Repo, sha256: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO repo_blobs(repo_id, sha256) VALUES(?,?)", (repo.id, sha256))

    def has_blob_link(self, repo: Repo, sha256: str) -> bool:
        return self.conn().execute("SELECT 1 FROM repo_blobs WHERE repo_id=? AND sha256=?",
                                   (repo.id, sha256)).fetchone() is not None

    def get_scan(self, sha256: str, kind: str) -> dict | None:
        row = self.conn().execute("SELECT status, details FROM scans WHERE sha256=? AND kind=?",
                                  (sha256, kind)).fetchone()
        return {"status": row["status"], **json.loads(row["details"])} if row else None

    def put_scan(self, sha256: str, kind: str, status: str, details: dict) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO scans(sha256, kind, status, details) VALUES(?,?,?,?)",
                       (sha256, kind, status, json.dumps(details)))

    def delete_scan(self, sha256: str, kind: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM scans WHERE sha256=? AND kind=?", (sha256, kind))

    def get_content_kind(self, sha256: str) -> str | None:
        """The picklescan extension recorded for a blob's content ("" = holds no pickles); None if not sniffed."""
        row = self.conn().execute("SELECT scan_ext FROM content_kinds WHERE sha256=?", (sha256,)).fetchone()
        return row["scan_ext"] if row else None

    def put_content_kinds(self, kinds: dict[str, str]) -> None:
        """Record sniffed content kinds, all in one transaction."""
        if kinds:
            with self.transaction() as db:
                db.executemany("INSERT OR REPLACE INTO content_kinds(sha256, scan_ext) VALUES(?,?)", kinds.items())

    def get_content_kinds(self, sha256s: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(sha256s), 500):
            chunk = sha256s[start:start + 500]
            rows = self.conn().execute(
                f"SELECT sha256, scan_ext FROM content_kinds WHERE sha256 IN ({','.join('?' * len(chunk))})", chunk)
            out.update((r["sha256"], r["scan_ext"]) for r in rows)
        return out

    # -- discussions / pull requests ------------------------------------------------------------------
    def _new_discussion(self, db: sqlite3.Connection, repo: Repo, title: str, description: str, author: str,
                        *, is_pr: bool, base: str | None, now: float) -> int:
        row = db.execute("SELECT COALESCE(MAX(num), 0) + 1 AS n FROM discussions WHERE repo_id=?",
                         (repo.id,)).fetchone()
        num = int(row["n"])
        db.execute("INSERT INTO discussions(repo_id, num, title, description, is_pr, status, author, created_at, base)"
                   " VALUES(?,?,?,?,?,?,?,?,?)",
                   (repo.id, num, title, description, int(is_pr), "open", author, now, base))
        return num

    def create_discussion(self, repo: Repo, title: str, description: str, author: str, *, is_pr: bool,
                          base: str = BRANCH + "main") -> int:
        """A discussion; a pull request also gets ``refs/pr/N`` pointing at the head of ``base``."""
        now = time.time()
        with self.transaction() as db:
            head = None
            if is_pr:
                row = db.execute("SELECT target FROM refs WHERE repo_id=? AND name=?", (repo.id, base)).fetchone()
                if row is None:
                    raise LookupError(base)
                head = row["target"]
            num = self._new_discussion(db, repo, title, description, author, is_pr=is_pr,
                                       base=base if is_pr else None, now=now)
            if head is not None:
                db.execute("INSERT INTO refs(repo_id, name, target) VALUES(?,?,?)", (repo.id, f"{PR}{num}", head))
        return num

    def discussions(self, repo: Repo) -> list[sqlite3.Row]:
        return self.conn().execute("SELECT * FROM discussions WHERE repo_id=? ORDER BY num DESC",
                                   (repo.id,)).fetchall()

    def discussion(self, repo: Repo, num: int) -> sqlite3.Row | None:
        return self.conn().execute("SELECT * FROM discussions WHERE repo_id=? AND num=?", (repo.id, num)).fetchone()

    # -- history index: first-parent chains and the paths each commit changed (web pages) --------------
    def _index_commit_paths(self, db: sqlite3.Connection, repo_id: int, oid: str, parent: str | None,
                            manifest: dict[str, FileEntry]) -> None:
        before: dict[str, FileEntry] = {}
        if parent:
            row = db.execute("SELECT tree FROM commits WHERE repo_id=? AND oid=?", (repo_id, parent)).fetchone()
            if row is not None:
                before = self.manifest(row["tree"], db)
        db.executemany("INSERT OR IGNORE INTO commit_paths(repo_id, path, oid) VALUES(?,?,?)",
                       [(repo_id, path, oid) for path in changed_paths(before, manifest)])

    def ensure_history_index(self, repo: Repo) -> int:
        """Index the changed paths of ``repo``'s commits written before the index existed; returns how many.

        New commits are indexed as they are written, so this does real work once per repo of an older database.
        """
        if repo.id in self._indexed_repos:
            return 0
        db = self.conn()
        # Oldest first: each commit's parent manifest is then the one just read (the manifest cache keeps it).
        missing = db.execute(
            "SELECT oid, parent, tree FROM commits c WHERE repo_id=? AND NOT EXISTS "
            "(SELECT 1 FROM commit_paths x WHERE x.repo_id=c.repo_id AND x.path='' AND x.oid=c.oid) ORDER BY date",
            (repo.id,)).fetchall()
        if missing:
            logger.info("indexing the changed paths of %d commits of %s (once, for the web pages)", len(missing),
                        repo.repo_id)
        for start in range(0, len(missing), 200):
            with self.transaction() as tx:
                for row in missing[start:start + 200]:
                    self._index_commit_paths(tx, repo.id, row["oid"], row["parent"], self.manifest(row["tree"], tx))
        self._indexed_repos.add(repo.id)
        return len(missing)

    def first_parent_chain(self, repo: Repo, head: str) -> list[str]:
        """Commit ids from ``head`` back to the repo's first commit along first parents (immutable, cached)."""
        key = (repo.id, head)
        with self._manifest_lock:
            cached = self._chains.get(key)
            if cached is not None:
                self._chains.move_to_end(key)
                return cached
        # A new head usually sits a few commits above a cached chain: walk down to it instead of re-reading all.
        prefix: list[str] = []
        oid: str | None = head
        base: list[str] | None = None
        for _ in range(64):
            if oid is None:
                base = []
                break
            with self._manifest_lock:
                base = self._chains.get((repo.id, oid))
            if base is not None:
                break
            prefix.append(oid)
            row = self.conn().execute("SELECT parent FROM commits WHERE repo_id=? AND oid=?", (repo.id, oid)).fetchone()
            if row is None:
                base = []
                break
            oid = row["parent"]
        if base is None:
            rows = self.conn().execute(
                "WITH RECURSIVE chain(oid, parent, depth) AS ("
                " SELECT oid, parent, 0 FROM commits WHERE repo_id=:repo AND oid=:head"
                " UNION ALL SELECT c.oid, c.parent, chain.depth + 1 FROM commits c JOIN chain"
                " ON c.repo_id=:repo AND c.oid=chain.parent)"
                " SELECT oid FROM chain ORDER BY depth", {"repo": repo.id, "head": oid}).fetchall()
            base = [r["oid"] for r in rows]
        chain = prefix + base
        with self._manifest_lock:
            self._chains[key] = chain
            while len(self._chains) > 32:
                self._chains.popitem(last=False)
        return chain

    def commits_by_id(self, repo: Repo, oids: list[str]) -> dict[str, Commit]:
        out: dict[str, Commit] = {}
        for start in range(0, len(oids), 500):
            chunk = oids[start:start + 500]
            rows = self.conn().execute(
                f"SELECT * FROM commits WHERE repo_id=? AND oid IN ({','.join('?' * len(chunk))})", [repo.id, *chunk])
            for row in rows:
                out[row["oid"]] = Commit(row["oid"], row["tree"], row["parent"], row["author"], row["title"],
                                         row["message"], row["date"])
        return out

    def last_changes(self, repo: Repo, head: str, paths: list[str]) -> dict[str, Commit]:
        """For each path (file or folder) of ``head``'s tree, the newest commit of its first-parent history that
        changed it (what the tree pages show next to each entry)."""
        self.ensure_history_index(repo)
        position = {oid: i for i, oid in enumerate(self.first_parent_chain(repo, head))}
        best: dict[str, tuple[int, str]] = {}
        for start in range(0, len(paths), 500):
            chunk = paths[start:start + 500]
            rows = self.conn().execute(
                f"SELECT path, oid FROM commit_paths WHERE repo_id=? AND path IN ({','.join('?' * len(chunk))})",
                [repo.id, *chunk])
            for row in rows:
                at = position.get(row["oid"])
                if at is not None and (row["path"] not in best or at < best[row["path"]][0]):
                    best[row["path"]] = (at, row["oid"])
        commits = self.commits_by_id(repo, sorted({oid for _, oid in best.values()}))
        return {path: commits[oid] for path, (_, oid) in best.items() if oid in commits}

    def commits_touching(self, repo: Repo, path: str) -> set[str]:
        """Ids of the commits (of any branch) that changed ``path``, a file or a folder."""
        self.ensure_history_index(repo)
        rows = self.conn().execute("SELECT oid FROM commit_paths WHERE repo_id=? AND path=?", (repo.id, path))
        return {r["oid"] for r in rows}

    # -- downloads and repository search ------------------------------------------------------------------
    def record_download(self, repo: Repo, when: float | None = None) -> None:
        day = int((time.time() if when is None else when) // 86400)
        with self.transaction() as db:
            db.execute("INSERT INTO downloads(repo_id, day, count) VALUES(?,?,1) "
                       "ON CONFLICT(repo_id, day) DO UPDATE SET count = count + 1", (repo.id, day))

    def download_counts(self, repo_ids: list[int], days: int = DOWNLOAD_WINDOW_DAYS) -> dict[int, int]:
        """Downloads of each repo over the last ``days`` days (today included); repos without any are left out."""
        since = int(time.time() // 86400) - days + 1
        out: dict[int, int] = {}
        for start in range(0, len(repo_ids), 500):
            chunk = repo_ids[start:start + 500]
            rows = self.conn().execute(
                f"SELECT repo_id, SUM(count) AS n FROM downloads WHERE day >= ? AND repo_id IN "
                f"({','.join('?' * len(chunk))}) GROUP BY repo_id", [since, *chunk])
            out.update((r["repo_id"], r["n"]) for r in rows)
        return out

    def search_repos(self, repo_type: str, *, visible_to: list[str], author: str | None = None,
                     terms: list[str] | tuple[str, ...] = (), sort: str = "lastModified", offset: int = 0,
                     limit: int = 30) -> tuple[list[Repo], int]:
        """A page of the repos of ``repo_type`` that are public or in a namespace of ``visible_to``, whose id
        contains every term (case-insensitive); sorted by ``lastModified``, ``createdAt``, ``downloads`` (last
        30 days) or ``id``; and how many match in all."""
        where, args = ["type=?"], [repo_type]
        where.append(f"(private=0 OR namespace IN ({','.join('?' * len(visible_to)) or 'NULL'}))")
        args += visible_to
        if author:
            where.append("namespace=?")
            args.append(author)
        for term in terms:
            where.append("instr(lower(namespace || '/' || name), ?) > 0")
            args.append(term.lower())
        condition = " AND ".join(where)
        total = self.conn().execute(f"SELECT COUNT(*) AS n FROM repos WHERE {condition}", args).fetchone()["n"]
        by_id = "lower(namespace), lower(name)"
        orders = {"lastModified": f"last_modified DESC, {by_id}", "createdAt": f"created_at DESC, {by_id}",
                  "id": by_id, "downloads": f"COALESCE(d.n, 0) DESC, last_modified DESC, {by_id}"}
        if sort not in orders:
            raise ValueError(f"Unknown sort {sort!r}; use one of {', '.join(orders)}.")
        since = int(time.time() // 86400) - DOWNLOAD_WINDOW_DAYS + 1
        rows = self.conn().execute(
            "SELECT repos.* FROM repos LEFT JOIN (SELECT repo_id, SUM(count) AS n FROM downloads WHERE day >= ? "
            f"GROUP BY repo_id) d ON d.repo_id = repos.id WHERE {condition} ORDER BY {orders[sort]} LIMIT ? OFFSET ?",
            [since, *args, limit, offset]).fetchall()
        return [self.repo_from_row(r) for r in rows], total

    # -- web sessions and token management --------------------------------------------------------------
    def create_session(self, token: str, ttl: float) -> str | None:
        """A new session for the holder of ``token`` (None when the token is not valid); returns the cookie
        value, stored only as its sha256."""
        token_hash = hash_token(token)
        value = secrets.token_urlsafe(32)
        now = time.time()
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM tokens WHERE hash=?", (token_hash,)).fetchone() is None:
                return None
            db.execute("DELETE FROM web_sessions WHERE expires_at < ?", (now,))
            db.execute("INSERT INTO web_sessions(hash, token_hash, created_at, expires_at) VALUES(?,?,?,?)",
                       (hash_token(value), token_hash, now, now + ttl))
        return value

    def session(self, value: str) -> Session | None:
        """The live session behind a cookie value; None when unknown, expired, or its token was revoked."""
        row = self.conn().execute(
            "SELECT t.id, t.user, t.role, t.name, n.fullname, s.expires_at FROM web_sessions s "
            "JOIN tokens t ON t.hash = s.token_hash LEFT JOIN namespaces n ON n.name = t.user "
            "WHERE s.hash=? AND s.expires_at >= ?", (hash_token(value), time.time())).fetchone()
        if row is None:
            return None
        identity = Identity(row["user"], self.user_orgs(row["user"]), row["role"], row["name"], row["fullname"] or "")
        return Session(identity, row["id"], row["expires_at"])

    def delete_session(self, value: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM web_sessions WHERE hash=?", (hash_token(value),))

    def list_tokens(self, user: str) -> list[TokenInfo]:
        rows = self.conn().execute("SELECT id, name, role, created_at FROM tokens WHERE user=? ORDER BY created_at, id",
                                   (user,)).fetchall()
        return [TokenInfo(r["id"], r["name"], r["role"], r["created_at"]) for r in rows]

    def revoke_token(self, user: str, token_id: int) -> bool:
        """Delete one of ``user``'s tokens by id (its web sessions end with it)."""
        with self.transaction() as db:
            row = db.execute("SELECT hash FROM tokens WHERE user=? AND id=?", (user, token_id)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM tokens WHERE id=?", (token_id,))
            db.execute("DELETE FROM web_sessions WHERE token_hash=?", (row["hash"],))
        return True
