"""The S3 blob store against a real S3-compatible server (moto in server mode): the file store's guarantees
(verified on the way in, immutable, shared by every replica) and the maintenance interface."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from modelyard.server.blobstore import BlobStore
from modelyard.server.blobstore_s3 import S3BlobStore, open_blob_store
from modelyard.server.errors import HubHTTPError


@pytest.fixture
def bucket(s3_server) -> str:  # noqa: ANN001 - the session fixture
    return s3_server.new_bucket()


def _store(s3_server, bucket: str, root: Path) -> S3BlobStore:  # noqa: ANN001
    return S3BlobStore(root, bucket, "hub/blobs", client=s3_server.client())


def test_a_blob_stored_through_one_replica_is_read_through_another(s3_server, bucket: str, tmp_path: Path) -> None:  # noqa: ANN001
    first, second = _store(s3_server, bucket, tmp_path / "a"), _store(s3_server, bucket, tmp_path / "b")
    content = os.urandom(300_000)
    sha = first.put_bytes(content)
    assert sha == hashlib.sha256(content).hexdigest()
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"hub/blobs/{sha[:2]}/{sha[2:4]}/{sha}"]
    assert second.has(sha) and second.has(sha, len(content)) and not second.has(sha, len(content) + 1)
    assert not second.path(sha).with_name("x").exists()
    assert second.path(sha).read_bytes() == content  # fetched once into b's cache
    assert [(b.name, b.size) for b in second.stored()] == [(sha, len(content))]
    missing = "0" * 64
    assert not second.has(missing) and not second.path(missing).exists()


def test_uploads_are_verified_before_they_reach_the_bucket(s3_server, bucket: str, tmp_path: Path) -> None:  # noqa: ANN001
    store = _store(s3_server, bucket, tmp_path)
    content = b"weights" * 1000
    with store.writer() as writer:
        writer.write(content)
        with pytest.raises(HubHTTPError, match="sha256"):
            writer.commit(expected_sha256="f" * 64, expected_size=len(content))
    with store.writer() as writer:
        writer.write(content)
        with pytest.raises(HubHTTPError, match="bytes, expected"):
            writer.commit(expected_sha256=hashlib.sha256(content).hexdigest(), expected_size=len(content) - 1)
    assert s3_server.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert list(store.tmp.iterdir()) == []


def test_an_altered_object_is_refused_on_read(s3_server, bucket: str, tmp_path: Path) -> None:  # noqa: ANN001
    store = _store(s3_server, bucket, tmp_path / "a")
    sha = store.put_bytes(b"original bytes")
    s3_server.client().put_object(Bucket=bucket, Key=store.key(sha), Body=b"tampered bytes")
    with pytest.raises(OSError, match="does not hash to its name"):
        _store(s3_server, bucket, tmp_path / "b").path(sha)


def test_delete_age_and_ping(s3_server, bucket: str, tmp_path: Path) -> None:  # noqa: ANN001
    store = _store(s3_server, bucket, tmp_path)
    sha = store.put_bytes(b"to be collected")
    age = store.age(sha)
    assert age is not None and age < 60
    store.ping()
    store.delete(sha)
    assert store.age(sha) is None and not store.has(sha) and list(store.stored()) == []
    with pytest.raises(Exception):  # noqa: B017, PT011 - botocore's error for a missing bucket
        S3BlobStore(tmp_path, "no-such-bucket", client=s3_server.client()).ping()


def test_open_blob_store_reads_the_setting(s3_server, bucket: str, tmp_path: Path) -> None:  # noqa: ANN001
    assert type(open_blob_store(None, tmp_path)) is BlobStore
    assert open_blob_store(f"file://{tmp_path / 'elsewhere'}", tmp_path).blobs == tmp_path / "elsewhere" / "blobs"
    s3 = open_blob_store(f"s3://{bucket}/p/q/", tmp_path, client=s3_server.client())
    assert isinstance(s3, S3BlobStore) and s3.bucket == bucket and s3.prefix == "p/q/"
    for bad in ("s3:///nobucket", "ftp://x/y", "file://host/path"):
        with pytest.raises(ValueError, match="MODELYARD_HUB_BLOB_STORE"):
            open_blob_store(bad, tmp_path)


def test_health_reports_the_database_and_the_object_store(s3_server, tmp_path: Path,  # noqa: ANN001
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from modelyard.server.app import create_app
    from modelyard.server.config import HubSettings

    for key, value in s3_server.env().items():  # the usual AWS settings name the object store
        monkeypatch.setenv(key, value)
    bucket = s3_server.new_bucket()
    app = create_app(HubSettings(data_dir=tmp_path / "hub", blob_store=f"s3://{bucket}/b"))
    with TestClient(app) as client:
        report = client.get("/api/health")
        assert report.status_code == 200 and report.json()["status"] == "ok"
        assert report.json()["database"]["status"] == report.json()["blob_store"]["status"] == "ok"
        s3 = s3_server.client()
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", ()):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)
        report = client.get("/api/health")
        assert report.status_code == 503 and report.json()["blob_store"]["status"] == "unreachable"
        assert report.json()["database"]["status"] == "ok"


def test_the_read_through_cache_is_bounded_least_recently_used_first(s3_server, bucket: str, tmp_path: Path,  # noqa: ANN001
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.server import blobstore_s3

    writer = _store(s3_server, bucket, tmp_path / "writer")
    blobs = {writer.put_bytes(os.urandom(100_000) + bytes([i])): i for i in range(6)}
    reader = S3BlobStore(tmp_path / "reader", bucket, "hub/blobs", client=s3_server.client(), cache_size=350_000)
    monkeypatch.setattr(blobstore_s3, "IN_USE_SECONDS", 0.0)  # no copy counts as being read right now
    names = list(blobs)
    clock = 1_000_000.0
    for name in names[:3]:
        reader.path(name)
        clock += 10
        os.utime(reader.blobs / name[:2] / name[2:4] / name, (clock, clock))  # a known order of use
    # Using the oldest copy again makes it the most recent: the second one is now the least recently used.
    first = reader.path(names[0])
    assert first.exists() and reader.cache_bytes() == 300_003
    reader.path(names[3])  # 400 KB > 350 KB: evict down to 90% (315 KB), least recently used first
    cached = {b.name for b in BlobStore.stored(reader)}
    assert cached == {names[0], names[2], names[3]} and reader.cache_bytes() == 300_003
    # an evicted blob is still served: fetched again from the bucket, checked against its hash
    assert reader.path(names[1]).read_bytes()[-1] == blobs[names[1]]
    assert reader.cache_bytes() <= 350_000
    # a copy in use (read within IN_USE_SECONDS) is never evicted, even past the bound
    monkeypatch.setattr(blobstore_s3, "IN_USE_SECONDS", 3600.0)
    tiny = S3BlobStore(tmp_path / "tiny", bucket, "hub/blobs", client=s3_server.client(), cache_size=0)
    for name in names:
        assert tiny.path(name).exists()
    assert tiny.cache_bytes() == 600_006
    # deleting a blob drops it from the bucket and the count
    tiny.delete(names[5])
    assert tiny.cache_bytes() == 500_005 and not tiny.has(names[5])
    with pytest.raises(ValueError, match="0 or more bytes"):
        S3BlobStore(tmp_path / "bad", bucket, client=s3_server.client(), cache_size=-1)


def test_bookkeeping_and_large_reads_fetch_nothing_into_the_cache(s3_server, bucket: str, tmp_path: Path,  # noqa: ANN001
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A replica that only redirects downloads never copies the blob: has, size and touch ask the bucket, and a
    blob of READ_IN_PLACE bytes or more is read by ranges (seekable), a smaller one fetched and checked."""
    from modelyard.server import blobstore_s3

    monkeypatch.setattr(blobstore_s3, "READ_IN_PLACE", 200_000)
    monkeypatch.setattr(blobstore_s3, "RANGE_READ_BLOCK", 4096)  # many ranged GETs on a small object
    content, small = os.urandom(300_000), os.urandom(1000)
    writer = _store(s3_server, bucket, tmp_path / "writer")
    big_sha, small_sha = writer.put_bytes(content), writer.put_bytes(small)
    reader = _store(s3_server, bucket, tmp_path / "reader")
    assert reader.has(big_sha) and reader.has(big_sha, len(content)) and not reader.has(big_sha, 1)
    assert reader.size(big_sha) == len(content) and reader.size("0" * 64) is None
    reader.touch(big_sha)
    assert reader.download_url(big_sha, filename="w.bin", media_type="application/octet-stream")
    assert reader.cache_bytes() == 0 and not list(BlobStore.stored(reader))
    with reader.open(big_sha) as fh:
        assert fh.read(10) == content[:10]
        fh.seek(-5, os.SEEK_END)
        assert fh.read() == content[-5:] and fh.read(1) == b""
        fh.seek(123_456)
        assert fh.read(50_000) == content[123_456:173_456]
        fh.seek(0)
        assert hashlib.sha256(fh.read()).hexdigest() == big_sha
    assert reader.cache_bytes() == 0
    with reader.open(small_sha) as fh:  # below the threshold: fetched once, checked against its name
        assert fh.read() == small
    assert [b.name for b in BlobStore.stored(reader)] == [small_sha]
    with pytest.raises(FileNotFoundError, match="is not in"):
        reader.open("0" * 64)
    # The file store answers the same interface from its folder.
    local = BlobStore(tmp_path / "local")
    sha = local.put_bytes(small)
    assert local.size(sha) == len(small) and local.size("0" * 64) is None
    with local.open(sha) as fh:
        assert fh.read() == small
