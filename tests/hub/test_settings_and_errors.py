"""One settings module and one error-translation layer for the library, the CLI and the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard import BertConfig
from modelyard.errors import HubAuthenticationError, HubConnectionError, HubError, RepositoryNotFoundError
from modelyard.hub import settings
from modelyard.hub.files import FileSource

TINY = dict(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20)


def test_the_token_login_writes_is_the_token_the_library_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "elsewhere" / "token"))
    path = settings.write_token("hf_written")
    assert path == tmp_path / "elsewhere" / "token" and (path.stat().st_mode & 0o777) == 0o600
    assert settings.get_token() == "hf_written"
    from modelyard.cli import client

    assert client.stored_token() == "hf_written" and client.token_path() == path  # the CLI reads the same


def test_the_server_and_the_library_share_one_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.dynamic_modules.cache import modules_root
    from modelyard.server.config import HubSettings, default_data_dir

    monkeypatch.setenv("MODELYARD_HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / "hub" == HubSettings().data_dir
    assert modules_root() == tmp_path / "home" / "modules"
    monkeypatch.delenv("MODELYARD_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_data_dir().parent == settings.modelyard_home() == tmp_path / "user" / ".modelyard"


def test_a_push_to_an_unreachable_hub_is_one_typed_error() -> None:
    # the suite points HF_ENDPOINT at a closed port
    with pytest.raises(HubConnectionError, match="Could not reach the hub to push BertConfig.*HF_ENDPOINT is") as info:
        BertConfig(**TINY).push_to_hub("alice/anything", token="hf_x")
    assert "modelyard hub serve" in str(info.value) and isinstance(info.value, HubError)


def test_a_push_the_hub_refuses_names_the_status_and_the_fix(hub_env) -> None:
    repo = hub_env.repo_id("refused")
    with pytest.raises(HubAuthenticationError, match="answered 401.*modelyard login"):
        BertConfig(**TINY).push_to_hub(repo, token="not-a-token")
    reader = hub_env.create_token(hub_env.user, role="read")
    with pytest.raises(HubAuthenticationError, match="answered 403"):
        BertConfig(**TINY).push_to_hub(repo, token=reader)


def test_reads_give_typed_errors_too(hub_env) -> None:
    with pytest.raises(RepositoryNotFoundError, match="was not found"):
        FileSource.open(hub_env.repo_id("never-created"))
