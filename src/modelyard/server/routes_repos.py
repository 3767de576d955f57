"""Account and repository routes: whoami, create/delete, info, tree, paths-info, refs, commits, branches, tags."""

from __future__ import annotations

import html
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Form, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from modelyard.server import scanning
from modelyard.server.auth import require_read, require_write, require_write_namespace
from modelyard.server.cards import check_card, space_readme
from modelyard.server.errors import (
    HubHTTPError,
    bad_request,
    conflict,
    entry_not_found,
    forbidden,
    header_value,
)
from modelyard.server.gitobjects import iso_z, pointer_size
from modelyard.server.paths import (
    NAME_SCHEMA,
    PAGE_SCHEMA,
    REF_SCHEMA,
    REPO_ID_SCHEMA,
    check_name,
    check_namespace,
    check_ref_name,
)
from modelyard.server.repo_info import repo_info_payload
from modelyard.server.responses import MOVED, READ, answers
from modelyard.server.service import Hub, hub_of, seg
from modelyard.server.storage import BRANCH, PR, TAG, Commit, Repo

router = APIRouter()
REPO = "/api/{repo_type}/{namespace}/{name}"


# -- accounts and misc --------------------------------------------------------------------------------
@router.get("/api/whoami-v2", tags=["auth"], responses=answers(401))
def whoami(request: Request) -> JSONResponse:
    accounts = hub_of(request).storage.accounts
    caller = hub_of(request).caller(request)
    if caller is None:
        raise HubHTTPError(401, "Missing Authorization header: send 'Authorization: Bearer <token>'.")
    return JSONResponse({
        "type": "user", "id": caller.name, "name": caller.name, "fullname": caller.fullname or caller.name,
        "orgs": [{"type": "org", "name": org, "fullname": accounts.fullname(org) or org} for org in caller.orgs],
        "auth": {"type": "access_token", "accessToken": {"displayName": caller.token_name, "role": caller.role}},
    })


@router.get("/api/agent-harnesses", tags=["misc"])
def agent_harnesses() -> JSONResponse:
    # An empty registry: the client caches it for a day instead of asking in every process.
    return JSONResponse({"standardEnvVars": [], "harnesses": {}})


class ValidateYamlBody(BaseModel):
    content: str = ""
    repoType: str = "model"


@router.post("/api/validate-yaml", tags=["misc"], responses=answers(400, 413))
def validate_yaml(request: Request, body: ValidateYamlBody) -> Response:
    """Errors (400) and warnings of a card's metadata: JSON ``{"errors": [{"message"}], "warnings": [...]}``, or
    ``- Error: ...`` / ``- Warning: ...`` lines for a client that asks for ``text/plain`` (``RepoCard.validate``)."""
    errors, warnings = check_card(body.content, body.repoType)
    status = 400 if errors else 200
    headers = {"X-Error-Message": header_value(errors[0][:500])} if errors else {}
    if "text/plain" in request.headers.get("accept", "") and "application/json" not in request.headers.get("accept",
                                                                                                             ""):
        lines = [f"- Error: {e}" for e in errors] + [f"- Warning: {w}" for w in warnings]
        return PlainTextResponse("\n".join(lines), status_code=status, headers=headers)
    return JSONResponse({"errors": [{"message": e} for e in errors], "warnings": [{"message": w} for w in warnings]},
                        status_code=status, headers=headers)


# -- create / delete / settings -----------------------------------------------------------------------
class CreateRepoBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(json_schema_extra=NAME_SCHEMA)
    organization: str | None = Field(default=None, json_schema_extra={"anyOf": [NAME_SCHEMA, {"type": "string", "maxLength": 0}, {"type": "null"}]})
    visibility: Literal["private", "public"] | None = None
    private: bool | None = None
    type: Literal["model", "dataset", "space"] | None = None


def _target(hub: Hub, request: Request, name: str, organization: str | None) -> tuple[str, str]:
    caller = hub.caller(request)
    if "/" in name and organization is None:
        organization, _, name = name.partition("/")
    namespace = organization or (caller.name if caller else "")
    if not namespace:
        raise HubHTTPError(401, "You must be signed in to create a repository: pass a token with the 'write' role.")
    return check_namespace(namespace), check_name(name)


