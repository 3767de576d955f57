"""``transformers.models.auto.configuration_auto``: ``AutoConfig`` and ``CONFIG_MAPPING(_NAMES)``."""

from __future__ import annotations

from modelyard.compat.transformers.models.auto._tables import declare_auto_module

__getattr__, __dir__ = declare_auto_module(
    globals(), ("AutoConfig",), ("CONFIG_MAPPING", "CONFIG_MAPPING_NAMES")
)
