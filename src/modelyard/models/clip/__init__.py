"""The CLIP family: its configurations and image processor (the models are not part of modelyard yet); its
manifest and lazy exports.

Importing this package imports no torch: each class is imported on first use.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="clip",
    exports={
        "CLIPConfig": "configuration_clip",
        "CLIPTextConfig": "configuration_clip",
        "CLIPVisionConfig": "configuration_clip",
        "CLIPImageProcessor": "image_processing_clip",
        "CLIPFeatureExtractor": "feature_extraction_clip",
    },
    config="CLIPConfig",
    feature_extractor="CLIPFeatureExtractor",
    image_processor="CLIPImageProcessor",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
