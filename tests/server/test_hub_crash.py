"""A hub killed (SIGKILL) in the middle of uploads and commits restarts with every repo consistent."""

from __future__ import annotations

import base64
import hashlib
import json
import os
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
    server.kill()
