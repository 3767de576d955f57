"""Discussions and pull requests through the stock client (``HfApi``), end to end against a live hub:
opening, listing with filters, details with events, comments (edit, hide), status, title, merging, the diff,
and who may do what."""

from __future__ import annotations

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.community import (
    DiscussionComment,
    DiscussionCommit,
    DiscussionStatusChange,
    DiscussionTitleChange,
)
from huggingface_hub.errors import HfHubHTTPError


@pytest.fixture
def bob(hub_server: HubServer) -> HfApi:
    return hub_server.api(token=hub_server.add_user("bob"))


def _comments(details) -> list[DiscussionComment]:
    return [e for e in details.events if isinstance(e, DiscussionComment)]


def test_open_list_and_filter(api: HfApi, bob: HfApi, repo: str) -> None:
    pr = api.create_discussion(repo, " A pull request ", pull_request=True)
    talk = bob.create_discussion(repo, "A question", description="Does it work on **CPU**?")
    assert (pr.num, talk.num) == (1, 2)
    assert pr.status == "draft" and pr.is_pull_request and pr.title == "A pull request"  # no changes yet: a draft
    assert talk.status == "open" and talk.author == "bob" and not talk.is_pull_request
    first = _comments(talk)[0]
    assert first.content == "Does it work on **CPU**?" and first.author == "bob"
    assert "<strong>CPU</strong>" in first.rendered and not first.edited and not first.hidden
    assert talk.url.endswith(f"/{repo}/discussions/2")

    assert [d.num for d in api.get_repo_discussions(repo)] == [2, 1]
    assert [d.num for d in api.get_repo_discussions(repo, discussion_type="pull_request")] == [1]
    assert [d.num for d in api.get_repo_discussions(repo, discussion_type="discussion")] == [2]
    assert [d.num for d in api.get_repo_discussions(repo, author="bob")] == [2]
    assert [d.num for d in api.get_repo_discussions(repo, author="nobody")] == []
    api.change_discussion_status(repo, 2, "closed", comment="Answered in the card.")
    assert [d.num for d in api.get_repo_discussions(repo, discussion_status="open")] == [1]
    assert [d.num for d in api.get_repo_discussions(repo, discussion_status="closed")] == [2]
    assert [d.num for d in api.get_repo_discussions(repo, discussion_status="all")] == [2, 1]
    listing = httpx.get(f"{api.endpoint}/api/models/{repo}/discussions").json()
    assert listing["count"] == 2 and listing["numClosedDiscussions"] == 1
    assert {d["num"]: d["numComments"] for d in listing["discussions"]} == {1: 1, 2: 2}
    # details are stable: reading twice gives equal objects (ids, dates, rendered comments)
    assert api.get_discussion_details(repo, 2) == api.get_discussion_details(repo, 2)


def test_comments_edit_and_hide(api: HfApi, bob: HfApi, repo: str) -> None:
    talk = bob.create_discussion(repo, "Typo in the card")
    new = api.comment_discussion(repo, talk.num, "Thanks! <script>alert(1)</script> [link](javascript:alert(1))")
    assert new.author == "alice" and "<script" not in new.rendered and "&lt;script&gt;" in new.rendered
    assert "href=\"javascript" not in new.rendered
    edited = api.edit_discussion_comment(repo, talk.num, new.id, "**Edited** comment 🤗")
    assert edited.id == new.id and edited.edited and edited.content == "**Edited** comment 🤗"
    assert edited.number_of_edits == 1 and edited.edit_history[0]["raw"].startswith("Thanks!")
    details = api.get_discussion_details(repo, talk.num)
    assert _comments(details)[1] == edited  # what the edit answered is what details read
    with pytest.raises(HfHubHTTPError) as err:  # only the author edits a comment, not the repo's owner
        api.edit_discussion_comment(repo, talk.num, _comments(details)[0].id, "rewritten by the owner")
    assert err.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as err, pytest.warns(UserWarning, match="irreversible"):
        bob.hide_discussion_comment(repo, talk.num, new.id)  # bob neither wrote it nor owns the repo
    assert err.value.response.status_code == 403
    with pytest.warns(UserWarning):
        hidden = api.hide_discussion_comment(repo, talk.num, new.id)
    assert hidden.hidden and hidden.content == "" and hidden.edit_history == []
    with pytest.raises(HfHubHTTPError):
        api.edit_discussion_comment(repo, talk.num, new.id, "back")
    with pytest.raises(HfHubHTTPError) as err:
        api.edit_discussion_comment(repo, talk.num, "0" * 24, "no such comment")
    assert err.value.response.status_code == 404


