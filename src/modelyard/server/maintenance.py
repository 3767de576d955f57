"""Scan what is already stored: files committed before a scan rule existed, or before their weights index.

``modelyard hub scan`` walks the files at every ref head (branches, tags, pull requests) of every repository,
and scans each pickle-based one (by name, content or weights index, see ``scanning``) that has no result yet,
or every one with ``rescan=True`` (e.g. after upgrading picklescan).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from modelyard.server import scanning
from modelyard.server.gitobjects import FileEntry
from modelyard.server.service import Hub

Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]


@dataclass(frozen=True)
class ScanFinding:
    repo_id: str
    repo_type: str
    path: str
    status: str
    message: str


def scan_stored(hub: Hub, *, rescan: bool = False,
                progress: Progress = lambda items, total, what: items) -> tuple[int, list[ScanFinding]]:
    """Scan what lacks a result; returns (files scanned, findings that are not ``safe``)."""
    storage = hub.storage
    work: list[tuple[str, str, str, FileEntry, set[str]]] = []
    seen: set[tuple[str, str]] = set()
    for repo in storage.repos.all():
        for ref in storage.refs.all(repo):
            manifest = hub.manifest(repo, ref["target"])
            shards = hub.pickle_shards(manifest)
            for path, entry in manifest.items():
                if (entry.sha256, path) not in seen:
                    seen.add((entry.sha256, path))
                    work.append((repo.repo_id, repo.type, path, entry, shards))
    scanned, findings = 0, []
    for repo_id, repo_type, path, entry, shards in progress(work, len(work), "scanning files"):
        ext = hub.scan_ext(path, entry, shards)
        if ext is None:
            continue
        if rescan:
            storage.blobs.delete_scan(entry.sha256, scanning.scan_key(ext))
        scanned += hub.ensure_scanned(path, entry, shards)
        result = storage.blobs.scan(entry.sha256, scanning.scan_key(ext)) or {"status": "unscanned"}
        if result["status"] != "safe":
            findings.append(ScanFinding(repo_id, repo_type, path, result["status"], result.get("message", "")))
    return scanned, findings
