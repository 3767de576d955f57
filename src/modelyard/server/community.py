"""Discussions and pull requests as the API and the pages share them: who may do what, the Hugging Face
Hub's JSON shapes, and a pull request's diff (gated access is decided in ``auth``).

Permissions, as on the Hugging Face Hub: anyone who may read a repository reads its discussions; taking part
(opening, commenting) needs a signed-in caller with a ``write`` token; a comment is edited by its author only;
the repository's writers (its namespace: the user, or the organisation's members) and a discussion's author
may rename, close and reopen it; writers and a comment's author may hide a comment; only writers merge.
Titles and comments are untrusted text: bounded here, escaped or rendered through the sanitiser on pages.
"""

from __future__ import annotations

import difflib
from typing import Any

from modelyard.server.auth import GATE_FREE, has_gate_access, owns_namespace
from modelyard.server.errors import HubHTTPError, bad_request, forbidden, unauthorized
from modelyard.server.gitobjects import FileEntry, iso_z, lfs_pointer
from modelyard.server.service import URL_PREFIX, Hub
from modelyard.server.storage import PR, Identity, Repo
from modelyard.server.storage.discussion_events import Event
from modelyard.server.storage.pull_requests import PullRequestState, changed_paths, conflicts
from modelyard.server.storage.sql import Row
from modelyard.server.web.render import CommentMarkdown

TITLE_MAX = 200  # characters, as the Hugging Face Hub
COMMENT_MAX = 65536
PAGE_SIZE = 50
DIFF_MAX = 1024 * 1024  # characters of a pull request's diff in the API
DIFF_FILE_MAX = 256 * 1024  # a text file larger than this is diffed as binary
MARKDOWN = CommentMarkdown()


# -- who may do what ----------------------------------------------------------------------------------
def require_participant(caller: Identity | None, action: str) -> Identity:
    if caller is None:
        raise unauthorized(f"You must be signed in to {action}: pass a token (HF_TOKEN, token=...).")
    if caller.role != "write":
        raise forbidden(f"Your token {caller.token_name!r} has the 'read' role; to {action} use a 'write' token.")
    return caller


def is_writer(caller: Identity | None, repo: Repo) -> bool:
    return caller is not None and caller.role == "write" and owns_namespace(caller, repo.namespace)


def same_user(caller: Identity | None, name: str) -> bool:
    return caller is not None and caller.name.lower() == name.lower()


def clean_title(title: str) -> str:
    text = " ".join(title.split())
    if not 1 <= len(text) <= TITLE_MAX:
        raise bad_request(f"A title must have 1 to {TITLE_MAX} characters (got {len(text)}).")
    return text


def clean_comment(text: str, *, allow_empty: bool = False) -> str:
    if len(text) > COMMENT_MAX:
        raise HubHTTPError(413, f"A comment may have at most {COMMENT_MAX} characters (got {len(text)}).")
    if not allow_empty and not text.strip():
        raise bad_request("The comment is empty; write something.")
    return text


# -- JSON shapes --------------------------------------------------------------------------------------
def author_json(name: str) -> dict[str, Any]:
    return {"name": name, "type": "user", "isOwner": False}


def event_json(event: Event) -> dict[str, Any]:
    """One event in the Hub's shape (``huggingface_hub.community.deserialize_event`` reads it)."""
    out: dict[str, Any] = {"id": event.id, "type": event.kind, "createdAt": iso_z(event.created_at),
                           "author": author_json(event.author)}
    data = event.data
    if event.kind == "comment":
        edited_at = data.get("editedAt") or event.created_at
        out["data"] = {
            "edited": bool(data.get("history")), "hidden": bool(data.get("hidden")),
            "numEdits": len(data.get("history") or []),
            "editors": sorted({h.get("editor") or event.author for h in data.get("history") or []}
                              | ({data["editor"]} if data.get("editor") else set())),
            "latest": {"raw": data.get("raw", ""), "html": MARKDOWN.render(data.get("raw", "")),
                       "updatedAt": iso_z(edited_at), "author": author_json(data.get("editor") or event.author)},
            "history": [{"raw": h.get("raw", ""), "updatedAt": iso_z(h.get("updatedAt") or event.created_at),
                         "author": author_json(h.get("editor") or event.author)} for h in data.get("history") or []],
            "reactions": [], "isReport": False,
        }
    else:
        out["data"] = dict(data)
    return out


