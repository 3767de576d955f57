"""Likes: ``POST|DELETE /api/{type}s/{id}/like``, ``GET /api/{type}s/{id}/likers`` and ``GET /api/users/{u}/likes``
(``HfApi.like``, ``unlike``, ``list_repo_likers``, ``list_liked_repos``).

A like needs a signed-in user (a token of either role, as liking is not writing to the repository) who may read
the repository. Lists show only the repositories the caller may read, so a like never reveals a private repo.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from modelyard.server.auth import can_read
from modelyard.server.errors import HubHTTPError, unauthorized
from modelyard.server.gitobjects import iso_z
from modelyard.server.paths import NAME_SCHEMA, check_name
from modelyard.server.responses import MOVED, READ, answers
from modelyard.server.service import hub_of
from modelyard.server.storage import Identity

router = APIRouter()
REPO = "/api/{repo_type}/{namespace}/{name}"


def _signed_in(request: Request) -> Identity:
    caller = hub_of(request).caller(request)
    if caller is None:
        raise unauthorized("You must be signed in to like a repository: pass a token (HF_TOKEN or token=...).")
    return caller


def _set_like(request: Request, repo_type: str, namespace: str, name: str, *, liked: bool) -> JSONResponse:
    """Like or unlike a readable repository as the signed-in caller; answers the repository's like count."""
    caller = _signed_in(request)
    hub = hub_of(request)
    repo, _ = hub.readable_repo(request, repo_type, namespace, name)
    (hub.storage.likes.like if liked else hub.storage.likes.unlike)(caller.name, repo)
    return JSONResponse({"likes": hub.storage.likes.counts([repo.id]).get(repo.id, 0)})


@router.post(REPO + "/like", tags=["likes"], status_code=200, responses=answers(*MOVED, *READ))
def like(request: Request, repo_type: str, namespace: str, name: str) -> JSONResponse:
    return _set_like(request, repo_type, namespace, name, liked=True)


@router.delete(REPO + "/like", tags=["likes"], status_code=200, responses=answers(*MOVED, *READ))
def unlike(request: Request, repo_type: str, namespace: str, name: str) -> JSONResponse:
    return _set_like(request, repo_type, namespace, name, liked=False)


@router.get(REPO + "/likers", tags=["likes"], responses=answers(*MOVED, *READ))
def likers(request: Request, repo_type: str, namespace: str, name: str) -> JSONResponse:
    hub = hub_of(request)
    repo, _ = hub.readable_repo(request, repo_type, namespace, name)
    return JSONResponse([{"user": user, "fullname": fullname or user, "type": "user", "avatarUrl": ""}
                         for user, fullname in hub.storage.likes.likers(repo)])


@router.get("/api/users/{user}/likes", tags=["likes"], responses=answers(400, 404))
def user_likes(request: Request, user: str = Path(json_schema_extra=NAME_SCHEMA)) -> Response:
    hub = hub_of(request)
    check_name(user, what="user name")
    if hub.storage.accounts.namespace_kind(user) != "user":
        raise HubHTTPError(404, f"User {user!r} not found.", headers={"X-Error-Code": "EntityNotFound"})
    caller = hub.caller(request)
    items = [{"createdAt": iso_z(liked_at), "repo": {"name": repo.repo_id, "type": repo.type}}
             for repo, liked_at in hub.storage.likes.liked_by(user) if can_read(caller, repo)]
    return JSONResponse(items)
