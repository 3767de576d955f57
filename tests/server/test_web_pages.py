"""The hub's web pages over HTTP: what each page shows, who may see it, sessions, CSRF, and untrusted content.

The browser tests (``test_web_browser.py``) drive the same pages in Chromium; these run without a browser.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import re
import struct
from collections.abc import Iterator
from html import unescape

import httpx
import pytest
from _html_audit import audit_page, build_xss_repo, xss_pages
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd, HfApi

from modelyard.server.web import security

CARD = """---
license: apache-2.0
library_name: modelyard
pipeline_tag: image-classification
datasets:
  - imagenet-1k
tags: [vision, resnet]
---
# Tiny ResNet

A **tiny** model. ![loss](./plots/loss.png)

| metric | value |
|---|---|
| top-1 | 0.5 |
"""
CONFIG = {"model_type": "tiny-resnet", "architectures": ["TinyResnetForImageClassification"],
          "auto_map": {"AutoConfig": "configuration_tiny.TinyConfig",
                       "AutoModelForImageClassification": "modeling_tiny.TinyResnetForImageClassification"}}


class Page:
    """A browser-like client: keeps cookies, reads the CSRF token of forms, never follows redirects itself."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"Accept": "text/html"}, timeout=30)

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]

    def csrf(self, path: str = "/login") -> str:
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', self.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def post(self, path: str, data: dict[str, str], *, csrf_from: str = "/login", **kwargs: object) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.csrf(csrf_from), **data}, **kwargs)  # type: ignore

    def sign_in(self, token: str) -> httpx.Response:
        answer = self.post("/login", {"token": token, "next": "/"})
        assert answer.status_code == 303, answer.text
        return answer


@pytest.fixture
def browser(hub_server: HubServer) -> Iterator[Page]:
    page = Page(hub_server.url)
    yield page
    page.client.close()


