"""``transformers.image_processing_utils``."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {"BaseImageProcessor": "modelyard.image_processing", "BatchFeature": "modelyard.feature_extraction"},
)
