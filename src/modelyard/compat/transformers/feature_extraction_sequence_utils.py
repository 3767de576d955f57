"""``transformers.feature_extraction_sequence_utils``."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {"SequenceFeatureExtractor": "modelyard.feature_extraction", "BatchFeature": "modelyard.feature_extraction"},
)
