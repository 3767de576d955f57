"""Repository housekeeping and access checks the stock client calls.

* ``POST /api/{type}s/{id}/super-squash/{branch}``: the branch becomes one commit holding its files
  (``HfApi.super_squash_history``); other branches and tags keep the old commits.
* ``GET /api/{type}s/{id}/lfs-files``: the repo's LFS objects (``HfApi.list_lfs_files``), each once, with a
  path that held it, the date of the first commit that did and the ref it was seen on (``main`` first).
* ``POST /api/{type}s/{id}/lfs-files/batch``: ``{"deletions": {"sha": [...], "rewriteHistory": bool}}``
  (``HfApi.permanently_delete_lfs_files``): the repo's links to those objects go, and with ``rewriteHistory``
  every ref's history is rewritten without the files that held them.
* ``GET /api/{type}s/{id}/auth-check[/write]`` (``HfApi.auth_check``): 200 when the caller may read (write)
  the repo and download its files; the errors are those of reading (404 with the client's codes), of a gated
  repo without access (``GatedRepo``) or of writing (401/403).
* ``GET /api/settings/repositories`` and ``/api/organizations/{org}/settings/repositories``
  (``HfApi.list_user_repos``): the caller's (or the organisation's) repositories with their storage.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from modelyard.server.auth import owns_namespace, require_commit_rights, require_gate_access, require_write
from modelyard.server.errors import HubHTTPError, bad_request, forbidden, unauthorized
from modelyard.server.gitobjects import iso_z
from modelyard.server.paths import NAME_SCHEMA, REF_SCHEMA, check_name
from modelyard.server.responses import MOVED, READ, answers
from modelyard.server.service import hub_of, seg
from modelyard.server.storage import BRANCH, PR, TAG, Repo

router = APIRouter()
REPO = "/api/{repo_type}/{namespace}/{name}"
_SHA256 = frozenset("0123456789abcdef")


class SquashBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    message: str = Field(default="", max_length=65536)


@router.post(REPO + "/super-squash/{branch}", tags=["refs"], responses=answers(*MOVED, *READ, 403, 413))
def super_squash(request: Request, repo_type: str, namespace: str, name: str,
                 branch: str = Path(json_schema_extra=REF_SCHEMA),
                 body: SquashBody | None = Body(default=None)) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    ref_name = seg(branch)
    # A branch by name, or a full refs/... name (refs/pr/N, refs/convert/parquet); tags are never rewritten.
    ref = ref_name if ref_name.startswith("refs/") else BRANCH + ref_name
    if ref.startswith(TAG):
        raise bad_request(f"Cannot super-squash tag {ref_name!r}: squash a branch or a pull request ref.")
    identity = (require_commit_rights(hub.storage, caller, repo, ref, False) if ref.startswith(PR)
                else require_write(caller, repo, repo.repo_id))
    title = (body.message if body else "") or f"Super-squash branch '{ref_name}'"
    oid = hub.storage.history.squash(repo, ref, author=identity.name, title=title)
    if oid is None:
        raise HubHTTPError(404, f"Invalid rev id: {ref_name!r} is not a branch of {repo.repo_id}.",
                           headers={"X-Error-Code": "RevisionNotFound"})
    return JSONResponse({"commitId": oid})


@router.get(REPO + "/lfs-files", tags=["lfs"], responses=answers(*MOVED, *READ, 403))
def list_lfs_files(request: Request, repo_type: str, namespace: str, name: str) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    require_write(caller, repo, repo.repo_id)  # as on the Hugging Face Hub: a repo settings page
    return JSONResponse([
        {"fileOid": o.sha256, "oid": o.sha256, "filename": o.path, "size": o.size, "pushedAt": iso_z(o.pushed_at),
         "ref": o.ref}
        for o in hub.storage.history.lfs_objects(repo)])


class LfsDeletions(BaseModel):
    model_config = ConfigDict(extra="allow")
    sha: list[Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]] = Field(max_length=1000)
    rewriteHistory: bool = True


class LfsBatchBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    deletions: LfsDeletions


@router.post(REPO + "/lfs-files/batch", tags=["lfs"], status_code=204, response_class=Response,
             responses=answers(*MOVED, *READ, 403, 413))
def delete_lfs_files(request: Request, repo_type: str, namespace: str, name: str, body: LfsBatchBody) -> Response:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    require_write(caller, repo, repo.repo_id)
    shas = {s.lower() for s in body.deletions.sha}
    bad = sorted(s for s in shas if len(s) != 64 or not set(s) <= _SHA256)
    if bad:
        raise bad_request(f"Invalid LFS object id {bad[0]!r}: give the fileOid (sha256) list_lfs_files answers.")
    hub.storage.history.remove_lfs_objects(repo, shas, rewrite_history=body.deletions.rewriteHistory)
    return Response(status_code=204)


@router.get(REPO + "/auth-check", tags=["auth"], responses=answers(*MOVED, *READ, 403))
def auth_check(request: Request, repo_type: str, namespace: str, name: str) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    require_gate_access(hub.storage, caller, repo)  # reading a gated repo's files needs access too
    return JSONResponse({"access": "read"})


@router.get(REPO + "/auth-check/write", tags=["auth"], responses=answers(*MOVED, *READ, 401, 403))
def auth_check_write(request: Request, repo_type: str, namespace: str, name: str) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    require_gate_access(hub.storage, caller, repo)
    require_write(caller, repo, repo.repo_id)
    return JSONResponse({"access": "write"})


def _storage_rows(request: Request, namespace: str) -> list[dict[str, Any]]:
    hub = hub_of(request)
    repos: list[Repo] = []
    for repo_type in ("model", "dataset", "space"):
        repos += hub.storage.search.matching(repo_type, visible_to=[namespace], author=namespace, sort="lastModified")
    sizes: list[tuple[Repo, int]] = []
    for repo in repos:
        head = hub.storage.refs.target(repo, BRANCH + "main")
        sizes.append((repo, sum(e.size for e in hub.manifest(repo, head).values()) if head else 0))
    total = sum(size for _, size in sizes) or 1
    return [{"id": repo.repo_id, "type": repo.type, "updatedAt": iso_z(repo.last_modified),
             "visibility": "private" if repo.private else "public", "storage": size,
             "storagePercent": round(100 * size / total, 4)} for repo, size in sizes]


@router.get("/api/settings/repositories", tags=["repos"], responses=answers(401))
def my_repositories(request: Request) -> JSONResponse:
    caller = hub_of(request).caller(request)
    if caller is None:
        raise unauthorized("You must be signed in to list your repositories: pass a token (HF_TOKEN or token=...).")
    return JSONResponse(_storage_rows(request, caller.name))


@router.get("/api/organizations/{org}/settings/repositories", tags=["repos"],
            responses=answers(400, 401, 403, 404))
def org_repositories(request: Request, org: str = Path(json_schema_extra=NAME_SCHEMA)) -> JSONResponse:
    hub = hub_of(request)
    caller = hub.caller(request)
    check_name(org, what="organisation name")
    if caller is None:
        raise unauthorized("You must be signed in to list an organisation's repositories: pass a token.")
    if hub.storage.accounts.namespace_kind(org) != "org":
        raise HubHTTPError(404, f"Organisation {org!r} not found.")
    if not owns_namespace(caller, org):
        raise forbidden(f"You ({caller.name!r}) are not a member of organisation {org!r}.")
    return JSONResponse(_storage_rows(request, hub.storage.accounts.canonical_namespace(org) or org))

