"""``transformers.utils.backbone_utils``: the backbone contract (stage names, aligned out_features/out_indices)
and the kinds of backbone a model can wrap (``BackboneType``)."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        name: "modelyard.backbone_utils"
        for name in (
            "BackboneConfigMixin",
            "BackboneMixin",
            "BackboneType",
            "get_aligned_output_features_output_indices",
            "verify_out_features_out_indices",
        )
    },
)
