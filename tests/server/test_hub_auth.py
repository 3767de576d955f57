"""The auth matrix: anonymous, read token, write token, another user, an organisation member."""

from __future__ import annotations

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

OK = "ok"


@pytest.fixture(scope="module")
def actors(hub_server: HubServer) -> dict[str, HfApi]:
    bob = hub_server.add_user("bob")
    carol = hub_server.add_user("carol", orgs=["acme"])
    return {
        "anonymous": hub_server.api(token=False),
        "alice-read": hub_server.api(token=hub_server.create_token("alice", "read")),
        "alice": hub_server.api(),
        "bob": hub_server.api(token=bob),
        "carol": hub_server.api(token=carol),
    }


@pytest.fixture(scope="module")
def repos(hub_server: HubServer, actors: dict[str, HfApi]) -> dict[str, str]:
    alice = actors["alice"]
    out = {"public": hub_server.repo_id("pub"), "private": hub_server.repo_id("priv"),
           "org-private": hub_server.repo_id("orgpriv", namespace="acme")}
    alice.create_repo(out["public"])
    alice.create_repo(out["private"], private=True)
    alice.create_repo(out["org-private"], private=True)
    for repo_id in out.values():
        alice.upload_file(path_or_fileobj=b"data", path_in_repo="f.txt", repo_id=repo_id)
    return out


def _outcome(call) -> str:
    try:
        call()
    except RepositoryNotFoundError as err:
        return f"not-found-{err.response.status_code}"
    except HfHubHTTPError as err:
        return str(err.response.status_code)
    return OK


READ_MATRIX = {
    #              public  private          org-private
    "anonymous": (OK, "not-found-401", "not-found-401"),
    "alice-read": (OK, OK, OK),
    "alice": (OK, OK, OK),
    "bob": (OK, "not-found-404", "not-found-404"),
    "carol": (OK, "not-found-404", OK),
}

WRITE_MATRIX = {
    "anonymous": ("401", "not-found-401", "not-found-401"),
    "alice-read": ("403", "403", "403"),
    "alice": (OK, OK, OK),
    "bob": ("403", "not-found-404", "not-found-404"),
    "carol": ("403", "not-found-404", OK),
}


@pytest.mark.parametrize("who", list(READ_MATRIX))
def test_read_access(who: str, actors: dict[str, HfApi], repos: dict[str, str], hub_server: HubServer,
                     tmp_path) -> None:
    api = actors[who]
    got = tuple(_outcome(lambda r=repos[kind]: api.model_info(r)) for kind in ("public", "private", "org-private"))
    assert got == READ_MATRIX[who]
    downloads = tuple(
        _outcome(lambda r=repos[kind], k=kind: api.hf_hub_download(r, "f.txt", cache_dir=tmp_path / k))
        for kind in ("public", "private", "org-private")
    )
    assert downloads == READ_MATRIX[who]


@pytest.mark.parametrize("who", list(WRITE_MATRIX))
def test_write_access(who: str, actors: dict[str, HfApi], repos: dict[str, str]) -> None:
    api = actors[who]

    def commit(repo_id: str) -> None:
        api.create_commit(repo_id, [CommitOperationAdd(f"{who}.txt", b"x")], commit_message=f"by {who}")

    got = tuple(_outcome(lambda r=repos[kind]: commit(r)) for kind in ("public", "private", "org-private"))
    assert got == WRITE_MATRIX[who]
    branch = tuple(_outcome(lambda r=repos[kind]: api.create_branch(r, branch=f"b-{who}"))
                   for kind in ("public", "private", "org-private"))
    assert branch == WRITE_MATRIX[who]


def test_create_repo_namespaces(hub_server: HubServer, actors: dict[str, HfApi]) -> None:
    cases = {
        ("alice", "alice"): OK, ("alice", "acme"): OK, ("carol", "acme"): OK, ("bob", "acme"): "403",
        ("bob", "alice"): "403", ("alice-read", "alice"): "403", ("anonymous", "alice"): "401",
    }
    for (who, namespace), expected in cases.items():
        repo_id = hub_server.repo_id(f"by-{who}", namespace=namespace)
        assert _outcome(lambda a=actors[who], r=repo_id: a.create_repo(r)) == expected, (who, namespace)


def test_delete_repo_needs_write(hub_server: HubServer, actors: dict[str, HfApi]) -> None:
    repo_id = hub_server.repo_id("victim")
    actors["alice"].create_repo(repo_id)
    assert _outcome(lambda: actors["bob"].delete_repo(repo_id)) == "403"
    assert _outcome(lambda: actors["alice-read"].delete_repo(repo_id)) == "403"
    actors["alice"].delete_repo(repo_id)


def test_other_users_may_open_pull_requests(actors: dict[str, HfApi], repos: dict[str, str]) -> None:
    bob = actors["bob"]
    info = bob.create_commit(repos["public"], [CommitOperationAdd("fix.txt", b"fix")], commit_message="Fix",
                             create_pr=True)
    assert info.pr_revision and info.pr_revision.startswith("refs/pr/")
    # Bob may push more commits to his own PR, not to alice's branch.
    bob.create_commit(repos["public"], [CommitOperationAdd("fix2.txt", b"2")], commit_message="more",
                      revision=info.pr_revision)
    assert "fix.txt" not in actors["alice"].list_repo_files(repos["public"])


def test_whoami_and_invalid_tokens(hub_server: HubServer, actors: dict[str, HfApi], repos: dict[str, str]) -> None:
    assert actors["carol"].whoami()["orgs"] == [{"type": "org", "name": "acme", "fullname": "acme"}]  # name as fullname when unset
    assert actors["alice-read"].whoami()["auth"]["accessToken"]["role"] == "read"
    with pytest.raises(HfHubHTTPError):
        hub_server.api(token="myd_not-a-real-token").whoami()
    response = httpx.get(f"{hub_server.url}/api/models/{repos['public']}",
                         headers={"authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.headers["x-error-message"] == "Invalid credentials in Authorization header"
    # Tokens are stored hashed: the plain value is nowhere in the database file.
    if hub_server.settings.database_url is None:
        assert hub_server.token.encode() not in (hub_server.data_dir / "hub.sqlite").read_bytes()
    else:  # PostgreSQL (MODELYARD_TEST_HUB_BACKEND): no column of the tokens table holds it
        rows = hub_server.storage.conn().execute("SELECT * FROM tokens").fetchall()
        assert rows and all(hub_server.token not in str(value) for row in rows for value in row)


def test_whoami_returns_the_fullname_given_to_user_add(hub_server: HubServer,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.cli.main import main

    for name, value in hub_server.admin_environment().items():  # the admin commands act on the hub's backends
        monkeypatch.setenv(name, value)
    data = ["--data-dir", str(hub_server.data_dir)]
    assert main(["hub", "user", "add", "dora", "--fullname", "Dora Dörfler", *data]) == 0
    assert main(["hub", "token", "create", "--user", "dora", *data]) == 0
    token = capsys.readouterr().out.splitlines()[-1].strip()
    info = hub_server.api(token=token).whoami()
    assert info["name"] == "dora" and info["fullname"] == "Dora Dörfler"
    # Without --fullname the user name stands in, as before.
    assert hub_server.api().whoami()["fullname"] == "alice"
