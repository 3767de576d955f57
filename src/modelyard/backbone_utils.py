"""Backbones: models that return feature maps of chosen stages, for detection and segmentation heads.

The reference's contract (``transformers.utils.backbone_utils``), which downstream heads read: a backbone's
config and model know their ``stage_names`` (``["stem", "stage1", ...]``); ``out_features`` (stage names) and
``out_indices`` (their positions, negative counted from the end) pick the stages returned, and are kept
aligned: setting one sets the other, the default is the last stage. A model's ``channels`` are the widths of
the stages it returns. Torch-free: configurations use it too.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from modelyard.errors import ConfigurationError


def verify_out_features_out_indices(
    out_features: Sequence[str] | None, out_indices: Sequence[int] | None, stage_names: Sequence[str] | None
) -> None:
    """Raise when ``out_features`` / ``out_indices`` are not lists of distinct stages in ``stage_names``' order,
    or name different stages."""
    if stage_names is None:
        raise ConfigurationError("A backbone needs stage_names (the names of its stages) to pick its outputs.")
    stages = list(stage_names)
    if out_features is not None:
        if not isinstance(out_features, list):
            raise ConfigurationError(f"out_features must be a list of stage names, got {type(out_features).__name__}.")
        if any(name not in stages for name in out_features):
            raise ConfigurationError(f"out_features must be a subset of stage_names {stages}, got {out_features}.")
        if len(out_features) != len(set(out_features)):
            raise ConfigurationError(f"out_features must not repeat a stage, got {out_features}.")
        ordered = [name for name in stages if name in out_features]
        if out_features != ordered:
            raise ConfigurationError(f"out_features must follow the order of stage_names: {ordered}, got {out_features}.")
    if out_indices is not None:
        if not isinstance(out_indices, list):
            raise ConfigurationError(f"out_indices must be a list of stage indices, got {type(out_indices).__name__}.")
        positive = [index % len(stages) if index < 0 else index for index in out_indices]
        if any(index not in range(len(stages)) for index in positive):
            raise ConfigurationError(f"out_indices must index stage_names {stages}, got {out_indices}.")
        if len(positive) != len(set(positive)):
            raise ConfigurationError(f"out_indices must not repeat a stage, got {out_indices}.")
        if positive != sorted(positive):
            raise ConfigurationError(f"out_indices must follow the order of stage_names, got {out_indices}.")
    if out_features is not None and out_indices is not None:
        if len(out_features) != len(out_indices):
            raise ConfigurationError(
                f"out_features {out_features} and out_indices {out_indices} differ in length; give only one of them."
            )
        if out_features != [stages[index] for index in out_indices]:
            raise ConfigurationError(
                f"out_features {out_features} and out_indices {out_indices} name different stages; give only one."
            )


def get_aligned_output_features_output_indices(
    out_features: Sequence[str] | None, out_indices: Sequence[int] | None, stage_names: Sequence[str]
) -> tuple[list[str], list[int]]:
    """``(out_features, out_indices)`` naming the same stages: the one given fills the other; neither given
    means the last stage. Checked with :func:`verify_out_features_out_indices` before and after."""
    indices = list(out_indices) if out_indices is not None else None
    features = list(out_features) if isinstance(out_features, tuple) else out_features
    verify_out_features_out_indices(features, indices, stage_names)
    stages = list(stage_names)
    if features is None and indices is None:
        features, indices = [stages[-1]], [len(stages) - 1]
    elif indices is None:
        indices = [stages.index(name) for name in features]  # type: ignore[union-attr]  # features is given here (both None is handled above)
    elif features is None:
        features = [stages[index] for index in indices]
    verify_out_features_out_indices(features, indices, stages)
    return list(features), list(indices)  # type: ignore[arg-type]  # both are set by now (see above)


class _AlignedStages:
    """``out_features`` / ``out_indices`` as properties kept aligned with ``stage_names``: setting one sets
    the other (shared by a backbone's config and its model)."""

    stage_names: list[str]
    _out_features: list[str]
    _out_indices: list[int]

    @property
    def out_features(self) -> list[str]:
        return self._out_features

    @out_features.setter
    def out_features(self, out_features: list[str]) -> None:
        self._out_features, self._out_indices = get_aligned_output_features_output_indices(
            out_features, None, self.stage_names
        )

    @property
    def out_indices(self) -> list[int]:
        return self._out_indices

    @out_indices.setter
    def out_indices(self, out_indices: list[int] | tuple[int, ...]) -> None:
        self._out_features, self._out_indices = get_aligned_output_features_output_indices(
            None, out_indices, self.stage_names
        )


class BackboneConfigMixin(_AlignedStages):
    """The aligned ``out_features`` / ``out_indices`` of a backbone's config; ``to_dict`` writes them under
    their public names (``config.json`` has both)."""

    def to_dict(self) -> dict[str, Any]:
        output: dict[str, Any] = super().to_dict()  # type: ignore[misc]  # the config class this mixin is part of
        output["out_features"] = output.pop("_out_features", self._out_features)
        output["out_indices"] = output.pop("_out_indices", self._out_indices)
        return output


class BackboneType(str, enum.Enum):
    """Where a backbone's weights come from: a timm model or a model of the library itself. A ``str`` enum, so
    ``backbone.backbone_type == "transformers"`` holds as well."""

    TIMM = "timm"
    TRANSFORMERS = "transformers"


class BackboneMixin(_AlignedStages):
    """What a backbone model adds: ``stage_names``, aligned ``out_features`` / ``out_indices`` (from its config
    at build time, settable after), ``num_features`` (each stage's width, set by the model) and ``channels``
    (the widths of the returned stages). Call :meth:`_init_backbone` in ``__init__``."""

    has_attentions: bool = True  # False for convolutional backbones (they take no output_attentions)
    backbone_type: BackboneType | None = None
    num_features: list[int] | None

    def _init_backbone(self, config: Any) -> None:
        if getattr(config, "use_timm_backbone", False):
            raise ConfigurationError(
                "use_timm_backbone=True is not supported by modelyard (timm cannot be imported here); set "
                "use_timm_backbone=False to use the built-in backbone."
            )
        self.backbone_type = BackboneType.TRANSFORMERS
        self.stage_names = list(config.stage_names)
        self._out_features, self._out_indices = get_aligned_output_features_output_indices(
            getattr(config, "out_features", None), getattr(config, "out_indices", None), self.stage_names
        )
        self.num_features = None

    @property
    def out_feature_channels(self) -> dict[str, int]:
        """Every stage's width, returned or not."""
        widths = self.num_features or []
        return {stage: widths[index] for index, stage in enumerate(self.stage_names)}

    @property
    def channels(self) -> list[int]:
        """The widths of the stages the backbone returns, in order."""
        return [self.out_feature_channels[name] for name in self.out_features]

    def forward_with_filtered_kwargs(self, *args: Any, **kwargs: Any) -> Any:
        """Call the backbone, dropping ``output_attentions`` when it has no attention."""
        if not self.has_attentions:
            kwargs.pop("output_attentions", None)
        return self(*args, **kwargs)  # type: ignore[operator]  # the backbone module this mixin is part of


__all__ = [
    "BackboneConfigMixin",
    "BackboneMixin",
    "BackboneType",
    "get_aligned_output_features_output_indices",
    "verify_out_features_out_indices",
]
