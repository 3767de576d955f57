"""Uploads and downloads through the stock client: regular and LFS (basic + multipart), Xet on/off, resolve."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
    RepoFile,
    RepoFolder,
    constants,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

MiB = 1024 * 1024


def _download(server: HubServer, repo_id: str, filename: str, tmp_path: Path, **kwargs) -> Path:
    return Path(hf_hub_download(repo_id, filename, endpoint=server.url, token=server.token,
                                cache_dir=tmp_path / "cache", **kwargs))


def test_upload_folder_small_and_lfs_files(hub_server: HubServer, api: HfApi, repo: str, make_folder,
                                           tmp_path: Path) -> None:
    folder = make_folder({"config.json": b'{"a": 1}', "sub/notes.txt": b"hello\n",
                          "big.safetensors": 12 * MiB, "huge.bin": 17 * MiB})  # basic and multipart LFS
    info = api.upload_folder(repo_id=repo, folder_path=folder, commit_message="Upload")
    files = {f.path: f for f in api.list_repo_tree(repo, recursive=True) if isinstance(f, RepoFile)}
    assert set(files) == {".gitattributes", "config.json", "sub/notes.txt", "big.safetensors", "huge.bin"}
    big = (folder / "big.safetensors").read_bytes()
    assert files["big.safetensors"].lfs.sha256 == hashlib.sha256(big).hexdigest()
    assert files["config.json"].lfs is None
    # hf_hub_download: LFS files are cached under their sha256, regular ones under the git blob id.
    path = _download(hub_server, repo, "huge.bin", tmp_path)
    assert path.read_bytes() == (folder / "huge.bin").read_bytes()
    assert Path(os.path.realpath(path)).name == files["huge.bin"].lfs.sha256
    notes = _download(hub_server, repo, "sub/notes.txt", tmp_path)
    assert notes.read_bytes() == b"hello\n" and Path(os.path.realpath(notes)).name == files["sub/notes.txt"].blob_id
    snap = Path(snapshot_download(repo, endpoint=hub_server.url, token=hub_server.token,
                                  cache_dir=tmp_path / "cache2"))
    assert snap.name == info.oid
    assert (snap / "big.safetensors").read_bytes() == big
    assert (snap / "sub" / "notes.txt").read_bytes() == b"hello\n"


def test_xet_enabled_client_uploads_small_files_as_regular(hub_server: HubServer, api: HfApi, repo: str,
                                                          make_folder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    folder = make_folder({"config.json": b"{}", "model.safetensors": 2 * MiB, "README.md": b"# card\n"})
    api.upload_folder(repo_id=repo, folder_path=folder)  # the pipelined (Xet) upload path
    api.upload_file(path_or_fileobj=b"x" * 1000, path_in_repo="extra.bin", repo_id=repo)  # create_commit path
    assert api.list_repo_files(repo) == [".gitattributes", "README.md", "config.json", "extra.bin",
                                         "model.safetensors"]
    # The pipeline opens pull requests through the discussions API, then commits to refs/pr/N.
    pr = api.upload_folder(repo_id=repo, folder_path=make_folder({"new.txt": b"new"}), create_pr=True)
    assert pr.pr_revision == "refs/pr/1"
    assert "new.txt" in api.list_repo_files(repo, revision="refs/pr/1")
    assert "new.txt" not in api.list_repo_files(repo)


def test_unchanged_files_are_skipped(api: HfApi, repo: str, make_folder) -> None:
    folder = make_folder({"a.txt": b"a", "w.safetensors": 11 * MiB})
    first = api.upload_folder(repo_id=repo, folder_path=folder)
    again = api.upload_folder(repo_id=repo, folder_path=folder)
    assert again.oid == first.oid
    assert len(api.list_repo_commits(repo)) == 2


def test_resolve_headers_range_and_errors(hub_server: HubServer, api: HfApi, repo: str) -> None:
    content = os.urandom(11 * MiB)
    sha = api.create_commit(repo, [CommitOperationAdd("w.safetensors", content),
                                   CommitOperationAdd("r.txt", b"0123456789")], commit_message="files").oid
    base = f"{hub_server.url}/{repo}/resolve/main"
    head = httpx.head(f"{base}/w.safetensors")
    assert head.status_code == 200
    assert head.headers["x-repo-commit"] == sha
    assert head.headers["x-linked-etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert head.headers["x-linked-size"] == str(len(content)) == head.headers["content-length"]
    assert head.headers["accept-ranges"] == "bytes"
    assert not any(h.startswith("x-xet") for h in head.headers)
    part = httpx.get(f"{base}/r.txt", headers={"Range": "bytes=2-5"})
    assert part.status_code == 206 and part.content == b"2345"
    assert part.headers["content-range"] == "bytes 2-5/10" and part.headers["x-repo-commit"] == sha
    assert httpx.head(f"{base}/r.txt").headers["etag"].strip('"') == api.get_paths_info(repo, ["r.txt"])[0].blob_id
    missing = httpx.head(f"{base}/nope.txt")
    assert missing.status_code == 404 and missing.headers["x-error-code"] == "EntryNotFound"
    assert missing.headers["x-repo-commit"] == sha
    bad_rev = httpx.get(f"{hub_server.url}/{repo}/resolve/nope/r.txt")
    assert bad_rev.headers["x-error-code"] == "RevisionNotFound"
    assert httpx.get(f"{hub_server.url}/alice/does-not-exist/resolve/main/r.txt").headers["x-error-code"] == \
        "RepoNotFound"
    assert not api.file_exists(repo, "nope.txt") and api.file_exists(repo, "r.txt")


def test_download_missing_file_and_pinned_revisions(hub_server: HubServer, api: HfApi, repo: str,
                                                    tmp_path: Path) -> None:
    v1 = api.upload_file(path_or_fileobj=b"one", path_in_repo="f.txt", repo_id=repo).oid
    api.create_tag(repo, tag="v1")
    api.create_branch(repo, branch="dev")
    api.upload_file(path_or_fileobj=b"two", path_in_repo="f.txt", repo_id=repo)
    api.upload_file(path_or_fileobj=b"dev", path_in_repo="f.txt", repo_id=repo, revision="dev")
    with pytest.raises(EntryNotFoundError):
        _download(hub_server, repo, "missing.txt", tmp_path)
    assert _download(hub_server, repo, "f.txt", tmp_path).read_bytes() == b"two"
    assert _download(hub_server, repo, "f.txt", tmp_path, revision="v1").read_bytes() == b"one"
    assert _download(hub_server, repo, "f.txt", tmp_path, revision=v1).read_bytes() == b"one"
    assert _download(hub_server, repo, "f.txt", tmp_path, revision="dev").read_bytes() == b"dev"
    snap = snapshot_download(repo, revision="v1", endpoint=hub_server.url, cache_dir=tmp_path / "c2")
    assert Path(snap).name == v1
    dataset = hub_server.repo_id("ds")
    api.create_repo(dataset, repo_type="dataset", private=True)
    api.upload_file(path_or_fileobj=b"a,b", path_in_repo="train.csv", repo_id=dataset, repo_type="dataset")
    assert _download(hub_server, dataset, "train.csv", tmp_path, repo_type="dataset").read_bytes() == b"a,b"
    pr = api.upload_file(path_or_fileobj=b"pr", path_in_repo="f.txt", repo_id=repo, create_pr=True)
    assert _download(hub_server, repo, "f.txt", tmp_path, revision=pr.pr_revision).read_bytes() == b"pr"
    # An unencoded refs/pr/N is understood too.
    assert httpx.get(f"{hub_server.url}/{repo}/resolve/refs/pr/1/f.txt").content == b"pr"


def test_deletes_and_copies(api: HfApi, repo: str) -> None:
    big = os.urandom(11 * MiB)
    api.create_commit(repo, [CommitOperationAdd("dir/a.txt", b"a"), CommitOperationAdd("dir/sub/b.txt", b"b"),
                             CommitOperationAdd("keep.txt", b"k"), CommitOperationAdd("w.safetensors", big)],
                      commit_message="setup")
    api.create_commit(repo, [CommitOperationCopy("keep.txt", "copy/keep.txt"),
                             CommitOperationCopy("w.safetensors", "copy/w.safetensors")], commit_message="copy")
    files = {f.path: f for f in api.list_repo_tree(repo, recursive=True) if isinstance(f, RepoFile)}
    assert files["copy/w.safetensors"].lfs.sha256 == files["w.safetensors"].lfs.sha256
    assert files["copy/keep.txt"].blob_id == files["keep.txt"].blob_id
    api.delete_file("keep.txt", repo)
    api.delete_folder("dir", repo)
    assert api.list_repo_files(repo) == [".gitattributes", "copy/keep.txt", "copy/w.safetensors", "w.safetensors"]
    with pytest.raises(EntryNotFoundError):
        api.delete_file("keep.txt", repo)
    with pytest.raises(EntryNotFoundError):
        api.create_commit(repo, [CommitOperationDelete("nope/")], commit_message="x")


def test_file_folder_clash_is_refused(api: HfApi, repo: str) -> None:
    api.upload_file(path_or_fileobj=b"x", path_in_repo="a", repo_id=repo)
    with pytest.raises(HfHubHTTPError) as err:
        api.upload_file(path_or_fileobj=b"y", path_in_repo="a/b.txt", repo_id=repo)
    assert err.value.response.status_code == 400 and "both a file and a folder" in str(err.value)


def test_stale_parent_commit_is_refused(api: HfApi, repo: str) -> None:
    old = api.model_info(repo).sha
    api.upload_file(path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=repo)
    with pytest.raises(HfHubHTTPError) as err:
        api.create_commit(repo, [CommitOperationAdd("two.txt", b"2")], commit_message="stale", parent_commit=old)
    assert err.value.response.status_code == 412
    head = api.model_info(repo).sha
    ok = api.create_commit(repo, [CommitOperationAdd("two.txt", b"2")], commit_message="fresh", parent_commit=head)
    assert api.model_info(repo).sha == ok.oid


def test_tree_listing_paths_info_and_pagination(hub_server: HubServer, api: HfApi, repo: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    api.create_commit(repo, [CommitOperationAdd(p, p.encode()) for p in ("a/1.txt", "a/b/2.txt", "c.txt", "d.txt")],
                      commit_message="tree")
    top = {(type(e).__name__, e.path) for e in api.list_repo_tree(repo)}
    assert top == {("RepoFile", ".gitattributes"), ("RepoFolder", "a"), ("RepoFile", "c.txt"), ("RepoFile", "d.txt")}
    sub = sorted(e.path for e in api.list_repo_tree(repo, path_in_repo="a", recursive=True))
    assert sub == ["a/1.txt", "a/b", "a/b/2.txt"]
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo, path_in_repo="nope"))
    expanded = {e.path: e for e in api.list_repo_tree(repo, path_in_repo="a", expand=True)}
    assert expanded["a/1.txt"].last_commit["title"] == "tree" and expanded["a/1.txt"].security.status == "safe"
    assert isinstance(expanded["a/b"], RepoFolder) and len(expanded["a/b"].tree_id) == 40
    monkeypatch.setattr(hub_server.settings, "tree_page_size", 2)
    assert sorted(api.list_repo_files(repo)) == [".gitattributes", "a/1.txt", "a/b/2.txt", "c.txt", "d.txt"]
    infos = api.get_paths_info(repo, ["c.txt", "a", "missing"])
    assert {(type(i).__name__, i.path) for i in infos} == {("RepoFile", "c.txt"), ("RepoFolder", "a")}
    link = httpx.get(f"{hub_server.url}/api/models/{repo}/tree/main?recursive=true").headers["link"]
    assert link.startswith(f"<{hub_server.url}/api/models/{repo}/tree/main?") and 'rel="next"' in link


def test_expanded_tree_gives_each_path_the_last_commit_that_changed_it(api: HfApi, repo: str) -> None:
    """``lastCommit`` follows the revision's first-parent history: a folder's is the newest commit under it,
    an untouched file keeps the commit that added it, and an older revision answers as of then."""
    first = api.create_commit(repo, [CommitOperationAdd(p, p.encode()) for p in ("a/1.txt", "a/b/2.txt", "c.txt")],
                              commit_message="add").oid
    api.create_commit(repo, [CommitOperationAdd("a/b/2.txt", b"changed")], commit_message="edit 2")
    api.create_commit(repo, [CommitOperationAdd("c.txt", b"changed")], commit_message="edit c")
    api.create_commit(repo, [CommitOperationDelete("c.txt")], commit_message="drop c")
    api.create_commit(repo, [CommitOperationAdd("c.txt", b"again")], commit_message="restore c")
    titles = {e.path: e.last_commit["title"] for e in api.list_repo_tree(repo, expand=True)}
    assert titles == {".gitattributes": "initial commit", "a": "edit 2", "c.txt": "restore c"}
    nested = {e.path: e.last_commit["title"] for e in api.list_repo_tree(repo, path_in_repo="a", expand=True)}
    assert nested == {"a/1.txt": "add", "a/b": "edit 2"}
    then = {e.path: e.last_commit["title"] for e in api.list_repo_tree(repo, revision=first, expand=True)}
    assert then == {".gitattributes": "initial commit", "a": "add", "c.txt": "add"}
