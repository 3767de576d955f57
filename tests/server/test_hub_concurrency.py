"""Concurrent commits to one branch: none is lost; with parentCommit exactly one wins."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import httpx
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError


def test_twenty_concurrent_commits_lose_nothing(hub_server: HubServer, api: HfApi, repo: str) -> None:
    def commit(i: int) -> str:
        ops = [CommitOperationAdd(f"worker-{i}/file.txt", f"content {i}".encode()),
               CommitOperationAdd("shared/counter.txt", str(i).encode())]
        if i % 5 == 0:  # a few carry an LFS file too
            ops.append(CommitOperationAdd(f"worker-{i}/w.safetensors", os.urandom(11 * 1024 * 1024)))
        return hub_server.api().create_commit(repo, ops, commit_message=f"commit {i}").oid

    with ThreadPoolExecutor(max_workers=20) as pool:
        oids = list(pool.map(commit, range(20)))
    assert len(set(oids)) == 20
    files = set(api.list_repo_files(repo))
    assert {f"worker-{i}/file.txt" for i in range(20)} <= files
    assert {f"worker-{i}/w.safetensors" for i in range(0, 20, 5)} <= files
    history = api.list_repo_commits(repo)
    assert len(history) == 21
    assert {c.commit_id for c in history[:20]} == set(oids)
    # The history is linear: each commit's parent is the one below it.
    raw = httpx.get(f"{hub_server.url}/api/models/{repo}/commits/main").json()
    assert raw[0]["id"] == api.model_info(repo).sha
    assert all(newer["parents"] == [older["id"]] for newer, older in zip(raw, raw[1:]))


def test_concurrent_commits_with_same_parent_one_wins(hub_server: HubServer, api: HfApi, repo: str) -> None:
    parent = api.model_info(repo).sha

    def commit(i: int) -> str:
        try:
            hub_server.api().create_commit(repo, [CommitOperationAdd("race.txt", str(i).encode())],
                                           commit_message=f"race {i}", parent_commit=parent)
        except HfHubHTTPError as err:
            return str(err.response.status_code)
        return "ok"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(commit, range(8)))
    assert outcomes.count("ok") == 1 and outcomes.count("412") == 7
