"""The hub's web front end: server-rendered pages for people, beside the HTTP API for clients.

``install(app)`` adds the pages (``routes``; discussions and gated access in ``community_pages``), the security headers (``security``) and HTML error pages for
browsers; templates live in ``templates/``, the stylesheet and the two small scripts (copy buttons, search
suggestions) in ``static/``. Nothing is loaded from another site, so the pages work offline.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelyard.server.web.routes import not_found_page, router, wants_page
from modelyard.server.web.security import SecurityHeadersMiddleware
from modelyard.server.web.templating import warm_up


def install(app: FastAPI) -> None:
    """Register the pages after the API routes (so API paths always win) and their error pages."""
    from modelyard.server.web.community_pages import router as community_router  # imports the API's helpers

    app.include_router(community_router)
    app.include_router(router)
    api_handler = app.exception_handlers[StarletteHTTPException]

    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if exc.status_code == 404 and wants_page(request):
            return await run_in_threadpool(not_found_page, request)
        return await api_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)
    docs = frozenset(p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p)
    app.add_middleware(SecurityHeadersMiddleware, exempt=docs)


__all__ = ["install", "warm_up"]
