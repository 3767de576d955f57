"""modelyard's self-hosted model hub: the Hugging Face Hub HTTP API subset that ``huggingface_hub`` uses.

Start it with ``modelyard hub serve`` or :func:`modelyard.server.serve.serve`; build the ASGI app with
:func:`modelyard.server.app.create_app`. Nothing here imports torch.
"""

from __future__ import annotations

from modelyard.server.config import HubSettings

__all__ = ["HubSettings"]
