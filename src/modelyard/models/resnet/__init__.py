"""The resnet family (lazy exports: configuration files import no torch)."""

from modelyard._lazy import lazy_exports

_EXPORTS = {
    "ResNetConfig": "modelyard.models.resnet.configuration_resnet",
    "ResNetModel": "modelyard.models.resnet.modeling_resnet",
    "ResNetForImageClassification": "modelyard.models.resnet.modeling_resnet",
    "ResNetPreTrainedModel": "modelyard.models.resnet.modeling_resnet",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
