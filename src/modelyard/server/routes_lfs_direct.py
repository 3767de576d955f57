"""LFS uploads straight into the object store: the two hub endpoints they end at (completion of a multipart
upload, and verification); the batch answer's actions come from :mod:`modelyard.server.content.direct`.

The client PUTs the bytes to presigned URLs of a staging key (one URL, or one per part); the hub never carries
them. Verification (which ``huggingface_hub`` and git-lfs always call when offered) makes the object store hash
the staged object and, when the SHA-256 and size are the announced ones, the blob is stored and linked to the
repository as an upload through the hub would be; anything else is deleted and refused. The links the client
calls on the hub are signed as the other upload links are (HMAC over action, repo, oid, size, staging token).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from modelyard.server.auth import check_signature
from modelyard.server.errors import HubHTTPError, bad_request
from modelyard.server.responses import READ, answers
from modelyard.server.service import URL_PREFIX, Hub, hub_of, seg
from modelyard.server.storage import Repo

router = APIRouter()
LFS_JSON = "application/vnd.git-lfs+json"


def _staged_link(hub: Hub, request: Request, repo_type: str, namespace: str, name: str, oid: str,
                 action: str, *extra: str) -> tuple[Repo, int, str]:
    """Check a signed staging link; returns the repository, the size and the staging key."""
    q = request.query_params
    if repo_type not in URL_PREFIX:
        raise HubHTTPError(404, f"Unknown repository type {repo_type!r} in LFS link.")
    repo_id = f"{seg(namespace)}/{seg(name)}"
    size = hub.int_param(q.get("size"), "size")
    token = q.get("token") or ""
    check_signature(hub.secret, q.get("sig"), q.get("exp"), action, repo_type, repo_id, oid, size, token,
                    *(q.get(p) for p in extra))
    repo = hub.storage.repos.get(repo_type, seg(namespace), seg(name))
    if repo is None:
        raise HubHTTPError(404, f"Repository {repo_id!r} no longer exists.", code="RepoNotFound")
    key = hub.content.lfs.staging_key(oid, size, token)
    if key is None:
        raise HubHTTPError(404, "This hub no longer takes uploads straight into its object store; request new "
                           "links from the LFS batch API.")
    return repo, size, key


class StagedBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    oid: str
    size: int = Field(ge=0)


@router.post("/_lfs/{repo_type}/{namespace}/{name}/{oid}/staged", tags=["lfs"], responses=answers(*READ, 403, 413))
def lfs_verify_staged(request: Request, repo_type: str, namespace: str, name: str, oid: str,
                      body: StagedBody) -> JSONResponse:
    """Verify an object uploaded straight to the object store, and store it for the repository."""
    hub = hub_of(request)
    repo, size, key = _staged_link(hub, request, repo_type, namespace, name, oid, "staged")
    if body.oid.lower() != oid or body.size != size:
        raise bad_request(f"Verification names {body.oid!r} ({body.size} bytes) but the link is for {oid} "
                          f"({size} bytes).")
    hub.content.lfs.adopt_staged(repo, key, oid, size)
    return JSONResponse({"oid": oid, "size": size}, media_type=LFS_JSON)


class PartsBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    oid: str
    parts: list[dict[str, Any]] = Field(max_length=10_000)


@router.post("/_lfs/{repo_type}/{namespace}/{name}/{oid}/staged/complete", tags=["lfs"],
             responses=answers(*READ, 403, 413))
def lfs_complete_staged(request: Request, repo_type: str, namespace: str, name: str, oid: str,
                        body: PartsBody) -> JSONResponse:
    """Assemble a multipart upload made straight to the object store, then verify and store it."""
    hub = hub_of(request)
    repo, size, key = _staged_link(hub, request, repo_type, namespace, name, oid, "staged-parts", "upload",
                                   "chunk")
    chunk = hub.int_param(request.query_params.get("chunk"), "chunk")
    if body.oid.lower() != oid:
        raise bad_request(f"Completion names oid {body.oid!r} but the link is for {oid}.")
    n_parts = math.ceil(size / chunk) if chunk else 0
    numbers = [p.get("partNumber") for p in body.parts]
    etags = [p.get("etag") for p in body.parts]
    if numbers != list(range(1, n_parts + 1)) or not all(isinstance(e, str) and e for e in etags):
        raise bad_request(f"Completion must list parts 1 to {n_parts} in order, each with its etag; got "
                          f"{numbers[:20]}.")
    hub.content.lfs.finish_staged_parts(key, oid, size, request.query_params.get("upload") or "",
                                        [str(e) for e in etags])
    hub.content.lfs.adopt_staged(repo, key, oid, size)
    return JSONResponse({"oid": oid, "size": size}, media_type=LFS_JSON)
