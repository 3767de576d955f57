"""The FastAPI application: routers, raw-path routing and the error contract.

Routing happens on the *raw* request path: the client percent-encodes revisions (``refs%2Fpr%2F1``) and
tree paths (``a%2Fb``) as single segments, which a decoded path would split. Handlers therefore receive
undecoded segments and decode each one with :func:`modelyard.server.service.seg`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelyard.server import (
    logredact,
    responses,
    routes_discussions,
    routes_files,
    routes_gating,
    routes_lfs,
    routes_lfs_direct,
    routes_listing,
    routes_maintenance,
    routes_repos,
    routes_social,
    routes_upload,
    web,
)
from modelyard.server.asgi import HttpMiddleware, with_header
from modelyard.server.config import HubSettings
from modelyard.server.errors import HubHTTPError, repo_not_found
from modelyard.server.request_ids import RequestIdMiddleware
from modelyard.server.service import Hub
from modelyard.server.xet import routes as xet_routes

iter_route_contexts: Callable[[Sequence[Any]], Iterator[Any]] | None
try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # FastAPI before 0.137 builds an included router's routes as it includes them
    iter_route_contexts = None

logger = logging.getLogger(__name__)


class RawPathMiddleware(HttpMiddleware):
    """Replace ``scope["path"]`` by the undecoded request path (see module docstring), and echo the client's
    ``X-Amzn-Trace-Id`` as ``X-Request-Id`` so the client's error messages name the request."""

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raw = scope.get("raw_path")
        if raw:
            path = raw.decode("utf-8", "surrogateescape").split("?", 1)[0]
        else:
            path = quote(scope["path"], safe="/:@!$&'()*+,;=-._~")
        scope = {**scope, "path": path}
        trace = next((v for k, v in scope.get("headers", ()) if k == b"x-amzn-trace-id"), None)
        if trace is not None and len(trace) <= 200:
            send = with_header(send, b"x-request-id", trace)
        await self.app(scope, receive, send)


_STRUCTURED = (b"application/json", b"application/vnd.git-lfs+json", b"application/x-www-form-urlencoded",
               b"multipart/form-data")


class BodyLimitMiddleware(HttpMiddleware):
    """Refuse JSON and form bodies larger than ``limit`` bytes with 413 (they are parsed in memory); raw
    uploads (LFS transfers, the NDJSON commit) have their own, larger limits in their routes."""

    def __init__(self, app: Any, limit: int) -> None:
        super().__init__(app)
        self.limit = limit

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers", ()))
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type not in _STRUCTURED:
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        # Read the whole body here (the route would hold it in memory anyway), so an oversized chunked body
        # gets a 413 rather than a parse error.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
        await self.app(scope, _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}],
                                      receive), send)

    def _message(self) -> str:
        return (f"The request body is larger than {self.limit} bytes, the limit for JSON and form bodies "
                "(HubSettings.json_body_limit); send less per request.")

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await HubHTTPError(413, self._message()).response()(scope, receive, send)


def _replay(messages: list[dict[str, Any]], then: Any = None) -> Any:
    """An ASGI ``receive`` that hands out ``messages`` first, then defers to ``then`` (disconnect waits)."""
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


_PARAM = re.compile(r"\{[^}]*\}")
_BUCKETS = re.compile(r"^/api/buckets(/|$)")
# A repository id without a namespace ("gpt2"): no route takes one, but the client must read "not found".
_NO_NAMESPACE = re.compile(
    r"^/api/(?:models|datasets|spaces)/([^/]+)(?:/(?:revision|tree|paths-info|refs|commits|treesize|preupload|commit|"
    r"discussions|settings|xet-read-token|xet-write-token|branch|tag|lfs-files|like|likers|auth-check|"
    r"super-squash)(?:/.*)?)?$"
    r"|^/(?:datasets/|spaces/)?([^/]+)/resolve/")