def test_status_and_title_permissions(hub_server: HubServer, api: HfApi, bob: HfApi, repo: str) -> None:
    mine = bob.create_discussion(repo, "Bob's question")
    renamed = bob.rename_discussion(repo, mine.num, "Bob's better question")
    assert isinstance(renamed, DiscussionTitleChange) and renamed.old_title == "Bob's question"
    closed = bob.change_discussion_status(repo, mine.num, "closed")  # the author may close their own
    assert isinstance(closed, DiscussionStatusChange) and closed.new_status == "closed"
    with pytest.raises(HfHubHTTPError):  # already closed
        bob.change_discussion_status(repo, mine.num, "closed")
    api.change_discussion_status(repo, mine.num, "open")  # and the repo's owner may reopen it
    theirs = api.create_discussion(repo, "Alice's own")
    carol = hub_server.api(token=hub_server.add_user("carol"))
    for call in (lambda: carol.rename_discussion(repo, theirs.num, "hijacked"),
                 lambda: carol.change_discussion_status(repo, theirs.num, "closed")):
        with pytest.raises(HfHubHTTPError) as err:
            call()
        assert err.value.response.status_code == 403
    reader = hub_server.api(token=hub_server.create_token("carol", role="read"))
    with pytest.raises(HfHubHTTPError) as err:
        reader.comment_discussion(repo, theirs.num, "read tokens do not write")
    assert err.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as err:
        api.rename_discussion(repo, theirs.num, "x" * 201)
    assert err.value.response.status_code == 400
    events = api.get_discussion_details(repo, mine.num).events
    assert [type(e).__name__ for e in events] == ["DiscussionComment", "DiscussionTitleChange",
                                                  "DiscussionStatusChange", "DiscussionStatusChange"]


def test_merge_a_pull_request(api: HfApi, bob: HfApi, repo: str) -> None:
    api.upload_file(path_or_fileobj=b"one\ntwo\nthree\n", path_in_repo="notes.txt", repo_id=repo)
    api.upload_file(path_or_fileobj=b"drop me", path_in_repo="old.txt", repo_id=repo)
    info = bob.create_commit(repo, [CommitOperationAdd("notes.txt", b"one\n2\nthree\n"),
                                    CommitOperationDelete("old.txt")], commit_message="Fix notes", create_pr=True)
    bob.create_commit(repo, [CommitOperationAdd("big.bin", b"\x00" * 100)], commit_message="Add weights",
                      revision=info.pr_revision)
    api.upload_file(path_or_fileobj=b"meanwhile", path_in_repo="other.txt", repo_id=repo)  # main moves on

    details = api.get_discussion_details(repo, info.pr_num)
    assert details.status == "open" and details.target_branch == "refs/heads/main"
    assert details.conflicting_files == [] and details.merge_commit_oid is None
    commits = [e for e in details.events if isinstance(e, DiscussionCommit)]
    assert [c.summary for c in commits] == ["Fix notes", "Add weights"] and commits[0].oid == info.oid
    diff = details.diff
    assert "diff --git a/notes.txt b/notes.txt" in diff and "-two\n+2\n" in diff
    assert "deleted file mode 100644" in diff and "diff --git a/big.bin b/big.bin" in diff
    if api.get_paths_info(repo, ["big.bin"], revision=info.pr_revision)[0].lfs:
        assert "+oid sha256:" in diff  # an LFS file shows its pointer, as git does
    else:
        assert "Binary files /dev/null and b/big.bin differ" in diff
    assert "other.txt" not in diff  # changes since the merge base only

    with pytest.raises(HfHubHTTPError) as err:
        bob.merge_pull_request(repo, info.pr_num)  # only writers merge
    assert err.value.response.status_code == 403
    api.merge_pull_request(repo, info.pr_num, comment="Thanks!")
    merged = api.get_discussion_details(repo, info.pr_num)
    assert merged.status == "merged" and merged.merge_commit_oid == api.model_info(repo).sha
    assert isinstance(merged.events[-1], DiscussionStatusChange) and merged.events[-1].new_status == "merged"
    assert _comments(merged)[-1].content == "Thanks!"
    assert sorted(api.list_repo_files(repo)) == [".gitattributes", "big.bin", "notes.txt", "other.txt"]
    assert api.list_repo_commits(repo)[0].title == f"Fix notes (#{info.pr_num})"
    with pytest.raises(HfHubHTTPError):
        api.merge_pull_request(repo, info.pr_num)  # merged already
    with pytest.raises(HfHubHTTPError):
        api.change_discussion_status(repo, info.pr_num, "open")


