"""The shape of the hub's metadata database: every table, in one place.

Each concern's store (accounts, repos, commits, blobs, discussions, Xet) reads and writes its own tables;
they live in one SQLite file so a commit, the refs it moves and the pull request it opens are one
transaction. ``REPO_TABLES`` lists the tables whose rows belong to one repository (``repo_id``), which
deleting a repository clears.
"""

from __future__ import annotations

ACCOUNTS = """
CREATE TABLE IF NOT EXISTS namespaces(
    name TEXT PRIMARY KEY COLLATE NOCASE, kind TEXT NOT NULL CHECK(kind IN ('user', 'org')),
    fullname TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members(
    org TEXT NOT NULL COLLATE NOCASE, user TEXT NOT NULL COLLATE NOCASE, PRIMARY KEY(org, user));
CREATE TABLE IF NOT EXISTS tokens(
    id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, user TEXT NOT NULL COLLATE NOCASE,
    role TEXT NOT NULL CHECK(role IN ('read', 'write')), name TEXT NOT NULL, created_at REAL NOT NULL);
-- Web sign-in sessions: the sha256 of the cookie value, bound to the token the user signed in with (revoking
-- the token ends its sessions).
CREATE TABLE IF NOT EXISTS web_sessions(
    hash TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL);
"""

REPOS = """
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

HISTORY = """
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

BLOBS = """
CREATE TABLE IF NOT EXISTS repo_blobs(repo_id INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY(repo_id, sha256));
CREATE TABLE IF NOT EXISTS scans(
    sha256 TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, details TEXT NOT NULL,
    PRIMARY KEY(sha256, kind));
CREATE TABLE IF NOT EXISTS content_kinds(sha256 TEXT PRIMARY KEY, scan_ext TEXT NOT NULL);
"""

DISCUSSIONS = """
CREATE TABLE IF NOT EXISTS discussions(
    repo_id INTEGER NOT NULL, num INTEGER NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
    is_pr INTEGER NOT NULL, status TEXT NOT NULL, author TEXT NOT NULL, created_at REAL NOT NULL,
    base TEXT, PRIMARY KEY(repo_id, num));
"""

# Xet storage (see modelyard.server.xet): xorbs (their bytes are blobs), the files clients registered with
# shards, which repos may use them, and the chunks the global dedupe API can be asked about.
XET = """
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

SCHEMA = "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);\n" + "".join(
    (ACCOUNTS, REPOS, HISTORY, BLOBS, DISCUSSIONS, XET))

# Tables with a repo_id column: a deleted repository leaves no row in any of them.
REPO_TABLES = ("refs", "commits", "repo_blobs", "discussions", "moved", "commit_paths", "downloads",
               "xet_xorb_repos", "xet_file_repos")
