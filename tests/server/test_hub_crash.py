"""A hub killed (SIGKILL) in the middle of uploads and commits restarts with every repo consistent."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _hub_server import SubprocessHub
from huggingface_hub import HfApi, hf_hub_download

from modelyard.cli.main import main as cli

MiB = 1024 * 1024
pytestmark = pytest.mark.slow


@pytest.fixture
def hub(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[SubprocessHub, str]]:
    data = tmp_path / "hub"
    assert cli(["hub", "user", "add", "alice", "--data-dir", str(data)]) == 0
    assert cli(["hub", "token", "create", "--user", "alice", "--data-dir", str(data)]) == 0
    token = capsys.readouterr().out.splitlines()[-1].strip()
    server = SubprocessHub(data)
    server.start()
    yield server, token
    if server.proc and server.proc.poll() is None:
        server.kill()


def _slow_body(total: int, started: threading.Event) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"\x00" * MiB
        sent += MiB
        if sent >= 8 * MiB:
            started.set()
            time.sleep(0.05)


def _send_in_background(method: str, url: str, body: Iterator[bytes], headers: dict[str, str]) -> threading.Thread:
    def run() -> None:
        try:
            httpx.request(method, url, content=body, headers=headers, timeout=30)
        except httpx.HTTPError:
            pass  # the server dies under it

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_killed_mid_upload_and_mid_commit_leaves_repo_consistent(hub, tmp_path: Path) -> None:
    server, token = hub
    api = HfApi(endpoint=server.url, token=token)
    auth = {"authorization": f"Bearer {token}"}
    api.create_repo("alice/crash")
    before = api.upload_file(path_or_fileobj=b"v1", path_in_repo="config.json", repo_id="alice/crash").oid

    # 1. Kill during an LFS PUT (the object is announced as 64 MiB of zeros; only part of it arrives).
    size = 64 * MiB
    oid = hashlib.sha256(b"\x00" * size).hexdigest()
    batch = httpx.post(f"{server.url}/alice/crash.git/info/lfs/objects/batch", headers=auth,
                       json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]})
    href = batch.json()["objects"][0]["actions"]["upload"]["href"]
    started = threading.Event()
    _send_in_background("PUT", href, _slow_body(size, started), {})
    assert started.wait(20)
    server.kill()
    assert [p.suffix for p in (server.data_dir / "tmp").iterdir()] == [".part"]  # killed mid-transfer

    # 2. Kill while a commit request streams in (a big regular-file commit).
    server.start()
    started = threading.Event()
    content = base64.b64encode(os.urandom(9 * MiB)).decode()

    def commit_body() -> Iterator[bytes]:
        yield json.dumps({"key": "header", "value": {"summary": "doomed"}}).encode() + b"\n"
        for i in range(20):
            yield json.dumps({"key": "file", "value": {"path": f"f{i}.bin", "content": content,
                                                       "encoding": "base64"}}).encode() + b"\n"
            if i == 2:
                started.set()
                time.sleep(0.1)

    _send_in_background("POST", f"{server.url}/api/models/alice/crash/commit/main", commit_body(),
                        {**auth, "content-type": "application/x-ndjson"})
    assert started.wait(20)
    time.sleep(0.2)
    server.kill()

    # Restart: the repo is exactly as before both crashes, temp files are gone, and uploads work again.
    server.start()
    assert api.model_info("alice/crash").sha == before
    assert api.list_repo_files("alice/crash") == [".gitattributes", "config.json"]
    assert list((server.data_dir / "tmp").iterdir()) == []
    path = hf_hub_download("alice/crash", "config.json", endpoint=server.url, token=token, cache_dir=tmp_path / "c")
    assert Path(path).read_bytes() == b"v1"
    from huggingface_hub import constants

    saved = constants.HF_HUB_DISABLE_XET
    constants.HF_HUB_DISABLE_XET = True
    try:
        after = api.upload_file(path_or_fileobj=b"\x00" * size, path_in_repo="zeros.bin", repo_id="alice/crash")
    finally:
        constants.HF_HUB_DISABLE_XET = saved
    info = api.model_info("alice/crash", files_metadata=True)
    assert info.sha == after.oid
    assert {s.rfilename: s.size for s in info.siblings}["zeros.bin"] == size

    # 3. Leave garbage the way dying clients do: an LFS object uploaded whose commit never comes (the client
    #    was killed), and regular files stored by a commit refused at a later line; then kill -9 once more.
    lfs_content = os.urandom(3 * MiB)
    lfs_oid = hashlib.sha256(lfs_content).hexdigest()
    batch = httpx.post(f"{server.url}/alice/crash.git/info/lfs/objects/batch", headers=auth,
                       json={"operation": "upload", "objects": [{"oid": lfs_oid, "size": len(lfs_content)}]})
    assert httpx.put(batch.json()["objects"][0]["actions"]["upload"]["href"], content=lfs_content).is_success
    regular = os.urandom(1000)
    refused = httpx.post(f"{server.url}/api/models/alice/crash/commit/main", headers={**auth},
                         content="\n".join([json.dumps({"key": "header", "value": {"summary": "refused"}}),
                                            json.dumps({"key": "file", "value": {"path": "r.bin", "encoding": "base64",
                                                        "content": base64.b64encode(regular).decode()}}),
                                            "not json"]))
    assert refused.status_code == 400
    server.kill()
    _collect_garbage_after_the_crashes(server, api, tmp_path, {lfs_oid: len(lfs_content),
                                                               hashlib.sha256(regular).hexdigest(): 1000})


def _collect_garbage_after_the_crashes(server: SubprocessHub, api: HfApi, tmp_path: Path,
                                       orphans: dict[str, int]) -> None:
    from modelyard.server.blobstore import BlobStore

    store = BlobStore(server.data_dir)
    data = ["--data-dir", str(server.data_dir)]
    blobs_before = {p.name for p in store.blobs.rglob("*") if p.is_file()}
    assert set(orphans) <= blobs_before
    # Default grace age: everything is younger than a day, so nothing goes (uploads may still commit it).
    report = _gc_report(data)
    assert report["blobs"] == set() and "younger than the grace age (24 h) were kept" in report["text"]
    # Dry run without grace: exactly the orphans are listed, nothing is deleted.
    report = _gc_report([*data, "--grace", "0"])
    assert report["blobs"] == set(orphans) and "--apply" in report["text"]
    assert {p.name for p in store.blobs.rglob("*") if p.is_file()} == blobs_before
    # Apply: the orphans go, every committed blob stays, and the hub serves every revision as before.
    report = _gc_report([*data, "--grace", "0", "--apply"])
    assert report["blobs"] == set(orphans) and report["text"].startswith("Removed 2 unreferenced blob(s)")
    assert {p.name for p in store.blobs.rglob("*") if p.is_file()} == blobs_before - set(orphans)
    assert _gc_report([*data, "--grace", "0"])["blobs"] == set()
    server.start()
    for revision in [c.commit_id for c in api.list_repo_commits("alice/crash")]:
        for name in api.list_repo_files("alice/crash", revision=revision):
            path = hf_hub_download("alice/crash", name, revision=revision, endpoint=server.url, token=api.token,
                                   cache_dir=tmp_path / "after-gc")
            expected = {"config.json": 2, "zeros.bin": 64 * MiB}
            assert name not in expected or Path(path).stat().st_size == expected[name]
    # The collected LFS object can simply be uploaded again.
    lfs_oid = next(oid for oid, size in orphans.items() if size > 1000)
    from huggingface_hub import constants

    saved, constants.HF_HUB_DISABLE_XET = constants.HF_HUB_DISABLE_XET, True
    try:
        batch = httpx.post(f"{server.url}/alice/crash.git/info/lfs/objects/batch",
                           headers={"authorization": f"Bearer {api.token}"},
                           json={"operation": "upload", "objects": [{"oid": lfs_oid, "size": orphans[lfs_oid]}]})
        assert "actions" in batch.json()["objects"][0]
    finally:
        constants.HF_HUB_DISABLE_XET = saved
    server.kill()


def _gc_report(args: list[str]) -> dict:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(["hub", "gc", *args]) == 0
    text = out.getvalue()
    return {"blobs": set(re.findall(r"^  blob ([0-9a-f]{64})", text, re.M)), "text": text.splitlines()[-1]}
