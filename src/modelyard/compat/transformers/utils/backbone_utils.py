"""``transformers.utils.backbone_utils``: the backbone contract (stage names, aligned out_features/out_indices)
and the kinds of backbone a model can wrap (``BackboneType``)."""

from __future__ import annotations

import enum

from modelyard.compat.transformers._namespace import declare


class BackboneType(enum.Enum):
    """Where a backbone's weights come from: a timm model or a model of the library itself."""

    TIMM = "timm"
    TRANSFORMERS = "transformers"


__getattr__, __dir__ = declare(
    globals(),
    {
        name: "modelyard.backbone_utils"
        for name in (
            "BackboneConfigMixin",
            "BackboneMixin",
            "get_aligned_output_features_output_indices",
            "verify_out_features_out_indices",
        )
    },
)
