"""The Community pages in Chromium (see ``test_web_browser.py`` for the browser and its fixtures): a visitor
opens a discussion with a hostile comment, the owner answers and merges a pull request with the button, a
visitor asks for access to a gated model and the owner accepts it. Nothing on the way runs script or trips the
Content-Security-Policy. Screenshots go to ``test-artifacts/web/``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd
from test_web_browser import Watch, _missing, chromium, shot  # noqa: F401 - chromium: a fixture, used by name

pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


@pytest.fixture
def tab(chromium: Any) -> Iterator[Any]:  # noqa: F811 - the imported fixture
    opened = chromium.new_page()
    opened.watch = Watch(opened)
    yield opened
    opened.close()
HOSTILE = "Does it run on CPU? <script>alert('x')</script> <img src=x onerror=alert('y')> **Thanks!**"


def _sign_in_as(tab: Any, hub_server: HubServer, token: str, name: str) -> None:
    tab.goto(f"{hub_server.url}/login")
    tab.fill("#token", token)
    tab.click("form[action='/login'] button[type=submit]")
    tab.wait_for_url(f"{hub_server.url}/")
    assert tab.locator("header nav .me").inner_text() == name


def test_discussion_pull_request_and_gated_access(tab: Any, hub_server: HubServer) -> None:
    api = hub_server.api()
    repo = hub_server.repo_id("community")
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"lr: 0.1\nepochs: 3\n", path_in_repo="train.yaml", repo_id=repo)
    token = hub_server.add_user("wendy")
    pr = hub_server.api(token=token).create_commit(
        repo, [CommitOperationAdd("train.yaml", b"lr: 0.01\nepochs: 3\n")], commit_message="Lower the learning rate",
        create_pr=True)

    # one browser profile, so one signed-in user at a time: the tab signs in as whoever acts next
    visitor = owner = tab
    _sign_in_as(visitor, hub_server, token, "wendy")
    visitor.goto(f"{hub_server.url}/{repo}")
    visitor.click("nav.tabs a:text-is('Community')")
    visitor.wait_for_url(f"{hub_server.url}/{repo}/discussions")
    visitor.fill("form.new-discussion input[name=title]", "Runs on CPU?")
    visitor.fill("form.new-discussion textarea[name=description]", HOSTILE)
    visitor.click("form.new-discussion button[type=submit]")
    visitor.wait_for_url(f"{hub_server.url}/{repo}/discussions/2")
    assert visitor.locator(".event.comment .markdown strong").inner_text() == "Thanks!"
    assert "<script>" in visitor.locator(".event.comment .markdown").inner_text()  # shown as text
    shot(visitor, "discussion-thread")
    visitor.goto(f"{hub_server.url}/{repo}/discussions/{pr.pr_num}")
    assert visitor.locator("form.merge-form").count() == 0  # wendy may not merge

    _sign_in_as(owner, hub_server, hub_server.token, hub_server.user)
    owner.goto(f"{hub_server.url}/{repo}/discussions/2")
    owner.fill("form.comment-form textarea[name=comment]", "Yes, it does.")
    owner.click("form.comment-form button[type=submit]")
    owner.wait_for_url(f"{hub_server.url}/{repo}/discussions/2")
    assert owner.locator(".event.comment").count() == 2
    owner.click("form.status-form button.close")
    owner.wait_for_url(f"{hub_server.url}/{repo}/discussions/2")
    assert owner.locator(".discussion-head .badge").inner_text() == "closed"

    owner.goto(f"{hub_server.url}/{repo}/discussions/{pr.pr_num}")
    owner.click("a.files-changed")
    assert "-lr: 0.1" in owner.locator(".diff").inner_text() and "+lr: 0.01" in owner.locator(".diff").inner_text()
    shot(owner, "pull-request-files")
    owner.go_back()
    owner.click("form.merge-form button.merge")
    owner.wait_for_url(f"{hub_server.url}/{repo}/discussions/{pr.pr_num}")
    assert owner.locator(".discussion-head .badge").inner_text() == "merged"
    assert "merged this pull request" in owner.locator("ol.events").inner_text()
    shot(owner, "pull-request-merged")
    assert api.hf_hub_download(repo, "train.yaml") and api.list_repo_commits(repo)[0].title.endswith(
        f"(#{pr.pr_num})")

    # gated: the visitor asks, the owner accepts in the list
    api.update_repo_settings(repo, gated="manual")
    _sign_in_as(visitor, hub_server, token, "wendy")
    visitor.goto(f"{hub_server.url}/{repo}/blob/main/train.yaml")
    assert visitor.locator(".gated-file").is_visible()
    visitor.click("button.request-access")
    visitor.wait_for_url(f"{hub_server.url}/{repo}")
    assert "pending" in visitor.locator(".gate").inner_text()
    _sign_in_as(owner, hub_server, hub_server.token, hub_server.user)
    owner.goto(f"{hub_server.url}/{repo}/access-requests")
    shot(owner, "access-requests")
    owner.click("li.request-row[data-user='wendy'] button.accept")
    owner.wait_for_url(f"{hub_server.url}/{repo}/access-requests")
    assert owner.locator("section.requests-accepted li.request-row").count() == 1
    _sign_in_as(visitor, hub_server, token, "wendy")
    visitor.goto(f"{hub_server.url}/{repo}/blob/main/train.yaml")
    assert "epochs: 3" in visitor.locator("main").inner_text()
    assert tab.watch.dialogs == [] and tab.watch.violations == [] and tab.watch.errors == []
