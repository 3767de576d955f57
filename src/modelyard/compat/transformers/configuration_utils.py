"""``transformers.configuration_utils``: ``PretrainedConfig`` is modelyard's own class."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(globals(), {"PretrainedConfig": "modelyard.configuration"})
