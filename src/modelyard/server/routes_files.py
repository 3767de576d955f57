"""File downloads: ``HEAD``/``GET /{repo}/resolve/{revision}/{path}`` (and ``/datasets/``, ``/spaces/``).

The route finds the file in the commit; the content gateway (``hub.content``) answers with its bytes, or for
an LFS file on the S3 store a redirect to a presigned GET, with the headers ``hf_hub_download`` reads:
``X-Repo-Commit`` (the 40-hex commit, on every answer including 404 EntryNotFound so the client caches the
miss), ``ETag`` (git blob id), and for LFS files ``X-Linked-Etag`` (the sha256, which the client prefers) and
``X-Linked-Size``. Range requests get 206. Files uploaded through Xet also carry ``X-Xet-Hash`` and a ``Link:
<...>; rel="xet-auth"`` to the repo's xet-read-token route, which Xet clients follow to download from the CAS;
everyone else gets the bytes here, rebuilt from the xorbs when no LFS blob holds them. A request for a
model's root ``config.json`` (or the other query files below) counts as one download. A gated repository's
files (all but its README.md and .gitattributes) answer ``GatedRepo`` to callers without access.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from modelyard.server.auth import require_gate_access
from modelyard.server.errors import entry_not_found
from modelyard.server.paths import PATH_SCHEMA, check_path_in_repo
from modelyard.server.responses import FILE_BYTES, MOVED, READ, answers
from modelyard.server.service import hub_of, seg

router = APIRouter()
_PR_PATH = re.compile(r"(pr/\d+)/(.+)")
# A GET or HEAD of one of these counts as a download of the model, as on the Hugging Face Hub (one per load,
# however many weight shards it reads).
DOWNLOAD_QUERY_FILES = frozenset({"config.json", "config.yaml", "hyperparams.yaml", "meta.yaml"})


def _resolve(request: Request, repo_type: str, namespace: str, name: str, revision: str, path: str) -> Response:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    rev, filename = seg(revision), seg(path)
    # An unencoded "refs/pr/1" arrives split over the revision and the path.
    if rev == "refs" and (match := _PR_PATH.fullmatch(filename)):
        rev, filename = f"refs/{match.group(1)}", match.group(2)
    require_gate_access(hub.storage, caller, repo, filename)
    commit = hub.resolve(repo, rev)
    check_path_in_repo(filename)
    entry = hub.manifest(repo, commit).get(filename)
    if entry is None:
        raise entry_not_found(repo.repo_id, rev, filename, commit=commit)
    if repo.type == "model" and filename in DOWNLOAD_QUERY_FILES:
        hub.storage.downloads.record(repo)
    headers = {"X-Repo-Commit": commit, "ETag": f'"{entry.oid}"', "Cache-Control": "private, max-age=0"}
    # Xet clients fetch a file stored through Xet from the CAS, with a token from this route
    xet_auth = f"{hub.base_url(request)}/api/{repo.type}s/{repo.repo_id}/xet-read-token/{commit}"
    return hub.content.file_response(request, repo, entry, filename, headers, xet_auth_url=xet_auth)


def resolve(request: Request, namespace: str, name: str, revision: str,
            path: str = Path(json_schema_extra=PATH_SCHEMA)) -> Response:
    return _resolve(request, "models", namespace, name, revision, path)


def resolve_typed(request: Request, prefix: str, namespace: str, name: str, revision: str,
                  path: str = Path(json_schema_extra=PATH_SCHEMA)) -> Response:
    return _resolve(request, prefix, namespace, name, revision, path)


FILE_ANSWERS = answers(206, *MOVED, *READ, 416, plain_text=(400, 416), ok=FILE_BYTES)
for _method in ("GET", "HEAD"):
    router.add_api_route("/{namespace}/{name}/resolve/{revision}/{path:path}", resolve, methods=[_method],
                         tags=["files"], operation_id=f"resolve_model_file_{_method.lower()}", responses=FILE_ANSWERS,
                         response_class=Response)
    router.add_api_route("/{prefix}/{namespace}/{name}/resolve/{revision}/{path:path}", resolve_typed,
                         methods=[_method], tags=["files"], operation_id=f"resolve_file_{_method.lower()}", responses=FILE_ANSWERS,
                         response_class=Response)