@router.post("/api/repos/create", tags=["repos"], responses=answers(400, 401, 403, 409, 413))
def create_repo(request: Request, body: CreateRepoBody) -> JSONResponse:
    hub = hub_of(request)
    namespace, name = _target(hub, request, body.name, body.organization)
    repo_type = body.type or "model"
    caller = require_write_namespace(hub.caller(request), namespace)
    canonical = hub.storage.accounts.canonical_namespace(namespace)
    if canonical is None:
        raise forbidden(f"Namespace {namespace!r} does not exist; create the user or organisation first.")
    if body.visibility:
        private = body.visibility == "private"
    elif body.private is not None:
        private = body.private
    else:  # neither said: the namespace's default (an organisation may make its repositories private)
        private = hub.storage.accounts.default_private(canonical)
    extra = {}
    if repo_type == "space":  # a Space starts with a card naming its SDK, as on the Hugging Face Hub
        sdk = (body.model_extra or {}).get("sdk")
        extra["README.md"] = hub.put_small(space_readme(name, sdk if isinstance(sdk, str) else None))
    repo = hub.storage.repos.create(repo_type, canonical, name, private=private, author=caller.name,
                                   initial_blob=hub.initial_blob(repo_type), extra_files=extra)
    if repo is None:
        existing = hub.storage.repos.get(repo_type, canonical, name)
        if existing is None:  # deleted in between; let the client retry
            raise conflict(f"Repository {canonical}/{name} is being changed; retry.")
        url = hub.repo_url(request, existing)
        raise conflict(f"You already created this {repo_type} repo: {existing.repo_id}", url=url)
    url = hub.repo_url(request, repo)
    return JSONResponse({"url": url, "name": repo.repo_id, "id": repo.repo_id})


class DeleteRepoBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(json_schema_extra=NAME_SCHEMA)
    organization: str | None = Field(default=None, json_schema_extra={"anyOf": [NAME_SCHEMA, {"type": "string", "maxLength": 0}, {"type": "null"}]})
    type: Literal["model", "dataset", "space"] | None = None


@router.delete("/api/repos/delete", tags=["repos"], responses=answers(*READ, 403, 413))
def delete_repo(request: Request, body: DeleteRepoBody) -> JSONResponse:
    hub = hub_of(request)
    namespace, name = _target(hub, request, body.name, body.organization)
    caller = hub.caller(request)
    repo = hub.storage.repos.get(body.type or "model", namespace, name)
    require_write(caller, repo, f"{namespace}/{name}")
    hub.storage.repos.delete(repo)  # type: ignore[arg-type]  # require_write raised if None
    return JSONResponse({})


class MoveRepoBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    fromRepo: str = Field(json_schema_extra=REPO_ID_SCHEMA)
    toRepo: str = Field(json_schema_extra=REPO_ID_SCHEMA)
    type: Literal["model", "dataset", "space"] = "model"


def _split_repo_id(value: str, what: str) -> tuple[str, str]:
    namespace, sep, name = value.partition("/")
    if not sep:
        raise bad_request(f"Invalid {what} {value!r}: give it as 'namespace/name'.")
    return namespace, name


@router.post("/api/repos/move", tags=["repos"], responses=answers(*READ, 403, 409, 413))
def move_repo(request: Request, body: MoveRepoBody) -> JSONResponse:
    """Rename a repo, or transfer it to another namespace the caller may write to (e.g. an organisation they
    belong to). History, refs, LFS objects and pull requests move with it; the old name redirects."""
    hub = hub_of(request)
    caller = hub.caller(request)
    src_ns, src_name = _split_repo_id(body.fromRepo, "fromRepo")
    dst_ns, dst_name = _split_repo_id(body.toRepo, "toRepo")
    repo = require_read(caller, hub.storage.repos.get(body.type, src_ns, src_name), body.fromRepo)
    require_write(caller, repo, body.fromRepo)
    check_namespace(dst_ns)
    check_name(dst_name)
    require_write_namespace(caller, dst_ns)
    canonical = hub.storage.accounts.canonical_namespace(dst_ns)
    if canonical is None:
        raise forbidden(f"Namespace {dst_ns!r} does not exist; create the user or organisation first.")
    if canonical.lower() == repo.namespace.lower() and dst_name == repo.name:
        raise bad_request(f"{body.fromRepo!r} and {body.toRepo!r} name the same repository; nothing to move.")
    moved = hub.storage.repos.move(repo, canonical, dst_name)
    if moved is None:
        raise conflict(f"A {body.type} repository called {canonical}/{dst_name} already exists: cannot move "
                       f"{repo.repo_id} there. Delete or rename it first, or choose another name.")
    return JSONResponse({"url": hub.repo_url(request, moved), "id": moved.repo_id, "name": moved.repo_id})


class SettingsBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    private: bool | None = None
    visibility: Literal["private", "public"] | None = None
    gated: Literal["auto", "manual", False] | None = None  # false: not gated (storage.gating)


@router.put(REPO + "/settings", tags=["repos"], responses=answers(*MOVED, *READ, 403, 413))
def update_settings(request: Request, repo_type: str, namespace: str, name: str, body: SettingsBody) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    require_write(caller, repo, repo.repo_id)
    private = body.private if body.visibility is None else body.visibility == "private"
    if private is not None:
        hub.storage.repos.set_private(repo, private)
    if body.gated is not None:
        hub.storage.gating.set_mode(repo, body.gated or None)
    gated = repo.gated if body.gated is None else body.gated or None
    return JSONResponse({"private": private if private is not None else repo.private, "gated": gated or False})


# -- repo info ----------------------------------------------------------------------------------------
def _repo_info(request: Request, repo_type: str, namespace: str, name: str, revision: str | None,
               blobs: bool | None) -> JSONResponse:
    hub = hub_of(request)
    repo, _ = hub.readable_repo(request, repo_type, namespace, name)
    commit = hub.commit(repo, hub.resolve(repo, seg(revision) if revision else "main"))
    return JSONResponse(repo_info_payload(hub, repo, commit, blobs=bool(blobs)))


@router.get(REPO, tags=["repos"], responses=answers(*MOVED, *READ))
def repo_info(request: Request, repo_type: str, namespace: str, name: str,
              blobs: bool | None = None, securityStatus: bool | None = None) -> JSONResponse:
    return _repo_info(request, repo_type, namespace, name, None, blobs)


@router.get(REPO + "/revision/{revision}", tags=["repos"], responses=answers(*MOVED, *READ))
def repo_info_at(request: Request, repo_type: str, namespace: str, name: str, revision: str,
                 blobs: bool | None = None, securityStatus: bool | None = None) -> JSONResponse:
    return _repo_info(request, repo_type, namespace, name, revision, blobs)


# -- tree listing and paths-info ----------------------------------------------------------------------
def lfs_copy_handle(sha256: str) -> str:
    """The ``xetHash`` paths-info gives files stored through LFS (files stored through Xet give their real Xet
    hash): the client refuses cross-repo ``CommitOperationCopy`` of an LFS file without one, and echoes it
    to ``lfs-files/duplicate``. Its ``sha256:`` form never matches the client's 64-hex Xet-hash check, and
    tree listings (which ``snapshot_download`` caches) never carry it, so downloads of such files never try
    Xet."""
    return f"sha256:{sha256}"


def _entries(hub: Hub, repo: Repo, commit: Commit, paths: list[str], *, expand: bool,
             copy_handles: bool = False) -> list[dict[str, Any]]:
    manifest = hub.manifest(repo, commit)
    trees = hub.tree_oids(commit.tree, manifest)
    last = hub.storage.changes.last_changes(repo, commit.oid, paths) if expand else {}
    shards = hub.pickle_shards(manifest) if expand else set()
    if expand:
        hub.content_scan_exts(manifest[p] for p in paths if p in manifest)
    xet_hashes = hub.content.xet_hashes(repo) if any(p in manifest and manifest[p].lfs for p in paths) else {}
    out = []
    for path in paths:
        entry = manifest.get(path)
        if entry is None:
            item: dict[str, Any] = {"type": "directory", "oid": trees[path], "size": 0, "path": path}
        else:
            item = {"type": "file", "oid": entry.oid, "size": entry.size, "path": path}
            if entry.lfs:
                item["lfs"] = {"oid": entry.sha256, "size": entry.size,
                               "pointerSize": pointer_size(entry.sha256, entry.size)}
                if entry.sha256 in xet_hashes:
                    item["xetHash"] = xet_hashes[entry.sha256]
                elif copy_handles:
                    item["xetHash"] = lfs_copy_handle(entry.sha256)
            if expand:
                kind, scan = hub.scan_of(path, entry, shards)
                item["securityFileStatus"] = scanning.file_security_status(path, scan, kind)
        if expand and path in last:
            c = last[path]
            item["lastCommit"] = {"id": c.oid, "title": c.title, "date": iso_z(c.date)}
        out.append(item)
    return out


