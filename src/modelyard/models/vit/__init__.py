"""The ViT family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

Importing this package imports no torch: each class is imported on first use.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="vit",
    exports={
        "ViTConfig": "configuration_vit",
        "ViTModel": "modeling_vit",
        "ViTForImageClassification": "modeling_vit",
        "ViTForMaskedImageModeling": "modeling_vit",
        "ViTPreTrainedModel": "modeling_vit",
        "ViTFeatureExtractor": "feature_extraction_vit",
        "ViTImageProcessor": "image_processing_vit",
    },
    config="ViTConfig",
    models={
        "AutoModel": "ViTModel",
        "AutoModelForImageClassification": "ViTForImageClassification",
        "AutoModelForMaskedImageModeling": "ViTForMaskedImageModeling",
    },
    feature_extractor="ViTFeatureExtractor",
    image_processor="ViTImageProcessor",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
