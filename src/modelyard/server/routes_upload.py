"""Upload routes: preupload and the NDJSON commit (pull requests and discussions: ``routes_discussions``)."""

from __future__ import annotations

import tempfile
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from modelyard.server.auth import require_commit_rights
from modelyard.server.commits import UNPROCESSABLE, apply_operations, parse_commit
from modelyard.server.config import HubSettings
from modelyard.server.errors import HubHTTPError, bad_request
from modelyard.server.gitobjects import FileEntry
from modelyard.server.paths import PATH_SCHEMA, GitIgnore, check_path_in_repo
from modelyard.server.responses import MOVED, READ, answers
from modelyard.server.service import Hub, hub_of, seg
from modelyard.server.storage import BRANCH, PR, Identity, NewCommit, Repo

router = APIRouter()
REPO = "/api/{repo_type}/{namespace}/{name}"
STALE_PARENT = "The branch was updated since you opened this page. Please refresh and try again."


def _flag(value: str | None) -> bool:
    return value in ("1", "true", "True")


# -- preupload ----------------------------------------------------------------------------------------
class PreuploadFile(BaseModel):
    model_config = ConfigDict(extra="allow")
    path: str = Field(json_schema_extra=PATH_SCHEMA)
    # the published maximum is the default HubSettings.max_file_size (an admin may set another)
    size: int = Field(ge=0, json_schema_extra={"maximum": HubSettings.max_file_size})
    sample: str = ""


class PreuploadBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    files: list[PreuploadFile] = Field(max_length=1000)
    gitIgnore: str | None = None


@router.post(REPO + "/preupload/{revision}", tags=["upload"], responses=answers(*MOVED, *READ, 403, 413, 422))
def preupload(request: Request, repo_type: str, namespace: str, name: str, revision: str,
              body: PreuploadBody, create_pr: str | None = None) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    rev = seg(revision)
    require_commit_rights(hub.storage, caller, repo, rev if rev.startswith(PR) else None, _flag(create_pr))
    commit = hub.commit(repo, hub.resolve(repo, rev))
    manifest = hub.manifest(repo, commit)
    ignore_text = body.gitIgnore
    if ignore_text is None and ".gitignore" in manifest:
        ignore_text = hub.small_text(manifest[".gitignore"])
    ignore = GitIgnore(ignore_text) if ignore_text else None
    # As on the Hugging Face Hub: a path the revision's .gitattributes sends to LFS goes there whatever its size;
    # other files by size.
    attributes = hub.lfs_attributes(manifest)
    files = []
    for f in body.files:
        check_path_in_repo(f.path, status=UNPROCESSABLE)
        if f.size > hub.settings.max_file_size:
            raise HubHTTPError(413, f"File {f.path!r} has {f.size} bytes; this hub accepts files up to "
                               f"{hub.settings.max_file_size} bytes (HubSettings.max_file_size).")
        item: dict[str, Any] = {
            "path": f.path,
            "uploadMode": "lfs" if f.size > hub.settings.regular_max_size or (
                attributes is not None and attributes.is_lfs(f.path)) else "regular",
            "shouldIgnore": bool(ignore and ignore.ignored(f.path)),
        }
        existing = manifest.get(f.path)
        if existing is not None:
            # The client drops a file whose oid matches its own: sha256 for LFS, git blob id otherwise.
            item["oid"] = existing.sha256 if existing.lfs else existing.oid
        files.append(item)
    return JSONResponse({"files": files, "commitOid": commit.oid})


# -- commit -------------------------------------------------------------------------------------------
def _commit_sync(hub: Hub, request_base: str, repo: Repo, caller: Identity, ref: str, revision: str,
                 create_pr: bool, body: Any) -> dict[str, Any]:
    s = hub.settings
    max_line = (s.regular_max_size + 2) // 3 * 4 + 64 * 1024
    parsed = parse_commit(body, hub.content, max_line=max_line, max_regular=s.regular_max_size,
                          max_file=s.max_file_size, max_operations=s.max_commit_operations)
    # Make sure every LFS object is here and was uploaded through this repo (knowing a sha256 is not
    # enough to copy someone else's private file), and scan pickles, all before taking the write lock.
    lfs_entries: dict[str, FileEntry] = {}
    added: dict[str, FileEntry] = {}
    for op in parsed.operations:
        if op.kind == "add" and op.entry is not None:
            added[op.path] = op.entry
        elif op.kind == "lfs" and op.sha256 is not None:
            entry = hub.content.commit_entry(repo, op.sha256, op.size, op.path)
            lfs_entries[op.sha256] = entry
            added[op.path] = entry
    _scan_before_commit(hub, repo, ref, added)

    def build(head: str, head_manifest: dict[str, FileEntry]) -> NewCommit:
        # Inside the write transaction, which garbage collection also takes to delete: a blob that is here
        # now stays until this commit references it.
        gone = sorted(path for path, entry in added.items() if not hub.content.present(entry.sha256, entry.size))
        if gone:
            raise HubHTTPError(409, f"The content of {gone[0]!r} was removed from the hub while committing (garbage "
                               "collection of an upload left uncommitted for too long); upload it again.")
        if parsed.parent and not head.startswith(parsed.parent):
            raise HubHTTPError(412, f"{STALE_PARENT} parentCommit {parsed.parent} is not the head of {revision!r} "
                               f"({head}).")
        manifest, lfs = apply_operations(
            head_manifest, parsed.operations, repo_id=repo.repo_id, revision=revision,
            lfs_lookup=lambda path, sha, size: lfs_entries[sha],
        )
        return NewCommit(manifest, caller.name, parsed.summary, parsed.description, lfs)

    try:
        oid, num = hub.storage.commits.commit(repo, ref, build, create_pr=create_pr, pr_title=parsed.summary,
                                      pr_description=parsed.description, pr_author=caller.name)
    except LookupError:
        raise hub_branch_gone(repo, revision) from None
    url = f"{request_base}/{'' if repo.type == 'model' else repo.type + 's/'}{repo.repo_id}"
    return {"success": True, "commitOid": oid, "commitUrl": f"{url}/commit/{oid}",
            "commitMessage": parsed.summary, "hookOutput": "",
            "pullRequestUrl": f"{url}/discussions/{num}" if num is not None else None}


