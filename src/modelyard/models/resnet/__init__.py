"""The ResNet family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

Importing this package imports no torch: each class is imported on first use.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="resnet",
    exports={
        "ResNetConfig": "configuration_resnet",
        "ResNetModel": "modeling_resnet",
        "ResNetForImageClassification": "modeling_resnet",
        "ResNetBackbone": "modeling_resnet",
        "ResNetPreTrainedModel": "modeling_resnet",
    },
    config="ResNetConfig",
    models={
        "AutoModel": "ResNetModel",
        "AutoModelForImageClassification": "ResNetForImageClassification",
        "AutoBackbone": "ResNetBackbone",
    },
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
