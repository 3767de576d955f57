"""Repositories through the stock client: create/delete, repo info at revisions, refs, branches, tags, commits."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import (
    BadRequestError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

SHA_RE = re.compile(r"[0-9a-f]{40}")


def _add(api: HfApi, repo_id: str, path: str, content: bytes, **kwargs) -> str:
    info = api.create_commit(repo_id, [CommitOperationAdd(path, content)], commit_message=f"add {path}", **kwargs)
    return info.oid


def test_create_and_delete_repo(hub_server: HubServer, api: HfApi) -> None:
    repo_id = hub_server.repo_id("create")
    url = api.create_repo(repo_id)
    assert url == f"{hub_server.url}/{repo_id}"
    assert url.repo_id == repo_id
    # 409 carries `url`, so exist_ok works; without exist_ok the client raises.
    assert api.create_repo(repo_id, exist_ok=True) == url
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo(repo_id)
    assert err.value.response.status_code == 409
    assert api.repo_exists(repo_id)
    api.delete_repo(repo_id)
    assert not api.repo_exists(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo(repo_id)
    api.delete_repo(repo_id, missing_ok=True)


def test_create_in_org_and_dataset(hub_server: HubServer, api: HfApi) -> None:
    repo_id = hub_server.repo_id("orgrepo", namespace="acme")
    api.create_repo(repo_id)
    assert api.model_info(repo_id).id == repo_id
    ds = hub_server.repo_id("ds")
    url = api.create_repo(ds, repo_type="dataset")
    assert url == f"{hub_server.url}/datasets/{ds}"
    info = api.upload_file(path_or_fileobj=b"a,b\n", path_in_repo="data.csv", repo_id=ds, repo_type="dataset")
    assert "/datasets/" in info.commit_url
    assert api.dataset_info(ds).sha == info.oid
    assert api.list_repo_files(ds, repo_type="dataset") == [".gitattributes", "data.csv"]
    assert not api.repo_exists(ds)  # a model repo of that name does not exist


def test_repo_info_fields(hub_server: HubServer, api: HfApi, repo: str) -> None:
    sha = _add(api, repo, "config.json", b'{"model_type": "bert", "architectures": ["BertModel"]}')
    info = api.model_info(repo, files_metadata=True)
    assert info.id == repo and info.sha == sha and SHA_RE.fullmatch(sha)
    assert info.private is False
    assert isinstance(info.last_modified, datetime) and isinstance(info.created_at, datetime)
    assert info.config == {"model_type": "bert", "architectures": ["BertModel"]}
    names = {s.rfilename: s for s in info.siblings}
    assert set(names) == {".gitattributes", "config.json"}
    assert names["config.json"].size == 54 and len(names["config.json"].blob_id) == 40
    # Raw JSON: the dates end in Z and every sibling carries our security field.
    raw = httpx.get(f"{hub_server.url}/api/models/{repo}").json()
    assert raw["lastModified"].endswith("Z") and raw["createdAt"].endswith("Z")
    assert all(s["security"]["status"] == "safe" for s in raw["siblings"])


def test_initial_commit_and_history(api: HfApi, repo: str) -> None:
    commits = api.list_repo_commits(repo)
    assert [c.title for c in commits] == ["initial commit"]
    assert commits[0].authors == ["alice"]  # the creator, as on the Hugging Face Hub
    first = _add(api, repo, "a.txt", b"a")
    second = _add(api, repo, "b.txt", b"b")
    commits = api.list_repo_commits(repo, formatted=True)
    assert [c.commit_id for c in commits[:2]] == [second, first]
    assert commits[0].title == "add b.txt" and commits[0].formatted_title == "add b.txt"


def test_commits_pagination(hub_server: HubServer, api: HfApi, repo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(4):
        _add(api, repo, f"f{i}.txt", str(i).encode())
    monkeypatch.setattr(hub_server.settings, "commits_page_size", 2)
    titles = [c.title for c in api.list_repo_commits(repo)]
    assert titles == ["add f3.txt", "add f2.txt", "add f1.txt", "add f0.txt", "initial commit"]


def test_revisions_branch_tag_sha(api: HfApi, repo: str) -> None:
    v1 = _add(api, repo, "x.txt", b"one")
    api.create_tag(repo, tag="v1", tag_message="first")
    api.create_branch(repo, branch="dev")
    v2 = _add(api, repo, "x.txt", b"two", revision="dev")
    assert api.model_info(repo, revision="main").sha == v1
    assert api.model_info(repo, revision="v1").sha == v1
    assert api.model_info(repo, revision="dev").sha == v2
    assert api.model_info(repo, revision=v2).sha == v2
    assert api.model_info(repo, revision=v2[:10]).sha == v2
    assert api.revision_exists(repo, "dev") and not api.revision_exists(repo, "nope")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo, revision="nope")
    refs = api.list_repo_refs(repo)
    assert {b.name: b.target_commit for b in refs.branches} == {"main": v1, "dev": v2}
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1", v1)]
    assert refs.converts == []


def test_branch_and_tag_operations(api: HfApi, repo: str) -> None:
    base = api.model_info(repo).sha
    api.create_branch(repo, branch="feature/x")
    with pytest.raises(HfHubHTTPError) as err:
        api.create_branch(repo, branch="feature/x")
    assert err.value.response.status_code == 409
    api.create_branch(repo, branch="feature/x", exist_ok=True)
    api.create_branch(repo, branch="from-sha", revision=base)
    with pytest.raises(BadRequestError):
        api.create_branch(repo, branch="bad..name")
    api.create_tag(repo, tag="t1", revision="feature/x")
    with pytest.raises(HfHubHTTPError):
        api.create_tag(repo, tag="t1")
    api.create_tag(repo, tag="t1", exist_ok=True)
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(repo, tag="t2", revision="missing-branch")
    api.delete_tag(repo, tag="t1")
    with pytest.raises(RevisionNotFoundError):
        api.delete_tag(repo, tag="t1")
    api.delete_branch(repo, branch="feature/x")
    with pytest.raises(HfHubHTTPError):
        api.delete_branch(repo, branch="feature/x")
    with pytest.raises(HfHubHTTPError) as err:
        api.delete_branch(repo, branch="main")
    assert err.value.response.status_code == 403
    assert {b.name for b in api.list_repo_refs(repo).branches} == {"main", "from-sha"}


def test_private_repo_and_visibility(hub_server: HubServer, api: HfApi) -> None:
    repo_id = hub_server.repo_id("secret")
    api.create_repo(repo_id, private=True)
    assert api.model_info(repo_id).private is True
    anonymous = hub_server.api(token=False)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info(repo_id)
    api.update_repo_settings(repo_id, private=False)
    assert anonymous.model_info(repo_id).private is False


def test_create_pr_commit(api: HfApi, repo: str) -> None:
    main = api.model_info(repo).sha
    info = api.create_commit(repo, [CommitOperationAdd("pr.txt", b"pr")], commit_message="Propose",
                             create_pr=True)
    assert info.pr_num == 1 and info.pr_revision == "refs/pr/1"
    assert info.pr_url.endswith(f"/{repo}/discussions/1")
    assert api.model_info(repo).sha == main  # main did not move
    assert api.model_info(repo, revision="refs/pr/1").sha == info.oid
    # Commit again to the PR ref.
    more = api.create_commit(repo, [CommitOperationAdd("pr2.txt", b"2")], commit_message="more",
                             revision="refs/pr/1")
    assert api.list_repo_refs(repo, include_pull_requests=True).pull_requests[0].target_commit == more.oid
    assert api.list_repo_files(repo, revision="refs/pr/1") == [".gitattributes", "pr.txt", "pr2.txt"]
    details = api.get_discussion_details(repo, 1)
    assert details.is_pull_request and details.git_reference == "refs/pr/1" and details.title == "Propose"
    assert [d.num for d in api.get_repo_discussions(repo)] == [1]


def test_create_pull_request_via_discussions(api: HfApi, repo: str) -> None:
    pr = api.create_pull_request(repo, title="Manual PR")
    assert pr.git_reference == "refs/pr/1"
    assert api.model_info(repo, revision="refs/pr/1").sha == api.model_info(repo).sha


def test_model_card_metadata_and_validation(hub_server: HubServer, api: HfApi, repo: str) -> None:
    card = b"---\nlicense: mit\nlibrary_name: modelyard\ntags: [vision, resnet]\npipeline_tag: image-classification\n---\n# Hi\n"
    api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo)  # goes through validate-yaml
    info = api.model_info(repo)
    assert info.library_name == "modelyard" and info.pipeline_tag == "image-classification"
    assert info.tags == ["vision", "resnet"] and info.card_data["license"] == "mit"
    with pytest.raises(ValueError, match="Invalid YAML"):
        api.upload_file(path_or_fileobj=b"---\nkey: [unclosed\n---\n", path_in_repo="README.md", repo_id=repo)
    assert httpx.get(f"{hub_server.url}/api/agent-harnesses").json() == {"standardEnvVars": [], "harnesses": {}}