def _not_offered(request: Request) -> HubHTTPError | None:
    """The answer for paths no route takes but the client expects a specific error from: Storage Buckets (not
    offered here: 404, which the client reads as "bucket not found") and repository ids without a namespace
    (404 RepoNotFound, so ``repo_exists`` and ``file_exists`` answer False)."""
    path = request.scope["path"]
    if _BUCKETS.match(path):
        return HubHTTPError(404, "Storage Buckets (/api/buckets) are not offered by this hub; store files in a model "
                                 "or dataset repository instead.", code="RepoNotFound")
    match = _NO_NAMESPACE.match(path)
    if match:
        name = match.group(1) or match.group(2)
        return repo_not_found(name, anonymous="authorization" not in request.headers,
                              detail=" Repository ids on this hub are 'namespace/name'.")
    return None


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods of the API route template that ``path`` names (empty when none does).

    Several templates may match one path (``/_lfs/.../verify`` and ``/_lfs/.../{oid}``): the one with the most
    literal text is the resource meant, as in the schema; Starlette would advertise the first match's methods."""
    routes = [c.route for c in iter_route_contexts(app.routes)] if iter_route_contexts else app.routes
    matching = [r for r in routes if isinstance(r, APIRoute) and r.include_in_schema and r.path_regex.match(path)]
    if not matching:
        return []
    best = max(matching, key=lambda r: len(_PARAM.sub("", r.path)))
    return sorted({m for r in matching if r.path == best.path for m in r.methods or ()})


def resolve_routes(app: FastAPI) -> int:
    """Build every route's request handling now (returns how many routes there are).

    FastAPI 0.137+ defers the parameter models and validators of an included router's routes to the first
    request that reaches them: about 150 ms for this app's routers on a small machine, paid by whoever comes
    first after a start. The OpenAPI schema builder walks the routes the same way.
    """
    if iter_route_contexts is None:
        return len(app.routes)
    return sum(1 for _ in iter_route_contexts(app.routes))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The one-time work of a fresh app, done before the server accepts requests (uvicorn runs the start-up
    of the lifespan before it listens): the routes' request handling, the page templates, the lexers and the
    YAML parser the pages use. The first visitor after a restart then pays only for what it reads."""
    resolve_routes(app)
    web.warm_up()
    yield


def create_app(settings: HubSettings | None = None) -> FastAPI:
    """Build the hub app over ``settings.data_dir`` (created if missing; stale upload temp files removed)."""
    settings = settings or HubSettings.from_env()
    logredact.install()
    hub = Hub(settings)
    hub.store.clean_tmp()
    app = FastAPI(title="modelyard hub", version="1", summary="A self-hosted model hub speaking the Hugging Face "
                  "Hub HTTP API used by huggingface_hub.", lifespan=_lifespan)
    app.state.hub = hub

    @app.exception_handler(HubHTTPError)
    async def _hub_error(request: Request, exc: HubHTTPError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return HubHTTPError(400, _validation_message(exc)).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code in (404, 405):
            not_here = _not_offered(request)
            if not_here is not None:
                return not_here.response()
            allowed = allowed_methods(request.app, request.scope["path"])
            if allowed and request.method not in allowed:
                return HubHTTPError(405, f"Method {request.method} is not allowed on {request.url.path}; it answers "
                                    f"{', '.join(allowed)}.", headers={"Allow": ", ".join(allowed)}).response()
        if exc.status_code == 404:
            message = f"Not found: no route for {request.method} {request.url.path}."
        return HubHTTPError(exc.status_code, message, headers=getattr(exc, "headers", None)).response()

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return HubHTTPError(500, f"Internal server error ({type(exc).__name__}); see the hub's log.").response()

    @app.get("/api/health", tags=["misc"])
    def health() -> JSONResponse:
        report = hub.health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    # routes_social first: /api/users/{u}/likes would otherwise be read as repo info of a repo "users/{u}/likes".
    for module in (routes_social, routes_maintenance, routes_listing, routes_repos, routes_upload, routes_discussions,
                   routes_gating, routes_lfs, routes_lfs_direct, xet_routes, routes_files):
        app.include_router(module.router)
    web.install(app)  # after the API routes: the pages' /{namespace}/{name} paths must not shadow them
    responses.honest_openapi(app)
    app.add_middleware(BodyLimitMiddleware, limit=settings.json_body_limit)
    app.add_middleware(RawPathMiddleware)
    app.add_middleware(RequestIdMiddleware)  # outermost: every log line of the request carries its id
    return app
