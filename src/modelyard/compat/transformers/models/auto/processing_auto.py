"""``transformers.models.auto.processing_auto``: ``AutoProcessor`` and ``PROCESSOR_MAPPING(_NAMES)``."""

from __future__ import annotations

from modelyard.compat.transformers.models.auto._tables import declare_auto_module

__getattr__, __dir__ = declare_auto_module(
    globals(), ("AutoProcessor",), ("PROCESSOR_MAPPING", "PROCESSOR_MAPPING_NAMES", "CONFIG_MAPPING_NAMES")
)
