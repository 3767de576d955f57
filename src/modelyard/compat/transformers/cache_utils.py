"""``transformers.cache_utils``: the key/value caches (Dynamic, Static, the legacy tuple format)."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "Cache": "modelyard.generation.caches",
        "CacheLayerMixin": "modelyard.generation.caches",
        "DynamicCache": "modelyard.generation.caches",
        "DynamicLayer": "modelyard.generation.caches",
        "DynamicSlidingWindowLayer": "modelyard.generation.caches",
        "EncoderDecoderCache": "modelyard.generation.caches",
        "StaticCache": "modelyard.generation.caches",
        "StaticLayer": "modelyard.generation.caches",
        "StaticSlidingWindowLayer": "modelyard.generation.caches",
    },
)
