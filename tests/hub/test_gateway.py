"""The hub-client gateway: one factory (endpoint, token, user agent) whose every call raises modelyard's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard import __version__
from modelyard.errors import (
    HubAuthenticationError,
    HubConnectionError,
    MissingFileError,
    OfflineModeError,
    RepositoryNotFoundError,
)
from modelyard.hub.gateway import hub_client


def test_the_client_is_bound_to_the_endpoint_of_the_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.example:8000/")
    assert hub_client("look").endpoint == "http://hub.example:8000"
    monkeypatch.setenv("HF_ENDPOINT", "http://other.example")  # read per client, not at import
    assert hub_client("look").endpoint == "http://other.example"
    assert hub_client("look", endpoint="http://given.example/").endpoint == "http://given.example"


def test_the_user_agent_names_modelyard_and_its_version() -> None:
    headers = hub_client("look")._build_hf_headers()  # the headers every call of the client sends
    assert f"modelyard/{__version__}" in headers["user-agent"]


def test_token_policy_explicit_stored_or_none_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_stored")
    assert hub_client("look").token == "hf_stored"
    assert hub_client("look", token="hf_given").token == "hf_given"
    assert hub_client("look")._build_hf_headers()["authorization"] == "Bearer hf_stored"
    silent = hub_client("look", token=False)  # False stays False: the client must not fall back to the login
    assert silent.token is False and "authorization" not in silent._build_hf_headers()


def test_a_bare_name_without_a_token_is_an_error_that_says_why() -> None:
    client = hub_client("push the model", token=False)
    assert client.full_repo_id("acme/net") == "acme/net"  # a full name needs no question to the hub
    with pytest.raises(HubAuthenticationError, match="Could not push the model: 'net' has no namespace.*token=False"):
        client.full_repo_id("net")


def test_every_call_is_translated_and_names_the_action() -> None:
    client = hub_client("list the files of 'alice/net'", repo_id="alice/net")  # HF_ENDPOINT: a closed port
    with pytest.raises(HubConnectionError, match="Could not reach the hub to list the files of 'alice/net'") as info:
        client.list_repo_files("alice/net")
    assert "modelyard hub serve" in str(info.value) and info.value.__cause__ is not None
    with pytest.raises(HubConnectionError, match="to fetch"):
        hub_client("fetch").snapshot_download("alice/net")  # the client's own "not cached either" is unwrapped


def test_a_file_not_cached_while_offline_is_an_offline_error(tmp_path: Path) -> None:
    with pytest.raises(OfflineModeError, match="Could not read it: it is not in the local cache.*HF_HUB_OFFLINE"):
        hub_client("read it").hf_hub_download("alice/net", "config.json", cache_dir=tmp_path, local_files_only=True)


def test_hub_answers_become_typed_errors(hub_env) -> None:
    client = hub_client("read the card", repo_id=hub_env.repo_id("absent"))
    with pytest.raises(RepositoryNotFoundError, match="Could not read the card: repository .* was not found"):
        client.repo_info(hub_env.repo_id("absent"))
    repo = hub_env.repo_id("present")
    hub_env.api().create_repo(repo)
    with pytest.raises(MissingFileError, match="Could not read the card"):
        hub_client("read the card").hf_hub_download(repo, "README.md")
    assert hub_client("check the token").whoami()["name"] == hub_env.user
    with pytest.raises(HubAuthenticationError, match="answered 401"):
        hub_client("check the token", token="not-a-token").whoami()
