"""0001: the hub's schema as SQLite hubs have always created it, and its PostgreSQL rendering.

SQLite: ``CREATE ... IF NOT EXISTS`` as before migrations existed, so a database written by an older hub is
taken over as it is. PostgreSQL: the same tables, with CITEXT for the case-insensitive names (NOCASE), BYTEA
for the packed blobs, double precision for times, identity columns for the ids, and byte order (``"C"``) for
the other text (what SQLite compares by).
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_ACCOUNTS = """
CREATE TABLE IF NOT EXISTS namespaces(
    name TEXT PRIMARY KEY COLLATE NOCASE, kind TEXT NOT NULL CHECK(kind IN ('user', 'org')),
    fullname TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members(
    org TEXT NOT NULL COLLATE NOCASE, "user" TEXT NOT NULL COLLATE NOCASE, PRIMARY KEY(org, "user"));
CREATE TABLE IF NOT EXISTS tokens(
    id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, "user" TEXT NOT NULL COLLATE NOCASE,
    role TEXT NOT NULL CHECK(role IN ('read', 'write')), name TEXT NOT NULL, created_at REAL NOT NULL);
-- Web sign-in sessions: the sha256 of the cookie value, bound to the token the user signed in with (revoking
-- the token ends its sessions).
CREATE TABLE IF NOT EXISTS web_sessions(
    hash TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL);
"""

SQLITE_REPOS = """
CREATE TABLE IF NOT EXISTS repos(
    id INTEGER PRIMARY KEY, type TEXT NOT NULL, namespace TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE, private INTEGER NOT NULL, created_at REAL NOT NULL,
    last_modified REAL NOT NULL, UNIQUE(type, namespace, name));
CREATE TABLE IF NOT EXISTS moved(
    type TEXT NOT NULL, namespace TEXT NOT NULL COLLATE NOCASE, name TEXT NOT NULL COLLATE NOCASE,
    repo_id INTEGER NOT NULL, moved_at REAL NOT NULL, PRIMARY KEY(type, namespace, name));
-- Downloads per repo and day (UTC): requests for the files the Hugging Face Hub counts (config.json...).
CREATE TABLE IF NOT EXISTS downloads(
    repo_id INTEGER NOT NULL, day INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(repo_id, day)) WITHOUT ROWID;
"""

SQLITE_HISTORY = """
-- manifest: the packed form of storage.trees (a BLOB; a TEXT column keeps BLOBs as they are), or the JSON
-- text that databases written before it hold (both are read).
CREATE TABLE IF NOT EXISTS trees(oid TEXT PRIMARY KEY, manifest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commits(
    repo_id INTEGER NOT NULL, oid TEXT NOT NULL, tree TEXT NOT NULL, parent TEXT, author TEXT NOT NULL,
    title TEXT NOT NULL, message TEXT NOT NULL, date REAL NOT NULL, PRIMARY KEY(repo_id, oid));
CREATE TABLE IF NOT EXISTS refs(
    repo_id INTEGER NOT NULL, name TEXT NOT NULL, target TEXT NOT NULL, message TEXT,
    PRIMARY KEY(repo_id, name));
-- Paths each commit changed (files, their folders, and '' for the commit itself), for "last commit touching
-- this entry" on the web pages and in tree listings; written with each commit, backfilled for older databases.
CREATE TABLE IF NOT EXISTS commit_paths(
    repo_id INTEGER NOT NULL, path TEXT NOT NULL, oid TEXT NOT NULL, PRIMARY KEY(repo_id, path, oid)) WITHOUT ROWID;
"""

SQLITE_BLOBS = """
CREATE TABLE IF NOT EXISTS repo_blobs(repo_id INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY(repo_id, sha256));
CREATE TABLE IF NOT EXISTS scans(
    sha256 TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, details TEXT NOT NULL,
    PRIMARY KEY(sha256, kind));
CREATE TABLE IF NOT EXISTS content_kinds(sha256 TEXT PRIMARY KEY, scan_ext TEXT NOT NULL);
"""

SQLITE_DISCUSSIONS = """
CREATE TABLE IF NOT EXISTS discussions(
    repo_id INTEGER NOT NULL, num INTEGER NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
    is_pr INTEGER NOT NULL, status TEXT NOT NULL, author TEXT NOT NULL, created_at REAL NOT NULL,
    base TEXT, PRIMARY KEY(repo_id, num));
"""

# Xet storage (see modelyard.server.xet): xorbs (their bytes are blobs), the files clients registered with
# shards, which repos may use them, and the chunks the global dedupe API can be asked about.
SQLITE_XET = """
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
"""

SQLITE = "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);\n" + "".join(
    (SQLITE_ACCOUNTS, SQLITE_REPOS, SQLITE_HISTORY, SQLITE_BLOBS, SQLITE_DISCUSSIONS, SQLITE_XET))

# PostgreSQL: T is text compared byte by byte, N a case-insensitive name, F a time, B bytes.
POSTGRES = """
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TABLE meta(key T PRIMARY KEY, value T NOT NULL);
CREATE TABLE namespaces(
    name N PRIMARY KEY, kind T NOT NULL CHECK(kind IN ('user', 'org')), fullname T NOT NULL DEFAULT '',
    created_at F NOT NULL);
CREATE TABLE members(org N NOT NULL, "user" N NOT NULL, PRIMARY KEY(org, "user"));
CREATE TABLE tokens(
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, hash T NOT NULL UNIQUE, "user" N NOT NULL,
    role T NOT NULL CHECK(role IN ('read', 'write')), name T NOT NULL, created_at F NOT NULL);
CREATE TABLE web_sessions(hash T PRIMARY KEY, token_hash T NOT NULL, created_at F NOT NULL, expires_at F NOT NULL);
CREATE TABLE repos(
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, type T NOT NULL, namespace N NOT NULL, name N NOT NULL,
    private INTEGER NOT NULL, created_at F NOT NULL, last_modified F NOT NULL, UNIQUE(type, namespace, name));
CREATE TABLE moved(
    type T NOT NULL, namespace N NOT NULL, name N NOT NULL, repo_id BIGINT NOT NULL, moved_at F NOT NULL,
    PRIMARY KEY(type, namespace, name));
CREATE TABLE downloads(repo_id BIGINT NOT NULL, day INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(repo_id, day));
CREATE TABLE trees(oid T PRIMARY KEY, manifest B NOT NULL);
CREATE TABLE commits(
    repo_id BIGINT NOT NULL, oid T NOT NULL, tree T NOT NULL, parent T, author T NOT NULL, title T NOT NULL,
    message T NOT NULL, date F NOT NULL, PRIMARY KEY(repo_id, oid));
CREATE TABLE refs(repo_id BIGINT NOT NULL, name T NOT NULL, target T NOT NULL, message T, PRIMARY KEY(repo_id, name));
CREATE TABLE commit_paths(repo_id BIGINT NOT NULL, path T NOT NULL, oid T NOT NULL, PRIMARY KEY(repo_id, path, oid));
CREATE TABLE repo_blobs(repo_id BIGINT NOT NULL, sha256 T NOT NULL, PRIMARY KEY(repo_id, sha256));
CREATE TABLE scans(sha256 T NOT NULL, kind T NOT NULL, status T NOT NULL, details T NOT NULL, PRIMARY KEY(sha256, kind));
CREATE TABLE content_kinds(sha256 T PRIMARY KEY, scan_ext T NOT NULL);
CREATE TABLE discussions(
    repo_id BIGINT NOT NULL, num INTEGER NOT NULL, title T NOT NULL, description T NOT NULL, is_pr INTEGER NOT NULL,
    status T NOT NULL, author T NOT NULL, created_at F NOT NULL, base T, PRIMARY KEY(repo_id, num));
CREATE TABLE xet_xorbs(
    hash T PRIMARY KEY, blob T NOT NULL, size BIGINT NOT NULL, content_end BIGINT NOT NULL, chunks B NOT NULL,
    created_at F NOT NULL);
CREATE TABLE xet_xorb_repos(repo_id BIGINT NOT NULL, xorb T NOT NULL, PRIMARY KEY(repo_id, xorb));
CREATE INDEX xet_xorb_repos_xorb ON xet_xorb_repos(xorb);
CREATE TABLE xet_files(
    hash T PRIMARY KEY, sha256 T NOT NULL, size BIGINT NOT NULL, terms B NOT NULL, created_at F NOT NULL);
CREATE INDEX xet_files_sha256 ON xet_files(sha256);
CREATE TABLE xet_file_repos(repo_id BIGINT NOT NULL, file T NOT NULL, PRIMARY KEY(repo_id, file));
CREATE TABLE xet_file_xorbs(xorb T NOT NULL, file T NOT NULL, PRIMARY KEY(xorb, file));
CREATE TABLE xet_dedupe(chunk T NOT NULL, xorb T NOT NULL, PRIMARY KEY(chunk, xorb));
"""
_TYPES = {" T ": ' TEXT COLLATE "C" ', " T,": ' TEXT COLLATE "C",', " T)": ' TEXT COLLATE "C")',
          " N ": " CITEXT ", " F ": " DOUBLE PRECISION ", " B ": " BYTEA "}


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def postgres_ddl() -> list[str]:
    script = POSTGRES
    for short, full in _TYPES.items():
        script = script.replace(short, full)
    return _statements(script)


def upgrade() -> None:
    bind = op.get_bind()
    statements = postgres_ddl() if bind.dialect.name == "postgresql" else _statements(SQLITE)
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the first schema revision has nothing below it; restore a backup instead")
