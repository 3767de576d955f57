"""Text generation: ``GenerationMixin.generate()``, ``GenerationConfig``, logits processors, stopping criteria,
streamers and key/value caches, under the reference library's names.

The names load lazily (PEP 562): ``from modelyard.generation import GenerationConfig`` imports no torch.
"""

from __future__ import annotations

from modelyard._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Cache": "modelyard.generation.caches",
    "CacheLayerMixin": "modelyard.generation.caches",
    "DynamicCache": "modelyard.generation.caches",
    "DynamicLayer": "modelyard.generation.caches",
    "DynamicSlidingWindowLayer": "modelyard.generation.caches",
    "StaticCache": "modelyard.generation.caches",
    "StaticLayer": "modelyard.generation.caches",
    "StaticSlidingWindowLayer": "modelyard.generation.caches",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
