"""The LFS batch API and transfers, driven raw: multipart out of order, retries, failures, signatures."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import httpx
import pytest
from _hub_server import HubServer

MiB = 1024 * 1024


def _batch(server: HubServer, repo_id: str, oid: str, size: int, transfers=("basic", "multipart")) -> dict:
    response = httpx.post(f"{server.url}/{repo_id}.git/info/lfs/objects/batch",
                          headers={"authorization": f"Bearer {server.token}",
                                   "content-type": "application/vnd.git-lfs+json"},
                          json={"operation": "upload", "transfers": list(transfers),
                                "objects": [{"oid": oid, "size": size}], "hash_algo": "sha256",
                                "ref": {"name": "main"}})
    assert response.status_code == 200, response.text
    return response.json()["objects"][0]


def _commit_lfs(server: HubServer, repo_id: str, path: str, oid: str, size: int) -> httpx.Response:
    lines = [{"key": "header", "value": {"summary": f"add {path}"}},
             {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}}]
    return httpx.post(f"{server.url}/api/models/{repo_id}/commit/main",
                      content="\n".join(json.dumps(x) for x in lines),
                      headers={"authorization": f"Bearer {server.token}", "content-type": "application/x-ndjson"})


def test_multipart_out_of_order_with_retries_and_a_failed_part(hub_server: HubServer, repo: str) -> None:
    content = os.urandom(17 * MiB)  # 3 parts of 6, 6 and 5 MiB in the test hub
    oid, size = hashlib.sha256(content).hexdigest(), len(content)
    obj = _batch(hub_server, repo, oid, size)
    header = obj["actions"]["upload"]["header"]
    chunk = int(header["chunk_size"])
    urls = [header[str(n)] for n in range(1, 4)]
    parts = [content[i * chunk:(i + 1) * chunk] for i in range(3)]
    assert "authorization" not in str(obj["actions"]["upload"])  # the links carry their own signature

    etags = {}
    for n in (3, 2):  # early parts wait for part 1
        response = httpx.put(urls[n - 1], content=parts[n - 1])
        assert response.status_code == 200 and response.headers["etag"]
        etags[n] = response.headers["etag"]
    short = httpx.put(urls[0], content=parts[0][: chunk // 2])  # a part cut short is rolled back
    assert short.status_code == 400 and "expected" in short.json()["error"]
    missing = httpx.post(obj["actions"]["upload"]["href"],
                         json={"oid": oid, "parts": [{"partNumber": n, "etag": "x"} for n in (1, 2, 3)]})
    assert missing.status_code == 400 and "[1, 2, 3]" in missing.json()["error"]
    etags[1] = httpx.put(urls[0], content=parts[0]).headers["etag"]
    assert httpx.put(urls[0], content=parts[0]).status_code == 200  # a retry of an assembled part is harmless
    done = httpx.post(obj["actions"]["upload"]["href"],
                      json={"oid": oid, "parts": [{"partNumber": n, "etag": etags[n]} for n in (1, 2, 3)]})
    assert done.status_code == 200, done.text
    verify = httpx.post(obj["actions"]["verify"]["href"], json={"oid": oid, "size": size},
                        headers={"authorization": f"Bearer {hub_server.token}"})
    assert verify.status_code == 200
    assert _batch(hub_server, repo, oid, size).get("actions") is None  # now stored for this repo
    assert _commit_lfs(hub_server, repo, "w.bin", oid, size).status_code == 200
    assert httpx.get(f"{hub_server.url}/{repo}/resolve/main/w.bin").content == content


def test_basic_upload_checks_hash_size_and_signature(hub_server: HubServer, repo: str) -> None:
    content = os.urandom(1000)
    oid = hashlib.sha256(content).hexdigest()
    href = _batch(hub_server, repo, oid, 1000, transfers=("basic",))["actions"]["upload"]["href"]
    tampered = href.replace("size=1000", "size=999")
    assert httpx.put(tampered, content=content[:999]).status_code == 403
    expired = href.split("exp=")[0] + "exp=1&" + href.split("&", 2)[-1]
    assert httpx.put(expired, content=content).status_code in (401, 403)
    wrong = httpx.put(href, content=os.urandom(1000))
    assert wrong.status_code == 400 and "sha256" in wrong.json()["error"]
    assert httpx.put(href, content=content + b"x").status_code == 400
    assert httpx.put(href, content=content).status_code == 200


def test_lfs_object_of_another_repo_cannot_be_referenced(hub_server: HubServer, api, repo: str) -> None:
    secret_repo = hub_server.repo_id("private-src")
    api.create_repo(secret_repo, private=True)
    content = os.urandom(2000)
    oid = hashlib.sha256(content).hexdigest()
    href = _batch(hub_server, secret_repo, oid, 2000)["actions"]["upload"]["href"]
    assert httpx.put(href, content=content).status_code == 200
    # Someone who only knows the sha256 gets asked to upload it, and cannot commit it without doing so.
    mallory = hub_server.add_user("mallory")
    api_m = hub_server.api(token=mallory)
    target = hub_server.repo_id("steal", namespace="mallory")
    api_m.create_repo(target)
    response = httpx.post(f"{hub_server.url}/{target}.git/info/lfs/objects/batch",
                          headers={"authorization": f"Bearer {mallory}"},
                          json={"operation": "upload", "objects": [{"oid": oid, "size": 2000}]})
    assert "upload" in response.json()["objects"][0]["actions"]
    lines = [{"key": "header", "value": {"summary": "steal"}},
             {"key": "lfsFile", "value": {"path": "stolen.bin", "algo": "sha256", "oid": oid, "size": 2000}}]
    commit = httpx.post(f"{hub_server.url}/api/models/{target}/commit/main",
                        content="\n".join(json.dumps(x) for x in lines),
                        headers={"authorization": f"Bearer {mallory}", "content-type": "application/x-ndjson"})
    assert commit.status_code == 400 and "not uploaded" in commit.json()["error"]


def test_batch_errors_and_download_operation(hub_server: HubServer, api, repo: str) -> None:
    response = httpx.post(f"{hub_server.url}/{repo}.git/info/lfs/objects/batch",
                          headers={"authorization": f"Bearer {hub_server.token}"},
                          json={"operation": "upload", "objects": [{"oid": "nothex", "size": 1}]})
    assert response.json()["objects"][0]["error"]["code"] == 422
    anonymous = httpx.post(f"{hub_server.url}/{repo}.git/info/lfs/objects/batch",
                           json={"operation": "upload", "objects": [{"oid": "a" * 64, "size": 1}]})
    assert anonymous.status_code == 401
    content = os.urandom(11 * MiB)
    api.upload_file(path_or_fileobj=content, path_in_repo="w.bin", repo_id=repo)
    oid = hashlib.sha256(content).hexdigest()
    download = httpx.post(f"{hub_server.url}/{repo}.git/info/lfs/objects/batch",
                          json={"operation": "download", "objects": [{"oid": oid, "size": len(content)}]})
    href = download.json()["objects"][0]["actions"]["download"]["href"]
    assert httpx.get(href).content == content


@pytest.mark.parametrize("encoding", ["base64"])
def test_regular_file_commit_raw(hub_server: HubServer, repo: str, encoding: str) -> None:
    lines = [{"key": "header", "value": {"summary": "raw"}},
             {"key": "file", "value": {"path": "r.txt", "content": base64.b64encode(b"raw").decode(),
                                       "encoding": encoding}}]
    response = httpx.post(f"{hub_server.url}/api/models/{repo}/commit/main",
                          content="\n".join(json.dumps(x) for x in lines),
                          headers={"authorization": f"Bearer {hub_server.token}"})
    body = response.json()
    assert response.status_code == 200 and body["commitUrl"] == f"{hub_server.url}/{repo}/commit/{body['commitOid']}"
    assert body["pullRequestUrl"] is None


def test_commit_errors_do_not_reveal_other_repos_lfs_objects(hub_server: HubServer, repo: str) -> None:
    # An object stored for a private repo of someone else ...
    owner = hub_server.add_user("oracle-owner")
    secret_repo = "oracle-owner/secret"
    hub_server.api(token=owner).create_repo(secret_repo, private=True)
    content = os.urandom(1000)
    oid = hashlib.sha256(content).hexdigest()
    href = httpx.post(f"{hub_server.url}/{secret_repo}.git/info/lfs/objects/batch",
                      headers={"authorization": f"Bearer {owner}"},
                      json={"operation": "upload", "objects": [{"oid": oid, "size": 1000}]}
                      ).json()["objects"][0]["actions"]["upload"]["href"]
    assert httpx.put(href, content=content).status_code == 200
    # ... and an object that exists nowhere get the same answer, whatever size is claimed.
    answers = set()
    for candidate, size in ((oid, 1000), (oid, 999), (oid, None), ("cd" * 32, 1000), ("cd" * 32, None)):
        value = {"path": "w.bin", "algo": "sha256", "oid": candidate, **({"size": size} if size else {})}
        lines = [{"key": "header", "value": {"summary": "probe"}}, {"key": "lfsFile", "value": value}]
        response = httpx.post(f"{hub_server.url}/api/models/{repo}/commit/main",
                              content="\n".join(json.dumps(x) for x in lines),
                              headers={"authorization": f"Bearer {hub_server.token}",
                                       "content-type": "application/x-ndjson"})
        answers.add((response.status_code, response.json()["error"].replace(candidate, "<oid>")))
    assert len(answers) == 1, answers
    assert "1000" not in next(iter(answers))[1]


def test_multipart_completion_without_parts_does_not_link_another_repos_object(hub_server: HubServer,
                                                                               repo: str) -> None:
    owner = hub_server.add_user("multipart-owner")
    secret_repo = "multipart-owner/secret"
    hub_server.api(token=owner).create_repo(secret_repo, private=True)
    content = os.urandom(17 * MiB)  # multipart in the test hub
    oid, size = hashlib.sha256(content).hexdigest(), len(content)
    response = httpx.post(f"{hub_server.url}/{secret_repo}.git/info/lfs/objects/batch",
                          headers={"authorization": f"Bearer {owner}"},
                          json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]})
    assert httpx.put(response.json()["objects"][0]["actions"]["upload"]["href"], content=content).status_code == 200
    # Alice knows the sha256 and size only: completing a multipart upload without parts must not count.
    obj = _batch(hub_server, repo, oid, size)
    done = httpx.post(obj["actions"]["upload"]["href"],
                      json={"oid": oid, "parts": [{"partNumber": n, "etag": "x"} for n in (1, 2, 3)]})
    assert done.status_code == 400 and "upload the file again" in done.json()["error"]
    assert _commit_lfs(hub_server, repo, "stolen.bin", oid, size).status_code == 400