def _safetensors(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        size = 4 * math.prod(shape)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * offset


class _Evil:
    def __reduce__(self):  # what a malicious checkpoint does: runs a command when unpickled
        return (os.system, ("echo pwned",))


@pytest.fixture(scope="module")
def model_repo(hub_server: HubServer) -> dict[str, object]:
    """alice's public model with a card, custom code, weights, a folder, an unsafe pickle (committed under the
    "mark" policy, as the Hugging Face Hub takes them) and a few commits."""
    policy = hub_server.settings.unsafe_pickles
    hub_server.settings.unsafe_pickles = "mark"
    try:
        return _build_model_repo(hub_server)
    finally:
        hub_server.settings.unsafe_pickles = policy


def _build_model_repo(hub_server: HubServer) -> dict[str, object]:
    api = hub_server.api()
    repo = hub_server.repo_id("web-model")
    api.create_repo(repo)
    weights = _safetensors({"conv.weight": ("F32", [4, 3, 3, 3]), "fc.weight": ("F32", [10, 4])})
    first = api.create_commit(repo, operations=[
        CommitOperationAdd("README.md", CARD.encode()),
        CommitOperationAdd("config.json", json.dumps(CONFIG).encode()),
        CommitOperationAdd("configuration_tiny.py", b"class TinyConfig:\n    pass\n"),
        CommitOperationAdd("modeling_tiny.py", b"import torch\n\nclass TinyResnetForImageClassification:\n    pass\n"),
        CommitOperationAdd("model.safetensors", weights),
        CommitOperationAdd("plots/loss.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32),
    ], commit_message="First weights").oid
    second = api.create_commit(repo, operations=[
        CommitOperationAdd("docs/notes.txt", b"line one\nline two\n"),
        CommitOperationAdd("evil.bin", pickle.dumps(_Evil())),
    ], commit_message="Notes and a checkpoint").oid
    third = api.create_commit(repo, operations=[CommitOperationAdd("docs/notes.txt", b"line one\nline 2\nline three\n")],
                              commit_message="Edit the notes", commit_description="A longer description.").oid
    return {"id": repo, "commits": [first, second, third], "weights_size": len(weights)}


# -- what the pages show ------------------------------------------------------------------------------
def test_model_page_shows_card_tags_weights_last_commit_and_pinned_snippet(browser: Page, model_repo: dict) -> None:
    repo, head = model_repo["id"], model_repo["commits"][-1]
    answer = browser.get(f"/{repo}")
    assert answer.status_code == 200
    html = answer.text
    assert audit_page(html) == []
    assert "<h1>Tiny ResNet</h1>" in html and "<strong>tiny</strong>" in html and "<table>" in html
    assert f'src="/{repo}/resolve/main/plots/loss.png"' in html  # relative image resolved into the repo
    for label, value in (("license", "apache-2.0"), ("library name", "modelyard"), ("pipeline tag", "image-classification"),
                         ("datasets", "imagenet-1k"), ("tags", "vision")):
        assert re.search(rf'<span class="tag-key">{label}</span> {re.escape(value)}</li>', html), label
    assert "Edit the notes" in html and f'data-copy="{head}"' in html
    assert "10 params" not in html and "148 parameters" in html  # 4*3*3*3 + 10*4 from the safetensors header
    # The "Use this model" snippet: the head commit, the Auto class auto_map names, and the trust warning.
    snippet = unescape(html)
    assert f'AutoModelForImageClassification.from_pretrained(\n    "{repo}",\n    revision="{head}",\n    ' \
           "trust_remote_code=True," in snippet
    assert "This repository ships its own code." in html
    assert f'href="/{repo}/blob/{head}/modeling_tiny.py"' in html and f'href="/{repo}/blob/{head}/configuration_tiny.py"' in html
    assert "evil.bin" in html and "pickle: unsafe" in html  # the security box names the flagged file


def test_snippet_without_custom_code_has_no_trust_flag(browser: Page, hub_server: HubServer) -> None:
    api = hub_server.api()
    repo = hub_server.repo_id("web-plain")
    api.create_repo(repo)
    oid = api.upload_file(path_or_fileobj=json.dumps({"architectures": ["BertForSequenceClassification"]}).encode(),
                          path_in_repo="config.json", repo_id=repo).oid
    html = unescape(browser.get(f"/{repo}").text)
    assert f'AutoModelForSequenceClassification.from_pretrained(\n    "{repo}",\n    revision="{oid}",\n)' in html
    assert "trust_remote_code" not in html and "ships its own code" not in html
    assert "No model card yet" in html


def test_tree_lists_folders_first_with_sizes_lfs_scan_verdicts_and_last_commits(browser: Page, model_repo: dict
                                                                                ) -> None:
    repo = model_repo["id"]
    html = browser.get(f"/{repo}/tree/main").text
    assert audit_page(html) == []
    names = re.findall(r'<td class="name(?: dir)?"><a href="[^"]+">([^<]+)</a>', html)
    assert names[:2] == ["docs/", "plots/"] and names[2:] == sorted(names[2:])
    row = _row(html, "evil.bin")
    assert "pickle: unsafe" in row and "Notes and a checkpoint" in row
    assert "Edit the notes" in _row(html, "docs/")  # a folder shows the newest commit inside it
    assert "First weights" in _row(html, "model.safetensors")
    assert f'href="/{repo}/resolve/main/model.safetensors?download=true"' in html
    assert "code" in _row(html, "modeling_tiny.py")
    sub = browser.get(f"/{repo}/tree/main/docs").text
    assert "notes.txt" in sub and "Edit the notes" in _row(sub, "notes.txt")
    assert browser.get(f"/{repo}/tree/main/nope").status_code == 404
    assert browser.get(f"/{repo}/tree/main/README.md").headers["location"] == f"/{repo}/blob/main/README.md"


def _row(html: str, name: str) -> str:
    for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S):
        if f">{name}</a>" in row:
            return row
    raise AssertionError(f"no row for {name}")


def test_tree_at_an_older_commit_and_a_tag(browser: Page, hub_server: HubServer, model_repo: dict) -> None:
    repo, (first, *_rest) = model_repo["id"], model_repo["commits"]
    html = browser.get(f"/{repo}/tree/{first}").text
    assert "docs/" not in html and "evil.bin" not in html and f"commit {first[:7]}" in html
    hub_server.api().create_tag(repo, tag="v1.0", revision=first)
    assert "evil.bin" not in browser.get(f"/{repo}/tree/v1.0").text
    refs = browser.get(f"/{repo}/refs").text
    assert audit_page(refs) == [] and ">v1.0</a>" in refs and f'data-copy="{first}"' in refs


def test_blob_views(browser: Page, model_repo: dict) -> None:
    repo = model_repo["id"]
    config = browser.get(f"/{repo}/blob/main/config.json").text
    assert audit_page(config) == []
    assert "config.json explained" in config and "<code>tiny-resnet</code>" in config
    assert f'href="/{repo}/blob/main/modeling_tiny.py"' in config  # auto_map entries link to their code
    assert '<span class="nt">"model_type"</span>' in config  # pretty-printed, highlighted JSON
    code = browser.get(f"/{repo}/blob/main/modeling_tiny.py").text
    assert "trust_remote_code=True" in code and '<span class="kn">import</span>' in code
    evil = browser.get(f"/{repo}/blob/main/evil.bin").text
    assert "Pickle scan: unsafe" in evil and "system" in evil and "Binary file: not shown." in evil
    weights = browser.get(f"/{repo}/blob/main/model.safetensors").text
    assert "F32: 148 parameters" in weights and "SHA256" in weights
    assert 'class="preview"' in browser.get(f"/{repo}/blob/main/plots/loss.png").text
    readme = browser.get(f"/{repo}/blob/main/README.md").text
    assert "<h1>Tiny ResNet</h1>" in readme and "license" in readme  # rendered, and its source below
    assert browser.get(f"/{repo}/blob/main/missing.txt").status_code == 404
    assert browser.get(f"/{repo}/blob/main/docs").headers["location"] == f"/{repo}/tree/main/docs"


def test_lfs_file_shows_metadata_not_content(browser: Page, hub_server: HubServer) -> None:
    api = hub_server.api()
    repo = hub_server.repo_id("web-lfs")
    api.create_repo(repo)
    blob = os.urandom(hub_server.settings.regular_max_size + 1)
    api.upload_file(path_or_fileobj=blob, path_in_repo="big.bin", repo_id=repo)
    html = browser.get(f"/{repo}/blob/main/big.bin").text
    assert hashlib.sha256(blob).hexdigest() in html and "Git LFS" in html
    assert 'badge lfs' in _row(browser.get(f"/{repo}/tree/main").text, "big.bin")


def test_commit_history_has_a_copy_button_per_commit_with_the_full_hash(browser: Page, hub_server: HubServer,
                                                                          model_repo: dict) -> None:
    repo = model_repo["id"]
    html = browser.get(f"/{repo}/commits/main").text
    assert audit_page(html) == []
    api_ids = [c.commit_id for c in hub_server.api().list_repo_commits(repo)]
    assert re.findall(r'<button type="button" class="copy" data-copy="([0-9a-f]{40})"', html) == api_ids
    assert [t for t in re.findall(r'class="title" href="[^"]+">([^<]+)</a>', html)] == [
        "Edit the notes", "Notes and a checkpoint", "First weights", "initial commit"]
    # The history of one path lists only the commits that changed it.
    notes = browser.get(f"/{repo}/commits/main/docs/notes.txt").text
    assert re.findall(r'data-copy="([0-9a-f]{40})"', notes) == model_repo["commits"][:0:-1]


def test_commit_page_lists_changes_with_diffs(browser: Page, model_repo: dict) -> None:
    repo, (_first, second, third) = model_repo["id"], model_repo["commits"]
    html = browser.get(f"/{repo}/commit/{third}").text
    assert audit_page(html) == []
    assert "A longer description." in html and f'data-copy="{third}"' in html
    assert '<div class="del">-line two</div>' in html and '<div class="add">+line 2</div>' in html
    added = browser.get(f"/{repo}/commit/{second}").text
    # evil.bin is an LFS file (its name matches the default .gitattributes, however small it is)
    assert "change-added" in added and "evil.bin" in added and "binary or large file (LFS)" in added
    assert browser.get(f"/{repo}/commit/{'0' * 40}").status_code == 404


def test_commit_pages_paginate(browser: Page, hub_server: HubServer) -> None:
    api = hub_server.api()
    repo = hub_server.repo_id("web-long")
    api.create_repo(repo)
    for i in range(55):  # 56 commits with the initial one: two pages of 50
        api.create_commit(repo, operations=[CommitOperationAdd(f"f{i:03}.txt", str(i).encode())],
                          commit_message=f"commit {i}")
    first = browser.get(f"/{repo}/commits/main").text
    assert "History: 56 commits" in first and "page 1 of 2" in first
    assert len(re.findall(r'data-copy="[0-9a-f]{40}"', first)) == 50
    second = browser.get(f"/{repo}/commits/main?p=1").text
    assert len(re.findall(r'class="commit-row"', second)) == 6 and "initial commit" in second
    assert browser.get(f"/{repo}/commits/main?p=x").status_code == 400


def test_tree_paginates_big_folders(browser: Page, hub_server: HubServer) -> None:
    api = hub_server.api()
    repo = hub_server.repo_id("web-wide")
    api.create_repo(repo)
    api.create_commit(repo, operations=[CommitOperationAdd(f"data/{i:04}.txt", b"x") for i in range(150)],
                      commit_message="many files")
    first = browser.get(f"/{repo}/tree/main/data").text
    assert first.count('<td class="name">') == 100 and "page 1 of 2" in first
    second = browser.get(f"/{repo}/tree/main/data?p=1").text
    assert second.count('<td class="name">') == 50 and ">0149.txt<" in second


def test_history_index_is_backfilled_for_databases_written_before_it(browser: Page, hub_server: HubServer,
                                                                      model_repo: dict) -> None:
    repo_id = model_repo["id"]
    storage = hub_server.storage
    repo = storage.repos.get("model", *repo_id.split("/"))
    with storage.transaction() as db:
        db.execute("DELETE FROM commit_paths WHERE repo_id=?", (repo.id,))
    storage.changes._indexed_repos.discard(repo.id)
    assert storage.changes.ensure_indexed(repo) == 4  # every commit indexed again
    assert "Edit the notes" in _row(browser.get(f"/{repo_id}/tree/main").text, "docs/")


def test_home_search_and_namespace_pages(browser: Page, hub_server: HubServer, model_repo: dict) -> None:
    repo = model_repo["id"]
    fresh = hub_server.repo_id("web-fresh")
    hub_server.api().create_repo(fresh)
    home = browser.get("/").text
    assert audit_page(home) == [] and f">{fresh}</a>" in home.split("Most downloaded")[0]  # recently updated
    found = browser.get("/models", params={"search": "web-model"}).text
    assert audit_page(found) == [] and f">{repo}</a>" in found and "image-classification" in found
    assert f">{repo}</a>" not in browser.get("/models", params={"search": "no-such-thing"}).text
    assert f">{repo}</a>" in browser.get("/models", params={"author": "alice", "search": "web-model",
                                                            "sort": "createdAt"}).text
    assert browser.get("/models", params={"sort": "bogus"}).status_code == 400
    namespace = browser.get(f"/{hub_server.user}").text
    assert audit_page(namespace) == [] and f">{fresh}</a>" in namespace and "acme" in namespace
    org = browser.get(f"/{hub_server.org}").text
    assert "organisation" in org and ">alice</a>" in org
    assert browser.get("/nobody-here").status_code == 404
    suggestions = browser.get("/api/quicksearch", params={"q": "web-model"}).json()
    assert repo in [m["id"] for m in suggestions["models"]]


def test_listing_paginates(browser: Page, hub_server: HubServer) -> None:
    token = hub_server.add_user("web-pager")
    api = hub_server.api(token=token)
    for i in range(32):
        api.create_repo(f"web-pager/page-{i:02}")
    first = browser.get("/models", params={"author": "web-pager", "sort": "id"}).text
    assert first.count('class="repo-card"') == 30 and "page 1 of 2" in first
    assert 'href="/models?author=web-pager&amp;sort=id&amp;p=1"' in first
    second = browser.get("/models", params={"author": "web-pager", "sort": "id", "p": "1"}).text
    assert re.findall(r'class="repo-id">([^<]+)<', second) == ["web-pager/page-30", "web-pager/page-31"]


def test_downloads_are_counted_and_sorted_by(browser: Page, hub_server: HubServer) -> None:
    from huggingface_hub import hf_hub_download

    api = hub_server.api(token=hub_server.add_user("web-counter"))
    quiet, popular = "web-counter/quiet", "web-counter/popular"
    for repo in (quiet, popular):
        api.create_repo(repo)
        api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=repo)
        api.upload_file(path_or_fileobj=b"\0" * 8, path_in_repo="model.safetensors", repo_id=repo)
    hf_hub_download(popular, "config.json", endpoint=hub_server.url, force_download=True)
    hf_hub_download(popular, "model.safetensors", endpoint=hub_server.url, force_download=True)  # not counted
    hf_hub_download(quiet, "model.safetensors", endpoint=hub_server.url, force_download=True)
    # The client's HEAD and GET of config.json both count, as on the Hugging Face Hub; weights do not.
    assert (api.model_info(popular).downloads, api.model_info(quiet).downloads) == (2, 0)
    assert [m.id for m in api.list_models(author="web-counter", sort="downloads")] == [popular, quiet]
    listing = browser.get("/models", params={"author": "web-counter", "sort": "downloads"}).text
    assert re.findall(r'class="repo-id">([^<]+)<', listing) == [popular, quiet]
    assert "↓ 2 downloads (30 days)" in browser.get(f"/{popular}").text


