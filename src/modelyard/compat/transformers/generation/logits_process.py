"""``transformers.generation.logits_process``: the logits processors."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare, entries_for
from modelyard.generation import _EXPORTS as _GENERATION

# LogitsWarper: the base class of warpers in releases before 4.46; remote code written then still imports it
_LEGACY = frozenset({"LogitsWarper"})
__getattr__, __dir__ = declare(globals(), entries_for(_GENERATION, "modelyard.generation.logits_process"))
