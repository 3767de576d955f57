"""Path and name attacks, sent raw (the stock client would refuse most of them before sending)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError

BAD_PATHS = ["../escape.txt", "a/../../b", "/etc/passwd", "a\\b.txt", "nul\x00byte", ".git/config", "a/.git/hooks",
             "./a", "a//b", "dir/", "", "x" * 2000, "ctrl\x01char"]


def _commit(server: HubServer, repo_id: str, *ops: dict, token: str | None = None) -> httpx.Response:
    lines = [{"key": "header", "value": {"summary": "attack", "description": ""}}, *ops]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    return httpx.post(f"{server.url}/api/models/{repo_id}/commit/main", content=body,
                      headers={"authorization": f"Bearer {token or server.token}",
                               "content-type": "application/x-ndjson"})


def _file(path: str, content: bytes = b"x") -> dict:
    return {"key": "file", "value": {"path": path, "content": base64.b64encode(content).decode(),
                                     "encoding": "base64"}}


@pytest.mark.parametrize("path", BAD_PATHS)
def test_bad_paths_are_refused_everywhere(hub_server: HubServer, api: HfApi, repo: str, path: str) -> None:
    # 422 where a path is being written, as the Hugging Face Hub answers (400 for other malformed input)
    response = _commit(hub_server, repo, _file(path))
    assert response.status_code == 422, response.text
    assert "Invalid path" in response.headers["x-error-message"] and response.json()["error"]
    preupload = httpx.post(f"{hub_server.url}/api/models/{repo}/preupload/main",
                           json={"files": [{"path": path, "size": 1, "sample": ""}]},
                           headers={"authorization": f"Bearer {hub_server.token}"})
    assert preupload.status_code == 422
    for key in ("lfsFile", "deletedFile"):
        value = {"path": path, "algo": "sha256", "oid": "0" * 64, "size": 1}
        assert _commit(hub_server, repo, {"key": key, "value": value}).status_code == 422
    assert api.list_repo_files(repo) == [".gitattributes"]


def test_traversal_in_urls_reads_nothing_outside(hub_server: HubServer, repo: str) -> None:
    for url in (f"{hub_server.url}/{repo}/resolve/main/..%2F..%2Fhub.sqlite",
                f"{hub_server.url}/{repo}/resolve/main/%2Fetc%2Fpasswd",
                f"{hub_server.url}/{repo}/resolve/main/a%5Cb",
                f"{hub_server.url}/api/models/{repo}/tree/main/..%2F..",
                f"{hub_server.url}/{repo}/resolve/..%2F..%2Fetc/passwd"):
        response = httpx.get(url)
        assert response.status_code in (400, 404), url
        assert b"SQLite" not in response.content and b"root:" not in response.content


@pytest.mark.parametrize("name", ["a--b", "..", "x.git", "-lead", "has space", "é", "a" * 97, "a/b/c"])
def test_bad_repo_names(hub_server: HubServer, name: str) -> None:
    response = httpx.post(f"{hub_server.url}/api/repos/create", json={"name": name, "organization": "alice"},
                          headers={"authorization": f"Bearer {hub_server.token}"})
    assert response.status_code in (400, 403), response.text
    assert response.json()["error"]


def test_reserved_namespace_and_unknown_org(hub_server: HubServer) -> None:
    auth = {"authorization": f"Bearer {hub_server.token}"}
    response = httpx.post(f"{hub_server.url}/api/repos/create", json={"name": "x", "organization": "api"},
                          headers=auth)
    assert response.status_code == 400 and "reserved" in response.json()["error"]
    response = httpx.post(f"{hub_server.url}/api/repos/create", json={"name": "x", "organization": "nobody"},
                          headers=auth)
    assert response.status_code == 403


def test_size_limits(hub_server: HubServer, repo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_server.settings, "max_file_size", 1000)
    preupload = httpx.post(f"{hub_server.url}/api/models/{repo}/preupload/main",
                           json={"files": [{"path": "big.bin", "size": 1001, "sample": ""}]},
                           headers={"authorization": f"Bearer {hub_server.token}"})
    assert preupload.status_code == 413 and "1001" in preupload.json()["error"]
    monkeypatch.setattr(hub_server.settings, "regular_max_size", 10)
    response = _commit(hub_server, repo, _file("r.txt", b"x" * 11))
    assert response.status_code == 413 and "LFS" in response.json()["error"]


def test_malformed_commit_bodies(hub_server: HubServer, repo: str) -> None:
    auth = {"authorization": f"Bearer {hub_server.token}", "content-type": "application/x-ndjson"}
    url = f"{hub_server.url}/api/models/{repo}/commit/main"
    for body in (b"not json", b'{"key": "file", "value": {}}', b'{"key":"header","value":{"summary":""}}',
                 b'{"key": "weird", "value": {"path": "a"}}', b"[1, 2]", b""):
        response = httpx.post(url, content=body, headers=auth)
        assert response.status_code == 400, (body, response.text)
    bad_b64 = {"key": "file", "value": {"path": "a.txt", "content": "***", "encoding": "base64"}}
    assert _commit(hub_server, repo, bad_b64).status_code == 400
    unknown_lfs = {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": "a" * 64, "size": 5}}
    response = _commit(hub_server, repo, unknown_lfs)
    assert response.status_code == 400 and "not uploaded" in response.json()["error"]


def test_gitignore_marks_files_to_skip(hub_server: HubServer, repo: str) -> None:
    response = httpx.post(
        f"{hub_server.url}/api/models/{repo}/preupload/main",
        json={"files": [{"path": p, "size": 1, "sample": ""} for p in ("a.log", "logs/x.txt", "keep.log", "b.txt")],
              "gitIgnore": "*.log\n!keep.log\nlogs/\n"},
        headers={"authorization": f"Bearer {hub_server.token}"},
    )
    ignored = {f["path"]: f["shouldIgnore"] for f in response.json()["files"]}
    assert ignored == {"a.log": True, "logs/x.txt": True, "keep.log": False, "b.txt": False}


@pytest.mark.parametrize("path", [".GIT/config", ".Git/hooks/pre-commit", "a/.gIt/HEAD", ".git./config",
                                  ".git  /x", "GIT~1/config", ".g\u200cit/config", ".git\ufeff/config"])
def test_git_folder_in_any_spelling_is_refused(hub_server: HubServer, api: HfApi, repo: str, path: str) -> None:
    response = _commit(hub_server, repo, _file(path))
    assert response.status_code == 422, response.text
    assert "git's own folder" in response.json()["error"]
    with pytest.raises(HfHubHTTPError, match="git's own folder") as err:
        api.upload_file(path_or_fileobj=b"x", path_in_repo=path, repo_id=repo)
    assert err.value.response.status_code == 422
    assert api.list_repo_files(repo) == [".gitattributes"]


def test_unicode_nfc_nfd_twins_are_refused(hub_server: HubServer, api: HfApi, repo: str) -> None:
    nfc, nfd = "caf\u00e9.txt", "cafe\u0301.txt"
    api.upload_file(path_or_fileobj=b"composed", path_in_repo=nfc, repo_id=repo)
    with pytest.raises(BadRequestError, match="Unicode normalisation") as err:
        api.upload_file(path_or_fileobj=b"decomposed", path_in_repo=nfd, repo_id=repo)
    assert nfc in str(err.value)
    # Folders too, and a singleton that normalises to ASCII (KELVIN SIGN -> K).
    api.upload_file(path_or_fileobj=b"x", path_in_repo="r\u00e9sum\u00e9/a.txt", repo_id=repo)
    with pytest.raises(BadRequestError, match="Unicode normalisation"):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="re\u0301sume\u0301/b.txt", repo_id=repo)
    api.upload_file(path_or_fileobj=b"x", path_in_repo="K.txt", repo_id=repo)
    with pytest.raises(BadRequestError, match="Unicode normalisation"):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="\u212a.txt", repo_id=repo)
    # A name keeps the form it was uploaded in: an NFD name alone is fine, and can be replaced or renamed.
    api.upload_file(path_or_fileobj=b"nfd only", path_in_repo="na\u0308ive.txt", repo_id=repo)
    api.create_commit(repo, [CommitOperationDelete(nfc), CommitOperationAdd(nfd, b"now decomposed")],
                      commit_message="rename to NFD")
    files = api.list_repo_files(repo)
    assert nfd in files and nfc not in files and "na\u0308ive.txt" in files


HUGE = "9" * 30
MALFORMED_GETS = [
    "/{repo}/resolve/main/%ZZ", "/{repo}/resolve/%E9/x", "/api/models/{repo}/revision/%ff%fe",
    "/api/models/alice/%ZZ", "/api/models/{repo}/tree/main/bad%2", "/api/models/{repo}/tree/refs%2Fpr%2Fabc",
    "/{repo}/resolve/refs%2Fpr%2Fabc/x", "/{repo}/resolve/refs/pr/abc/x",
    "/api/models/{repo}/discussions/" + HUGE, "/api/models/{repo}/discussions?p=" + HUGE,
    "/api/models/{repo}/tree/main?cursor=" + HUGE, "/api/models/{repo}/commits/main?p=" + HUGE,
    "/api/models/{repo}/revision/refs%2Fpr%2F" + HUGE, "/api/models?cursor=" + HUGE,
]


@pytest.mark.parametrize("url", MALFORMED_GETS)
def test_malformed_urls_get_a_4xx_with_a_message(hub_server: HubServer, repo: str, url: str) -> None:
    response = httpx.get(hub_server.url + url.format(repo=repo), headers={"authorization": f"Bearer {hub_server.token}"})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"] and response.headers["x-error-message"]


def test_malformed_revisions_through_the_client(api: HfApi, repo: str) -> None:
    from huggingface_hub.errors import RevisionNotFoundError

    for revision in ("refs/pr/abc", "refs/pr/" + HUGE):
        with pytest.raises(RevisionNotFoundError):
            api.model_info(repo, revision=revision)
        with pytest.raises(RevisionNotFoundError):
            api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo, revision=revision)


@pytest.mark.parametrize("line", [
    '{"key":"header","value":{"summary":"x","description":' + "[" * 100_000 + "]" * 100_000 + "}}",
    '{"key":"file","value":' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}",
])
def test_deeply_nested_commit_lines_are_refused(hub_server: HubServer, repo: str, line: str) -> None:
    header = '{"key":"header","value":{"summary":"x"}}\n'
    response = httpx.post(f"{hub_server.url}/api/models/{repo}/commit/main", content=(header + line).encode(),
                          headers={"authorization": f"Bearer {hub_server.token}",
                                   "content-type": "application/x-ndjson"})
    assert response.status_code == 400 and "deeper than" in response.json()["error"]
    # Brackets inside strings do not count.
    brackets = '{"key":"header","value":{"summary":"' + "[{" * 500 + '"}}\n' + json.dumps(_file("b.txt"))
    response = httpx.post(f"{hub_server.url}/api/models/{repo}/commit/main", content=brackets.encode(),
                          headers={"authorization": f"Bearer {hub_server.token}",
                                   "content-type": "application/x-ndjson"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", ["/api/repos/create", "/{repo}.git/info/lfs/objects/batch",
                                   "/api/models/{repo}/preupload/main", "/api/validate-yaml"])
def test_deeply_nested_json_bodies_are_refused(hub_server: HubServer, repo: str, route: str) -> None:
    body = b'{"name":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = httpx.post(hub_server.url + route.format(repo=repo), content=body,
                          headers={"authorization": f"Bearer {hub_server.token}", "content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]


def test_oversized_json_bodies_get_413(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from modelyard.server.app import create_app
    from modelyard.server.config import HubSettings

    app = create_app(HubSettings(data_dir=tmp_path / "hub", json_body_limit=1000))
    client = TestClient(app)
    big = json.dumps({"name": "x" * 2000}).encode()
    for headers in ({"content-type": "application/json"}, {"content-type": "application/vnd.git-lfs+json"}):
        response = client.post("/api/repos/create", content=big, headers=headers)
        assert response.status_code == 413 and "json_body_limit" in response.json()["error"]
    # Without a Content-Length (chunked), too.
    response = client.post("/api/validate-yaml", content=iter([big[:600], big[600:]]),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    small = client.post("/api/validate-yaml", content=iter([b'{"content":', b' "hi"}']),
                        headers={"content-type": "application/json"})
    assert small.status_code == 200 and small.json()["errors"] == []  # (a warning: the card has no metadata)