def test_home_lists_the_most_downloaded_models(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from modelyard.server.app import create_app
    from modelyard.server.config import HubSettings

    app = create_app(HubSettings(data_dir=tmp_path / "hub"))
    hub = app.state.hub
    hub.storage.accounts.add_namespace("ann", "user")
    repos = [hub.storage.repos.create("model", "ann", name, private=False, author="ann",
                                     initial_blob=hub.gitattributes_blob) for name in ("never", "twice", "once")]
    for repo, times in zip(repos, (0, 2, 1)):
        for _ in range(times):
            hub.storage.downloads.record(repo)
    with TestClient(app, headers={"Accept": "text/html"}) as client:
        popular = client.get("/").text.split("Most downloaded")[1]
    assert re.findall(r'class="repo-id">([^<]+)<', popular) == ["ann/twice", "ann/once"]  # none without downloads


def test_dataset_pages_live_under_datasets(browser: Page, hub_server: HubServer) -> None:
    api = hub_server.api()
    repo = hub_server.repo_id("web-data")
    api.create_repo(repo, repo_type="dataset")
    api.upload_file(path_or_fileobj=b"# Data\n", path_in_repo="README.md", repo_id=repo, repo_type="dataset")
    html = browser.get(f"/datasets/{repo}").text
    assert "<h1>Data</h1>" in html and 'repo_type="dataset"' in unescape(html)
    assert browser.get(f"/datasets/{repo}/tree/main").status_code == 200
    assert browser.get(f"/{repo}").status_code == 404  # not a model
    assert f">{repo}</a>" in browser.get("/datasets").text


def test_renamed_repository_pages_redirect(browser: Page, hub_server: HubServer) -> None:
    api = hub_server.api()
    old = hub_server.repo_id("web-old")
    api.create_repo(old)
    new = old.replace("web-old", "web-renamed")
    api.move_repo(old, new)
    answer = browser.get(f"/{old}/tree/main")
    assert answer.status_code == 307 and answer.headers["location"].endswith(f"/{new}/tree/main")


# -- who may see what ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def private_repo(hub_server: HubServer) -> str:
    api = hub_server.api()
    repo = hub_server.repo_id("web-secret")
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=b"# Secret model\n", path_in_repo="README.md", repo_id=repo)
    return repo


