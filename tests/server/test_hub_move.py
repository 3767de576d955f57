"""Renaming and transferring repositories through the stock client (``HfApi.move_repo``)."""

from __future__ import annotations

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError


def test_rename_keeps_history_and_old_name_redirects(hub_server: HubServer, api: HfApi, tmp_path) -> None:
    old = hub_server.repo_id("mv")
    new = old + "-renamed"
    api.create_repo(old)
    first = api.upload_file(path_or_fileobj=b"v1", path_in_repo="config.json", repo_id=old).oid
    api.upload_file(path_or_fileobj=b"w" * (11 * 1024 * 1024), path_in_repo="w.safetensors", repo_id=old)  # LFS
    api.create_tag(old, tag="v1", revision=first)
    history = [c.commit_id for c in api.list_repo_commits(old)]

    api.move_repo(old, new)

    assert api.model_info(new).id == new
    assert [c.commit_id for c in api.list_repo_commits(new)] == history
    assert [t.name for t in api.list_repo_refs(new).tags] == ["v1"]
    # The old name answers with a redirect to the new one, for API calls, downloads and commits alike.
    assert api.model_info(old).id == new
    assert api.repo_exists(old)
    path = hf_hub_download(old, "w.safetensors", endpoint=hub_server.url, token=hub_server.token,
                           cache_dir=tmp_path / "cache")
    assert len(open(path, "rb").read()) == 11 * 1024 * 1024
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="config.json", repo_id=old)
    assert api.list_repo_commits(new)[0].title == "Upload config.json with huggingface_hub"
    raw = httpx.get(f"{hub_server.url}/api/models/{old}/tree/main", params={"recursive": "true"})
    assert raw.status_code == 307 and raw.headers["location"] == f"/api/models/{new}/tree/main?recursive=true"
    # The redirect is relative (no public URL configured): a forged Host header does not lead elsewhere.
    forged = httpx.get(f"{hub_server.url}/api/models/{old}/tree/main", headers={"Host": "evil.example"})
    assert forged.status_code == 307 and forged.headers["location"] == f"/api/models/{new}/tree/main"
    # A new repo may take the old name; then the name is its own again.
    api.create_repo(old)
    assert api.list_repo_files(old) == [".gitattributes"]
    assert "config.json" in api.list_repo_files(new)


def test_transfer_to_an_organisation_and_refusals(hub_server: HubServer, api: HfApi) -> None:
    repo = hub_server.repo_id("tr")
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo)
    taken = hub_server.repo_id("taken")
    api.create_repo(taken)

    with pytest.raises(HfHubHTTPError) as err:  # onto an existing repo
        api.move_repo(repo, taken)
    assert err.value.response.status_code == 409 and "already exists" in str(err.value)
    bob = hub_server.api(token=hub_server.add_user("mover-bob"))
    with pytest.raises(HfHubHTTPError) as err:  # into a namespace alice does not belong to
        api.move_repo(repo, "mover-bob/stolen")
    assert err.value.response.status_code == 403
    with pytest.raises(RepositoryNotFoundError):  # bob cannot even see alice's private repo
        bob.move_repo(repo, "mover-bob/stolen")
    with pytest.raises(HfHubHTTPError) as err:
        api.move_repo(repo, "acme/bad--name")
    assert err.value.response.status_code == 400

    target = f"acme/{repo.split('/')[1]}"
    api.move_repo(repo, target)
    info = api.model_info(target)
    assert info.private and info.author == "acme"
    assert api.list_repo_files(target) == [".gitattributes", "x.txt"]
    # The old, private name redirects only for those who may read the repo; others learn nothing.
    assert api.model_info(repo).id == target
    with pytest.raises(RepositoryNotFoundError):
        bob.model_info(repo)
    with pytest.raises(RepositoryNotFoundError):
        hub_server.api(token=False).model_info(repo)


def test_move_datasets_by_type(hub_server: HubServer, api: HfApi) -> None:
    ds = hub_server.repo_id("mvds")
    api.create_repo(ds, repo_type="dataset")
    with pytest.raises(RepositoryNotFoundError):  # no model repo of that name
        api.move_repo(ds, ds + "-2")
    api.move_repo(ds, ds + "-2", repo_type="dataset")
    assert api.dataset_info(ds + "-2").id == ds + "-2"
    assert api.dataset_info(ds).id == ds + "-2"
