"""What the hub's ASGI middlewares share: acting on HTTP requests only, and editing an answer's headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Headers = list[tuple[bytes, bytes]]


class HttpMiddleware:
    """An ASGI middleware for HTTP requests: other connections (the lifespan protocol) pass through untouched.

    Subclasses implement :meth:`handle`, which must call ``self.app`` (or answer by itself)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise NotImplementedError


def editing_headers(send: Any, edit: Callable[[Headers], None]) -> Any:
    """``send``, with ``edit`` applied to (a copy of) the response's headers before they go out."""

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            edit(headers)
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def with_header(send: Any, name: bytes, value: bytes) -> Any:
    """``send``, adding the header ``name: value`` to the response."""
    return editing_headers(send, lambda headers: headers.append((name, value)))
