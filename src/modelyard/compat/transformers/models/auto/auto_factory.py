"""``transformers.models.auto.auto_factory``: ``get_values`` (the helper third-party code imports from here)."""

from __future__ import annotations

from modelyard.compat.transformers.models.auto._tables import declare_auto_module

__getattr__, __dir__ = declare_auto_module(globals(), (), (), functions=("get_values",))
