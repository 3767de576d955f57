"""``transformers.feature_extraction_utils``."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {"FeatureExtractionMixin": "modelyard.feature_extraction", "BatchFeature": "modelyard.feature_extraction"},
)
