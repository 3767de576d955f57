"""Gated repositories through the stock client: the setting, ``GatedRepoError`` on every download path for a
user without access (resolve, LFS batch, Xet, cross-repo copies), asking for access (``auto`` accepts at
once), and the owners' handling of requests with ``HfApi``'s access-request methods."""

from __future__ import annotations

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError
from huggingface_hub.hf_api import AccessRequest

WEIGHTS = b"\x01\x02" * 64


@pytest.fixture
def gated(api: HfApi, repo: str) -> str:
    api.upload_file(path_or_fileobj=WEIGHTS, path_in_repo="model.bin", repo_id=repo)
    api.upload_file(path_or_fileobj=b"# A gated model\n", path_in_repo="README.md", repo_id=repo)
    api.update_repo_settings(repo, gated="manual")
    return repo


def _ask(hub_server: HubServer, repo: str, token: str) -> httpx.Response:
    return httpx.post(f"{hub_server.url}/{repo}/ask-access", headers={"authorization": f"Bearer {token}"})


def test_setting_is_stored_reported_and_listed(hub_server: HubServer, api: HfApi, repo: str) -> None:
    assert api.model_info(repo).gated is False
    api.update_repo_settings(repo, gated="auto")
    assert api.model_info(repo).gated == "auto"
    api.update_repo_settings(repo, gated="manual", private=True)
    info = api.model_info(repo)
    assert info.gated == "manual" and info.private
    listed = {m.id: m.gated for m in api.list_models(author=hub_server.user, gated=True, expand=["gated"])}
    assert listed.get(repo) == "manual" and all(value in ("auto", "manual") for value in listed.values())
    assert repo not in {m.id for m in api.list_models(author=hub_server.user, gated=False)}
    api.update_repo_settings(repo, gated=False, private=False)
    assert api.model_info(repo).gated is False
    assert repo in {m.id for m in api.list_models(author=hub_server.user, gated=False)}
    with pytest.raises(HfHubHTTPError):  # only writers change settings
        hub_server.api(token=hub_server.add_user("mallory")).update_repo_settings(repo, gated="auto")


def test_downloads_need_access(hub_server: HubServer, api: HfApi, gated: str, tmp_path) -> None:
    bob = hub_server.add_user("bob-gate")
    for token in (bob, False):  # signed in without access, and anonymous
        with pytest.raises(GatedRepoError):
            hf_hub_download(gated, "model.bin", endpoint=hub_server.url, token=token, cache_dir=tmp_path / "c")
    # the card and the file list stay public, as on the Hugging Face Hub
    card = hf_hub_download(gated, "README.md", endpoint=hub_server.url, token=bob, cache_dir=tmp_path / "c")
    assert open(card, "rb").read() == b"# A gated model\n"
    assert "model.bin" in hub_server.api(token=bob).list_repo_files(gated)
    headers = {"authorization": f"Bearer {bob}"}
    sha = api.get_paths_info(gated, ["model.bin"])[0].blob_id
    for method, url, body in (
        ("GET", f"/api/models/{gated}/xet-read-token/main", None),
        ("POST", f"/{gated}.git/info/lfs/objects/batch", {"operation": "download", "objects": [
            {"oid": "ab" * 32, "size": 1}]}),
        ("POST", f"/api/models/{gated}/lfs-files/duplicate", {"target": {"name": "bob-gate/copy"},
                                                              "files": [{"sha256": "ab" * 32}]}),
    ):
        answer = httpx.request(method, hub_server.url + url, json=body, headers=headers)
        assert answer.status_code == 403 and answer.headers["x-error-code"] == "GatedRepo", (url, answer.text)
    assert sha  # the listing's metadata is public
    # owners always have access
    path = hf_hub_download(gated, "model.bin", endpoint=hub_server.url, token=hub_server.token,
                           cache_dir=tmp_path / "owner")
    assert open(path, "rb").read() == WEIGHTS


