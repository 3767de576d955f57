"""Discussions and pull requests, as ``HfApi`` uses them: open, list (filters, counts), details with events and a
pull request's diff, comment, edit and hide comments, rename, close and reopen, merge.

``POST {REPO}/discussions``, ``GET {REPO}/discussions``, ``GET {REPO}/discussions/{num}`` and
``POST {REPO}/discussions/{num}/comment|comment/{id}/edit|comment/{id}/hide|status|title|merge``. Who may do
what, and the JSON shapes, are in ``modelyard.server.community``.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from modelyard.server import community
from modelyard.server.auth import require_commit_rights
from modelyard.server.errors import HubHTTPError, bad_request, forbidden
from modelyard.server.paths import PAGE_SCHEMA
from modelyard.server.responses import MOVED, READ, answers
from modelyard.server.service import MAX_INT, Hub, hub_of
from modelyard.server.storage import Identity, Repo
from modelyard.server.storage.discussion_events import Event
from modelyard.server.storage.pull_requests import MergeRefused
from modelyard.server.storage.sql import Row

router = APIRouter()
REPO = "/api/{repo_type}/{namespace}/{name}"
NUM = Path(ge=1, le=MAX_INT)
EVENT_ID = Path(pattern="^[0-9a-fA-F]{24}$")
TYPES = {"all": None, "discussion": False, "pull_request": True}
STATUSES = ("all", "open", "closed", "merged", "draft")


class DiscussionBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    title: str = Field(min_length=1, max_length=community.TITLE_MAX * 4)
    description: str = Field(default="", max_length=community.COMMENT_MAX)
    pullRequest: bool = False


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    comment: str = Field(max_length=community.COMMENT_MAX)


class EditBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    content: str = Field(max_length=community.COMMENT_MAX)


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str = Field(json_schema_extra={"enum": ["open", "closed"]})
    comment: str = Field(default="", max_length=community.COMMENT_MAX)


class TitleBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    title: str = Field(min_length=1, max_length=community.TITLE_MAX * 4)


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    comment: str = Field(default="", max_length=community.COMMENT_MAX)


def _discussion(hub: Hub, repo: Repo, num: int) -> Row:
    row = hub.storage.discussions.get(repo, num)
    if row is None:
        raise HubHTTPError(404, f"Discussion #{num} does not exist in {repo.repo_id!r}.")
    return row


def _target(request: Request, repo_type: str, namespace: str, name: str, num: int, action: str
            ) -> tuple[Hub, Repo, Identity, Row]:
    """The discussion a change is about, and a caller who may take part."""
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    who = community.require_participant(caller, action)
    return hub, repo, who, _discussion(hub, repo, num)


# -- open, list, read ---------------------------------------------------------------------------------
@router.post(REPO + "/discussions", tags=["discussions"], responses=answers(*MOVED, *READ, 403, 413))
def create_discussion(request: Request, repo_type: str, namespace: str, name: str, body: DiscussionBody) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    who = community.require_participant(caller, "open a discussion or pull request")
    title = community.clean_title(body.title)
    if body.pullRequest:
        require_commit_rights(hub.storage, who, repo, None, True)
    # A pull request opened without changes starts as a draft, as on the Hugging Face Hub.
    num = hub.storage.discussions.create(repo, title, body.description, who.name, is_pr=body.pullRequest,
                                         status="draft" if body.pullRequest else "open")
    return JSONResponse({"num": num, "pullRequest": body.pullRequest,
                         "url": community.discussion_url(hub.base_url(request), repo, num)})


@router.get(REPO + "/discussions", tags=["discussions"], responses=answers(*MOVED, *READ))
def list_discussions(request: Request, repo_type: str, namespace: str, name: str,
                     p: str | None = Query(default=None, json_schema_extra=PAGE_SCHEMA),
                     type: str | None = Query(default=None, json_schema_extra={"enum": list(TYPES)}),
                     status: str | None = Query(default=None, json_schema_extra={"enum": list(STATUSES)}),
                     author: str | None = Query(default=None, max_length=200)) -> JSONResponse:
    hub = hub_of(request)
    repo, _ = hub.readable_repo(request, repo_type, namespace, name)
    if type is not None and type not in TYPES:
        raise bad_request(f"Unknown discussion type {type!r}; use one of {', '.join(TYPES)}.")
    if status is not None and status not in STATUSES:
        raise bad_request(f"Unknown discussion status {status!r}; use one of {', '.join(STATUSES)}.")
    rows = hub.storage.discussions.all(repo)
    closed = sum(r["status"] in ("closed", "merged") for r in rows)
    if TYPES.get(type or "all") is not None:
        rows = [r for r in rows if bool(r["is_pr"]) == TYPES[type or "all"]]
    if status and status != "all":  # drafts are open pull requests, as on the Hugging Face Hub
        wanted = ("open", "draft") if status == "open" else (status,)
        rows = [r for r in rows if r["status"] in wanted]
    if author:
        rows = [r for r in rows if r["author"].lower() == author.lower()]
    start = hub.int_param(p, "p") * community.PAGE_SIZE
    counts = hub.storage.discussions.comment_counts(repo)
    items = [community.discussion_json(repo, r, comments=counts.get(r["num"], 0))
             for r in rows[start: start + community.PAGE_SIZE]]
    return JSONResponse({"discussions": items, "count": len(rows), "start": start, "numClosedDiscussions": closed})


@router.get(REPO + "/discussions/{num}", tags=["discussions"], responses=answers(*MOVED, *READ))
def get_discussion(request: Request, repo_type: str, namespace: str, name: str, num: int = NUM,
                   diff: str | None = None) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    row = _discussion(hub, repo, num)
    return JSONResponse(community.details_json(hub, caller, repo, row, with_diff=diff in ("1", "true")))


# -- changes ------------------------------------------------------------------------------------------
@router.post(REPO + "/discussions/{num}/comment", tags=["discussions"], responses=answers(*MOVED, *READ, 403, 413))
def comment(request: Request, repo_type: str, namespace: str, name: str, body: CommentBody,
            num: int = NUM) -> JSONResponse:
    hub, repo, who, row = _target(request, repo_type, namespace, name, num, "comment")
    event = hub.storage.discussions.events.add_comment(repo, num, who.name, community.clean_comment(body.comment))
    return JSONResponse({"newMessage": community.event_json(event)})


def _comment(hub: Hub, repo: Repo, num: int, event_id: str) -> Event:
    event = hub.storage.discussions.events.get(repo, num, event_id.lower())
    if event is None or event.kind != "comment":
        raise HubHTTPError(404, f"Discussion #{num} of {repo.repo_id!r} has no comment {event_id!r}.")
    return event


@router.post(REPO + "/discussions/{num}/comment/{event_id}/edit", tags=["discussions"],
             responses=answers(*MOVED, *READ, 403, 413))
def edit_comment(request: Request, repo_type: str, namespace: str, name: str, body: EditBody,
                 num: int = NUM, event_id: str = EVENT_ID) -> JSONResponse:
    hub, repo, who, _row = _target(request, repo_type, namespace, name, num, "edit a comment")
    event = _comment(hub, repo, num, event_id)
    if not community.same_user(who, event.author):
        raise forbidden(f"Only its author ({event.author!r}) may edit this comment; you are {who.name!r}.")
    try:
        updated = hub.storage.discussions.events.edit_comment(repo, num, event.id, who.name,
                                                              community.clean_comment(body.content))
    except ValueError as err:
        raise bad_request(str(err)) from None
    return JSONResponse({"updatedComment": community.event_json(updated)})


@router.post(REPO + "/discussions/{num}/comment/{event_id}/hide", tags=["discussions"],
             responses=answers(*MOVED, *READ, 403))
def hide_comment(request: Request, repo_type: str, namespace: str, name: str, num: int = NUM,
                 event_id: str = EVENT_ID) -> JSONResponse:
    hub, repo, who, _row = _target(request, repo_type, namespace, name, num, "hide a comment")
    event = _comment(hub, repo, num, event_id)
    if not (community.is_writer(who, repo) or community.same_user(who, event.author)):
        raise forbidden(f"Only the repository's owners or the comment's author may hide it; you are {who.name!r}.")
    updated = hub.storage.discussions.events.hide_comment(repo, num, event.id, who.name)
    return JSONResponse({"updatedComment": community.event_json(updated)})


def _require_moderator(who: Identity, repo: Repo, row: Row, action: str) -> None:
    if not (community.is_writer(who, repo) or community.same_user(who, row["author"])):
        raise forbidden(f"Only the repository's owners or the discussion's author ({row['author']!r}) may {action}; "
                        f"you are {who.name!r}.")


@router.post(REPO + "/discussions/{num}/status", tags=["discussions"], responses=answers(*MOVED, *READ, 403, 413))
def change_status(request: Request, repo_type: str, namespace: str, name: str, body: StatusBody,
                  num: int = NUM) -> JSONResponse:
    hub, repo, who, row = _target(request, repo_type, namespace, name, num, "change a discussion's status")
    _require_moderator(who, repo, row, "change its status")
    if body.status not in ("open", "closed"):
        raise bad_request(f"Unknown status {body.status!r}; a discussion can be set to 'open' or 'closed'.")
    try:
        event = hub.storage.discussions.set_status(repo, num, body.status, who.name,
                                                   comment=community.clean_comment(body.comment, allow_empty=True).strip())
    except ValueError as err:
        raise bad_request(str(err)) from None
    return JSONResponse({"newStatus": community.event_json(event)})


@router.post(REPO + "/discussions/{num}/title", tags=["discussions"], responses=answers(*MOVED, *READ, 403, 413))
def rename(request: Request, repo_type: str, namespace: str, name: str, body: TitleBody,
           num: int = NUM) -> JSONResponse:
    hub, repo, who, row = _target(request, repo_type, namespace, name, num, "rename a discussion")
    _require_moderator(who, repo, row, "rename it")
    event = hub.storage.discussions.rename(repo, num, community.clean_title(body.title), who.name)
    return JSONResponse({"newTitle": community.event_json(event)})


@router.post(REPO + "/discussions/{num}/merge", tags=["discussions"],
             responses=answers(*MOVED, *READ, 403, 409, 413))
def merge(request: Request, repo_type: str, namespace: str, name: str, body: MergeBody | None = None,
          num: int = NUM) -> JSONResponse:
    hub, repo, who, row = _target(request, repo_type, namespace, name, num, "merge a pull request")
    if not row["is_pr"]:
        # 409 as for every other merge the thread's state refuses (closed, merged, nothing to merge, conflicts)
        raise HubHTTPError(409, f"#{num} of {repo.repo_id!r} is a discussion, not a pull request: there is nothing to "
                           "merge.")
    if not community.is_writer(who, repo):
        raise forbidden(f"Only the repository's owners may merge pull requests; you ({who.name!r}) may not write to "
                        f"{repo.namespace!r}.")
    try:
        oid, event = hub.storage.pull_requests.merge(
            repo, num, who.name, comment=community.clean_comment(body.comment if body else "", allow_empty=True).strip())
    except MergeRefused as err:
        raise HubHTTPError(409, str(err), extra={"filesWithConflicts": err.conflicts}) from None
    except LookupError:
        raise HubHTTPError(404, f"The target branch {row['base']!r} of pull request #{num} no longer exists; "
                           "create it again to merge.", code="RevisionNotFound") from None
    return JSONResponse({"mergeCommitId": oid, "newStatus": community.event_json(event)})
