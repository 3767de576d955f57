"""A request id on every log line a request causes, and on its answer (``X-Request-Id``).

The id is the client's or proxy's ``X-Amzn-Trace-Id`` when it sends one (what the Hugging Face Hub echoes, and
what ``deploy/nginx.conf`` sets from nginx's ``$request_id``), else a fresh one; :class:`RequestIdFilter`
puts it on each log record as ``request_id`` ("-" outside requests), for the text format and for
:class:`JsonFormatter`'s one-JSON-object-per-line logs (``MODELYARD_HUB_LOG_FORMAT=json``).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from contextvars import ContextVar
from typing import Any

from modelyard.server.asgi import HttpMiddleware, with_header

REQUEST_ID: ContextVar[str] = ContextVar("modelyard_request_id", default="-")
_MAX_ID = 200


class RequestIdMiddleware(HttpMiddleware):
    """Set :data:`REQUEST_ID` for the request and answer it as ``X-Request-Id``."""

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        given = next((v for k, v in scope.get("headers", ()) if k == b"x-amzn-trace-id"), None)
        if given is not None and len(given) <= _MAX_ID:
            request_id = given.decode("latin-1")  # echoed as X-Request-Id by RawPathMiddleware already
            wrapped = send
        else:
            request_id = uuid.uuid4().hex
            wrapped = with_header(send, b"x-request-id", request_id.encode())

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, wrapped)
        finally:
            REQUEST_ID.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (the current request's id, "-" outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "logger": record.name,
                 "request_id": getattr(record, "request_id", REQUEST_ID.get()), "message": record.getMessage()}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
