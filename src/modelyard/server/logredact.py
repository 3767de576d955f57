"""Keep credentials out of the hub's logs.

Signed LFS links carry their credential in the query string (``?exp=...&sig=...``: anyone holding a valid
one may upload, or download a private object), and clients may put tokens in URLs (``?token=``) or in
messages that end up in tracebacks. :class:`RedactSecrets` rewrites every log record that passes through it:
the message, its string arguments (uvicorn's access log passes the request path as one) and a traceback.

:func:`install` puts the filter on the loggers the hub writes through (uvicorn's access and error loggers,
``modelyard.server.*``) and on the root logger's handlers; :func:`modelyard.server.serve.serve` also adds it
to every handler of the logging configuration it gives uvicorn.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[REDACTED]"
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:sig|signature|exp|token|access_token|api_key|apikey|password|x-amz-signature|x-amz-credential)=)"
    r"[^&;\s\"'#]*")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+|%20)[A-Za-z0-9._~+/=\-]{6,}")
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n,}]+")
_TOKEN_SHAPE = re.compile(r"\b(myd|hf|api_org)_[A-Za-z0-9]{8,}")


def redact(text: str) -> str:
    """``text`` with signed-link signatures, expiries and tokens replaced by ``[REDACTED]``."""
    if not text:
        return text
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _TOKEN_SHAPE.sub(lambda m: f"{m.group(1)}_{REDACTED}", text)


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    """A logging filter that redacts secrets in place and lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactSecrets()
LOGGER_NAMES = ("uvicorn", "uvicorn.error", "uvicorn.access", "modelyard.server")


def install() -> None:
    """Add the filter to the hub's loggers (each module's, since logger filters do not apply to children)
    and to the handlers of the root logger. Idempotent."""
    names = list(LOGGER_NAMES)
    names += [n for n in logging.Logger.manager.loggerDict if n.startswith("modelyard.server.")]
    loggers = [logging.getLogger(n) for n in names]
    for target in [*loggers, *logging.getLogger().handlers]:
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
