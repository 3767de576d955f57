"""`modelyard hub export`: a hub on SQLite + files moves to PostgreSQL + S3 whole (every repo, commit, tag, token
and blob, the blobs verified by content), and the exported hub serves it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from _backing_servers import migrated_database
from _hub_server import HubServer

from modelyard.cli.main import main

pytestmark = pytest.mark.slow


def _snapshot(server: HubServer, repos: list[tuple[str, str]], tmp: Path) -> dict:
    api = server.api()
    out: dict = {}
    for repo_type, repo_id in repos:
        refs = api.list_repo_refs(repo_id, repo_type=repo_type)
        commits = [c.commit_id for c in api.list_repo_commits(repo_id, repo_type=repo_type)]
        files = {}
        for name in api.list_repo_files(repo_id, repo_type=repo_type):
            path = api.hf_hub_download(repo_id, name, repo_type=repo_type, cache_dir=tmp / f"c{len(out)}")
            files[name] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        out[repo_id] = {"branches": sorted((b.name, b.target_commit) for b in refs.branches),
                        "tags": sorted((t.name, t.target_commit) for t in refs.tags), "commits": commits,
                        "files": files, "private": api.repo_info(repo_id, repo_type=repo_type).private}
    return out


def test_sqlite_and_files_export_to_postgres_and_s3(tmp_path: Path, s3_server, postgres_server,  # noqa: ANN001
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("MODELYARD_TEST_HUB_BACKEND", raising=False)
    old = HubServer(tmp_path / "old", database_url=None, blob_store=None).start()
    api = old.api()
    model, data = old.repo_id("m"), old.repo_id("d")
    api.create_repo(model)
    api.upload_file(path_or_fileobj=os.urandom(2 * 1024 * 1024), path_in_repo="model.safetensors", repo_id=model)
    api.upload_file(path_or_fileobj=b'{"hidden": 8}', path_in_repo="config.json", repo_id=model)
    api.create_tag(model, tag="v1")
    api.create_branch(model, branch="dev")
    api.upload_file(path_or_fileobj=b"dev only", path_in_repo="dev.txt", repo_id=model, revision="dev")
    api.create_repo(data, repo_type="dataset", private=True)
    api.upload_file(path_or_fileobj=b"a,b\n1,2\n", path_in_repo="train.csv", repo_id=data, repo_type="dataset")
    repos = [("model", model), ("dataset", data)]
    before = _snapshot(old, repos, tmp_path / "before")
    old.stop()

    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    url, bucket = postgres_server.new_database(), s3_server.new_bucket()
    args = ["hub", "export", "--data-dir", str(tmp_path / "old"), "--to-database-url", url,
            "--to-blob-store", f"s3://{bucket}/hub"]
    assert main(args) == 0
    assert "each verified" in capsys.readouterr().out
    assert main(args) != 0  # never into a database that holds a hub already
    assert "already has rows" in capsys.readouterr().err

    new = HubServer(tmp_path / "new", database_url=url, blob_store=f"s3://{bucket}/hub").start(seed=False)
    new.token = old.token  # the tokens travelled with the rows
    try:
        assert _snapshot(new, repos, tmp_path / "after") == before
    finally:
        new.stop()


def test_export_refuses_a_store_whose_blob_does_not_match_its_name(tmp_path: Path, s3_server,  # noqa: ANN001
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("MODELYARD_TEST_HUB_BACKEND", raising=False)
    old = HubServer(tmp_path / "old", database_url=None, blob_store=None).start()
    repo = old.repo_id("m")
    old.api().create_repo(repo)
    old.api().upload_file(path_or_fileobj=os.urandom(1024 * 1024), path_in_repo="w.bin", repo_id=repo)
    old.stop()
    blob = max((p for p in (tmp_path / "old" / "blobs").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    blob.chmod(0o644)
    blob.write_bytes(b"bit rot")
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    bucket = s3_server.new_bucket()
    assert main(["hub", "export", "--data-dir", str(tmp_path / "old"), "--to-database-url", migrated_database(),
                 "--to-blob-store", f"s3://{bucket}/hub"]) != 0
    err = capsys.readouterr().err
    assert "failed verification" in err and blob.name in err
