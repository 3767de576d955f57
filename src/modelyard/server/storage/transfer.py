"""Copying every row of one hub database into another (``modelyard hub export``: SQLite -> PostgreSQL and back).

The target must be an empty database at the same schema revision (``modelyard hub migrate`` makes one). Rows
keep their ids (repositories, tokens), so every reference between tables stays as it is; PostgreSQL's identity
sequences are then moved past the copied ids. Packed trees written as JSON text by early SQLite hubs are
repacked, since PostgreSQL keeps trees as bytes. The signing key (``meta``) travels too: links signed by the
old hub stay valid on the new one.
"""

from __future__ import annotations

from collections.abc import Callable

from modelyard.server.storage.database import Database
from modelyard.server.storage.trees import decode_manifest, encode_manifest

# Every table of the schema, parents before the rows that name them (no foreign keys, but a reader of a
# half-copied database should see repos before their commits).
TABLES: tuple[str, ...] = (
    "meta", "namespaces", "members", "tokens", "web_sessions", "repos", "moved", "downloads", "trees", "commits",
    "refs", "commit_paths", "repo_blobs", "scans", "content_kinds", "discussions", "xet_xorbs", "xet_xorb_repos",
    "xet_files", "xet_file_repos", "xet_file_xorbs", "xet_dedupe")
_IDENTITY_TABLES = ("repos", "tokens")
_BATCH = 1000


class TargetNotEmpty(RuntimeError):
    """The database to copy into already holds hub data."""


def copy_rows(source: Database, target: Database, *,
              progress: Callable[[str, int], None] = lambda table, rows: None) -> dict[str, int]:
    """Copy every table of ``source`` into the empty ``target`` in one transaction; returns rows per table."""
    counts: dict[str, int] = {}
    with target.transaction() as into:
        for table in TABLES:
            if into.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
                raise TargetNotEmpty(f"the target database already has rows in {table}; copy into a new, migrated "
                                     "database (`modelyard hub migrate` with its MODELYARD_HUB_DATABASE_URL)")
        for table in TABLES:
            rows = source.conn().execute(f"SELECT * FROM {table}").fetchall()
            if not rows:
                counts[table] = 0
                continue
            columns = rows[0].keys()
            quoted = ", ".join(f'"{c}"' for c in columns)
            insert = f"INSERT INTO {table}({quoted}) VALUES({', '.join('?' * len(columns))})"
            values = [_portable(table, columns, tuple(row)) for row in rows]
            for start in range(0, len(values), _BATCH):
                into.executemany(insert, values[start:start + _BATCH])
            counts[table] = len(rows)
            progress(table, len(rows))
        if target.postgres:
            for table in _IDENTITY_TABLES:
                into.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")
    return counts


def _portable(table: str, columns: list[str], row: tuple) -> tuple:
    if table == "trees":
        at = columns.index("manifest")
        manifest = row[at]
        if isinstance(manifest, str):  # the JSON text of early SQLite hubs
            manifest = encode_manifest(decode_manifest(manifest))
        return (*row[:at], bytes(manifest), *row[at + 1:])
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)


def referenced_blobs(db: Database) -> tuple[set[str], set[str]]:
    """(sha256 of every file some tree names, blob name of every stored xorb): what a copy must carry."""
    files: set[str] = set()
    for row in db.conn().execute("SELECT manifest FROM trees").fetchall():
        files.update(entry.sha256 for entry in decode_manifest(row["manifest"]).values())
    xorbs = {row["blob"] for row in db.conn().execute("SELECT blob FROM xet_xorbs").fetchall()}
    return files, xorbs


def xet_file_contents(db: Database) -> set[str]:
    """The sha256 of every file registered through Xet (rebuilt from xorbs, so it may lack a blob of its own)."""
    return {row["sha256"] for row in db.conn().execute("SELECT DISTINCT sha256 FROM xet_files").fetchall()}


def table_counts(db: Database) -> dict[str, int]:
    """Rows per table (to compare a copy with its source)."""
    return {t: db.conn().execute(f"SELECT COUNT(*) AS n FROM {t}").one()["n"] for t in TABLES}
