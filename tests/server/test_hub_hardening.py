"""Attacks on the hub that once succeeded (issue 25, "Hardening"), each replayed against a live server.

Every test first plants what the attacker would (a repository's content, a request) and then asserts the hub
now answers as it should: other people's answers unaffected, bounded sizes, 4xx with a message, no link to a
foreign site, no write through a stale token, no copy of unpublished content.
"""

from __future__ import annotations

import json
import re
from html import unescape

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import HfApi

DEEP = 20_000  # far beyond Python's recursion limit: json.loads and every recursive encoder fail on it


def _deep_config() -> bytes:
    return b'{"model_type": "bert", "architectures": ["BertModel"], "x": ' + b"[" * DEEP + b"]" * DEEP + b"}"


def _commit_file(server: HubServer, repo: str, path: str, content: bytes) -> None:
    """Commit through the raw API, as an attacker would (the stock client validates cards first)."""
    import base64

    lines = [{"key": "header", "value": {"summary": f"add {path}"}},
             {"key": "file", "value": {"path": path, "content": base64.b64encode(content).decode(),
                                       "encoding": "base64"}}]
    answer = httpx.post(f"{server.url}/api/models/{repo}/commit/main", timeout=60,
                        headers={"authorization": f"Bearer {server.token}", "content-type": "application/x-ndjson"},
                        content=b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    assert answer.status_code == 200, answer.text


def _get(server: HubServer, path: str, token: str | None = None, **kwargs: object) -> httpx.Response:
    headers = {"authorization": f"Bearer {token or server.token}"}
    return httpx.get(f"{server.url}{path}", headers=headers, timeout=60, **kwargs)


# -- 1. deeply nested config.json --------------------------------------------------------------------------------
def test_a_deeply_nested_config_breaks_no_listing_page_or_answer(hub_server: HubServer, api: HfApi) -> None:
    evil = hub_server.repo_id("deep-config")
    good = hub_server.repo_id("deep-neighbour")
    api.create_repo(evil)
    api.create_repo(good)
    api.upload_file(path_or_fileobj=_deep_config(), path_in_repo="config.json", repo_id=evil)
    api.upload_file(path_or_fileobj=b'{"model_type": "gpt2"}', path_in_repo="config.json", repo_id=good)
    for query in ({"full": "true"}, {"config": "true"}, {"expand": "config"}, {"author": hub_server.user,
                                                                                "full": "true"}):
        answer = _get(hub_server, "/api/models", params={**query, "limit": 1000})
        assert answer.status_code == 200, (query, answer.text[:300])
        items = {item["id"]: item for item in answer.json()}
        assert items[good]["config"] == {"model_type": "gpt2"}, query
        assert evil in items and "config" not in items[evil], query  # listed, without the unreadable config
    info = _get(hub_server, f"/api/models/{evil}")
    assert info.status_code == 200 and "config" not in info.json()
    assert api.model_info(evil).id == evil
    for page in (f"/{evil}", f"/{evil}/blob/main/config.json", f"/{hub_server.user}", "/models", "/"):
        assert _get(hub_server, page).status_code == 200, page
    # The file itself is still served as it was stored.
    assert _get(hub_server, f"/{evil}/resolve/main/config.json").content == _deep_config()


def test_a_listing_survives_a_repository_whose_info_cannot_be_built(hub_server: HubServer, api: HfApi,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever fails for one repository (here: any error while building its info) leaves the others listed."""
    from modelyard.server import routes_listing

    broken = hub_server.repo_id("broken-info")
    api.create_repo(broken)
    real = routes_listing.repo_info_payload

    def failing(hub, repo, *args, **kwargs):
        if repo.repo_id == broken:
            raise RecursionError("maximum recursion depth exceeded")
        return real(hub, repo, *args, **kwargs)

    monkeypatch.setattr(routes_listing, "repo_info_payload", failing)
    answer = _get(hub_server, "/api/models", params={"full": "true", "limit": 1000})
    assert answer.status_code == 200
    items = {item["id"]: item for item in answer.json()}
    assert items[broken] == {"_id": items[broken]["_id"], "id": broken}
    assert len(items) > 1 and all("sha" in item for rid, item in items.items() if rid != broken)


# -- 2. YAML alias bombs in the model card -----------------------------------------------------------------------
def _alias_bomb(levels: int) -> bytes:
    lines = ["---", "license: mit", "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return ("\n".join([*lines, "---", "# bomb", ""])).encode()


@pytest.mark.parametrize("levels", [6, 9])
def test_a_yaml_alias_bomb_in_the_card_is_not_expanded(hub_server: HubServer, api: HfApi, levels: int) -> None:
    repo = hub_server.repo_id("alias-bomb")
    api.create_repo(repo)
    _commit_file(hub_server, repo, "README.md", _alias_bomb(levels))
    info = _get(hub_server, f"/api/models/{repo}")
    assert info.status_code == 200 and len(info.content) < 100_000
    assert "cardData" not in info.json()
    listing = _get(hub_server, "/api/models", params={"cardData": "true", "search": repo.split("/")[1]})
    assert listing.status_code == 200 and len(listing.content) < 100_000
    assert [item["id"] for item in listing.json()] == [repo]
    assert _get(hub_server, f"/{repo}").status_code == 200
    # The card validator says why instead of expanding it.
    check = httpx.post(f"{hub_server.url}/api/validate-yaml", json={"content": _alias_bomb(levels).decode(),
                                                                   "repoType": "model"}, timeout=30)
    assert check.status_code == 400 and "aliases" in check.json()["errors"][0]["message"]


def test_modest_aliases_in_a_card_still_work(hub_server: HubServer, api: HfApi) -> None:
    repo = hub_server.repo_id("aliases-ok")
    api.create_repo(repo)
    card = b"---\nlicense: mit\ntags: &t [vision, tiny]\nextra_tags: *t\n---\n# ok\n"
    api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo)
    assert api.model_info(repo).card_data["extra_tags"] == ["vision", "tiny"]


def test_a_deeply_nested_card_is_left_out(hub_server: HubServer, api: HfApi) -> None:
    repo = hub_server.repo_id("deep-card")
    api.create_repo(repo)
    card = b"---\nlicense: mit\nx: " + b"[" * 200 + b"]" * 200 + b"\n---\n"
    _commit_file(hub_server, repo, "README.md", card)
    info = _get(hub_server, f"/api/models/{repo}")
    assert info.status_code == 200 and "cardData" not in info.json()
    assert _get(hub_server, f"/{repo}").status_code == 200


# -- 3. auto_map references rendered as links --------------------------------------------------------------------
def test_auto_map_links_only_to_valid_repositories(hub_server: HubServer, api: HfApi) -> None:
    repo = hub_server.repo_id("auto-map")
    api.create_repo(repo)
    config = {"model_type": "custom", "auto_map": {
        "AutoConfig": "/evil.example/x--configuration.C",
        "AutoModel": "//evil.example/y--modeling.M",
        "AutoModelForCausalLM": "acme/real-repo--modeling.CausalLM",
        "AutoTokenizer": ["tokenization.T", None],
        "AutoProcessor": "../up.P"}}
    api.upload_file(path_or_fileobj=json.dumps(config).encode(), path_in_repo="config.json", repo_id=repo)
    for page in (f"/{repo}", f"/{repo}/blob/main/config.json"):
        html = _get(hub_server, page).text
        hrefs = [unescape(h) for h in re.findall(r'href="([^"]*)"', html)]
        assert not [h for h in hrefs if "evil.example" in h or h.startswith("//")], page
        assert "/acme/real-repo" in hrefs, page
        assert "evil.example" in html  # still shown, as text
    blob = _get(hub_server, f"/{repo}/blob/main/config.json").text
    assert "not a valid module or repository id" in blob


# -- 4. redirects after a move -----------------------------------------------------------------------------------
def test_moved_repo_redirects_ignore_the_host_header(hub_server: HubServer, api: HfApi) -> None:
    old, new = hub_server.repo_id("host-old"), hub_server.repo_id("host-new")
    api.create_repo(old)
    api.move_repo(old, new)
    for path in (f"/api/models/{old}", f"/{old}/resolve/main/.gitattributes", f"/{old}"):
        answer = httpx.get(f"{hub_server.url}{path}", headers={"Host": "evil.example"})
        assert answer.status_code in (302, 303, 307), path
        assert "evil.example" not in answer.headers["location"], path
        assert answer.headers["location"].startswith("/"), path
    assert api.model_info(old).id == new  # the client follows the relative redirect


# -- 5. Xet write tokens of a deleted repository -----------------------------------------------------------------
def test_a_xet_token_of_a_deleted_repository_cannot_write_into_its_successor(hub_server: HubServer,
                                                                             api: HfApi) -> None:
    bob_token = hub_server.add_user("xet-bob")
    bob = hub_server.api(token=bob_token)
    repo = "xet-bob/doomed"
    bob.create_repo(repo)
    grant = _get(hub_server, f"/api/models/{repo}/xet-write-token/main", token=bob_token).json()
    bob.delete_repo(repo)
    # The next repository created takes the same database id (SQLite reuses the highest rowid when freed).
    api_repo = hub_server.repo_id("successor")
    api.create_repo(api_repo)
    shard_upload = httpx.post(f"{grant['casUrl']}/v1/shards", content=b"\x00" * 64, timeout=30,
                              headers={"authorization": f"Bearer {grant['accessToken']}"})
    assert shard_upload.status_code == 401, shard_upload.text
    assert "request a new token" in shard_upload.json()["error"]
    xorb = httpx.post(f"{grant['casUrl']}/v1/xorbs/default/{'ab' * 32}", content=b"\x00" * 64, timeout=30,
                      headers={"authorization": f"Bearer {grant['accessToken']}"})
    assert xorb.status_code == 401


def test_a_xet_write_token_stops_working_when_write_rights_are_withdrawn(hub_server: HubServer,
                                                                         api: HfApi) -> None:
    """Rights are re-checked on every upload: a member removed from the organisation keeps nothing."""
    carol_token = hub_server.add_user("xet-carol", orgs=("xet-org",))
    carol = hub_server.api(token=carol_token)
    repo = "xet-org/shared"
    carol.create_repo(repo)
    grant = _get(hub_server, f"/api/models/{repo}/xet-write-token/main", token=carol_token).json()
    headers = {"authorization": f"Bearer {grant['accessToken']}"}
    before = httpx.post(f"{grant['casUrl']}/v1/xorbs/default/{'cd' * 32}", content=b"junk", headers=headers)
    assert before.status_code == 400  # admitted, then refused for its content
    with hub_server.storage.transaction() as db:  # the admin removes her from the organisation
        db.execute('DELETE FROM members WHERE org=? AND "user"=?', ("xet-org", "xet-carol"))
    after = httpx.post(f"{grant['casUrl']}/v1/xorbs/default/{'cd' * 32}", content=b"junk", headers=headers)
    assert after.status_code in (401, 403), after.text


# -- 6. lfs-files/duplicate of uncommitted objects ---------------------------------------------------------------
def test_duplicate_copies_only_committed_content(hub_server: HubServer, api: HfApi) -> None:
    import hashlib

    victim = hub_server.repo_id("dup-victim")
    api.create_repo(victim)
    secret = b"unpublished weights " * 1000
    oid = hashlib.sha256(secret).hexdigest()
    # Alice uploads the object (LFS batch + PUT) but has not committed it yet.
    batch = httpx.post(f"{hub_server.url}/{victim}.git/info/lfs/objects/batch", timeout=30,
                       headers={"authorization": f"Bearer {hub_server.token}",
                                "accept": "application/vnd.git-lfs+json"},
                       json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid,
                                                                                          "size": len(secret)}]})
    action = batch.json()["objects"][0]["actions"]["upload"]
    assert httpx.put(action["href"], content=secret, headers=action.get("header", {}), timeout=30).is_success
    mallory_token = hub_server.add_user("dup-mallory")
    mallory = hub_server.api(token=mallory_token)
    mallory.create_repo("dup-mallory/loot")
    answer = httpx.post(f"{hub_server.url}/api/models/{victim}/lfs-files/duplicate", timeout=30,
                        headers={"authorization": f"Bearer {mallory_token}"},
                        json={"target": {"type": "model", "name": "dup-mallory/loot"},
                              "files": [{"sha256": oid, "xetHash": "x" * 64, "filename": "w.bin"}]})
    assert answer.status_code == 200 and answer.json()["duplicated"] == [], answer.text
    assert answer.json()["failed"][0]["sha256"] == oid
    with pytest.raises(RuntimeError, match="w.bin"):  # nor can she commit a pointer to it
        _commit_pointer(hub_server, mallory_token, "dup-mallory/loot", oid, len(secret))
    # Once committed, the same object may be copied.
    api.upload_file(path_or_fileobj=secret, path_in_repo="w.bin", repo_id=victim)
    again = httpx.post(f"{hub_server.url}/api/models/{victim}/lfs-files/duplicate", timeout=30,
                       headers={"authorization": f"Bearer {mallory_token}"},
                       json={"target": {"type": "model", "name": "dup-mallory/loot"},
                             "files": [{"sha256": oid, "filename": "w.bin"}]})
    assert again.json()["duplicated"] == [{"sha256": oid}], again.text


def _commit_pointer(server: HubServer, token: str, repo: str, oid: str, size: int) -> None:
    lines = [{"key": "header", "value": {"summary": "steal"}},
             {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": size}}]
    answer = httpx.post(f"{server.url}/api/models/{repo}/commit/main", timeout=30,
                        headers={"authorization": f"Bearer {token}", "content-type": "application/x-ndjson"},
                        content=b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    if answer.is_success:
        return
    raise RuntimeError(answer.text)


# -- 8. malformed names answer 4xx with a message ----------------------------------------------------------------
@pytest.mark.parametrize("revision", ["refs%2Fpr%2Fabc", "refs%2Fpr%2F99999999999999999999999", "refs%2Fpr%2F-1",
                                      "refs%2Fpr%2F"])
def test_malformed_pull_request_refs_answer_4xx(hub_server: HubServer, repo: str, revision: str) -> None:
    # Both the owner and someone else (whose rights depend on the pull request's author) ask.
    for token in (hub_server.token, hub_server.add_user("pr-stranger")):
        answer = httpx.post(f"{hub_server.url}/api/models/{repo}/preupload/{revision}", timeout=30,
                            headers={"authorization": f"Bearer {token}"},
                            json={"files": [{"path": "a.txt", "size": 1, "sample": ""}]})
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.json()["error"]
        commit = httpx.post(f"{hub_server.url}/api/models/{repo}/commit/{revision}", timeout=30,
                            headers={"authorization": f"Bearer {token}", "content-type": "application/x-ndjson"},
                            content=b'{"key": "header", "value": {"summary": "x"}}\n')
        assert 400 <= commit.status_code < 500 and commit.json()["error"], commit.text


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"operation": "upload", "objects": [1]}',
                                  b'{"operation": "upload", "objects": [{"oid": 5, "size": "x"}]}',
                                  b'{"operation": 7}', b"\xff\xfe", b'{"objects": {"a": 1}}', b"null",
                                  b'{"operation": "upload", "objects": null}',
                                  b'{"operation": "upload", "objects": [{"oid": "%s", "size": 99999999999999999999999}]}'
                                  % (b"a" * 64),
                                  b'{"operation": "upload", "objects": [{"oid": "%s", "size": -1}]}' % (b"a" * 64),
                                  b'{"operation": "download", "objects": [{"oid": "%s", "size": 1e400}]}' % (b"a" * 64),
                                  b'{"operation": "upload", "transfers": "basic", "objects": []}',
                                  b'{"operation": "upload", "ref": {"name": 5}, "objects": []}',
                                  b'{"operation": "upload", "ref": {"name": "refs/pr/x"}, "objects": []}',
                                  b'{"operation": "upload", "ref": {"name": "refs/pr/99999999999999999999999"}, '
                                  b'"objects": []}',
                                  b'{"operation": "upload", "hash_algo": "md5", "objects": []}',
                                  b'{"operation": "upload", "objects": [{"oid": "\\ud800", "size": 1}]}'])
def test_a_malformed_lfs_batch_body_answers_4xx(hub_server: HubServer, repo: str, body: bytes) -> None:
    for token in (hub_server.token, hub_server.add_user("lfs-stranger")):
        answer = httpx.post(f"{hub_server.url}/{repo}.git/info/lfs/objects/batch", content=body, timeout=30,
                            headers={"authorization": f"Bearer {token}",
                                     "content-type": "application/vnd.git-lfs+json"})
        if answer.status_code == 200:  # well-formed after all: every object answered on its own
            assert all("error" in o or "actions" in o or o.get("authenticated") is not None
                       for o in answer.json()["objects"]), answer.text
            continue
        assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.text)
        assert answer.json().get("message") or answer.json().get("error")


@pytest.mark.parametrize("line", ['{"key": "header", "value": {"summary": "\\ud800"}}',
                                  '{"key": "file", "value": {"path": "\\udc80.txt", "content": "", '
                                  '"encoding": "base64"}}',
                                  '{"key": "header", "value": {"summary": "ok", "description": "\\udfff"}}'])
def test_a_commit_line_with_a_lone_surrogate_answers_4xx(hub_server: HubServer, repo: str, line: str) -> None:
    lines = [line] if line.startswith('{"key": "header"') else ['{"key": "header", "value": {"summary": "x"}}',
                                                                  line]
    answer = httpx.post(f"{hub_server.url}/api/models/{repo}/commit/main", timeout=30,
                        headers={"authorization": f"Bearer {hub_server.token}",
                                 "content-type": "application/x-ndjson"},
                        content="\n".join(lines).encode() + b"\n")
    assert 400 <= answer.status_code < 500, answer.text
    assert "surrogate" in answer.json()["error"] or "UTF-8" in answer.json()["error"]


# -- 9. pickles that run code are refused at commit --------------------------------------------------------------
class _Exploit:
    """Unpickling this would run a shell command; the test only *dumps* it."""

    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def _torch_zip(payload: bytes) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("archive/data.pkl", payload)
        zf.writestr("archive/version", "3\n")
    return buffer.getvalue()


def test_a_pickle_that_runs_code_is_refused_at_commit(hub_server: HubServer, api: HfApi, repo: str) -> None:
    import pickle

    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import HfHubHTTPError

    evil = _torch_zip(pickle.dumps({"state": [1.0], "payload": _Exploit()}))
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_commit(repo, [CommitOperationAdd("optimizer.pt", evil),
                                 CommitOperationAdd("config.json", b"{}")], commit_message="checkpoint")
    assert caught.value.response.status_code == 400
    assert "optimizer.pt" in str(caught.value) and re.search(r"(os|posix)\.system", str(caught.value))
    assert api.list_repo_files(repo) == [".gitattributes"]  # nothing of the commit landed
    # Under another name, found by content, and as a shard an index names: refused the same way.
    with pytest.raises(HfHubHTTPError, match="would run code"):
        api.upload_file(path_or_fileobj=evil, path_in_repo="weights.safetensors.bak", repo_id=repo)
    # A protocol-0 pickle has no header to sniff: stored as data, until an index makes loaders torch.load it.
    api.upload_file(path_or_fileobj=pickle.dumps(_Exploit(), protocol=0), path_in_repo="shard-1", repo_id=repo)
    index = json.dumps({"metadata": {}, "weight_map": {"w": "shard-1"}}).encode()
    with pytest.raises(HfHubHTTPError, match="shard-1"):
        api.upload_file(path_or_fileobj=index, path_in_repo="pytorch_model.bin.index.json", repo_id=repo)
    # A pickle of plain data is accepted (and marked safe).
    api.upload_file(path_or_fileobj=_torch_zip(pickle.dumps({"step": 3})), path_in_repo="trainer.pt", repo_id=repo)
    info = _get(hub_server, f"/api/models/{repo}").json()
    assert {s["rfilename"]: s["security"]["status"] for s in info["siblings"]}["trainer.pt"] == "safe"


def test_the_mark_policy_accepts_and_marks_unsafe_pickles(tmp_path) -> None:
    import pickle

    from modelyard.server.config import HubSettings

    with pytest.raises(ValueError, match="unsafe_pickles"):
        HubSettings(data_dir=tmp_path, unsafe_pickles="ignore")
    server = HubServer(tmp_path / "marking", unsafe_pickles="mark").start()
    try:
        api = server.api()
        repo = server.repo_id("mirror")
        api.create_repo(repo)
        api.upload_file(path_or_fileobj=_torch_zip(pickle.dumps(_Exploit())), path_in_repo="optimizer.pt",
                        repo_id=repo)
        info = _get(server, f"/api/models/{repo}").json()
        security = {s["rfilename"]: s["security"] for s in info["siblings"]}["optimizer.pt"]
        assert security["status"] == "unsafe" and security["dangerousImports"]
        assert [f["path"] for f in info["securityRepoStatus"]["filesWithIssues"]] == ["optimizer.pt"]
        assert "optimizer.pt" in _get(server, f"/{repo}").text
    finally:
        server.stop()


# -- 11. an empty pickle-named file ------------------------------------------------------------------------------
def test_an_empty_pkl_file_is_scanned_without_an_error(hub_server: HubServer, api: HfApi, repo: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.WARNING):
        api.upload_file(path_or_fileobj=b"", path_in_repo="empty.pkl", repo_id=repo)
    assert not [r for r in caplog.records if "Errno" in r.getMessage() or "failed" in r.getMessage()]
    info = _get(hub_server, f"/api/models/{repo}").json()
    security = {s["rfilename"]: s["security"] for s in info["siblings"]}["empty.pkl"]
    assert security["status"] == "safe" and security["message"] == "empty file: nothing to unpickle"


# -- 10. the schema describes what the hub accepts ---------------------------------------------------------------
def test_every_schema_path_answers_undeclared_methods_with_405_and_its_allow_list(hub_server: HubServer) -> None:
    """For each path of /openapi.json, a method it does not declare gets 405 with ``Allow`` listing exactly the
    declared ones (also where another template matches the same URL, e.g. ``/_lfs/.../verify`` and ``.../{oid}``)."""
    schema = httpx.get(f"{hub_server.url}/openapi.json").json()
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    checked = 0
    for template, operations in schema["paths"].items():
        declared = {m.upper() for m in operations if m in methods}
        url = re.sub(r"\{[^}]*\}", "x0", template)
        for method in ("PATCH", "PUT", "DELETE", "POST"):
            if method in declared:
                continue
            answer = httpx.request(method, f"{hub_server.url}{url}", timeout=30,
                                   headers={"authorization": f"Bearer {hub_server.token}"})
            assert answer.status_code == 405, (method, template, answer.status_code, answer.text[:200])
            assert set(answer.headers["allow"].split(", ")) == declared, (method, template)
            assert answer.json()["error"]
            checked += 1
            break
    assert checked > 30


def test_published_names_and_parameters_are_accepted(hub_server: HubServer) -> None:
    """Values the schema allows are not refused as malformed (the fuzzer's "schema-valid request rejected")."""
    schema = httpx.get(f"{hub_server.url}/openapi.json").json()
    create = schema["components"]["schemas"]["CreateRepoBody"]["properties"]
    pattern = re.compile(create["name"]["pattern"])
    assert pattern.fullmatch("tiny-bert.v2_1") and not pattern.fullmatch("a--b") and not pattern.fullmatch("-a")
    auth = {"authorization": f"Bearer {hub_server.token}"}
    answer = httpx.post(f"{hub_server.url}/api/repos/create", headers=auth,
                        json={"name": "schema-name-ok", "organization": ""})
    assert answer.status_code in (200, 409), answer.text
    listing = next(op for path, ops in schema["paths"].items() if path == "/api/models" for op in ops.values())
    params = {p["name"]: p["schema"] for p in listing["parameters"]}
    for sort in params["sort"]["enum"]:
        assert httpx.get(f"{hub_server.url}/api/models", params={"sort": sort}).status_code == 200, sort


def test_header_values_never_carry_control_characters(hub_server: HubServer) -> None:
    """An error quoting the request's control characters once crashed the answer (invalid header value)."""
    answer = httpx.post(f"{hub_server.url}/_xet/v1/reconstructions", json=[{"\u001b": [], "k": []}],
                        headers={"authorization": f"Bearer {hub_server.token}"}, timeout=30)
    assert 400 <= answer.status_code < 500 and answer.json()["error"]
    check = httpx.post(f"{hub_server.url}/api/validate-yaml", timeout=30,
                       json={"content": "---\nkey: [\u001b\u0100\n---\n", "repoType": "model"})
    assert check.status_code == 400 and check.headers["x-error-message"]


# -- section 1: Storage Buckets and repository ids without a namespace -----------------------------------------------
def test_storage_buckets_answer_404(hub_server: HubServer) -> None:
    for method, path in (("GET", "/api/buckets"), ("POST", "/api/buckets/alice/b"), ("DELETE", "/api/buckets/alice/b"),
                         ("GET", "/api/buckets/alice/b/tree"), ("POST", "/api/buckets/alice/b/batch")):
        answer = httpx.request(method, f"{hub_server.url}{path}", headers={"authorization": f"Bearer {hub_server.token}"})
        assert answer.status_code == 404, (method, path, answer.status_code)
        assert "Buckets" in answer.json()["error"] or "repository type" in answer.json()["error"]


def test_repository_ids_without_a_namespace_are_not_found(hub_server: HubServer, api: HfApi) -> None:
    from huggingface_hub.errors import RepositoryNotFoundError

    assert api.repo_exists("gpt2") is False
    assert api.repo_exists("squad", repo_type="dataset") is False
    assert api.file_exists("gpt2", "config.json") is False
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("gpt2")
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_files("gpt2")
    anonymous = httpx.get(f"{hub_server.url}/api/models/gpt2")
    assert anonymous.status_code == 401 and anonymous.headers["x-error-code"] == "RepoNotFound"


# -- section 1: error texts and statuses the stock client's own tests rely on ------------------------------------------
def test_error_texts_the_stock_client_relies_on(hub_server: HubServer, api: HfApi) -> None:
    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    first, second = hub_server.repo_id("texts"), hub_server.repo_id("texts")
    api.create_repo(first)
    api.create_repo(second)
    with pytest.raises(HfHubHTTPError, match=r"A model repository called .* already exists"):
        api.move_repo(from_id=first, to_id=second)
    api.create_branch(first, branch="cool-branch")
    with pytest.raises(HfHubHTTPError, match=r"Reference refs/heads/cool-branch already exists"):
        api.create_branch(first, branch="cool-branch")
    with pytest.raises(HfHubHTTPError, match=r"Reference refs/heads/main already exists"):
        api.create_branch(first, branch="main")
    api.create_branch(first, branch="cool-branch", exist_ok=True)
    with pytest.raises(HfHubHTTPError, match="Cannot delete refs/heads/main"):
        api.delete_branch(first, branch="main")
    with pytest.raises(HfHubHTTPError, match="Invalid rev id"):
        api.delete_branch(first, branch="no-such-branch")
    api.create_tag(first, tag="cool-tag")
    with pytest.raises(HfHubHTTPError, match="Invalid rev id"):
        api.delete_branch(first, branch="cool-tag")
    parent = api.model_info(first).sha
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=first)
    with pytest.raises(HfHubHTTPError) as stale:
        api.create_commit(first, [CommitOperationAdd("y", b"y")], commit_message="late", parent_commit=parent)
    assert stale.value.response.status_code == 412
    assert "The branch was updated since you opened this page. Please refresh and try again." in str(stale.value)
    # "Repository not found" is plain, so the client's own message does not repeat it.
    missing = f"{hub_server.user}/repo_that_do_not_exist"
    with pytest.raises(RepositoryNotFoundError) as context:
        api.create_commit(missing, [CommitOperationAdd("config.json", b"{}")], commit_message="m")
    text = str(context.value)
    assert text.startswith("404 Client Error.") and text.lower().count("repository not found") == 1
    assert text.endswith("Please use `create_repo` if it's not the case.")
    assert _get(hub_server, f"/api/models/{missing}").json()["detail"]
