"""Jinja2 templates (autoescaped) and the static files the pages use, all served by the hub itself."""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from modelyard.server.service import hub_of
from modelyard.server.web import render, security

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str


def _load_assets() -> dict[str, Asset]:
    assets = {}
    for path in sorted((HERE / "static").iterdir()):
        if path.is_file():
            body = path.read_bytes()
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            assets[path.name] = Asset(body, media, hashlib.sha256(body).hexdigest()[:12])
    css = render.stylesheet().encode()
    assets["highlight.css"] = Asset(css, "text/css", hashlib.sha256(css).hexdigest()[:12])
    return assets


ASSETS = _load_assets()


def asset_response(name: str, version: str | None) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        raise security.PageError(404, "Not found", f"There is no static file {name!r}.")
    # Versioned URLs (?v=<hash>, what the pages link to) never change: cache them for a year.
    cache = "public, max-age=31536000, immutable" if version == asset.version else "public, max-age=300"
    media = asset.media_type + ("; charset=utf-8" if asset.media_type.startswith(("text/", "application/javascript"))
                                else "")
    return Response(asset.body, media_type=media, headers={"Cache-Control": cache, "ETag": f'"{asset.version}"'})


def url_prefix(request: Request) -> str:
    """The path the hub is served under (non-empty behind a proxy whose public URL has a path)."""
    return urlsplit(hub_of(request).base_url(request)).path.rstrip("/")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filesize=render.filesize, count=render.count, iso_date=render.iso_date, ago=render.ago,
                       q=lambda value: quote(str(value), safe=""), qpath=lambda value: quote(str(value), safe="/"))
    return env


ENV = _environment()
_warm_lock = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Compile every template and import what the first pages would (YAML for cards, Pygments lexers) once
    per process, so the first visitors do not pay for it (about half a second on a small machine). The app's
    lifespan calls this before the server accepts requests."""
    global _warmed
    with _warm_lock:
        if _warmed:
            return
        for name in ENV.list_templates():
            ENV.get_template(name)
        from modelyard.server.cards import card_metadata

        card_metadata("---\nlicense: mit\n---\n")
        render.highlight_file("warm.py", "x = 1\n")
        render.highlight_json("warm.json", "{}")
        _warmed = True


def page(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
         headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render ``template`` with what every page needs (who is signed in, the CSRF token, URL helpers)."""
    prefix = url_prefix(request)
    session = security.current_session(request) if not request.headers.get("authorization") else None
    values = {
        "viewer": security.caller(request) if request.headers.get("authorization") else (
            session.identity if session else None),
        "csrf": security.csrf_token(request),
        "csrf_field": security.CSRF_FIELD,
        "root": prefix,
        "static": lambda name: f"{prefix}/static/{name}?v={ASSETS[name].version}",
        "request_path": request.url.path,
        **context,
    }
    body = ENV.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status, headers={**security.PAGE_HEADERS, **(headers or {})})
    security.remember_csrf(request, response)
    return response


def error_page(request: Request, status: int, title: str, message: str = "") -> HTMLResponse:
    try:
        return page(request, "error.html", {"status": status, "title": title, "message": message}, status=status)
    except Exception:  # a broken session lookup must still produce an error page
        return HTMLResponse(f"<!doctype html><title>{status}</title><h1>{status}</h1>", status_code=status,
                            headers=security.PAGE_HEADERS)