def discussion_url(base_url: str, repo: Repo, num: int) -> str:
    return f"{base_url}/{URL_PREFIX[repo.type]}{repo.repo_id}/discussions/{num}"


def discussion_json(repo: Repo, row: Row, *, comments: int) -> dict[str, Any]:
    return {
        "num": row["num"], "title": row["title"], "status": row["status"], "isPullRequest": bool(row["is_pr"]),
        "createdAt": iso_z(row["created_at"]), "author": author_json(row["author"]),
        "repo": {"name": repo.repo_id, "type": repo.type}, "pinned": False, "numComments": comments,
        "topReactions": [], "numReactionUsers": 0,
    }


def details_json(hub: Hub, caller: Identity | None, repo: Repo, row: Row, *, with_diff: bool) -> dict[str, Any]:
    """``GET .../discussions/{num}``: the discussion, its events and, for a pull request, its changes."""
    events = hub.storage.discussions.events.of(repo, row["num"])
    item = discussion_json(repo, row, comments=sum(e.kind == "comment" for e in events))
    item.update(events=[event_json(e) for e in events], filesWithConflicts=[], changes={}, isReport=False,
                locked=False, collection="discussions")
    if row["is_pr"]:
        item["changes"] = {"base": row["base"]}
        if row["merge_commit"]:
            item["changes"]["mergeCommitId"] = row["merge_commit"]
        compared = pull_request_files(hub, repo, row)
        if compared is not None:
            state, merge_base, base, head = compared
            item["changes"]["head"] = state.head
            if row["status"] in ("open", "draft"):
                item["filesWithConflicts"] = conflicts(merge_base, base, head)
            if with_diff:
                item["diff"] = git_diff(hub, merge_base, head, readable=has_gate_access(hub.storage, caller, repo))
    return item


# -- a pull request's changes -------------------------------------------------------------------------
def pull_request_files(hub: Hub, repo: Repo, row: Row) -> tuple[PullRequestState, dict[str, FileEntry],
                                                                 dict[str, FileEntry], dict[str, FileEntry]] | None:
    """(state, merge-base files, target-branch files, pull-request files); None when a ref is gone."""
    try:
        state = hub.storage.pull_requests.state(repo, row["num"], row["base"])
    except LookupError:
        return None
    return (state, *hub.storage.pull_requests.manifests(repo, state))


def _file_text(hub: Hub, entry: FileEntry | None, readable: bool) -> str | None:
    """A side of a diff as text: the LFS pointer of an LFS file (what git shows), the content of a small text
    file, None for a binary, large or (without access) gated file."""
    if entry is None:
        return ""
    if entry.lfs:
        return lfs_pointer(entry.sha256, entry.size).decode("ascii")
    if not readable or entry.size > DIFF_FILE_MAX:
        return None
    text = hub.small_text(entry, DIFF_FILE_MAX)
    return None if text is None or "\x00" in text else text


def git_diff(hub: Hub, before: dict[str, FileEntry], after: dict[str, FileEntry], *, readable: bool = True) -> str:
    """``git diff`` of two manifests (bounded by ``DIFF_MAX``); ``readable=False`` shows no content of gated
    files."""
    parts: list[str] = []
    total = 0
    for path in changed_paths(before, after):
        old, new = before.get(path), after.get(path)
        lines = [f"diff --git a/{path} b/{path}"]
        if old is None:
            lines.append("new file mode 100644")
        elif new is None:
            lines.append("deleted file mode 100644")
        lines.append(f"index {old.oid[:7] if old else '0000000'}..{new.oid[:7] if new else '0000000'}")
        gate_free = readable or path in GATE_FREE
        a, b = _file_text(hub, old, gate_free), _file_text(hub, new, gate_free)
        if a is None or b is None:
            lines.append(f"Binary files {'a/' + path if old else '/dev/null'} and "
                         f"{'b/' + path if new else '/dev/null'} differ")
        else:
            lines += [line.rstrip("\n") for line in difflib.unified_diff(
                a.splitlines(True), b.splitlines(True), f"a/{path}" if old else "/dev/null",
                f"b/{path}" if new else "/dev/null")]
        piece = "\n".join(lines) + "\n"
        if total + len(piece) > DIFF_MAX:
            parts.append(f"# diff cut: more than {DIFF_MAX} characters; compare the refs {PR}... with the target "
                         "branch to see the rest\n")
            break
        parts.append(piece)
        total += len(piece)
    return "".join(parts)
