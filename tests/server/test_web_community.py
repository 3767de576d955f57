"""The Community pages over HTTP: discussions, threads, a pull request's changes, the forms (CSRF, permissions),
and the pages of a gated repository (the request button, the owners' list, hidden file content).

``test_web_browser.py`` drives the same pages in Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest
from _html_audit import audit_page
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd, HfApi

PAYLOAD = ('<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3)) '
           '<a href="javascript:alert(4)">a</a> **bold**')


class Browser:
    """Keeps cookies, reads the forms' CSRF token, never follows redirects."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"Accept": "text/html"}, timeout=30)

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def csrf(self, path: str) -> str:
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', self.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def post(self, path: str, data: dict[str, str], *, csrf_from: str, **kwargs: object) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.csrf(csrf_from), **data}, **kwargs)  # type: ignore

    def sign_in(self, token: str) -> None:
        assert self.post("/login", {"token": token, "next": "/"}, csrf_from="/login").status_code == 303


@pytest.fixture
def owner(hub_server: HubServer) -> Iterator[Browser]:
    browser = Browser(hub_server.url)
    browser.sign_in(hub_server.token)
    yield browser
    browser.client.close()


@pytest.fixture
def visitor(hub_server: HubServer) -> Iterator[Browser]:
    browser = Browser(hub_server.url)
    browser.sign_in(hub_server.add_user("vera"))
    yield browser
    browser.client.close()


def _clean(html: str) -> list[str]:
    return [p for p in audit_page(html) if "textarea" not in p]  # the comment box is the page's own


def test_open_comment_and_close_a_discussion(hub_server: HubServer, api: HfApi, repo: str, owner: Browser,
                                             visitor: Browser) -> None:
    base = f"/{repo}/discussions"
    answer = visitor.post(base, {"title": "Question <b>about</b> it", "description": PAYLOAD}, csrf_from=base)
    assert answer.status_code == 303 and answer.headers["location"].endswith(f"{base}/1")
    thread = visitor.get(f"{base}/1")
    assert thread.status_code == 200 and _clean(thread.text) == []
    assert "<strong>bold</strong>" in thread.text and "Question &lt;b&gt;about&lt;/b&gt; it" in thread.text
    assert 'class="inline status-form"' in thread.text  # the author may close it
    assert "merge-form" not in thread.text
    listing = owner.get(base)
    assert "Question &lt;b&gt;about&lt;/b&gt; it" in listing.text and "Open (1)" in listing.text

    # the form needs the CSRF token and this hub's origin
    assert visitor.client.post(f"{base}/1/comment", data={"comment": "no token"}).status_code == 403
    forged = visitor.post(f"{base}/1/comment", {"comment": "forged"}, csrf_from=base,
                          headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert owner.post(f"{base}/1/comment", {"comment": "Answered **here**."}, csrf_from=base).status_code == 303
    assert owner.post(f"{base}/1/status", {"status": "closed", "comment": ""}, csrf_from=base).status_code == 303
    details = api.get_discussion_details(repo, 1)
    assert details.status == "closed" and [e.type for e in details.events] == ["comment", "comment", "status-change"]
    assert details.events[0].content == PAYLOAD  # stored as written, escaped only where shown
    page = owner.get(f"{base}/1").text
    assert "closed this" in page and "Reopen" in page
    stranger = Browser(hub_server.url)
    stranger.sign_in(hub_server.add_user("sam"))
    assert stranger.post(f"{base}/1/status", {"status": "open"}, csrf_from=base).status_code == 403
    assert "Sign in" in Browser(hub_server.url).get(f"{base}/1").text  # anonymous readers see, not write


def test_pull_request_files_and_merge_button(hub_server: HubServer, api: HfApi, repo: str, owner: Browser,
                                             visitor: Browser) -> None:
    api.upload_file(path_or_fileobj=b"alpha\nbeta\n", path_in_repo="notes.md", repo_id=repo)
    vera = hub_server.api(token=hub_server.create_token("vera"))
    pr = vera.create_commit(repo, [CommitOperationAdd("notes.md", b"alpha\n<script>x</script>\n")],
                            commit_message="Improve notes", create_pr=True)
    base = f"/{repo}/discussions/{pr.pr_num}"
    files = visitor.get(f"{base}/files")
    assert files.status_code == 200 and _clean(files.text) == []
    assert "-beta" in unescape(files.text) and "+<script>x</script>" in unescape(files.text)
    assert "&lt;script&gt;x&lt;/script&gt;" in files.text
    assert "merge-form" not in visitor.get(base).text  # only writers see the merge button
    thread = owner.get(base).text
    assert "merge-form" in thread and "Files changed (1)" in thread and "Improve notes" in thread
    assert visitor.post(f"{base}/merge", {}, csrf_from=base).status_code == 403
    assert owner.post(f"{base}/merge", {}, csrf_from=base).status_code == 303
    assert api.get_discussion_details(repo, pr.pr_num).status == "merged"
    assert "merged this pull request" in owner.get(base).text
    assert api.hf_hub_download(repo, "notes.md")


def test_gated_repository_pages(hub_server: HubServer, api: HfApi, repo: str, owner: Browser,
                                visitor: Browser) -> None:
    api.upload_file(path_or_fileobj=b"secret weights text", path_in_repo="weights.txt", repo_id=repo)
    api.update_repo_settings(repo, gated="manual")
    page = visitor.get(f"/{repo}").text
    assert "request-access" in page and "gated" in page
    blob = visitor.get(f"/{repo}/blob/main/weights.txt").text
    assert "secret weights text" not in blob and "gated-file" in blob
    commit = api.list_repo_commits(repo)[0].commit_id
    assert "secret weights text" not in visitor.get(f"/{repo}/commit/{commit}").text  # nor in diffs
    assert "Sign in to request access" in Browser(hub_server.url).get(f"/{repo}").text

    assert visitor.post(f"/{repo}/ask-access-form", {}, csrf_from=f"/{repo}").status_code == 303
    assert "is <strong>pending</strong>" in visitor.get(f"/{repo}").text
    assert visitor.get(f"/{repo}/access-requests").status_code == 403  # owners only
    requests = owner.get(f"/{repo}/access-requests")
    assert requests.status_code == 200 and 'data-user="vera"' in requests.text and _clean(requests.text) == []
    request_id = re.search(r'name="request_id" value="([0-9a-f]{24})"', requests.text).group(1)
    assert owner.post(f"/{repo}/access-requests", {"request_id": request_id, "action": "accept"},
                      csrf_from=f"/{repo}/access-requests").status_code == 303
    assert [r.username for r in api.list_accepted_access_requests(repo)] == ["vera"]
    assert "secret weights text" in visitor.get(f"/{repo}/blob/main/weights.txt").text
    assert owner.post(f"/{repo}/access-requests", {"gated": "off"}, csrf_from=f"/{repo}/access-requests"
                      ).status_code == 303
    assert api.model_info(repo).gated is False and "request-access" not in visitor.get(f"/{repo}").text
