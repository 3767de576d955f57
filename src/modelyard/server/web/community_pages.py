"""The Community pages of a repository: discussions and pull requests, and access to a gated repository.

==================================================  ===========================================================
``/<ns>/<repo>/discussions``                        discussions and pull requests (open / closed / all), a form
                                                    to open one
``/<ns>/<repo>/discussions/<n>``                    a thread: comments (sanitised Markdown), status and title
                                                    changes, commits and merge; comment, close/reopen, merge
``/<ns>/<repo>/discussions/<n>/files``              a pull request's changes against its target branch
``/<ns>/<repo>/ask-access-form`` (POST)             the "request access" button of a gated repository
``/<ns>/<repo>/access-requests``                    owners: gating mode and the requests, to accept or reject
==================================================  ===========================================================

Every form carries the CSRF token and runs the same permission checks as the API (``server.community``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from modelyard.server import community
from modelyard.server.errors import HubHTTPError
from modelyard.server.storage.pull_requests import MergeRefused
from modelyard.server.web import security, views
from modelyard.server.web.routes import (
    PageRoute,
    _field,
    _login_redirect,
    _open,
    _owner_page,
    _repo_context,
    bind_repo_type,
)
from modelyard.server.web.security import PageError
from modelyard.server.web.templating import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FILTERS = ("open", "closed", "all")


def _row(rp: views.RepoPage, num: str) -> Any:
    row = rp.hub.storage.discussions.get(rp.repo, int(num)) if num.isdigit() and len(num) <= 15 else None
    if row is None:
        raise PageError(404, "Discussion not found", f"{rp.repo_id} has no discussion #{num[:20]}.")
    return row


def _participant(request: Request, rp: views.RepoPage, action: str) -> Any:
    if rp.caller is None:
        raise _login_redirect(request)
    try:
        return community.require_participant(rp.caller, action)
    except HubHTTPError as err:
        raise PageError(err.status, "You may not do this", err.message) from None


# -- list and open ------------------------------------------------------------------------------------
def discussions_page(request: Request, repo_type: str, namespace: str, name: str) -> Response:
    rp = _open(request, repo_type, namespace, name)
    shown = request.query_params.get("status") or "open"
    if shown not in FILTERS:
        raise PageError(400, "Unknown filter", f"status={shown[:20]!r}: use one of {', '.join(FILTERS)}.")
    kind = request.query_params.get("type") or "all"
    rows = rp.hub.storage.discussions.all(rp.repo)
    counts = {"open": sum(r["status"] in ("open", "draft") for r in rows),
              "closed": sum(r["status"] in ("closed", "merged") for r in rows), "all": len(rows)}
    if shown != "all":
        rows = [r for r in rows if (r["status"] in ("open", "draft")) == (shown == "open")]
    if kind in ("discussion", "pull_request"):
        rows = [r for r in rows if bool(r["is_pr"]) == (kind == "pull_request")]
    comments = rp.hub.storage.discussions.comment_counts(rp.repo)
    return page(request, "discussions.html", {
        **_repo_context(rp, "community"), "rows": rows[:200], "more": max(0, len(rows) - 200), "shown": shown,
        "kind": kind, "counts": counts, "comments": comments, "title_max": community.TITLE_MAX})


async def open_discussion(request: Request, repo_type: str, namespace: str, name: str) -> Response:
    form = await request.form()
    security.check_csrf(request, _field(form, security.CSRF_FIELD))
    rp = await run_in_threadpool(_open, request, repo_type, namespace, name)
    who = _participant(request, rp, "open a discussion")
    title = community.clean_title(_field(form, "title") or "")
    text = community.clean_comment(_field(form, "description") or "", allow_empty=True)
    num = await run_in_threadpool(rp.hub.storage.discussions.create, rp.repo, title, text, who.name, is_pr=False)
    return RedirectResponse(f"{rp.url()}/discussions/{num}", status_code=303)


# -- a thread -----------------------------------------------------------------------------------------
def thread_page(request: Request, repo_type: str, namespace: str, name: str, num: str) -> Response:
    rp = _open(request, repo_type, namespace, name)
    row = _row(rp, num)
    events = rp.hub.storage.discussions.events.of(rp.repo, row["num"])
    rendered = [(e, community.MARKDOWN.render(e.data.get("raw", "")) if e.kind == "comment" else "")
                for e in events]
    clashes: list[str] = []
    changed = 0
    if row["is_pr"]:
        compared = community.pull_request_files(rp.hub, rp.repo, row)
        if compared is not None:
            _state, merge_base, base, head = compared
            clashes = community.conflicts(merge_base, base, head) if row["status"] in ("open", "draft") else []
            changed = len(community.changed_paths(merge_base, head))
    caller = rp.caller
    return page(request, "discussion.html", {
        **_repo_context(rp, "community"), "d": row, "events": rendered, "conflicts": clashes, "changed": changed,
        "can_comment": caller is not None and caller.role == "write",
        "can_moderate": community.is_writer(caller, rp.repo) or (
            caller is not None and caller.role == "write" and community.same_user(caller, row["author"])),
        "can_merge": bool(row["is_pr"]) and community.is_writer(caller, rp.repo) and row["status"] == "open"
        and not clashes and changed > 0,
        "error": request.query_params.get("error", "")[:300]})


def files_page(request: Request, repo_type: str, namespace: str, name: str, num: str) -> Response:
    rp = _open(request, repo_type, namespace, name)
    row = _row(rp, num)
    if not row["is_pr"]:
        raise PageError(404, "Not a pull request", f"#{row['num']} of {rp.repo_id} is a discussion: it changes no files.")
    compared = community.pull_request_files(rp.hub, rp.repo, row)
    if compared is None:
        raise PageError(404, "The pull request's branch is gone",
                        f"{row['base']} or refs/pr/{row['num']} no longer exists in {rp.repo_id}.")
    state, merge_base, _base, head = compared
    changes = views.changes_between(rp.hub, merge_base, head, readable=rp.can_download)
    return page(request, "discussion_files.html", {
        **_repo_context(rp, "community"), "d": row, "changes": changes, "state": state})


async def thread_action(request: Request, repo_type: str, namespace: str, name: str, num: str, action: str
                        ) -> Response:
    """comment, status (open/close) and merge, from the thread page's forms."""
    form = await request.form()
    security.check_csrf(request, _field(form, security.CSRF_FIELD))
    rp = await run_in_threadpool(_open, request, repo_type, namespace, name)
    row = await run_in_threadpool(_row, rp, num)
    who = _participant(request, rp, "take part in discussions")
    text = community.clean_comment(_field(form, "comment") or "", allow_empty=action != "comment")
    storage = rp.hub.storage
    target = f"{rp.url()}/discussions/{row['num']}"
    if action == "comment":
        await run_in_threadpool(storage.discussions.events.add_comment, rp.repo, row["num"], who.name, text)
        return RedirectResponse(target, status_code=303)
    moderator = community.is_writer(who, rp.repo) or community.same_user(who, row["author"])
    if action == "status":
        status = _field(form, "status") or ""
        if not moderator:
            raise PageError(403, "You may not change this discussion's status",
                            "Only the repository's owners and the discussion's author may close or reopen it.")
        try:
            await run_in_threadpool(storage.discussions.set_status, rp.repo, row["num"], status, who.name,
                                    comment=text.strip())
        except ValueError as err:
            raise PageError(400, "The status was not changed", str(err)) from None
        return RedirectResponse(target, status_code=303)
    if not community.is_writer(who, rp.repo):
        raise PageError(403, "Only the repository's owners merge pull requests",
                        f"You ({who.name!r}) may not write to {rp.repo.namespace!r}.")
    try:
        await run_in_threadpool(storage.pull_requests.merge, rp.repo, row["num"], who.name, comment=text.strip())
    except MergeRefused as err:
        raise PageError(409 if err.conflicts else 400, "The pull request was not merged", str(err)) from None
    except LookupError:
        raise PageError(404, "The target branch is gone", f"{row['base']} no longer exists.") from None
    return RedirectResponse(target, status_code=303)


