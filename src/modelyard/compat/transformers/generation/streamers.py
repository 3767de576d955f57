"""``transformers.generation.streamers``: the text streamers."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "BaseStreamer": "modelyard.generation.streamers",
        "TextIteratorStreamer": "modelyard.generation.streamers",
        "TextStreamer": "modelyard.generation.streamers",
    },
)
