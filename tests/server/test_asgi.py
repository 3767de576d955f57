"""The ASGI pieces the hub's middlewares share (``server.asgi``)."""

from __future__ import annotations

import asyncio
from typing import Any

from modelyard.server.asgi import HttpMiddleware, editing_headers, with_header


class _Tagging(HttpMiddleware):
    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app({**scope, "tagged": True}, receive, send)


def _run(middleware: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope)

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(middleware(app)(scope, receive, send))
    return seen


def test_only_http_requests_reach_handle() -> None:
    assert _run(_Tagging, {"type": "http", "path": "/"}) == [{"type": "http", "path": "/", "tagged": True}]
    assert _run(_Tagging, {"type": "lifespan"}) == [{"type": "lifespan"}]


def _sent_through(wrap: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def answer() -> None:
        wrapped = wrap(send)
        await wrapped({"type": "http.response.start", "status": 200, "headers": [(b"a", b"1")]})
        await wrapped({"type": "http.response.body", "body": b"x"})

    asyncio.run(answer())
    return sent


def test_with_header_adds_to_the_response_start_only() -> None:
    sent = _sent_through(lambda send: with_header(send, b"x-request-id", b"42"))
    assert sent == [{"type": "http.response.start", "status": 200, "headers": [(b"a", b"1"), (b"x-request-id", b"42")]},
                    {"type": "http.response.body", "body": b"x"}]


def test_editing_headers_edits_a_copy() -> None:
    original = [(b"a", b"1")]
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    start = {"type": "http.response.start", "status": 200, "headers": original}
    asyncio.run(editing_headers(send, lambda headers: headers.clear())(start))
    assert sent[0]["headers"] == [] and original == [(b"a", b"1")] and start["headers"] is original