def _tree(request: Request, repo_type: str, namespace: str, name: str, revision: str, path: str,
          recursive: bool, expand: bool, cursor: str | None) -> JSONResponse:
    hub = hub_of(request)
    repo, _ = hub.readable_repo(request, repo_type, namespace, name)
    rev = seg(revision)
    commit = hub.commit(repo, hub.resolve(repo, rev))
    manifest = hub.manifest(repo, commit)
    folders = [p for p in hub.tree_oids(commit.tree, manifest) if p]
    folder = seg(path).strip("/")
    if folder and folder not in folders:
        what = "folder (it is a file)" if folder in manifest else "folder"
        raise entry_not_found(repo.repo_id, rev, folder, commit=commit.oid, what=what)
    prefix = folder + "/" if folder else ""
    candidates = [p for p in (*folders, *manifest) if p.startswith(prefix)]
    if not recursive:
        candidates = [p for p in candidates if "/" not in p[len(prefix):]]
    candidates.sort()
    offset = hub.int_param(cursor, "cursor")
    size = hub.settings.tree_expand_page_size if expand else hub.settings.tree_page_size
    page = candidates[offset: offset + size]
    headers = {"X-Repo-Commit": commit.oid}
    if offset + size < len(candidates):
        query = urlencode({"recursive": str(recursive).lower(), "expand": str(expand).lower(),
                           "cursor": offset + size})
        headers["Link"] = f'<{hub.base_url(request)}{request.url.path}?{query}>; rel="next"'
    return JSONResponse(_entries(hub, repo, commit, page, expand=expand), headers=headers)


@router.get(REPO + "/tree/{revision}", tags=["files"], responses=answers(*MOVED, *READ))
def list_tree(request: Request, repo_type: str, namespace: str, name: str, revision: str,
              recursive: bool = False, expand: bool = False,
              cursor: str | None = Query(default=None, json_schema_extra=PAGE_SCHEMA)) -> JSONResponse:
    return _tree(request, repo_type, namespace, name, revision, "", recursive, expand, cursor)


@router.get(REPO + "/tree/{revision}/{path:path}", tags=["files"], responses=answers(*MOVED, *READ))
def list_tree_path(request: Request, repo_type: str, namespace: str, name: str, revision: str, path: str,
                   recursive: bool = False, expand: bool = False,
                   cursor: str | None = Query(default=None, json_schema_extra=PAGE_SCHEMA)) -> JSONResponse:
    return _tree(request, repo_type, namespace, name, revision, path, recursive, expand, cursor)


@router.post(REPO + "/paths-info/{revision}", tags=["files"], responses=answers(*MOVED, *READ, 413))
def paths_info(request: Request, repo_type: str, namespace: str, name: str, revision: str,
               paths: list[str] = Form(default=[]), expand: bool = Form(default=False)) -> JSONResponse:
    hub = hub_of(request)
    repo, _ = hub.readable_repo(request, repo_type, namespace, name)
    commit = hub.commit(repo, hub.resolve(repo, seg(revision)))
    manifest = hub.manifest(repo, commit)
    trees = hub.tree_oids(commit.tree, manifest)
    wanted = []
    for p in paths:
        clean = p.strip("/")
        if clean and (clean in manifest or clean in trees) and clean not in wanted:
            wanted.append(clean)
    return JSONResponse(_entries(hub, repo, commit, wanted, expand=expand, copy_handles=True))


# -- refs, commits, branches, tags --------------------------------------------------------------------
@router.get(REPO + "/refs", tags=["refs"], responses=answers(*MOVED, *READ))
def list_refs(request: Request, repo_type: str, namespace: str, name: str,
              include_prs: str | None = None) -> JSONResponse:
    hub = hub_of(request)
    repo, _ = hub.readable_repo(request, repo_type, namespace, name)
    out: dict[str, list[dict[str, str]]] = {"branches": [], "tags": [], "converts": []}
    prs = []
    for row in hub.storage.refs.all(repo):
        ref, target = row["name"], row["target"]
        if ref.startswith(BRANCH):
            out["branches"].append({"name": ref[len(BRANCH):], "ref": ref, "targetCommit": target})
        elif ref.startswith(TAG):
            out["tags"].append({"name": ref[len(TAG):], "ref": ref, "targetCommit": target})
        elif ref.startswith(PR):
            prs.append({"name": ref, "ref": ref, "targetCommit": target})
    if include_prs in ("1", "true", "True"):
        out["pullRequests"] = sorted(prs, key=lambda r: int(r["ref"][len(PR):]))
    return JSONResponse(out)


