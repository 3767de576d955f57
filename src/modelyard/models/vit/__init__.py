"""The ViT family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch."""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="vit",
    config="ViTConfig",
    modeling=("ViTModel", "ViTForImageClassification", "ViTForMaskedImageModeling", "ViTPreTrainedModel"),
    feature_extractor="ViTFeatureExtractor",
    image_processor="ViTImageProcessor",
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