async def comment_action(request: Request, repo_type: str, namespace: str, name: str, num: str) -> Response:
    return await thread_action(request, repo_type, namespace, name, num, "comment")


async def status_action(request: Request, repo_type: str, namespace: str, name: str, num: str) -> Response:
    return await thread_action(request, repo_type, namespace, name, num, "status")


async def merge_action(request: Request, repo_type: str, namespace: str, name: str, num: str) -> Response:
    return await thread_action(request, repo_type, namespace, name, num, "merge")


# -- gated access -------------------------------------------------------------------------------------
async def ask_access(request: Request, repo_type: str, namespace: str, name: str) -> Response:
    form = await request.form()
    security.check_csrf(request, _field(form, security.CSRF_FIELD))
    rp = await run_in_threadpool(_open, request, repo_type, namespace, name)
    who = _participant(request, rp, "ask for access")
    if rp.repo.gated is None:
        raise PageError(400, "This repository is not gated", "Its files are open to everyone who can see it.")
    if rp.gate != "owner":
        await run_in_threadpool(rp.hub.storage.gating.request, rp.repo, who.name)
    return RedirectResponse(rp.url(), status_code=303)


def _owner(request: Request, repo_type: str, namespace: str, name: str) -> views.RepoPage:
    return _owner_page(request, repo_type, namespace, name, refusal="manage access to it")


