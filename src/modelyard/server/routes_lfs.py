"""Git LFS: the batch API and the transfers it hands out (basic PUT, multipart parts + completion, verify).

Upload hrefs are self-authenticating (an HMAC over action, repo, oid, size and expiry in the query string)
because the client sends no token to them. An uploaded object is hashed while it streams to disk, checked
against the announced sha256 and size, installed in the blob store, and linked to the repository; a commit
may then reference it. An object already stored for *another* repo must still be uploaded once (proof of
possession), so knowing a private file's sha256 does not let anyone copy it. The routes check links and
requests; the content gateway (``hub.content``, its LFS backend ``hub.content.lfs`` for uploads) decides
where objects go, whether a repository holds them (as LFS objects or Xet files) and answers downloads.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from modelyard.server.auth import (
    check_signature,
    require_commit_rights,
    require_gate_access,
    require_read,
    sign,
)
from modelyard.server.errors import HubHTTPError, bad_request
from modelyard.server.paths import REPO_ID_SCHEMA
from modelyard.server.responses import FILE_BYTES, MOVED, READ, answers
from modelyard.server.service import URL_PREFIX, Hub, hub_of, seg
from modelyard.server.storage import Repo

router = APIRouter()
LFS_JSON = "application/vnd.git-lfs+json"
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


class LfsResponse(JSONResponse):
    media_type = LFS_JSON


EMPTY = {"description": "Stored", "content": {}}


class LfsObject(BaseModel):
    model_config = ConfigDict(extra="allow")
    oid: str
    size: int = Field(ge=0)


class LfsBatchBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    operation: Literal["upload", "download"]
    transfers: list[str] = ["basic"]
    objects: list[LfsObject] = Field(max_length=1000)
    hash_algo: str = Field(default="sha256", json_schema_extra={"enum": ["sha256"]})
    ref: dict[str, Any] | None = None


def _repo_from_git_path(hub: Hub, prefix: str | None, namespace: str, name_git: str) -> tuple[str, str, str]:
    repo_type = hub.repo_type(prefix) if prefix else "model"
    name = seg(name_git)
    if not name.endswith(".git"):
        raise HubHTTPError(404, f"Unknown LFS endpoint: expected '<namespace>/<name>.git/info/lfs/...', got {name!r}.")
    return repo_type, seg(namespace), name[:-4]


def _batch(request: Request, prefix: str | None, namespace: str, name_git: str, body: LfsBatchBody) -> JSONResponse:
    hub = hub_of(request)
    repo_type, ns, name = _repo_from_git_path(hub, prefix, namespace, name_git)
    caller = hub.caller(request)
    raw_name = name_git[:-4] if name_git.endswith(".git") else quote(name, safe="")
    found = hub.find_repo(repo_type, namespace, raw_name, request=request, caller=caller)
    repo = require_read(caller, found, f"{ns}/{name}")
    if body.hash_algo != "sha256":
        raise bad_request(f"LFS hash_algo {body.hash_algo!r} is not supported; use 'sha256'.")
    if body.operation == "download":
        require_gate_access(hub.storage, caller, repo)
    if body.operation == "upload":
        ref = (body.ref or {}).get("name")
        ref = ref if isinstance(ref, str) else None
        require_commit_rights(hub.storage, caller, repo, ref if ref and ref.startswith("refs/pr/") else None, ref is None)
    s = hub.settings
    base = f"{hub.base_url(request)}/_lfs/{repo.type}/{repo.repo_id}"
    expires = int(time.time()) + s.lfs_link_ttl
    # Clients that offer the "xet" transfer (huggingface_hub before 1.0 with hf_xet) upload through the
    # hub's Xet storage, as on the Hugging Face Hub: no LFS actions, the client asks for a Xet token next.
    xet = body.operation == "upload" and "xet" in body.transfers and s.xet_uploads
    objects = []
    for obj in body.objects:
        oid = obj.oid.lower()
        # echoed as sent, but a lone surrogate ("\ud800" in the JSON) cannot be encoded: write it as an escape
        item: dict[str, Any] = {"oid": obj.oid.encode("utf-8", "backslashreplace").decode("utf-8"), "size": obj.size}
        if not _SHA256_RE.fullmatch(oid):
            item["error"] = {"code": 422, "message": f"oid {obj.oid!r} is not a sha256 (64 hex characters)."}
        elif obj.size > s.max_file_size:
            item["error"] = {"code": 422, "message": f"object {oid} has {obj.size} bytes; this hub accepts files up "
                             f"to {s.max_file_size} bytes."}
        elif body.operation == "download":
            if hub.content.holds(repo, oid, obj.size):
                query = urlencode({"exp": expires, "sig": sign(hub.secret, "download", repo.type, repo.repo_id, oid,
                                                               expires)})
                item["actions"] = {"download": {"href": f"{base}/{oid}?{query}", "expires_in": s.lfs_link_ttl}}
            else:
                item["error"] = {"code": 404, "message": f"object {oid} is not stored for {repo.repo_id!r}."}
        elif not xet and not hub.content.holds(repo, oid, obj.size):
            item["actions"] = hub.content.lfs.upload_actions(repo, base, oid, obj.size, expires, body.transfers)
        objects.append(item)
    return JSONResponse({"transfer": "xet" if xet else "basic", "objects": objects, "hash_algo": "sha256"},
                        media_type=LFS_JSON)


@router.post("/{namespace}/{name_git}/info/lfs/objects/batch", tags=["lfs"], response_class=LfsResponse,
             responses=answers(*MOVED, *READ, 403, 413))
def lfs_batch(request: Request, namespace: str, name_git: str, body: LfsBatchBody) -> JSONResponse:
    return _batch(request, None, namespace, name_git, body)


@router.post("/{prefix}/{namespace}/{name_git}/info/lfs/objects/batch", tags=["lfs"], response_class=LfsResponse,
             responses=answers(*MOVED, *READ, 403, 413))
def lfs_batch_typed(request: Request, prefix: str, namespace: str, name_git: str, body: LfsBatchBody) -> JSONResponse:
    return _batch(request, prefix, namespace, name_git, body)


# -- transfers ----------------------------------------------------------------------------------------
def _signed_repo(hub: Hub, request: Request, action: str, repo_type: str, namespace: str, name: str, oid: str,
                 chunk: int = 0) -> tuple[Repo, int]:
    q = request.query_params
    if repo_type not in URL_PREFIX:
        raise HubHTTPError(404, f"Unknown repository type {repo_type!r} in LFS link.")
    repo_id = f"{seg(namespace)}/{seg(name)}"
    size = hub.int_param(q.get("size"), "size")
    parts: tuple[Any, ...] = (action, repo_type, repo_id, oid, size, chunk) if action != "download" else (
        action, repo_type, repo_id, oid)
    check_signature(hub.secret, q.get("sig"), q.get("exp"), *parts)
    repo = hub.storage.repos.get(repo_type, seg(namespace), seg(name))
    if repo is None:
        raise HubHTTPError(404, f"Repository {repo_id!r} no longer exists.", code="RepoNotFound")
    return repo, size


@router.put("/_lfs/{repo_type}/{namespace}/{name}/{oid}", tags=["lfs"], response_class=Response,
            responses=answers(*READ, 403, ok=EMPTY))
async def lfs_upload(request: Request, repo_type: str, namespace: str, name: str, oid: str) -> Response:
    hub = hub_of(request)
    repo, size = await run_in_threadpool(_signed_repo, hub, request, "upload", repo_type, namespace, name, oid)
    await hub.content.lfs.receive(request, repo, oid, size)
    return Response(status_code=200)


@router.put("/_lfs/{repo_type}/{namespace}/{name}/{oid}/part/{number}", tags=["lfs"], response_class=Response,
            responses=answers(*READ, 403, ok=EMPTY))
async def lfs_upload_part(request: Request, repo_type: str, namespace: str, name: str, oid: str,
                          number: int) -> Response:
    hub = hub_of(request)
    chunk = hub.int_param(request.query_params.get("chunk"), "chunk")
    _repo, size = await run_in_threadpool(_signed_repo, hub, request, "multipart", repo_type, namespace, name,
                                          oid, chunk)
    n_parts = math.ceil(size / chunk) if chunk else 0
    if not 1 <= number <= n_parts:
        raise bad_request(f"Part number {number} is out of range: this upload has parts 1 to {n_parts}.")
    expected = min(chunk, size - (number - 1) * chunk)
    await hub.content.lfs.receive_part(request, f"{oid}-{size}-{chunk}", n_parts, number, expected)
    return Response(status_code=200, headers={"ETag": f'"{oid[:16]}-{number}"'})


class CompletionBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    oid: str
    parts: list[dict[str, Any]]


@router.post("/_lfs/{repo_type}/{namespace}/{name}/{oid}/complete", tags=["lfs"], response_class=LfsResponse,
             responses=answers(*READ, 403, 413))
def lfs_complete(request: Request, repo_type: str, namespace: str, name: str, oid: str,
                 body: CompletionBody) -> JSONResponse:
    hub = hub_of(request)
    chunk = hub.int_param(request.query_params.get("chunk"), "chunk")
    repo, size = _signed_repo(hub, request, "multipart", repo_type, namespace, name, oid, chunk)
    if body.oid.lower() != oid:
        raise bad_request(f"Completion names oid {body.oid!r} but the link is for {oid}.")
    n_parts = math.ceil(size / chunk) if chunk else 0
    numbers = [p.get("partNumber") for p in body.parts]
    if numbers != list(range(1, n_parts + 1)):
        raise bad_request(f"Completion must list parts 1 to {n_parts} in order, got {numbers[:20]}.")
    hub.content.lfs.complete_parts(repo, f"{oid}-{size}-{chunk}", oid, size)
    return JSONResponse({"oid": oid, "size": size}, media_type=LFS_JSON)


class VerifyBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    oid: str
    size: int = Field(ge=0)


@router.post("/_lfs/{repo_type}/{namespace}/{name}/verify", tags=["lfs"], response_class=LfsResponse,
             responses=answers(*READ, 413))
def lfs_verify(request: Request, repo_type: str, namespace: str, name: str, body: VerifyBody) -> JSONResponse:
    hub = hub_of(request)
    if repo_type not in URL_PREFIX:
        raise HubHTTPError(404, f"Unknown repository type {repo_type!r}.")
    caller = hub.caller(request)
    repo = require_read(caller, hub.storage.repos.get(repo_type, seg(namespace), seg(name)),
                        f"{seg(namespace)}/{seg(name)}")
    oid = body.oid.lower()
    if not hub.content.lfs.holds(repo, oid, body.size):
        raise HubHTTPError(404, f"LFS object {body.oid} ({body.size} bytes) is not stored for {repo.repo_id!r}; "
                           "upload it again.")
    return JSONResponse({"oid": oid, "size": body.size}, media_type=LFS_JSON)


@router.get("/_lfs/{repo_type}/{namespace}/{name}/{oid}", tags=["lfs"], response_class=Response,
            responses=answers(206, *READ, 403, 416, plain_text=(400, 416), ok=FILE_BYTES))
def lfs_download(request: Request, repo_type: str, namespace: str, name: str, oid: str) -> Response:
    hub = hub_of(request)
    repo, _ = _signed_repo(hub, request, "download", repo_type, namespace, name, oid)
    if not (_SHA256_RE.fullmatch(oid) and hub.content.holds(repo, oid)):
        raise HubHTTPError(404, f"LFS object {oid} is not stored for {repo.repo_id!r}.")
    # an LFS blob (or a redirect to the object store holding it), else the Xet file rebuilt from its xorbs
    return hub.content.respond(request, oid, {"ETag": f'"{oid}"'}, repo=repo, redirect=True,
                               missing=f"LFS object {oid}")


# -- cross-repo copies --------------------------------------------------------------------------------
class DuplicateTarget(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["model", "dataset", "space"] = "model"
    name: str = Field(json_schema_extra=REPO_ID_SCHEMA)


class DuplicateFile(BaseModel):
    model_config = ConfigDict(extra="allow")
    sha256: str
    xetHash: str | None = None
    filename: str | None = None


class DuplicateBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    target: DuplicateTarget
    files: list[DuplicateFile] = Field(max_length=1000)


def _committed(hub: Hub, repo: Repo, sha256: str, path: str | None) -> bool:
    """Whether content ``sha256`` is a file of some commit of ``repo`` (as ``path``, which the client sends as
    ``filename``; without it, a file of a ref's head). Uploaded but uncommitted objects are not the repo's
    content yet: the uploader may still be deciding to publish them, and a copy must not publish them first."""
    if path:
        return any(entry is not None and entry.sha256 == sha256
                   for entry in (hub.manifest(repo, oid).get(path) for oid in hub.storage.changes.commits_touching(
                       repo, path)))
    return any(entry.sha256 == sha256 for ref in hub.storage.refs.all(repo)
               for entry in hub.manifest(repo, ref["target"]).values())


@router.post("/api/{repo_type}/{namespace}/{name}/lfs-files/duplicate", tags=["lfs"],
             responses=answers(*MOVED, *READ, 403, 413))
def lfs_duplicate(request: Request, repo_type: str, namespace: str, name: str, body: DuplicateBody) -> JSONResponse:
    """Make LFS objects of this (source) repo, stored through LFS or Xet, available to ``target``, for a
    cross-repo ``CommitOperationCopy``.

    The caller must be able to read the source and to commit to the target (at least through a pull
    request, as for LFS uploads). Only objects the source repo holds are linked; anything else is reported
    in ``failed`` with one message whether the object exists elsewhere or not, so this reveals nothing about
    other repos.
    """
    hub = hub_of(request)
    source, caller = hub.readable_repo(request, repo_type, namespace, name)
    require_gate_access(hub.storage, caller, source)  # a copy of a gated file is a download of it
    t_namespace, sep, t_name = body.target.name.partition("/")
    if not sep:
        raise bad_request(f"Invalid target {body.target.name!r}: give it as 'namespace/name'.")
    target = require_read(caller, hub.storage.repos.get(body.target.type, t_namespace, t_name), body.target.name)
    require_commit_rights(hub.storage, caller, target, None, True)
    done, failed = [], []
    for f in body.files:
        oid = f.sha256.lower()
        if not (_SHA256_RE.fullmatch(oid) and _committed(hub, source, oid, f.filename)):
            failed.append({"sha256": f.sha256, "error": f"no LFS object {f.sha256!r} in {source.repo_id!r}"})
            continue
        copied = hub.content.copy(source, target, oid)  # an LFS object, or a Xet file (with its xetHash)
        if copied is not None:
            done.append(copied)
        else:
            failed.append({"sha256": f.sha256, "error": f"no LFS object {f.sha256!r} in {source.repo_id!r}"})
    return JSONResponse({"duplicated": done, "failed": failed})
