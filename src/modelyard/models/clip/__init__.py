"""The CLIP family's manifest: its configurations and image processor (the models are not part of modelyard yet).

Importing it imports no torch.
"""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="clip",
    config="CLIPConfig",
    feature_extractor="CLIPFeatureExtractor",
    image_processor="CLIPImageProcessor",
    other_exports={"CLIPTextConfig": "configuration_clip", "CLIPVisionConfig": "configuration_clip"},
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
