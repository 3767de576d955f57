"""LFS uploads straight into the S3 object store (moto in server mode): the batch API hands out presigned PUTs
(one, or one per part), the hub carries none of the bytes, and a staged object becomes a blob only once the
object store's own SHA-256 and size match what was announced. The stock ``huggingface_hub`` client follows it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from _hub_server import HubServer

from modelyard.server.blobstore_s3 import S3_COPY_LIMIT, S3BlobStore

MiB = 1024 * 1024


@pytest.fixture
def s3_hub(tmp_path: Path, s3_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:  # noqa: ANN001
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    # Direct uploads and redirects named (they are the defaults): MODELYARD_TEST_HUB_BACKEND=postgres+s3 turns them
    # off for the rest of the suite.
    server = HubServer(tmp_path / "hub", blob_store=f"s3://{s3_server.new_bucket()}/blobs",
                       lfs_multipart_threshold=6 * MiB, lfs_chunk_size=5 * MiB, regular_max_size=MiB,
                       direct_uploads=True, blob_redirects=True).start()
    yield server
    server.stop()


def _batch(hub: HubServer, repo_id: str, content: bytes, transfers: tuple[str, ...] = ("basic", "multipart")
           ) -> dict[str, Any]:
    answer = httpx.post(f"{hub.url}/{repo_id}.git/info/lfs/objects/batch",
                        headers={"authorization": f"Bearer {hub.token}"},
                        json={"operation": "upload", "transfers": list(transfers),
                              "objects": [{"oid": hashlib.sha256(content).hexdigest(), "size": len(content)}]})
    assert answer.status_code == 200, answer.text
    return answer.json()["objects"][0]


def _bucket_keys(hub: HubServer) -> list[str]:
    store = hub.app.state.hub.store
    return [o["Key"] for o in store.client.list_objects_v2(Bucket=store.bucket).get("Contents", ())]


def test_the_stock_client_uploads_straight_to_the_bucket(s3_hub: HubServer, s3_server, tmp_path: Path,  # noqa: ANN001
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import CommitOperationAdd, hf_hub_download

    from modelyard.server import blobstore_s3
    from modelyard.server.blobstore import BlobStore

    store = s3_hub.app.state.hub.store
    assert isinstance(store, S3BlobStore)
    monkeypatch.setattr(blobstore_s3, "READ_IN_PLACE", MiB)  # the commit's pickle scans read both files in place
    received: list[object] = []  # every blob the hub itself writes from an upload stream
    original = store.writer
    monkeypatch.setattr(store, "writer", lambda *a, **k: received.append(a) or original(*a, **k))
    repo_id = s3_hub.repo_id()
    single, parts = os.urandom(2 * MiB), os.urandom(12 * MiB + 123)  # one PUT; three parts of 5 MiB
    with s3_hub.env(disable_xet=True):
        api = s3_hub.api()
        api.create_repo(repo_id)
        api.create_commit(repo_id, commit_message="weights", operations=[
            CommitOperationAdd("single.bin", single), CommitOperationAdd("parts.bin", parts)])
        for name, content in (("single.bin", single), ("parts.bin", parts)):
            path = hf_hub_download(repo_id, name, cache_dir=tmp_path / "cache")
            assert Path(path).read_bytes() == content
    assert received == []  # the hub carried none of the LFS bytes
    # nor fetched them: committing (sizes, scans) and redirecting downloads copy no blob into the replica
    cached = {blob.name for blob in BlobStore.stored(store)}
    assert not cached & {hashlib.sha256(single).hexdigest(), hashlib.sha256(parts).hexdigest()}
    for content in (single, parts):
        sha = hashlib.sha256(content).hexdigest()
        assert f"blobs/{sha[:2]}/{sha[2:4]}/{sha}" in _bucket_keys(s3_hub)
    assert not [k for k in _bucket_keys(s3_hub) if "/staging/" in k]  # staged objects are gone once adopted
    # what the batch API handed out: presigned links of the object store, and the hub's signed verify link
    actions = _batch(s3_hub, repo_id, os.urandom(MiB + 1))["actions"]
    assert actions["upload"]["href"].startswith(s3_server.url) and "Signature=" in actions["upload"]["href"]
    assert actions["verify"]["href"].startswith(f"{s3_hub.url}/_lfs/model/{repo_id}/")
    multipart = _batch(s3_hub, repo_id, os.urandom(11 * MiB))["actions"]["upload"]
    assert multipart["header"]["chunk_size"] == str(5 * MiB)
    assert sorted(k for k in multipart["header"] if k.isdigit()) == ["1", "2", "3"]
    assert all(multipart["header"][n].startswith(s3_server.url) for n in ("1", "2", "3"))


def _verify(hub: HubServer, actions: dict[str, Any], content: bytes, *, href: str | None = None) -> httpx.Response:
    return httpx.post(href or actions["verify"]["href"], headers={"authorization": f"Bearer {hub.token}"},
                      json={"oid": hashlib.sha256(content).hexdigest(), "size": len(content)})


def test_a_staged_object_with_other_bytes_is_refused_and_removed(s3_hub: HubServer) -> None:
    repo_id = s3_hub.repo_id()
    s3_hub.api().create_repo(repo_id)
    content = os.urandom(MiB + 7)
    sha = hashlib.sha256(content).hexdigest()

    # other bytes of the same size
    actions = _batch(s3_hub, repo_id, content)["actions"]
    assert httpx.put(actions["upload"]["href"], content=os.urandom(len(content))).is_success
    refused = _verify(s3_hub, actions, content)
    assert refused.status_code == 400 and "do not hash to the announced sha256" in refused.json()["error"]
    # fewer bytes
    actions = _batch(s3_hub, repo_id, content)["actions"]
    assert httpx.put(actions["upload"]["href"], content=content[:-1]).is_success
    refused = _verify(s3_hub, actions, content)
    assert refused.status_code == 400 and f"{len(content) - 1} bytes arrived" in refused.json()["error"]
    # nothing uploaded: knowing the sha256 is not enough
    actions = _batch(s3_hub, repo_id, content)["actions"]
    refused = _verify(s3_hub, actions, content)
    assert refused.status_code == 400 and "no upload arrived" in refused.json()["error"]
    assert not any(k.endswith(sha) for k in _bucket_keys(s3_hub))  # neither staged nor stored
    # a tampered link (another staging token) is refused by its signature
    actions = _batch(s3_hub, repo_id, content)["actions"]
    url = urlparse(actions["verify"]["href"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()} | {"token": "0" * 32}
    assert _verify(s3_hub, actions, content, href=url._replace(query=urlencode(query)).geturl()).status_code == 403
    # the right bytes then verify, and a retried verify is answered the same
    assert httpx.put(actions["upload"]["href"], content=content).is_success
    assert _verify(s3_hub, actions, content).json() == {"oid": sha, "size": len(content)}
    assert _verify(s3_hub, actions, content).status_code == 200
    assert f"blobs/{sha[:2]}/{sha[2:4]}/{sha}" in _bucket_keys(s3_hub)


def test_multipart_completion_checks_parts_and_etags(s3_hub: HubServer) -> None:
    repo_id = s3_hub.repo_id()
    s3_hub.api().create_repo(repo_id)
    content = os.urandom(7 * MiB)
    sha = hashlib.sha256(content).hexdigest()
    upload = _batch(s3_hub, repo_id, content)["actions"]["upload"]
    chunk = int(upload["header"]["chunk_size"])
    etags = [httpx.put(upload["header"][str(n)], content=content[(n - 1) * chunk:n * chunk]).headers["etag"]
             for n in (1, 2)]

    def complete(parts: list[dict[str, Any]]) -> httpx.Response:
        return httpx.post(upload["href"], json={"oid": sha, "parts": parts})

    assert complete([{"partNumber": 1, "etag": etags[0]}]).status_code == 400  # a part missing
    wrong = complete([{"partNumber": 1, "etag": etags[0]}, {"partNumber": 2, "etag": '"0000"'}])
    assert wrong.status_code == 400 and "refused to assemble" in wrong.json()["error"]
    done = complete([{"partNumber": n, "etag": e} for n, e in enumerate(etags, start=1)])
    assert done.status_code == 200 and done.json() == {"oid": sha, "size": len(content)}
    assert s3_hub.app.state.hub.store.path(sha).read_bytes() == content


def test_abandoned_staged_uploads_are_swept_and_large_files_go_through_the_hub(s3_hub: HubServer) -> None:
    from modelyard.server.gc import collect_garbage

    hub = s3_hub.app.state.hub
    repo_id = s3_hub.repo_id()
    s3_hub.api().create_repo(repo_id)
    content = os.urandom(MiB + 3)
    actions = _batch(s3_hub, repo_id, content)["actions"]
    assert httpx.put(actions["upload"]["href"], content=content).is_success  # and the client never verifies
    _batch(s3_hub, repo_id, os.urandom(8 * MiB))  # a multipart upload begun and left
    assert [k for k in _bucket_keys(s3_hub) if "/staging/" in k]
    report = collect_garbage(hub.storage, hub.store, grace=0, apply=False)
    assert report.stale_staged == []  # younger than the temp grace floor (an hour): kept
    assert hub.store.sweep_staging(0, apply=True)
    assert not [k for k in _bucket_keys(s3_hub) if "/staging/" in k]
    assert not hub.store.client.list_multipart_uploads(Bucket=hub.store.bucket).get("Uploads")
    # past what S3 can hash in one copy, and with direct uploads off, the hub takes the bytes itself
    assert hub.store.accepts_direct(S3_COPY_LIMIT) and not hub.store.accepts_direct(S3_COPY_LIMIT + 1)
    assert not hub.store.accepts_direct(0)
    hub.store.direct_uploads = False
    try:
        href = _batch(s3_hub, repo_id, content)["actions"]["upload"]["href"]
        assert href.startswith(f"{s3_hub.url}/_lfs/")
    finally:
        hub.store.direct_uploads = True
