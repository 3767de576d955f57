"""Run the hub with uvicorn."""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import logging
import sys
from typing import Any

from modelyard.server.config import HubSettings

logger = logging.getLogger(__name__)

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_allocator() -> bool:
    """Keep freed request buffers in the heap instead of handing them back to the OS after every chunk.

    An upload arrives as thousands of ~256 KiB ``bytes`` chunks. With glibc's defaults each one is an
    ``mmap`` or is trimmed off the heap top when freed, so every chunk lands in fresh pages: a page fault
    per 4 KiB (expensive under virtualisation). Fixed thresholds let the heap keep and reuse that memory
    (at most 64 MiB stays held). Returns False where the C library is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, 4 * 1024 * 1024) and mallopt(_M_TRIM_THRESHOLD, 64 * 1024 * 1024))


def serve(settings: HubSettings, *, log_level: str = "info", access_log: bool = True) -> None:
    """Serve until interrupted (blocking)."""
    import uvicorn

    from modelyard.server.app import create_app

    if not tune_allocator():
        logger.debug("allocator thresholds left at their defaults (not glibc)")
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, access_log=access_log,
                timeout_keep_alive=30, log_config=log_config(log_level, json_lines=settings.log_format == "json"))


def log_config(level: str = "info", *, json_lines: bool = False) -> dict[str, Any]:
    """uvicorn's logging configuration, with secrets redacted by every handler, each line tagged with the id of
    the request it belongs to (``request_ids``), and the hub's own loggers (``modelyard.server.*``) printed like
    uvicorn's; ``json_lines``: one JSON object per line instead."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "modelyard.server.logredact.RedactSecrets"},
                         "request_id": {"()": "modelyard.server.request_ids.RequestIdFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "request_id", "redact"]
    for formatter in config["formatters"].values():
        if json_lines:
            formatter.clear()
            formatter["()"] = "modelyard.server.request_ids.JsonFormatter"
        elif "fmt" in formatter:
            formatter["fmt"] = formatter["fmt"].replace("%(levelprefix)s", "%(levelprefix)s [%(request_id)s]")
    config["loggers"]["modelyard"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config