def _scan_before_commit(hub: Hub, repo: Repo, ref: str, added: dict[str, FileEntry]) -> None:
    """Scan the added files that hold pickles (by name, content or a weights index naming them), and files
    already in the branch that an added index now names as ``torch.load`` shards."""
    head = hub.storage.refs.target(repo, ref)
    manifest = {**(hub.manifest(repo, head) if head else {}), **added}
    shards = hub.pickle_shards(manifest)
    hub.content_scan_exts(added.values())  # sniff all new content at once (one database write)
    checked = {**added, **{p: manifest[p] for p in shards.difference(added) if p in manifest}}
    for path, entry in checked.items():
        hub.ensure_scanned(path, entry, shards)
    if hub.settings.unsafe_pickles == "refuse":
        _refuse_unsafe_pickles(hub, repo, checked, shards)


def _refuse_unsafe_pickles(hub: Hub, repo: Repo, files: dict[str, FileEntry], shards: set[str]) -> None:
    """400 when a file the commit adds (or makes a ``torch.load`` shard) is a pickle that runs code on load.

    The hub's policy (``HubSettings.unsafe_pickles``; README, "The hub"): a scan's marks are
    advice that the stock clients never read (``torch.load(weights_only=False)`` in training-resume code runs
    such a file on the spot), and no legitimate weights need ``os.system`` or ``eval``, so refusing costs
    nothing real and leaves no window in which the file is downloadable."""
    unsafe = {}
    for path, entry in files.items():
        _kind, scan = hub.scan_of(path, entry, shards)
        if scan is not None and scan.get("status") == "unsafe":
            unsafe[path] = scan.get("message", "")
    if unsafe:
        listed = "; ".join(f"{path!r}: {message}" for path, message in sorted(unsafe.items()))
        raise bad_request(
            f"Refused: {len(unsafe)} file(s) of this commit are pickles that would run code when loaded ({listed}). "
            f"This hub does not store them. Save the weights as safetensors (or a pickle of tensors only, "
            f"torch.save(model.state_dict())) and commit again.")


def hub_branch_gone(repo: Repo, revision: str) -> HubHTTPError:
    return HubHTTPError(404, f"Branch {revision!r} of {repo.repo_id!r} was deleted while committing.",
                        code="RevisionNotFound")


_NDJSON_LINE = {
    "type": "object", "required": ["key", "value"],
    "properties": {
        "key": {"type": "string", "enum": ["header", "file", "lfsFile", "deletedFile", "deletedFolder"]},
        "value": {"type": "object", "properties": {
            "summary": {"type": "string"}, "description": {"type": "string"}, "parentCommit": {"type": "string"},
            "path": {"type": "string"}, "content": {"type": "string"}, "encoding": {"type": "string"},
            "oid": {"type": "string"}, "algo": {"type": "string"}, "size": {"type": "integer"}}},
    },
}


@router.post(
    REPO + "/commit/{revision}", tags=["upload"], responses=answers(*MOVED, *READ, 403, 409, 412, 413, 422),
    openapi_extra={"requestBody": {"required": True, "content": {"application/x-ndjson": {"schema": {
        "type": "array", "items": _NDJSON_LINE, "minItems": 1,
        "contains": {"type": "object", "required": ["key", "value"], "properties": {
            "key": {"const": "header"}, "value": {"type": "object", "required": ["summary"], "properties": {
                "summary": {"type": "string", "pattern": "\\S"}}}}}, "maxContains": 1,
        "description": "sent as one JSON object per line: a header line, then one line per operation"}}}}},
)
async def commit(request: Request, repo_type: str, namespace: str, name: str, revision: str,
                 create_pr: str | None = None) -> JSONResponse:
    hub = hub_of(request)
    rev = seg(revision)
    pr = _flag(create_pr)

    def target() -> tuple[Repo, Identity, str]:
        repo, caller = hub.readable_repo(request, repo_type, namespace, name)
        ref = hub.branch_ref(repo, rev)
        if pr and not ref.startswith(BRANCH):
            raise bad_request(f"create_pr=1 needs a branch to open the pull request against, got {rev!r}.")
        return repo, require_commit_rights(hub.storage, caller, repo, ref, pr), ref

    repo, caller, ref = await run_in_threadpool(target)
    limit = hub.settings.max_file_size * 2
    # Buffer the body (to disk past 16 MiB) so parsing runs off the event loop with bounded memory.
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024, dir=hub.content.spool_dir) as spool:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise HubHTTPError(413, f"The commit request is larger than {limit} bytes; upload big files via LFS.")
            spool.write(chunk)
        spool.seek(0)
        result = await run_in_threadpool(_commit_sync, hub, hub.base_url(request), repo, caller, ref, rev, pr, spool)
    return JSONResponse(result)
