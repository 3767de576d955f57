"""``transformers.models.auto.image_processing_auto``: ``AutoImageProcessor`` and ``IMAGE_PROCESSOR_MAPPING(_NAMES)``."""

from __future__ import annotations

from modelyard.compat.transformers.models.auto._tables import declare_auto_module

__getattr__, __dir__ = declare_auto_module(
    globals(), ("AutoImageProcessor",), ("IMAGE_PROCESSOR_MAPPING", "IMAGE_PROCESSOR_MAPPING_NAMES", "CONFIG_MAPPING_NAMES")
)