def test_draft_and_conflicting_pull_requests(api: HfApi, repo: str) -> None:
    api.upload_file(path_or_fileobj=b"base", path_in_repo="a.txt", repo_id=repo)
    pr = api.create_pull_request(repo, "Change a")
    api.upload_file(path_or_fileobj=b"pr side", path_in_repo="a.txt", repo_id=repo, revision=pr.git_reference)
    with pytest.raises(HfHubHTTPError) as err:  # a draft is published before it is merged
        api.merge_pull_request(repo, pr.num)
    assert err.value.response.status_code == 409  # the thread's state refuses it, as for conflicts
    with pytest.raises(HfHubHTTPError) as err:  # a discussion has nothing to merge
        api.merge_pull_request(repo, api.create_discussion(repo, "Just talk").num)
    assert err.value.response.status_code == 409 and "not a pull request" in str(err.value)
    api.change_discussion_status(repo, pr.num, "open")
    api.upload_file(path_or_fileobj=b"main side", path_in_repo="a.txt", repo_id=repo)
    assert api.get_discussion_details(repo, pr.num).conflicting_files == ["a.txt"]
    with pytest.raises(HfHubHTTPError) as err:
        api.merge_pull_request(repo, pr.num)
    assert err.value.response.status_code == 409
    assert err.value.response.json()["filesWithConflicts"] == ["a.txt"]
    # the pull request's author brings its branch up to date; then it merges
    api.upload_file(path_or_fileobj=b"main side", path_in_repo="a.txt", repo_id=repo, revision=pr.git_reference)
    api.upload_file(path_or_fileobj=b"both", path_in_repo="b.txt", repo_id=repo, revision=pr.git_reference)
    api.merge_pull_request(repo, pr.num)
    assert sorted(api.list_repo_files(repo)) == [".gitattributes", "a.txt", "b.txt"]


def test_private_repo_discussions_stay_private(hub_server: HubServer, api: HfApi, bob: HfApi) -> None:
    repo = hub_server.repo_id("private-talk")
    api.create_repo(repo, private=True)
    api.create_discussion(repo, "internal")
    for call in (lambda: list(bob.get_repo_discussions(repo)), lambda: bob.get_discussion_details(repo, 1),
                 lambda: bob.comment_discussion(repo, 1, "hi")):
        with pytest.raises(HfHubHTTPError) as err:
            call()
        assert err.value.response.status_code == 404
    assert httpx.get(f"{api.endpoint}/api/models/{repo}/discussions/1").status_code == 401


def test_migration_turns_descriptions_into_first_comments(tmp_path) -> None:  # noqa: ANN001
    """A database at schema 0001 (discussions without events) is upgraded: each description is a first comment."""
    import sqlalchemy

    from modelyard.server.storage import Storage
    from modelyard.server.storage.migrations.versions import _baseline_sqlite

    path = tmp_path / "hub.sqlite"
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for statement in _baseline_sqlite():
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("INSERT INTO repos(id, type, namespace, name, private, created_at, last_modified) "
                             "VALUES(1, 'model', 'old', 'net', 0, 0, 0)")
        conn.exec_driver_sql("INSERT INTO discussions(repo_id, num, title, description, is_pr, status, author, "
                             "created_at, base) VALUES(1, 1, 'Old', 'Written **before** events', 0, 'open', 'old', 5, "
                             "NULL)")
    engine.dispose()
    storage = Storage(path)
    repo = storage.repos.by_id(1)
    assert repo is not None and repo.gated is None
    (event,) = storage.discussions.events.of(repo, 1)
    assert (event.kind, event.author, event.created_at, event.data["raw"]) == ("comment", "old", 5,
                                                                               "Written **before** events")
    assert len(event.id) == 24
    storage.discussions.events.add_comment(repo, 1, "old", "and after")
    assert [e.seq for e in storage.discussions.events.of(repo, 1)] == [1, 2]
