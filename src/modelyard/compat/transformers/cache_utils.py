"""``transformers.cache_utils``: the key/value caches (Dynamic, Static, the legacy tuple format)."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare, entries_for
from modelyard.generation import _EXPORTS as _GENERATION

__getattr__, __dir__ = declare(globals(), entries_for(_GENERATION, "modelyard.generation.caches"))
