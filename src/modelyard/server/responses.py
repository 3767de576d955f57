"""What the routes answer, declared for the OpenAPI schema (``/openapi.json``).

Every error is ``{"error": "<message>"}`` (some add fields, e.g. ``url`` on a 409 from repo creation) with
the ``X-Error-Message`` header and, where the client maps it to an exception, ``X-Error-Code``. Each route
lists the statuses it really returns with :func:`answers`; FastAPI's automatic 422 is removed by
:func:`honest_openapi`, since validation errors are answered 400 here (a route's own 422, for paths a repository
cannot hold, stays). ``tests/server/test_hub_schemathesis.py``
checks the declarations against the running app.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict


class ErrorBody(BaseModel):
    """The body of every error answer."""

    model_config = ConfigDict(extra="allow")
    error: str


_ERROR_HEADERS = {
    "X-Error-Message": {"description": "the error message, on one line", "schema": {"type": "string"}},
    "X-Error-Code": {"description": "RepoNotFound, RevisionNotFound, EntryNotFound or GatedRepo, when it is one of "
                                    "those (huggingface_hub maps them to exceptions)", "schema": {"type": "string"}},
}
DESCRIPTIONS = {
    206: "Partial content: the byte range asked for with Range",
    307: "The repository was moved (renamed or transferred): Location is the same URL under its new name",
    400: "Malformed request: invalid parameters, names, paths, percent-escapes or body",
    401: "No or invalid token; also a private repository asked for anonymously (X-Error-Code: RepoNotFound), "
         "or an expired signed link",
    403: "The token may not do this (read-only token, foreign namespace, bad link signature)",
    404: "Not found: repository, revision or file (see X-Error-Code), or an unknown repository type",
    409: "Conflict: the repository, branch or tag already exists (or a blob being committed was removed meanwhile)",
    412: "parentCommit is not the head of the branch any more: refresh and retry",
    413: "The request, a file or a commit is larger than this hub accepts",
    416: "The Range asked for lies outside the file",
    422: "A file path a repository cannot hold (absolute, '..', backslash, '.git', control characters), at preupload "
         "and commit, as the Hugging Face Hub answers",
}


_ERROR_SCHEMA = ErrorBody.model_json_schema()


def _error(code: int) -> dict[str, Any]:
    # Inline schema and explicit media type: errors are application/json also on routes whose successful
    # answers are something else (LFS JSON, file bytes).
    return {"description": DESCRIPTIONS[code], "headers": _ERROR_HEADERS,
            "content": {"application/json": {"schema": _ERROR_SCHEMA}}}


FILE_BYTES = {"description": "The file's bytes (Content-Type guessed from its name)", "content": {"*/*": {}}}


def answers(*codes: int, plain_text: tuple[int, ...] = (), ok: dict[str, Any] | None = None
            ) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the error statuses it returns (``plain_text`` ones may also come as text,
    e.g. Starlette's own range errors on file downloads) and, with ``ok``, its 200 answer."""
    out: dict[int | str, dict[str, Any]] = {200: ok} if ok else {}
    for code in codes:
        if code == 206:
            out[code] = {"description": DESCRIPTIONS[code], "content": {"*/*": {}}}
            continue
        out[code] = _error(code)
        if code in plain_text:
            out[code]["content"] = {**out[code]["content"], "text/plain": {"schema": {"type": "string"}}}
    return out


# Shorthands for the common shapes.
READ = (400, 401, 404)  # a repo route: bad input, token, repo/revision not found
MOVED = (307,)  # routes that look the repo up by name follow renames


def honest_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` drop the 422 answers FastAPI adds by itself (this hub answers 400 instead)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.get("422", {}).get("description") == "Validation Error":  # FastAPI's own, not ours
                    responses.pop("422")
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


class BlobResponse(FileResponse):
    # Larger reads than Starlette's 64 KiB: fewer thread hops per GiB on big downloads.
    chunk_size = 1024 * 1024
