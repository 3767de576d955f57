"""``transformers.models.auto.feature_extraction_auto``: ``AutoFeatureExtractor`` and ``FEATURE_EXTRACTOR_MAPPING(_NAMES)``."""

from __future__ import annotations

from modelyard.compat.transformers.models.auto._tables import declare_auto_module

__getattr__, __dir__ = declare_auto_module(
    globals(), ("AutoFeatureExtractor",), ("FEATURE_EXTRACTOR_MAPPING", "FEATURE_EXTRACTOR_MAPPING_NAMES", "CONFIG_MAPPING_NAMES")
)
