"""Two hub replicas (two `modelyard hub serve` processes on different ports) sharing nothing but one PostgreSQL
database and one S3 bucket: what one takes in, the other serves at once, and concurrent commits to one branch
through both lose nothing."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from _backing_servers import migrated_database
from _hub_server import SubprocessHub
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

from modelyard.server.storage import Storage

pytestmark = pytest.mark.slow


@pytest.fixture
def replicas(tmp_path: Path, postgres_server, s3_server):  # noqa: ANN001, ANN201 - session fixtures
    yield from _replicas(tmp_path, s3_server)


@pytest.fixture
def replicas_taking_bytes(tmp_path: Path, postgres_server, s3_server):  # noqa: ANN001, ANN201 - session fixtures
    """Replicas that receive LFS uploads themselves (direct uploads to the bucket off)."""
    yield from _replicas(tmp_path, s3_server, MODELYARD_HUB_DIRECT_UPLOADS="0")


def _replicas(tmp_path: Path, s3_server, **extra_env: str):  # noqa: ANN001, ANN202
    url = migrated_database()
    env = {**s3_server.env(), "MODELYARD_HUB_DATABASE_URL": url,
           "MODELYARD_HUB_BLOB_STORE": f"s3://{s3_server.new_bucket()}/hub", "MODELYARD_HUB_REGULAR_MAX_SIZE": "1MiB",
           **extra_env}
    storage = Storage(url)
    storage.accounts.add_namespace("alice", "user")
    token = storage.tokens.create("alice", "write")
    storage.close()
    hubs = [SubprocessHub(tmp_path / f"replica-{i}", env=env) for i in (1, 2)]
    for hub in hubs:
        hub.data_dir.mkdir()
        hub.start()
    try:
        yield hubs, token
    finally:
        for hub in hubs:
            hub.stop()


def test_a_push_through_one_replica_is_served_by_the_other_at_once(replicas, tmp_path: Path,  # noqa: ANN001
                                                                   s3_server) -> None:  # noqa: ANN001
    (one, two), token = replicas
    s3_url = s3_server.url
    api_one, api_two = HfApi(endpoint=one.url, token=token), HfApi(endpoint=two.url, token=token)
    api_one.create_repo("alice/shared")
    weights = os.urandom(3 * 1024 * 1024)  # an LFS file: the bytes go to the bucket
    api_one.upload_file(path_or_fileobj=weights, path_in_repo="model.safetensors", repo_id="alice/shared")
    api_one.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id="alice/shared")
    assert set(api_two.list_repo_files("alice/shared")) == {".gitattributes", "model.safetensors", "config.json"}
    assert api_two.model_info("alice/shared").sha == api_one.model_info("alice/shared").sha
    path = hf_hub_download("alice/shared", "model.safetensors", endpoint=two.url, token=token,
                           cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == weights
    # The LFS file was a redirect to a presigned GET of the object store (the hub carried none of its bytes);
    # the small regular file comes from the hub itself.
    auth = {"authorization": f"Bearer {token}"}
    answer = httpx.get(f"{two.url}/alice/shared/resolve/main/model.safetensors", headers=auth)
    assert answer.status_code == 302 and answer.headers["x-linked-size"] == str(len(weights))
    assert answer.headers["location"].startswith(s3_url + "/") and "Signature" in answer.headers["location"]
    assert httpx.get(answer.headers["location"]).content == weights
    assert httpx.get(f"{two.url}/alice/shared/resolve/main/config.json", headers=auth).status_code == 200


def test_concurrent_commits_through_two_replicas_lose_nothing(replicas, tmp_path: Path) -> None:  # noqa: ANN001
    (one, two), token = replicas
    apis = [HfApi(endpoint=one.url, token=token), HfApi(endpoint=two.url, token=token)]
    apis[0].create_repo("alice/busy")
    files = {f"f{i:02d}.bin" if i % 4 == 0 else f"f{i:02d}.txt": os.urandom(2 * 1024 * 1024 if i % 4 == 0 else 64)
             for i in range(40)}

    def commit(item: tuple[int, tuple[str, bytes]]) -> str:
        index, (name, content) = item
        info = apis[index % 2].create_commit(
            "alice/busy", [CommitOperationAdd(path_in_repo=name, path_or_fileobj=content)], commit_message=name)
        return info.oid

    with ThreadPoolExecutor(max_workers=40) as pool:
        oids = list(pool.map(commit, enumerate(files.items())))
    assert len(set(oids)) == 40
    history = apis[1].list_repo_commits("alice/busy")
    assert len(history) == 41  # the initial commit and the 40
    assert {c.commit_id for c in history} >= set(oids)
    # Linear: every commit but the first has one parent, the one listed after it.
    storage = Storage(_database_url(one))
    repo = storage.repos.get("model", "alice", "busy")
    chain = storage.changes.first_parent_chain(repo, history[0].commit_id)
    assert chain == [c.commit_id for c in history]
    storage.close()
    for index, (name, content) in enumerate(files.items()):
        api = apis[index % 2 - 1]  # read through the other replica
        path = api.hf_hub_download("alice/busy", name, cache_dir=tmp_path / "dl")
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == hashlib.sha256(content).hexdigest()


def _database_url(hub: SubprocessHub) -> str:
    assert hub.env is not None
    return hub.env["MODELYARD_HUB_DATABASE_URL"]


def test_a_replica_killed_mid_upload_leaves_nothing_half_done(replicas_taking_bytes, s3_server) -> None:  # noqa: ANN001
    (one, two), token = replicas_taking_bytes
    api_two = HfApi(endpoint=two.url, token=token)
    api_two.create_repo("alice/crash")
    api_two.upload_file(path_or_fileobj=b"kept", path_in_repo="kept.txt", repo_id="alice/crash")
    head = api_two.model_info("alice/crash").sha
    content = os.urandom(8 * 1024 * 1024)
    oid = hashlib.sha256(content).hexdigest()
    auth = {"authorization": f"Bearer {token}"}
    batch = httpx.post(f"{one.url}/alice/crash.git/info/lfs/objects/batch", headers=auth,
                       json={"operation": "upload", "transfers": ["basic"],
                             "objects": [{"oid": oid, "size": len(content)}]}).json()
    href = batch["objects"][0]["actions"]["upload"]["href"]

    def slow_body():  # noqa: ANN202 - half the bytes, then the replica dies under the upload
        yield content[: len(content) // 2]
        one.kill()
        yield content[len(content) // 2:]

    with pytest.raises(httpx.HTTPError):
        httpx.put(href, content=slow_body(), headers={"content-length": str(len(content))}, timeout=30)
    # The other replica serves the repo as it was; the half upload is nowhere, in the bucket or the history.
    assert api_two.model_info("alice/crash").sha == head
    assert set(api_two.list_repo_files("alice/crash")) == {".gitattributes", "kept.txt"}
    bucket = two.env["MODELYARD_HUB_BLOB_STORE"].split("/")[2]
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", ())]
    assert not any(key.endswith(oid) for key in keys)
    # A retry through the surviving replica succeeds, and the file reads back whole.
    api_two.upload_file(path_or_fileobj=content, path_in_repo="w.bin", repo_id="alice/crash")
    refs = api_two.list_repo_refs("alice/crash")
    assert [b.name for b in refs.branches] == ["main"] and refs.tags == []
    answer = httpx.get(f"{two.url}/alice/crash/resolve/main/w.bin", headers=auth, follow_redirects=True)
    assert hashlib.sha256(answer.content).hexdigest() == oid


def _many_file_commit(files: dict[str, bytes], summary: str, on_line=None):  # noqa: ANN001, ANN202
    """An NDJSON commit body adding ``files`` (regular, base64), yielded line by line."""
    import base64
    import json

    yield json.dumps({"key": "header", "value": {"summary": summary}}).encode() + b"\n"
    for i, (path, content) in enumerate(files.items()):
        yield json.dumps({"key": "file", "value": {"path": path, "encoding": "base64",
                                                   "content": base64.b64encode(content).decode()}}).encode() + b"\n"
        if on_line is not None:
            on_line(i)


def test_a_replica_killed_mid_many_file_commit_leaves_all_or_nothing(replicas) -> None:  # noqa: ANN001
    import threading

    (one, two), token = replicas
    api_two = HfApi(endpoint=two.url, token=token)
    api_two.create_repo("alice/many")
    head = api_two.upload_file(path_or_fileobj=b"kept", path_in_repo="kept.txt", repo_id="alice/many").oid
    auth = {"authorization": f"Bearer {token}", "content-type": "application/x-ndjson"}
    files = {f"shard/{i:04d}.txt": os.urandom(512) + str(i).encode() for i in range(300)}

    # 1. Killed while the commit's lines stream in: nothing of it lands.
    def kill_halfway(i: int) -> None:
        if i == len(files) // 2:
            one.kill()

    with pytest.raises(httpx.HTTPError):
        httpx.post(f"{one.url}/api/models/alice/many/commit/main", headers=auth, timeout=60,
                   content=_many_file_commit(files, "doomed", kill_halfway))
    assert api_two.model_info("alice/many").sha == head
    assert set(api_two.list_repo_files("alice/many")) == {".gitattributes", "kept.txt"}

    # 2. Killed right after the whole body was sent, while the replica stores it: the commit is whole or absent.
    one.start()
    sent = threading.Event()

    def body_then_signal():  # noqa: ANN202 - the signal comes once the last line has been written out
        yield from _many_file_commit(files, "all or nothing")
        sent.set()

    def post() -> None:
        try:
            httpx.post(f"{one.url}/api/models/alice/many/commit/main", headers=auth, timeout=60,
                       content=body_then_signal())
        except httpx.HTTPError:
            pass

    sender = threading.Thread(target=post, daemon=True)
    sender.start()
    assert sent.wait(60)
    one.kill()
    sender.join(60)
    listed = set(api_two.list_repo_files("alice/many"))
    now = api_two.model_info("alice/many").sha
    if now == head:
        assert listed == {".gitattributes", "kept.txt"}
    else:
        assert listed == {".gitattributes", "kept.txt", *files}
        assert [c.title for c in api_two.list_repo_commits("alice/many")][0] == "all or nothing"

    # 3. A retry through the surviving replica lands whole; no stray branch or tag; files read back exact.
    operations = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=c) for p, c in files.items()]
    api_two.create_commit("alice/many", operations=operations, commit_message="retried")
    assert set(api_two.list_repo_files("alice/many")) == {".gitattributes", "kept.txt", *files}
    refs = api_two.list_repo_refs("alice/many")
    assert [b.name for b in refs.branches] == ["main"] and refs.tags == []
    for path in list(files)[::97]:
        answer = httpx.get(f"{two.url}/alice/many/resolve/main/{path}", headers={"authorization": f"Bearer {token}"},
                           follow_redirects=True)
        assert answer.content == files[path]
