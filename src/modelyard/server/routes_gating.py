"""Gated repositories: asking for access and the owners' handling of requests, as ``HfApi`` calls them.

* ``POST /{repo}/ask-access`` (``/datasets/...``, ``/spaces/...``): the caller (a token) asks for access; under
  ``gated="auto"`` it is accepted at once. (The pages' button posts to the web route of the same meaning.)
* ``GET {REPO}/user-access-request/{pending|accepted|rejected}``: the requests (owners only), paged with
  ``Link: <...>; rel="next"`` as ``huggingface_hub.utils.paginate`` follows;
* ``POST {REPO}/user-access-request/handle`` ``{"user" | "requestId", "status", "rejectionReason"}``: accept,
  reject, or put back to pending (``cancel_access_request``); moving a request to the status it has is a 404,
  as on the Hugging Face Hub;
* ``POST {REPO}/user-access-request/grant`` ``{"user"}``: access for a user who never asked (400 if they have it).

Owners (the namespace's user, or its organisation's members, with a write token) always have access; the
gating mode itself is set with ``PUT {REPO}/settings {"gated": "auto" | "manual" | false}``. The download routes
enforce it through ``auth.require_gate_access``.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from modelyard.server import community
from modelyard.server.auth import has_gate_access
from modelyard.server.errors import HubHTTPError, bad_request, forbidden
from modelyard.server.gitobjects import iso_z
from modelyard.server.paths import PAGE_SCHEMA
from modelyard.server.responses import MOVED, READ, answers
from modelyard.server.service import Hub, hub_of
from modelyard.server.storage import Identity, Repo
from modelyard.server.storage.gating import AccessRequest

router = APIRouter()
REPO = "/api/{repo_type}/{namespace}/{name}"
PAGE = 100


def _owned_gated_repo(request: Request, repo_type: str, namespace: str, name: str) -> tuple[Hub, Repo, Identity]:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    who = community.require_participant(caller, "manage access requests")
    if not community.is_writer(who, repo):
        raise forbidden(f"Only the owners of {repo.repo_id!r} manage its access requests; you are {who.name!r}.")
    if repo.gated is None:
        raise bad_request(f"{repo.repo_id!r} is not gated: set gated to 'auto' or 'manual' in its settings first.")
    return hub, repo, who


def _user(hub: Hub, name: str) -> str:
    canonical = hub.storage.accounts.canonical_namespace(name)
    if canonical is None or hub.storage.accounts.namespace_kind(canonical) != "user":
        raise HubHTTPError(404, f"There is no user {name!r} on this hub.")
    return canonical


def request_json(item: AccessRequest) -> dict[str, Any]:
    return {"user": {"user": item.user, "fullname": item.user, "email": None, "type": "user"},
            "requestId": item.id, "status": item.status, "timestamp": iso_z(item.created_at),
            "granted": item.granted, **({"rejectionReason": item.reason} if item.reason else {})}


@router.get(REPO + "/user-access-request/{status}", tags=["gating"], responses=answers(*MOVED, *READ, 400, 403))
def list_requests(request: Request, repo_type: str, namespace: str, name: str,
                  status: Literal["pending", "accepted", "rejected"],
                  cursor: str | None = Query(default=None, json_schema_extra=PAGE_SCHEMA)) -> JSONResponse:
    hub, repo, _ = _owned_gated_repo(request, repo_type, namespace, name)
    offset = hub.int_param(cursor, "cursor")
    items = hub.storage.gating.listed(repo, status, offset=offset, limit=PAGE + 1)
    headers = {}
    if len(items) > PAGE:
        query = urlencode({"cursor": offset + PAGE})
        headers["Link"] = f'<{hub.base_url(request)}{request.url.path}?{query}>; rel="next"'
    return JSONResponse([request_json(i) for i in items[:PAGE]], headers=headers)


class HandleBody(BaseModel):
    # exactly one of user and requestId names the request
    model_config = ConfigDict(extra="allow", json_schema_extra={"oneOf": [
        {"required": ["user"], "properties": {"user": {"type": "string"}}},
        {"required": ["requestId"], "properties": {"requestId": {"type": "string"}}}]})
    user: str | None = Field(default=None, max_length=200)
    requestId: str | None = Field(default=None, max_length=100)
    status: Literal["pending", "accepted", "rejected"]
    rejectionReason: str | None = Field(default=None, max_length=1000)


@router.post(REPO + "/user-access-request/handle", tags=["gating"], responses=answers(*MOVED, *READ, 400, 403))
def handle_request(request: Request, repo_type: str, namespace: str, name: str, body: HandleBody) -> JSONResponse:
    hub, repo, _ = _owned_gated_repo(request, repo_type, namespace, name)
    if (body.user is None) == (body.requestId is None):
        raise bad_request("Name the access request with exactly one of 'user' or 'requestId'.")
    found = (hub.storage.gating.get(repo, user=_user(hub, body.user)) if body.user is not None
             else hub.storage.gating.get(repo, request_id=body.requestId))
    if found is None:
        raise HubHTTPError(404, f"{repo.repo_id!r} has no access request from {body.user or body.requestId!r}.")
    try:
        updated = hub.storage.gating.handle(repo, found.id, body.status, reason=body.rejectionReason)
    except ValueError as err:  # already in that list: the Hub answers 404 ("already in the ... list")
        raise HubHTTPError(404, str(err)) from None
    return JSONResponse(request_json(updated))


class GrantBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    user: str = Field(min_length=1, max_length=200)


@router.post(REPO + "/user-access-request/grant", tags=["gating"], responses=answers(*MOVED, *READ, 400, 403))
def grant_access(request: Request, repo_type: str, namespace: str, name: str, body: GrantBody) -> JSONResponse:
    hub, repo, _ = _owned_gated_repo(request, repo_type, namespace, name)
    try:
        granted = hub.storage.gating.grant(repo, _user(hub, body.user))
    except ValueError as err:
        raise bad_request(str(err)) from None
    return JSONResponse(request_json(granted))


def _ask(request: Request, prefix: str, namespace: str, name: str) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, prefix, namespace, name)
    if caller is None:
        raise HubHTTPError(401, f"Sign in to ask for access to {repo.repo_id!r}: pass a token.")
    if repo.gated is None:
        raise bad_request(f"{repo.repo_id!r} is not gated: its files are open to everyone who can see it.")
    if has_gate_access(hub.storage, caller, repo) and hub.storage.gating.get(repo, user=caller.name) is None:
        return JSONResponse({"status": "accepted"})  # an owner
    return JSONResponse({"status": hub.storage.gating.request(repo, caller.name)})


@router.post("/{namespace}/{name}/ask-access", tags=["gating"], responses=answers(*MOVED, *READ, 400))
def ask_access(request: Request, namespace: str, name: str) -> JSONResponse:
    return _ask(request, "models", namespace, name)


@router.post("/{prefix}/{namespace}/{name}/ask-access", tags=["gating"], responses=answers(*MOVED, *READ, 400))
def ask_access_typed(request: Request, prefix: Literal["datasets", "spaces"], namespace: str, name: str
                     ) -> JSONResponse:
    return _ask(request, prefix, namespace, name)
