"""``transformers.generation.stopping_criteria``: the stopping criteria."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare, entries_for
from modelyard.generation import _EXPORTS as _GENERATION

_STOPPING_CRITERIA = "modelyard.generation.stopping_criteria"
__getattr__, __dir__ = declare(
    globals(),
    {**entries_for(_GENERATION, _STOPPING_CRITERIA), "validate_stopping_criteria": _STOPPING_CRITERIA},
)
