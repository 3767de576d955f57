"""The ``modelyard`` command: hub administration and the client commands against the live test hub."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from _hub_server import HubServer

from modelyard.cli.main import main


@pytest.fixture
def cli_env(hub_server: HubServer, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    return hub_server


def test_login_whoami_logout(cli_env: HubServer, capsys: pytest.CaptureFixture[str], isolated_home: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["whoami"]) == 1
    assert "Not logged in" in capsys.readouterr().err
    assert main(["login", "--token", "myd_wrong"]) == 1
    assert "refused the token" in capsys.readouterr().err
    token_file = isolated_home / "hf" / "token"
    assert not token_file.exists()
    assert main(["login", "--token", cli_env.token]) == 0
    assert "as alice" in capsys.readouterr().out
    assert token_file.read_text() == cli_env.token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert main(["whoami"]) == 0
    assert capsys.readouterr().out.splitlines() == ["alice", "orgs: acme"]
    # huggingface_hub reads the same file (it computes the path at import, hence the patch here).
    from huggingface_hub import constants, get_token

    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(token_file))
    assert get_token() == cli_env.token
    assert main(["logout"]) == 0
    assert not token_file.exists()


def test_upload_and_download(cli_env: HubServer, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", cli_env.token)
    repo_id = cli_env.repo_id("cli")
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "sub" / "weights.safetensors").write_bytes(b"\x01" * (11 * 1024 * 1024))  # large: Xet
    assert main(["upload", repo_id, str(folder), "--private"]) == 0
    assert "/commit/" in capsys.readouterr().out
    assert main(["upload", repo_id, str(folder / "config.json"), "extra/config.json"]) == 0
    capsys.readouterr()
    assert cli_env.api().model_info(repo_id).private is True
    assert main(["download", repo_id, "config.json", "--cache-dir", str(tmp_path / "cache")]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.read_text() == "{}"
    assert main(["download", repo_id, "--local-dir", str(tmp_path / "local")]) == 0
    capsys.readouterr()
    assert (tmp_path / "local" / "sub" / "weights.safetensors").stat().st_size == 11 * 1024 * 1024
    assert (tmp_path / "local" / "extra" / "config.json").exists()
    assert main(["download", repo_id, "missing.txt", "--cache-dir", str(tmp_path / "cache")]) == 1
    assert "missing.txt" in capsys.readouterr().err
    assert main(["upload", repo_id, str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_hub_admin_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "hub")]
    assert main(["hub", "user", "add", "dana", "--org", "labs", *data]) == 0
    assert main(["hub", "org", "add", "team", "--member", "dana", *data]) == 0
    assert main(["hub", "token", "create", "--user", "dana", "--role", "read", *data]) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    assert token.startswith("myd_")
    assert main(["hub", "user", "list", *data]) == 0
    listing = capsys.readouterr().out
    assert "dana  orgs: labs, team" in listing and "org   labs" in listing
    assert main(["hub", "user", "add", "dana", *data]) == 1
    assert "already taken" in capsys.readouterr().err
    assert main(["hub", "user", "add", "bad--name", *data]) == 1
    assert "Invalid namespace" in capsys.readouterr().err
    assert main(["hub", "token", "create", "--user", "ghost", *data]) == 1
    assert "does not exist" in capsys.readouterr().err

    from modelyard.server.storage import Storage

    storage = Storage(tmp_path / "hub" / "hub.sqlite")
    identity = storage.tokens.identity(token)
    assert identity is not None and identity.role == "read" and identity.orgs == ("labs", "team")
    assert main(["hub", "token", "revoke", "--user", "dana", *data]) == 0
    assert storage.tokens.identity(token) is None


def test_default_data_dir_follows_modelyard_home(isolated_home: Path) -> None:
    from modelyard.server.config import HubSettings

    assert HubSettings().data_dir == isolated_home / "modelyard" / "hub"


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "hub" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["hub", "serve", "--help"])
    assert "--data-dir" in capsys.readouterr().out


def test_login_to_an_unreachable_hub_explains_in_one_paragraph(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.hub import settings

    # HF_ENDPOINT points at a closed port (suite-wide fixture): one paragraph, no traceback.
    assert main(["login", "--token", "myd_x"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "Could not reach the hub" in err and "HF_ENDPOINT is http://127.0.0.1:9" in err
    assert "modelyard hub serve" in err and "Nothing was saved" in err
    # Without HF_ENDPOINT the message says which default was used (a dead one here: no network in tests).
    monkeypatch.delenv("HF_ENDPOINT")
    monkeypatch.setattr(settings, "DEFAULT_ENDPOINT", "http://127.0.0.1:9")
    assert main(["login", "--token", "myd_x"]) == 1
    assert "HF_ENDPOINT is not set, so modelyard used http://127.0.0.1:9" in capsys.readouterr().err
    assert main(["whoami", "--token", "myd_x"]) == 1
    assert "Could not reach the hub" in capsys.readouterr().err


def test_login_keeps_another_hubs_token_and_says_so(cli_env: HubServer, capsys: pytest.CaptureFixture[str],
                                                    isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = isolated_home / "hf" / "token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text("hf_theRealHuggingFaceToken")  # what `hf auth login` left for huggingface.co
    assert main(["login", "--token", cli_env.token]) == 0
    out, err = capsys.readouterr()
    assert "Warning:" in err and "https://huggingface.co" in err and "hf auth switch --token-name" in err
    assert f"token saved to {token_file}" in out
    assert "HF_HUB_DISABLE_XET" not in out  # stock clients need no setting: the hub speaks Xet
    assert token_file.read_text() == cli_env.token
    # The old token is still in huggingface_hub's named list, where `hf auth switch` finds it.
    from huggingface_hub import constants
    from huggingface_hub.utils import get_stored_tokens

    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(token_file.parent / "stored_tokens"))
    stored = get_stored_tokens()
    assert "hf_theRealHuggingFaceToken" in stored.values() and cli_env.token in stored.values()
    # Logging in again to the same hub replaces nothing of another hub's: no warning.
    assert main(["login", "--token", cli_env.token]) == 0
    assert "Warning" not in capsys.readouterr().err


def test_serve_and_user_add_hints_name_the_same_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex

    from modelyard.server import serve as serve_module

    monkeypatch.setattr(serve_module, "serve", lambda settings, **kwargs: None)  # print the banner, do not block
    data = tmp_path / "my hub"
    assert main(["hub", "serve", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    hint = next(line for line in out.splitlines() if line.startswith("No users yet"))
    user_add = hint.split("`")[1].replace("NAME", "erin")
    assert "--data-dir" in user_add
    assert main(shlex.split(user_add)[1:]) == 0  # following the hint writes to the served hub
    out = capsys.readouterr().out
    assert str(data / "hub.sqlite") in out and "--data-dir" in out
    from modelyard.server.storage import Storage

    assert Storage(data / "hub.sqlite").accounts.namespace_kind("erin") == "user"
    # At the default folder the hints stay short.
    assert main(["hub", "serve"]) == 0
    assert "--data-dir" not in capsys.readouterr().out


def test_readme_endpoint_uses_the_port_hub_serve_listens_on() -> None:
    import re

    from modelyard.server.config import HubSettings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    settings = HubSettings()
    endpoints = re.findall(r"HF_ENDPOINT=(http://[^\s`]+)", readme)
    assert endpoints and set(endpoints) == {f"http://{settings.host}:{settings.port}"}, endpoints


def test_admin_commands_and_settings_read_one_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.server.config import HubSettings

    data = tmp_path / "from-config"
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{data}"\nmax-file-size = "2GiB"\nport = 9100\n'
                      'xet_uploads = false\n', encoding="utf-8")
    monkeypatch.delenv("MODELYARD_HUB_PORT", raising=False)
    settings = HubSettings.from_env(config_file=config)
    assert (settings.data_dir, settings.max_file_size, settings.port, settings.xet_uploads) == (
        data, 2 * 1024**3, 9100, False)
    # the environment overrides the file, options override both
    monkeypatch.setenv("MODELYARD_HUB_PORT", "9200")
    assert HubSettings.from_env(config_file=config).port == 9200
    assert HubSettings.from_env(config_file=config, port=9300).port == 9300
    # a [hub] table is read the same way; MODELYARD_HUB_CONFIG names the file when no option does
    table = tmp_path / "table.toml"
    table.write_text(f'[hub]\ndata_dir = "{data}"\n', encoding="utf-8")
    monkeypatch.setenv("MODELYARD_HUB_CONFIG", str(table))
    assert HubSettings.from_env().data_dir == data
    monkeypatch.delenv("MODELYARD_HUB_CONFIG")

    # every admin command acts on the backends the file names, whatever the default data folder is
    assert main(["hub", "user", "add", "erin", "--config", str(config)]) == 0
    assert main(["hub", "user", "list", "--config", str(config)]) == 0
    assert "erin" in capsys.readouterr().out
    assert (data / "hub.sqlite").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("databse_url = 'sqlite://'\n", "unknown hub setting 'databse_url'. Did you mean 'database_url'?"),
    ("port = 'eighty'\n", "cannot read 'eighty' as a size"),
    ("xet_uploads = 3\n", "xet_uploads = 3: expected bool"),
    ("port = [1]\n", "port = [1]: expected int"),
    ("port = \n", "Cannot read the hub configuration file"),
])
def test_a_bad_config_file_is_an_error_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      text: str, message: str) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(text, encoding="utf-8")
    assert main(["hub", "user", "list", "--config", str(config)]) == 1
    assert message in capsys.readouterr().err
    assert main(["hub", "user", "list", "--config", str(tmp_path / "missing.toml")]) == 1
    assert "does not exist" in capsys.readouterr().err
