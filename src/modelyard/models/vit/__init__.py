"""The vit family (lazy exports: configuration files import no torch)."""

from modelyard._lazy import lazy_exports

_EXPORTS = {
    "ViTConfig": "modelyard.models.vit.configuration_vit",
    "ViTModel": "modelyard.models.vit.modeling_vit",
    "ViTForImageClassification": "modelyard.models.vit.modeling_vit",
    "ViTPreTrainedModel": "modelyard.models.vit.modeling_vit",
    "ViTFeatureExtractor": "modelyard.models.vit.feature_extraction_vit",
    "ViTImageProcessor": "modelyard.models.vit.image_processing_vit",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
