"""Who is looking at a page, cross-site request forgery protection, and the security headers.

* **Sessions.** Signing in trades an access token for a random session id in the ``myd_session`` cookie
  (HttpOnly, SameSite=Lax, Secure when the hub is reached over TLS); the database keeps only its sha256,
  bound to the token, so revoking the token ends the session. The HTTP API never reads this cookie: it
  authenticates with ``Authorization`` headers only, so a cookie cannot make an API call on a user's behalf.
* **CSRF.** Every form that changes something carries a token that is an HMAC (the hub's secret) of the
  ``myd_csrf`` cookie and the session; a POST without the matching token, or sent from another origin
  (``Origin`` / ``Sec-Fetch-Site``), is refused with 403. Another site can neither read the cookie nor the
  token, so it cannot forge the form.
* **Headers.** Pages send a Content-Security-Policy without inline scripts (scripts come from /static), no
  framing and no foreign form targets. Every other answer of the hub (API JSON, file bytes from /resolve/)
  gets ``Content-Security-Policy: sandbox``, so an HTML or SVG file uploaded to a repository and opened
  from its download link cannot run script on the hub's origin (where it could use the session).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from modelyard.server.asgi import Headers, HttpMiddleware, editing_headers
from modelyard.server.service import hub_of
from modelyard.server.storage import Identity, Session

SESSION_COOKIE = "myd_session"
CSRF_COOKIE = "myd_csrf"
CSRF_FIELD = "csrf_token"
SESSION_TTL = 14 * 86400
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
CONTENT_CSP = "default-src 'none'; sandbox"
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class PageError(Exception):
    """An error shown as an HTML page: status, one-line title and an explanation."""

    def __init__(self, status: int, title: str, message: str = "") -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message


def over_tls(request: Request) -> bool:
    public = hub_of(request).settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=over_tls(request))


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=over_tls(request))


# -- sessions -----------------------------------------------------------------------------------------
def current_session(request: Request) -> Session | None:
    """The session behind the request's cookie (looked up once per request)."""
    if not hasattr(request.state, "web_session"):
        value = request.cookies.get(SESSION_COOKIE)
        request.state.web_session = hub_of(request).storage.sessions.get(value) if value and len(value) < 200 else None
    return request.state.web_session


def caller(request: Request) -> Identity | None:
    """Who is asking: an ``Authorization`` header (scripts, curl) wins; otherwise the signed-in session."""
    if request.headers.get("authorization"):
        return hub_of(request).caller(request)
    session = current_session(request)
    return session.identity if session else None


def start_session(request: Request, response: Response, token: str) -> bool:
    storage = hub_of(request).storage
    value = storage.sessions.create(token, SESSION_TTL)
    if value is None:
        return False
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # signing in again replaces the session: the old cookie value must not stay valid
        storage.sessions.delete(previous)
    set_cookie(request, response, SESSION_COOKIE, value, max_age=SESSION_TTL)
    # A fresh CSRF secret with the new session: a token planted before sign-in is useless after it.
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24), max_age=None)
    return True


def end_session(request: Request, response: Response) -> None:
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        hub_of(request).storage.sessions.delete(value)
    clear_cookie(request, response, SESSION_COOKIE)


# -- CSRF ---------------------------------------------------------------------------------------------
def _csrf_secret(request: Request) -> str:
    """The request's CSRF cookie value, or a new one that :func:`remember_csrf` will set on the response."""
    value = request.cookies.get(CSRF_COOKIE)
    if not value or len(value) > 100:
        value = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(24)
        request.state.new_csrf = value
    return value


def csrf_token(request: Request) -> str:
    """The token forms on this page carry (bound to the CSRF cookie and the session cookie)."""
    session = request.cookies.get(SESSION_COOKIE, "")
    message = f"csrf\x1f{_csrf_secret(request)}\x1f{hashlib.sha256(session.encode()).hexdigest()}"
    return hmac.new(hub_of(request).secret, message.encode(), hashlib.sha256).hexdigest()


def remember_csrf(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new and not request.cookies.get(CSRF_COOKIE):
        set_cookie(request, response, CSRF_COOKIE, new, max_age=None)


def own_origin(request: Request) -> str:
    public = hub_of(request).settings.public_url
    parts = urlsplit(public) if public else urlsplit(str(request.base_url))
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse (403) a state-changing form that did not come from one of this hub's pages."""
    origin = request.headers.get("origin")
    if origin and origin.lower() != own_origin(request) and origin.lower() != _request_origin(request):
        raise PageError(403, "Request refused", f"This form was sent from {origin}, not from this hub's pages.")
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise PageError(403, "Request refused", "This form was sent from another site.")
    if not request.cookies.get(CSRF_COOKIE) or not submitted or not hmac.compare_digest(
            submitted, csrf_token(request)):
        raise PageError(403, "Request refused: the form's security token is missing or stale",
                        "Reload the page and submit the form again (cookies must be enabled).")


def _request_origin(request: Request) -> str:
    parts = urlsplit(str(request.base_url))
    return f"{parts.scheme}://{parts.netloc}".lower()


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after signing in (never another site: ``//host``, ``/\\host``, ``http:``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or any(
            ord(c) < 0x20 for c in target):
        return default
    return target


# -- headers on every answer --------------------------------------------------------------------------
class SecurityHeadersMiddleware(HttpMiddleware):
    """``nosniff`` everywhere; a sandboxing CSP on every answer that is not a page (see module docstring),
    except the ``exempt`` paths (FastAPI's own API documentation pages, which need their inline scripts)."""

    def __init__(self, app: Any, exempt: frozenset[str] = frozenset()) -> None:
        super().__init__(app)
        self.exempt = exempt

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        def add_missing(headers: Headers) -> None:
            names = {k.lower() for k, _ in headers}
            if b"content-security-policy" not in names and scope.get("path") not in self.exempt:
                headers.append((b"content-security-policy", CONTENT_CSP.encode()))
            if b"x-content-type-options" not in names:
                headers.append((b"x-content-type-options", b"nosniff"))

        await self.app(scope, receive, editing_headers(send, add_missing))