def access_page(request: Request, repo_type: str, namespace: str, name: str) -> Response:
    rp = _owner(request, repo_type, namespace, name)
    gating = rp.hub.storage.gating
    lists = {status: gating.listed(rp.repo, status, limit=500) for status in ("pending", "accepted", "rejected")}
    return page(request, "access_requests.html", {**_repo_context(rp, "access"), "lists": lists})


async def access_submit(request: Request, repo_type: str, namespace: str, name: str) -> Response:
    form = await request.form()
    security.check_csrf(request, _field(form, security.CSRF_FIELD))
    rp = await run_in_threadpool(_owner, request, repo_type, namespace, name)
    gating = rp.hub.storage.gating
    mode = _field(form, "gated")
    if mode is not None:
        if mode not in ("off", "auto", "manual"):
            raise PageError(400, "Choose a gating mode", "gated must be 'off', 'auto' or 'manual'.")
        await run_in_threadpool(gating.set_mode, rp.repo, None if mode == "off" else mode)
    else:
        status = {"accept": "accepted", "reject": "rejected", "pending": "pending"}.get(_field(form, "action") or "")
        request_id = _field(form, "request_id") or ""
        if status is None or not request_id:
            raise PageError(400, "Choose an action", "Accept, reject or move a request back to pending.")
        try:
            await run_in_threadpool(gating.handle, rp.repo, request_id, status)
        except LookupError:
            raise PageError(404, "Request not found", "It was withdrawn or belongs to another repository.") from None
        except ValueError as err:
            raise PageError(400, "Nothing changed", str(err)) from None
    return RedirectResponse(f"{rp.url()}/access-requests", status_code=303)


# -- registration -------------------------------------------------------------------------------------
for _prefix, _type in (("/datasets", "dataset"), ("/spaces", "space"), ("", "model")):
    _base = _prefix + "/{namespace}/{name}"
    for _path, _handler, _method in (
        ("/discussions", discussions_page, "GET"), ("/discussions", open_discussion, "POST"),
        ("/discussions/{num}", thread_page, "GET"), ("/discussions/{num}/files", files_page, "GET"),
        ("/discussions/{num}/comment", comment_action, "POST"), ("/discussions/{num}/status", status_action, "POST"),
        ("/discussions/{num}/merge", merge_action, "POST"), ("/ask-access-form", ask_access, "POST"),
        ("/access-requests", access_page, "GET"), ("/access-requests", access_submit, "POST"),
    ):
        router.add_api_route(_base + _path, bind_repo_type(_handler, _type), methods=[_method],
                             name=f"{_type}:{_handler.__name__}:{_method}")
