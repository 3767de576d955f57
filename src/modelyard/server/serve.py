"""Run the hub with uvicorn."""

from __future__ import annotations

import logging

from modelyard.server.config import HubSettings

logger = logging.getLogger(__name__)


def serve(settings: HubSettings, *, log_level: str = "info", access_log: bool = True) -> None:
    """Serve until interrupted (blocking)."""
    import uvicorn

    from modelyard.server.app import create_app

    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, access_log=access_log,
                timeout_keep_alive=30)