def _repo_pages(repo: str) -> list[str]:
    return [f"/{repo}", f"/{repo}/tree/main", f"/{repo}/blob/main/README.md", f"/{repo}/commits/main",
            f"/{repo}/commit/main", f"/{repo}/refs", f"/{repo}/settings"]


def test_private_repository_is_not_found_for_those_not_allowed(browser: Page, hub_server: HubServer,
                                                               private_repo: str) -> None:
    for path in _repo_pages(private_repo):
        answer = browser.get(path)
        assert answer.status_code == 404, path
        assert "Repository not found" in answer.text and "Secret model" not in answer.text
    for path in ("/", "/models", f"/{hub_server.user}", "/models?search=web-secret"):
        assert private_repo not in browser.get(path).text, path
    assert private_repo not in browser.get("/api/quicksearch", params={"q": "secret"}).text
    outsider = Page(hub_server.url)
    outsider.sign_in(hub_server.add_user("mallory"))
    assert all(outsider.get(p).status_code == 404 for p in _repo_pages(private_repo))
    assert private_repo not in outsider.get("/models").text


def test_private_repository_is_visible_to_its_owner(browser: Page, hub_server: HubServer, private_repo: str) -> None:
    browser.sign_in(hub_server.token)
    for path in _repo_pages(private_repo):
        assert browser.get(path).status_code == 200, path
    assert "Secret model" in browser.get(f"/{private_repo}").text
    assert f">{private_repo}</a>" in browser.get("/models", params={"search": "web-secret"}).text
    assert private_repo in browser.get("/api/quicksearch", params={"q": "secret"}).text
    # An org member sees the org's private repos; a token in the Authorization header works too.
    org_repo = f"{hub_server.org}/web-org-secret"
    hub_server.api().create_repo(org_repo, private=True)
    member = hub_server.add_user("carol", orgs=[hub_server.org])
    assert httpx.get(f"{hub_server.url}/{org_repo}", headers={"Authorization": f"Bearer {member}"}).status_code == 200
    assert httpx.get(f"{hub_server.url}/{org_repo}").status_code == 404


