"""``transformers.generation.configuration_utils``: GenerationConfig."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "GenerationConfig": "modelyard.generation.configuration_utils",
        "GenerationMode": "modelyard.generation.configuration_utils",
    },
)
