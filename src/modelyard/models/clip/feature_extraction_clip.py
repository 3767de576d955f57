"""``CLIPFeatureExtractor``: the older name of :class:`CLIPImageProcessor`, which files and code still use."""

from __future__ import annotations

from modelyard.models.clip.image_processing_clip import CLIPImageProcessor


class CLIPFeatureExtractor(CLIPImageProcessor):
    """CLIP's preprocessing under its older name: the same settings and results as :class:`CLIPImageProcessor`,
    saved (as the reference saves it) with ``image_processor_type``."""


__all__ = ["CLIPFeatureExtractor"]
