"""SQLite metadata of the hub: accounts, tokens, repos, commits, trees, refs, scans and pull requests.

One database file (WAL mode, ``synchronous=FULL``) next to the blob store. A commit is one ``BEGIN
IMMEDIATE`` transaction that reads the branch head, writes the tree and commit rows and moves the ref:
SQLite's single writer lock serializes concurrent commits, so none is lost, and a killed server leaves
either the whole commit or nothing. File contents never live here, only their ids (see ``blobstore``).
"""

from __future__ import annotations

import hashlib
import json
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
            for table in ("refs", "commits", "repo_blobs", "discussions", "moved", "xet_xorb_repos", "xet_file_repos"):
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
