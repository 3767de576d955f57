"""``transformers.utils.backbone_utils``: the kinds of backbone a model can wrap (``BackboneType``)."""

from __future__ import annotations

import enum

from modelyard.compat.transformers._namespace import declare


class BackboneType(enum.Enum):
    """Where a backbone's weights come from: a timm model or a model of the library itself."""

    TIMM = "timm"
    TRANSFORMERS = "transformers"


__getattr__, __dir__ = declare(globals(), {})
