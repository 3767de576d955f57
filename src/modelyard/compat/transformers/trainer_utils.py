"""``transformers.trainer_utils``: ``set_seed`` (what remote code and scripts import from here)."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(globals(), {"set_seed": "modelyard.training.seed:set_seed"})