@router.get(REPO + "/commits/{revision}", tags=["refs"], responses=answers(*MOVED, *READ))
def list_commits(request: Request, repo_type: str, namespace: str, name: str, revision: str,
                 p: str | None = Query(default=None, json_schema_extra=PAGE_SCHEMA)) -> JSONResponse:
    hub = hub_of(request)
    repo, _ = hub.readable_repo(request, repo_type, namespace, name)
    head = hub.resolve(repo, seg(revision))
    page = hub.int_param(p, "p")
    size = hub.settings.commits_page_size
    formatted = "formatted" in request.query_params.getlist("expand[]") + request.query_params.getlist("expand")
    commits = hub.storage.commits.history(repo, head, offset=page * size, limit=size + 1)
    items = []
    for c in commits[:size]:
        item: dict[str, Any] = {"id": c.oid, "title": c.title, "message": c.message,
                                "authors": [{"user": c.author, "avatar": None}], "date": iso_z(c.date),
                                "parents": [c.parent] if c.parent else []}
        if formatted:
            item["formatted"] = {"title": html.escape(c.title), "message": html.escape(c.message)}
        items.append(item)
    headers = {}
    if len(commits) > size:
        params = [("p", str(page + 1))] + ([("expand[]", "formatted")] if formatted else [])
        headers["Link"] = f'<{hub.base_url(request)}{request.url.path}?{urlencode(params)}>; rel="next"'
    return JSONResponse(items, headers=headers)


class BranchBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    startingPoint: str | None = None


@router.post(REPO + "/branch/{branch}", tags=["refs"], responses=answers(*MOVED, *READ, 403, 409, 413))
def create_branch(request: Request, repo_type: str, namespace: str, name: str,
                  branch: str = Path(json_schema_extra=REF_SCHEMA),
                  body: BranchBody | None = Body(default=None)) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    require_write(caller, repo, repo.repo_id)
    branch_name = check_ref_name(seg(branch), what="branch")
    start = body.startingPoint if body and body.startingPoint else "main"
    target = hub.resolve(repo, start)
    if not hub.storage.refs.create(repo, BRANCH + branch_name, target):
        raise conflict(f"Reference {BRANCH}{branch_name} already exists in {repo.repo_id!r}.")
    return JSONResponse({"name": branch_name, "ref": BRANCH + branch_name, "targetCommit": target})


@router.delete(REPO + "/branch/{branch}", tags=["refs"], responses=answers(*MOVED, *READ, 403))
def delete_branch(request: Request, repo_type: str, namespace: str, name: str, branch: str) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    require_write(caller, repo, repo.repo_id)
    branch_name = seg(branch)
    if branch_name == "main":
        raise forbidden(f"Cannot delete {BRANCH}main: it is the default branch of {repo.repo_id!r}.")
    if not hub.storage.refs.delete(repo, BRANCH + branch_name):
        raise HubHTTPError(404, f"Invalid rev id: {branch_name!r} is not a branch of {repo.repo_id!r}.",
                           code="RevisionNotFound")
    return JSONResponse({})


class TagBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    tag: str = Field(json_schema_extra=REF_SCHEMA)
    message: str | None = None


@router.post(REPO + "/tag/{revision}", tags=["refs"], responses=answers(*MOVED, *READ, 403, 409, 413))
def create_tag(request: Request, repo_type: str, namespace: str, name: str, revision: str,
               body: TagBody) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    require_write(caller, repo, repo.repo_id)
    target = hub.resolve(repo, seg(revision))  # a missing revision is reported first, as on the Hugging Face Hub
    tag = check_ref_name(body.tag, what="tag")
    if not hub.storage.refs.create(repo, TAG + tag, target, body.message):
        raise conflict(f"Reference {TAG}{tag} already exists in {repo.repo_id!r}.")
    return JSONResponse({"name": tag, "ref": TAG + tag, "targetCommit": target})


# The same template as create_tag's (one resource, one path in the schema, one Allow list): the segment is the tag.
@router.delete(REPO + "/tag/{revision}", tags=["refs"], responses=answers(*MOVED, *READ, 403))
def delete_tag(request: Request, repo_type: str, namespace: str, name: str,
               revision: str = Path(description="the tag to delete")) -> JSONResponse:
    tag = revision
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    require_write(caller, repo, repo.repo_id)
    tag_name = seg(tag)
    if not hub.storage.refs.delete(repo, TAG + tag_name):
        raise HubHTTPError(404, f"Invalid rev id: {tag_name!r} is not a tag of {repo.repo_id!r}.",
                           code="RevisionNotFound")
    return JSONResponse({})
