"""Garbage collection against a live hub: uploads in flight survive it, and what nothing references goes."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _hub_server import HubServer

from modelyard.server import routes_upload
from modelyard.server.gc import collect_garbage

MiB = 1024 * 1024


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    server = HubServer(tmp_path / "hub").start()  # its own hub: collecting must not touch other tests' data
    yield server
    server.stop()


def _upload_lfs(hub: HubServer, repo_id: str, content: bytes) -> str:
    oid = hashlib.sha256(content).hexdigest()
    batch = httpx.post(f"{hub.url}/{repo_id}.git/info/lfs/objects/batch", headers={"authorization": f"Bearer {hub.token}"},
                       json={"operation": "upload", "objects": [{"oid": oid, "size": len(content)}]}).json()
    actions = batch["objects"][0].get("actions")
    if actions:
        assert httpx.put(actions["upload"]["href"], content=content).is_success
    return oid


def _commit_lfs(hub: HubServer, repo_id: str, path: str, oid: str, size: int) -> httpx.Response:
    lines = [{"key": "header", "value": {"summary": f"add {path}"}},
             {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}}]
    return httpx.post(f"{hub.url}/api/models/{repo_id}/commit/main", content="\n".join(json.dumps(x) for x in lines),
                      headers={"authorization": f"Bearer {hub.token}", "content-type": "application/x-ndjson"})


def _gc(hub: HubServer, *, grace: float, apply: bool = True):
    return collect_garbage(hub.storage, hub.app.state.hub.store, grace=grace, apply=apply)


def test_an_upload_waiting_for_its_commit_survives_collection(hub: HubServer) -> None:
    api = hub.api()
    api.create_repo("alice/w")
    content = os.urandom(2 * MiB)
    oid = _upload_lfs(hub, "alice/w", content)
    report = _gc(hub, grace=3600)
    assert report.orphan_blobs == [] and report.young_orphans == 1
    assert _commit_lfs(hub, "alice/w", "w.bin", oid, len(content)).status_code == 200
    assert _gc(hub, grace=0).orphan_blobs == []  # committed: live for good
    # Content stored again refreshes the grace age: an old orphan that is uploaded anew is young again.
    other = os.urandom(1000)
    other_oid = _upload_lfs(hub, "alice/w", other)
    blob = hub.app.state.hub.store.path(other_oid)
    os.utime(blob, (time.time() - 7200, time.time() - 7200))
    api.create_repo("alice/w2")
    _upload_lfs(hub, "alice/w2", other)  # same content, another repo: the upload lands on the existing blob
    assert _gc(hub, grace=3600).orphan_blobs == [] and blob.exists()


def test_a_blob_collected_while_its_commit_waits_for_the_lock_is_refused_cleanly(
        hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    api = hub.api()
    api.create_repo("alice/race")
    content = os.urandom(1000)
    oid = _upload_lfs(hub, "alice/race", content)
    before = api.model_info("alice/race").sha
    real = routes_upload._scan_before_commit

    def collected_meanwhile(*args, **kwargs):  # garbage collection runs between the checks and the commit
        real(*args, **kwargs)
        assert [sha for sha, _ in _gc(hub, grace=0).orphan_blobs] == [oid]

    monkeypatch.setattr(routes_upload, "_scan_before_commit", collected_meanwhile)
    response = _commit_lfs(hub, "alice/race", "w.bin", oid, len(content))
    assert response.status_code == 409 and "upload it again" in response.json()["error"]
    monkeypatch.undo()
    assert api.model_info("alice/race").sha == before  # no commit naming a missing blob
    oid = _upload_lfs(hub, "alice/race", content)  # the client uploads again, and then it works
    assert _commit_lfs(hub, "alice/race", "w.bin", oid, len(content)).status_code == 200


def test_deleted_repos_leave_nothing_behind(hub: HubServer) -> None:
    api = hub.api()
    api.create_repo("alice/keep")
    api.upload_file(path_or_fileobj=b"shared", path_in_repo="s.txt", repo_id="alice/keep")
    api.create_repo("alice/doomed")
    api.upload_file(path_or_fileobj=b"shared", path_in_repo="s.txt", repo_id="alice/doomed")
    api.upload_file(path_or_fileobj=b"only here", path_in_repo="o.txt", repo_id="alice/doomed")
    api.delete_repo("alice/doomed")
    dry = _gc(hub, grace=0, apply=False)
    assert [sha for sha, _ in dry.orphan_blobs] == [hashlib.sha256(b"only here").hexdigest()]
    # Trees are shared by content: only the doomed repo's last one (with o.txt) is its alone.
    assert dry.orphan_trees == 1
    report = _gc(hub, grace=0)
    assert report.orphan_trees == 1 and len(report.orphan_blobs) == 1
    assert hub.storage.conn().execute("SELECT COUNT(*) FROM trees").fetchone()[0] == 2
    assert httpx.get(f"{hub.url}/alice/keep/resolve/main/s.txt").content == b"shared"
    api.create_repo("alice/fresh")  # the initial .gitattributes blob is stored again when needed
    assert httpx.get(f"{hub.url}/alice/fresh/resolve/main/.gitattributes").status_code == 200