# -- sign in, sessions, tokens, CSRF ------------------------------------------------------------------
def test_sign_in_gives_an_httponly_lax_session_cookie(browser: Page, hub_server: HubServer) -> None:
    answer = browser.sign_in(hub_server.token)
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{security.SESSION_COOKIE}="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
    assert "Secure" not in session  # plain http on loopback: a Secure cookie would never come back
    value = session.split(";")[0].split("=", 1)[1]
    assert hub_server.token not in session and len(value) >= 40
    home = browser.get("/").text
    assert ">Sign out</button>" in home and f'href="/{hub_server.user}" class="me"' in home
    assert answer.headers["location"] == "/"


def test_session_cookie_is_secure_over_tls(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from modelyard.server.app import create_app
    from modelyard.server.config import HubSettings

    app = create_app(HubSettings(data_dir=tmp_path / "hub", public_url="https://hub.example"))
    storage = app.state.hub.storage
    storage.accounts.add_namespace("dora", "user")
    token = storage.tokens.create("dora")
    with TestClient(app, base_url="https://hub.example") as client:
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/login").text).group(1)
        answer = client.post("/login", data={"csrf_token": csrf, "token": token, "next": "/"},
                             headers={"Origin": "https://hub.example"}, follow_redirects=False)
    assert answer.status_code == 303
    for cookie in answer.headers.get_list("set-cookie"):
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie, cookie


def test_sign_in_refuses_bad_tokens_and_foreign_redirects(browser: Page, hub_server: HubServer) -> None:
    answer = browser.post("/login", {"token": "myd_not-a-token", "next": "/"})
    assert answer.status_code == 400 and "not valid" in answer.text
    assert security.SESSION_COOKIE not in browser.client.cookies
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        answer = browser.post("/login", {"token": hub_server.token, "next": target})
        assert answer.headers["location"] == "/", target


def test_signing_in_again_replaces_the_session(browser: Page, hub_server: HubServer) -> None:
    browser.sign_in(hub_server.token)
    first = browser.client.cookies[security.SESSION_COOKIE]
    browser.sign_in(hub_server.add_user("walter"))
    assert browser.client.cookies[security.SESSION_COOKIE] != first
    assert hub_server.storage.sessions.get(first) is None  # the old session is gone, not merely shadowed
    assert 'class="me">walter</a>' in browser.get("/").text


def test_sign_out_ends_the_session(browser: Page, hub_server: HubServer) -> None:
    browser.sign_in(hub_server.token)
    stolen = browser.client.cookies[security.SESSION_COOKIE]
    assert browser.post("/logout", {}, csrf_from="/").status_code == 303
    assert ">Sign in</a>" in browser.get("/").text
    # The server forgot the session: the old cookie value no longer signs anyone in.
    replay = Page(hub_server.url)
    replay.client.cookies.set(security.SESSION_COOKIE, stolen)
    assert ">Sign in</a>" in replay.get("/").text


def test_token_page_creates_and_revokes_tokens(browser: Page, hub_server: HubServer) -> None:
    owner_token = hub_server.add_user("tina")
    browser.sign_in(owner_token)
    created = browser.post("/settings/tokens", {"name": "laptop <b>", "role": "read"}, csrf_from="/settings/tokens")
    assert created.status_code == 200 and "no-store" in created.headers["cache-control"]
    token = re.search(r'<code class="token-value">([^<]+)</code>', created.text).group(1)
    assert "laptop &lt;b&gt;" in created.text
    who = HfApi(endpoint=hub_server.url).whoami(token=token)
    assert who["name"] == "tina" and who["auth"]["accessToken"]["role"] == "read"
    token_id = re.search(r'name="token_id" value="(\d+)"[^>]*>\s*<button[^>]*>Revoke</button></form></td></tr>\s*'
                         r"(?:</tbody>)", created.text)
    assert token_id, "the new token is listed last with a revoke button"
    assert browser.post("/settings/tokens/revoke", {"token_id": token_id.group(1)},
                        csrf_from="/settings/tokens").status_code == 303
    with pytest.raises(Exception, match="Invalid user token"):
        HfApi(endpoint=hub_server.url).whoami(token=token)
    assert browser.post("/settings/tokens", {"name": "", "role": "read"}, csrf_from="/settings/tokens").status_code == 400
    assert browser.post("/settings/tokens", {"name": "x", "role": "admin"},
                        csrf_from="/settings/tokens").status_code == 400


def test_revoking_the_session_token_signs_out(browser: Page, hub_server: HubServer) -> None:
    token = hub_server.add_user("uma")
    browser.sign_in(token)
    own = re.search(r'this session</span>.*?name="token_id" value="(\d+)"', browser.get("/settings/tokens").text, re.S)
    answer = browser.post("/settings/tokens/revoke", {"token_id": own.group(1)}, csrf_from="/settings/tokens")
    assert answer.headers["location"] == "/"
    assert browser.get("/settings/tokens").status_code == 303  # back to the sign-in page


def test_read_token_session_cannot_mint_tokens(browser: Page, hub_server: HubServer) -> None:
    hub_server.add_user("rita")
    browser.sign_in(hub_server.create_token("rita", role="read"))
    page = browser.get("/settings/tokens").text
    assert "Create token" not in page and "sign in with a write token" in page
    answer = browser.post("/settings/tokens", {"name": "escalate", "role": "write"}, csrf_from="/settings/tokens")
    assert answer.status_code == 403 and "write token" in answer.text
    assert "escalate" not in [t.name for t in hub_server.storage.tokens.owned_by("rita")]


def test_tokens_page_needs_a_session(browser: Page) -> None:
    answer = browser.get("/settings/tokens")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fsettings%2Ftokens"


def test_owner_changes_visibility_in_settings(browser: Page, hub_server: HubServer) -> None:
    api = hub_server.api()
    repo = hub_server.repo_id("web-settings")
    api.create_repo(repo)
    assert browser.get(f"/{repo}/settings").status_code == 303  # anonymous: sign in first
    browser.sign_in(hub_server.token)
    assert "Settings</a>" in browser.get(f"/{repo}").text
    answer = browser.post(f"/{repo}/settings", {"visibility": "private"}, csrf_from=f"/{repo}/settings")
    assert answer.status_code == 303 and answer.headers["location"] == f"/{repo}/settings?saved=1"
    assert api.model_info(repo).private is True
    assert "now private" in browser.get(f"/{repo}/settings?saved=1").text
    assert httpx.get(f"{hub_server.url}/{repo}").status_code == 404
    browser.post(f"/{repo}/settings", {"visibility": "public"}, csrf_from=f"/{repo}/settings")
    assert api.model_info(repo).private is False
    other = Page(hub_server.url)
    other.sign_in(hub_server.add_user("victor"))
    assert other.get(f"/{repo}/settings").status_code == 403
    assert "Settings</a>" not in other.get(f"/{repo}").text
    refused = other.post(f"/{repo}/settings", {"visibility": "private"}, csrf_from="/")
    assert refused.status_code == 403 and api.model_info(repo).private is False


def test_every_form_needs_its_csrf_token(browser: Page, hub_server: HubServer) -> None:
    repo = hub_server.repo_id("web-csrf")
    hub_server.api().create_repo(repo)
    browser.sign_in(hub_server.token)
    forms = [("/login", {"token": hub_server.token}), ("/logout", {}), ("/settings/tokens", {"name": "x", "role": "write"}),
             ("/settings/tokens/revoke", {"token_id": "1"}), (f"/{repo}/settings", {"visibility": "private"})]
    good = browser.csrf("/")
    for path, data in forms:
        assert browser.client.post(path, data=data).status_code == 403, path  # no token
        assert browser.client.post(path, data={**data, "csrf_token": "0" * 64}).status_code == 403, path
        assert browser.client.post(path, data={**data, "csrf_token": good},
                                   headers={"Origin": "https://evil.example"}).status_code == 403, path
        assert browser.client.post(path, data={**data, "csrf_token": good},
                                   headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403, path
    # A token is bound to its session: another visitor's token does not work here.
    stranger = Page(hub_server.url)
    assert browser.client.post(f"/{repo}/settings", data={"visibility": "private", "csrf_token": stranger.csrf()}
                               ).status_code == 403
    assert hub_server.api().model_info(repo).private is False
    assert security.SESSION_COOKIE in browser.client.cookies  # still signed in: /logout was refused


# -- untrusted content ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def xss_repo(hub_server: HubServer) -> str:
    return build_xss_repo(hub_server.api(), hub_server.repo_id("web-xss"))


def test_payloads_in_cards_file_names_commit_messages_and_refs_stay_inert(browser: Page, xss_repo: str) -> None:
    for path in xss_pages(xss_repo):
        answer = browser.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        assert audit_page(answer.text) == [], path
    tree = browser.get(f"/{xss_repo}/tree/main").text
    assert "&lt;svg onload=alert(&#39;file-2&#39;)&gt;.md" in tree  # shown, escaped
    commits = browser.get(f"/{xss_repo}/commits/main").text
    assert "&lt;img src=x onerror=alert(&#39;xss-2&#39;)&gt;" in commits


@pytest.mark.parametrize("path", [
    "/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/%22%3E%3Csvg%20onload%3Dalert(1)%3E/x",
    "/alice/%3Cscript%3E/tree/main",
    "/models?search=%3Cscript%3Ealert(1)%3C/script%3E&author=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    "/login?next=javascript:alert(1)",
    "/login?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
    "/alice/nope/blob/main/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    "/alice/nope/tree/%3Csvg%20onload%3Dalert(1)%3E",
])
def test_reflected_url_parameters_are_escaped(browser: Page, path: str) -> None:
    answer = browser.get(path)
    assert answer.headers["content-type"].startswith("text/html")
    assert audit_page(answer.text) == [], answer.text


def test_repository_names_cannot_carry_markup(hub_server: HubServer) -> None:
    # The server refuses them itself (not only the client's own check), so no page ever shows one.
    for name in ("<script>alert(1)</script>", "a\"b", "x'y", "<img src=x onerror=alert(1)>"):
        answer = httpx.post(f"{hub_server.url}/api/repos/create", json={"name": name, "organization": "alice"},
                            headers={"Authorization": f"Bearer {hub_server.token}"})
        assert answer.status_code == 400 and "Invalid repository name" in answer.json()["error"], name


# -- headers and the API left as it was ---------------------------------------------------------------
def test_pages_send_a_csp_without_inline_scripts(browser: Page, model_repo: dict) -> None:
    answer = browser.get(f"/{model_repo['id']}")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["x-frame-options"] == "DENY" and answer.headers["x-content-type-options"] == "nosniff"
    script = browser.get("/static/copy.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    versioned = re.search(r'src="(/static/copy\.js\?v=[0-9a-f]+)"', answer.text).group(1)
    assert "immutable" in browser.get(versioned).headers["cache-control"]
    assert browser.get("/static/../app.py").status_code == 404


def test_uploaded_html_cannot_script_the_hub(hub_server: HubServer) -> None:
    api = hub_server.api()
    repo = hub_server.repo_id("web-html-file")
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"<script>alert(document.cookie)</script>", path_in_repo="page.html", repo_id=repo)
    answer = httpx.get(f"{hub_server.url}/{repo}/resolve/main/page.html")
    assert answer.status_code == 200
    assert "sandbox" in answer.headers["content-security-policy"] and answer.headers["x-content-type-options"] == "nosniff"


def test_api_answers_are_unchanged(hub_server: HubServer) -> None:
    missing = httpx.get(f"{hub_server.url}/api/no-such-route", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and missing.json()["error"].startswith("Not found")
    assert httpx.get(f"{hub_server.url}/api/models").status_code == 200
    page = httpx.get(f"{hub_server.url}/alice/x/y/z/nothing", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert httpx.get(f"{hub_server.url}/alice/x/y/z/nothing").headers["content-type"] == "application/json"
    schema = httpx.get(f"{hub_server.url}/openapi.json").json()
    assert not any(p.startswith(("/login", "/settings/tokens", "/{namespace}/{name}/tree")) for p in schema["paths"])

