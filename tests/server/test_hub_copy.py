"""Cross-repo ``CommitOperationCopy`` through the stock client (``lfs-files/duplicate`` on the source repo)."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import CommitOperationCopy, HfApi, hf_hub_download
from huggingface_hub.errors import RepositoryNotFoundError

MiB = 1024 * 1024


def _copy(src: str, src_path: str, dst_path: str) -> CommitOperationCopy:
    return CommitOperationCopy(src_path_in_repo=src_path, path_in_repo=dst_path, src_repo_id=src,
                               src_repo_type="model")


def test_cross_repo_copy_of_lfs_and_regular_files(hub_server: HubServer, api: HfApi, tmp_path) -> None:
    src, dst = hub_server.repo_id("copy-src"), hub_server.repo_id("copy-dst")
    weights = os.urandom(11 * MiB)
    api.create_repo(src, private=True)
    api.create_repo(dst)
    api.upload_file(path_or_fileobj=weights, path_in_repo="w.safetensors", repo_id=src)  # LFS
    api.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id=src)  # regular
    api.create_commit(dst, [_copy(src, "w.safetensors", "copied/w.safetensors"),
                            _copy(src, "config.json", "config.json")], commit_message="copy from src")
    info = api.model_info(dst, files_metadata=True)
    sizes = {s.rfilename: s.size for s in info.siblings}
    assert sizes["copied/w.safetensors"] == 11 * MiB and sizes["config.json"] == 8
    path = hf_hub_download(dst, "copied/w.safetensors", endpoint=hub_server.url, cache_dir=tmp_path / "c")
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == hashlib.sha256(weights).hexdigest()
    # The copy handle is only in paths-info: tree listings (cached by snapshot_download) carry no xetHash.
    assert all(getattr(e, "xet_hash", None) is None for e in api.list_repo_tree(src, recursive=True))


def test_copy_needs_read_access_to_the_source(hub_server: HubServer, api: HfApi) -> None:
    src = hub_server.repo_id("copy-private")
    api.create_repo(src, private=True)
    api.upload_file(path_or_fileobj=os.urandom(11 * MiB), path_in_repo="w.safetensors", repo_id=src)
    bob_token = hub_server.add_user("copier-bob")
    bob = hub_server.api(token=bob_token)
    bob.create_repo("copier-bob/mine")
    with pytest.raises(RepositoryNotFoundError):
        bob.create_commit("copier-bob/mine", [_copy(src, "w.safetensors", "w.safetensors")], commit_message="steal")
    # Asking by sha256 through a repo of his own gets the same answer whether the object exists elsewhere or not.
    (entry,) = api.get_paths_info(src, ["w.safetensors"])
    auth = {"authorization": f"Bearer {bob_token}"}
    answers = []
    for oid in (entry.lfs.sha256, "ab" * 32):
        r = httpx.post(f"{hub_server.url}/api/models/copier-bob/mine/lfs-files/duplicate", headers=auth,
                       json={"target": {"type": "model", "name": "copier-bob/mine"},
                             "files": [{"sha256": oid, "xetHash": "x", "filename": "w"}]})
        assert r.status_code == 200
        answers.append(r.json()["failed"][0]["error"].replace(oid, "<oid>"))
    assert answers[0] == answers[1]
    # Nor may he link a readable repo's objects into someone else's repo he cannot read.
    r = httpx.post(f"{hub_server.url}/api/models/{src}/lfs-files/duplicate", headers=auth,
                   json={"target": {"type": "model", "name": "copier-bob/mine"}, "files": []})
    assert r.status_code == 404 and r.headers["x-error-code"] == "RepoNotFound"


def test_hffilesystem_reads_lfs_files_with_xet_enabled(hub_server: HubServer, api: HfApi, tmp_path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy handle lives in paths-info only, so the file system's usual reads (via tree listings) stay on
    plain HTTP even when the client would use Xet."""
    from huggingface_hub import HfFileSystem, constants

    repo = hub_server.repo_id("fs")
    api.create_repo(repo)
    content = os.urandom(11 * MiB)
    api.upload_file(path_or_fileobj=content, path_in_repo="w.safetensors", repo_id=repo)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    fs = HfFileSystem(endpoint=hub_server.url, token=hub_server.token)
    assert fs.read_bytes(f"{repo}/w.safetensors") == content
    fs.get_file(f"{repo}/w.safetensors", str(tmp_path / "w"))
    assert (tmp_path / "w").read_bytes() == content
