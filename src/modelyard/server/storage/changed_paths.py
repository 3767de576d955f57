"""The paths a commit changed, written with every commit (``commit_paths``) for the last-change index."""

from __future__ import annotations

from modelyard.server.gitobjects import FileEntry
from modelyard.server.storage.sql import Connection
from modelyard.server.storage.trees import Trees


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


def record_changed_paths(db: Connection, trees: Trees, repo_id: int, oid: str, parent: str | None,
                         manifest: dict[str, FileEntry]) -> None:
    """Index the paths commit ``oid`` changed against ``parent`` (inside the caller's transaction ``db``)."""
    before: dict[str, FileEntry] = {}
    if parent:
        row = db.execute("SELECT tree FROM commits WHERE repo_id=? AND oid=?", (repo_id, parent)).fetchone()
        if row is not None:
            before = trees.manifest(row["tree"], db)
    db.executemany("INSERT INTO commit_paths(repo_id, path, oid) VALUES(?,?,?) ON CONFLICT DO NOTHING",
                   [(repo_id, path, oid) for path in changed_paths(before, manifest)])
