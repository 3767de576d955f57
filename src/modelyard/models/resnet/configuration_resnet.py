"""``ResNetConfig``: the settings of a ResNet (keys and defaults as in ``microsoft/resnet-50``)."""

from __future__ import annotations

from typing import Any

from modelyard.backbone_utils import BackboneConfigMixin, get_aligned_output_features_output_indices
from modelyard.configuration import PretrainedConfig
from modelyard.errors import ConfigurationError


class ResNetConfig(BackboneConfigMixin, PretrainedConfig):
    """Settings of :class:`~modelyard.ResNetModel`; the defaults give ResNet-50.

    ``layer_type`` is ``"basic"`` (two 3x3 convolutions, ResNet-18/34) or ``"bottleneck"`` (1x1, 3x3, 1x1,
    ResNet-50 and up). ``depths[i]`` layers with ``hidden_sizes[i]`` output channels form stage ``i + 1``.
    ``out_features`` / ``out_indices`` name the stages :class:`~modelyard.ResNetBackbone` returns (aligned:
    setting one sets the other; the default is the last stage); ``stage_names`` are ``stem``, ``stage1``, ...
    """

    model_type = "resnet"
    layer_types = ("basic", "bottleneck")

    def __init__(
        self,
        num_channels: int = 3,
        embedding_size: int = 64,
        hidden_sizes: list[int] | tuple[int, ...] = (256, 512, 1024, 2048),
        depths: list[int] | tuple[int, ...] = (3, 4, 6, 3),
        layer_type: str = "bottleneck",
        hidden_act: str = "relu",
        downsample_in_first_stage: bool = False,
        downsample_in_bottleneck: bool = False,
        out_features: list[str] | None = None,
        out_indices: list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("stage_names", None)  # derived from depths, written for the reference library
        super().__init__(**kwargs)
        if layer_type not in self.layer_types:
            raise ConfigurationError(
                f"layer_type={layer_type!r} is not one of {', '.join(self.layer_types)}; pick one of them."
            )
        # Checked when both are per-stage lists; anything else is stored as given, as the reference does (a
        # value set only to be read back, e.g. a property round trip), and the model says what it cannot build.
        per_stage = isinstance(hidden_sizes, (list, tuple)) and isinstance(depths, (list, tuple))
        if per_stage and len(hidden_sizes) != len(depths):
            raise ConfigurationError(
                f"hidden_sizes ({list(hidden_sizes)}) and depths ({list(depths)}) must have one entry per stage; "
                "give both the same length."
            )
        self.num_channels = num_channels
        self.embedding_size = embedding_size
        self.hidden_sizes = list(hidden_sizes) if isinstance(hidden_sizes, (list, tuple)) else hidden_sizes
        self.depths = list(depths) if isinstance(depths, (list, tuple)) else depths
        self.layer_type = layer_type
        self.hidden_act = hidden_act
        self.downsample_in_first_stage = downsample_in_first_stage
        self.downsample_in_bottleneck = downsample_in_bottleneck
        stages = len(self.depths) if isinstance(self.depths, list) else 0
        self.stage_names = ["stem"] + [f"stage{i}" for i in range(1, stages + 1)]
        self._out_features, self._out_indices = get_aligned_output_features_output_indices(
            out_features, out_indices, self.stage_names
        )


__all__ = ["ResNetConfig"]
