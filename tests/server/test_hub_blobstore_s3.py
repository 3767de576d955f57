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
