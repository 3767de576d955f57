"""The ResNet family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch."""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="resnet",
    config="ResNetConfig",
    modeling=("ResNetModel", "ResNetForImageClassification", "ResNetBackbone", "ResNetPreTrainedModel"),
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