def test_manual_requests_and_owner_decisions(hub_server: HubServer, api: HfApi, gated: str, tmp_path) -> None:
    bob = hub_server.add_user("bob-manual")
    assert list(api.list_pending_access_requests(gated)) == []
    assert _ask(hub_server, gated, bob).json() == {"status": "pending"}
    pending = list(api.list_pending_access_requests(gated))
    assert [(r.username, r.status) for r in pending] == [("bob-manual", "pending")]
    assert isinstance(pending[0], AccessRequest) and len(pending[0].request_id) == 24
    with pytest.raises(GatedRepoError):  # pending is not access
        hf_hub_download(gated, "model.bin", endpoint=hub_server.url, token=bob, cache_dir=tmp_path / "a")

    api.accept_access_request(gated, "bob-manual")
    path = hf_hub_download(gated, "model.bin", endpoint=hub_server.url, token=bob, cache_dir=tmp_path / "b")
    assert open(path, "rb").read() == WEIGHTS
    with pytest.raises(HfHubHTTPError) as err:  # already accepted
        api.accept_access_request(gated, "bob-manual")
    assert err.value.response.status_code == 404

    api.reject_access_request(gated, "bob-manual", rejection_reason="Not for this project")
    assert [r.username for r in api.list_rejected_access_requests(gated)] == ["bob-manual"]
    with pytest.raises(GatedRepoError):
        hf_hub_download(gated, "model.bin", endpoint=hub_server.url, token=bob, cache_dir=tmp_path / "c")
    assert _ask(hub_server, gated, bob).json() == {"status": "rejected"}  # asking again changes nothing
    api.cancel_access_request(gated, "bob-manual")  # back to pending
    assert [r.username for r in api.list_pending_access_requests(gated)] == ["bob-manual"]
    with pytest.raises(HfHubHTTPError):
        api.cancel_access_request(gated, "bob-manual")  # pending already
    request_id = next(iter(api.list_pending_access_requests(gated))).request_id
    api.accept_access_request(gated, request_id=request_id)
    assert [r.username for r in api.list_accepted_access_requests(gated)] == ["bob-manual"]

    # only owners see and handle requests
    with pytest.raises(HfHubHTTPError) as err:
        list(hub_server.api(token=bob).list_pending_access_requests(gated))
    assert err.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as err:
        api.grant_access(gated, "no-such-user")
    assert err.value.response.status_code == 404


def test_auto_gating_grants_and_not_gated(hub_server: HubServer, api: HfApi, gated: str) -> None:
    api.update_repo_settings(gated, gated="auto")
    carol = hub_server.add_user("carol-auto")
    assert _ask(hub_server, gated, carol).json() == {"status": "accepted"}  # auto: accepted as asked
    assert hub_server.api(token=carol).hf_hub_download(gated, "model.bin")
    dave = hub_server.add_user("dave-grant")
    api.grant_access(gated, "dave-grant")
    accepted = {r.username: r for r in api.list_accepted_access_requests(gated)}
    assert set(accepted) == {"carol-auto", "dave-grant"} and accepted["dave-grant"].email is None
    with pytest.raises(HfHubHTTPError) as err:
        api.grant_access(gated, "dave-grant")  # twice
    assert err.value.response.status_code == 400
    assert hub_server.api(token=dave).hf_hub_download(gated, "model.bin")
    api.update_repo_settings(gated, gated=False)  # open: requests are not listed, everyone downloads
    with pytest.raises(HfHubHTTPError) as err:
        list(api.list_pending_access_requests(gated))
    assert err.value.response.status_code == 400
    assert hub_server.api(token=False).hf_hub_download(gated, "model.bin")


def test_xet_downloads_need_access_and_lose_it_on_rejection(hub_server: HubServer, api: HfApi, repo: str,
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)  # the client as installed: large files via Xet
    data = bytes(range(256)) * (11 * 4096)  # 11 MiB
    api.upload_file(path_or_fileobj=data, path_in_repo="w.safetensors", repo_id=repo)
    xet_hash = api.get_paths_info(repo, ["w.safetensors"])[0].xet_hash
    assert xet_hash
    api.update_repo_settings(repo, gated="auto")
    erin = hub_server.add_user("erin-xet")
    headers = {"authorization": f"Bearer {erin}"}
    with pytest.raises(GatedRepoError):
        hf_hub_download(repo, "w.safetensors", endpoint=hub_server.url, token=erin, cache_dir=tmp_path / "a")
    assert _ask(hub_server, repo, erin).json() == {"status": "accepted"}
    path = hf_hub_download(repo, "w.safetensors", endpoint=hub_server.url, token=erin, cache_dir=tmp_path / "b")
    assert open(path, "rb").read() == data
    token = httpx.get(f"{hub_server.url}/api/models/{repo}/xet-read-token/main", headers=headers).json()
    cas = {"authorization": f"Bearer {token['accessToken']}"}
    assert httpx.get(f"{token['casUrl']}/v2/reconstructions/{xet_hash}", headers=cas).status_code == 200
    api.reject_access_request(repo, "erin-xet", rejection_reason=None)  # the token she holds stops working at once
    answer = httpx.get(f"{token['casUrl']}/v2/reconstructions/{xet_hash}", headers=cas)
    assert answer.status_code == 403 and answer.headers["x-error-code"] == "GatedRepo"
