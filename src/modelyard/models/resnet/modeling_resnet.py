"""ResNet (He et al., 2015) in the Hugging Face layout: stem, stages of residual layers, global average pool.

Everything is convolution + BatchNorm on channels-first (NCHW) tensors; there is no attention. The stem is
a 7x7/2 convolution and a 3x3/2 max pool; stage 1 keeps the resolution unless
``downsample_in_first_stage``, every later stage halves it in its first layer. Bottleneck layers put the
stride on the 3x3 convolution (torchvision's "ResNet v1.5") unless ``downsample_in_bottleneck`` moves it
to the first 1x1 (the original paper). BatchNorm running statistics are buffers and load from checkpoints
with the weights (``num_batches_tracked`` included, so saves match the reference's keys).
"""

from __future__ import annotations

import math
from typing import Any, Generic, TypeVar

import torch
from torch import nn

from modelyard.backbone_utils import BackboneMixin
from modelyard.layers.activations import get_activation
from modelyard.layers.heads import SequenceClassificationHead
from modelyard.layers.inference import may_overwrite
from modelyard.layers.returns import finish_output
from modelyard.modeling import PreTrainedModel
from modelyard.models.resnet.configuration_resnet import ResNetConfig
from modelyard.outputs import (
    BackboneOutput,
    BaseModelOutputWithNoAttention,
    BaseModelOutputWithPoolingAndNoAttention,
    ImageClassifierOutputWithNoAttention,
    ModelOutput,
)

_OutputT = TypeVar("_OutputT", bound=ModelOutput)  # what a forward returns


# ---------------------------------------------------------------------------------------------- blocks
class ResNetConvLayer(nn.Module):
    """Conv (no bias: BatchNorm follows) -> BatchNorm -> activation (none when ``activation`` is None)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        activation: str | None = "relu",
    ) -> None:
        super().__init__()
        self.convolution = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            bias=False,
        )
        self.normalization = nn.BatchNorm2d(out_channels)
        self.activation = get_activation(activation) if activation is not None else nn.Identity()

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        return self.activation(self.normalization(self.convolution(hidden_state)))


class ResNetEmbeddings(nn.Module):
    """The stem: one 7x7 stride-2 convolution and a 3x3 stride-2 max pool (4x smaller)."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.embedder = ResNetConvLayer(
            config.num_channels, config.embedding_size, kernel_size=7, stride=2, activation=config.hidden_act
        )
        self.pooler = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.num_channels = config.num_channels

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if pixel_values.shape[1] != self.num_channels:
            raise ValueError(
                f"pixel_values have {pixel_values.shape[1]} channels but the config says "
                f"num_channels={self.num_channels}; convert the images or set num_channels in the config."
            )
        weight_dtype = self.embedder.convolution.weight.dtype
        if pixel_values.dtype != weight_dtype:  # e.g. float32 images into a half-precision model
            pixel_values = pixel_values.to(weight_dtype)
        return self.pooler(self.embedder(pixel_values))


class ResNetShortCut(nn.Module):
    """1x1 convolution + BatchNorm projecting the residual when channels or resolution change."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2) -> None:
        super().__init__()
        self.convolution = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)
        self.normalization = nn.BatchNorm2d(out_channels)

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        return self.normalization(self.convolution(hidden_state))


class _ResidualLayer(nn.Module):
    """activation(layer(x) + shortcut(x)); subclasses build ``layer``."""

    shortcut: nn.Module
    layer: nn.Sequential
    activation: nn.Module

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        residual = self.shortcut(hidden_state)
        hidden_state = self.layer(hidden_state)
        hidden_state = hidden_state + residual
        return self.activation(hidden_state)


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if in_channels != out_channels or stride != 1:
        return ResNetShortCut(in_channels, out_channels, stride=stride)
    return nn.Identity()


class ResNetBasicLayer(_ResidualLayer):
    """Two 3x3 convolutions (ResNet-18/34). The inner activation is always ReLU, as in the reference."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, activation: str = "relu"
    ) -> None:
        super().__init__()
        self.shortcut = _shortcut(in_channels, out_channels, stride)
        self.layer = nn.Sequential(
            ResNetConvLayer(in_channels, out_channels, stride=stride),
            ResNetConvLayer(out_channels, out_channels, activation=None),
        )
        self.activation = get_activation(activation)


class ResNetBottleNeckLayer(_ResidualLayer):
    """1x1 reduce (by ``reduction``) -> 3x3 -> 1x1 expand; the stride sits on the 3x3 unless
    ``downsample_in_bottleneck`` puts it on the first 1x1."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        activation: str = "relu",
        reduction: int = 4,
        downsample_in_bottleneck: bool = False,
    ) -> None:
        super().__init__()
        reduced = out_channels // reduction
        self.shortcut = _shortcut(in_channels, out_channels, stride)
        self.layer = nn.Sequential(
            ResNetConvLayer(
                in_channels, reduced, kernel_size=1, stride=stride if downsample_in_bottleneck else 1
            ),
            ResNetConvLayer(reduced, reduced, stride=1 if downsample_in_bottleneck else stride),
            ResNetConvLayer(reduced, out_channels, kernel_size=1, activation=None),
        )
        self.activation = get_activation(activation)


class _InPlaceResidual(_ResidualLayer):
    """``optimize_for_inference()``: the residual goes into the layer's fresh output (no new activation map)
    when nothing could hold that output (autograd off, no hooks; see ``modelyard.layers.inference``).
    Listed before the block class (``_InPlaceResidual, ResNetBasicLayer``), so its ``forward`` is the one run."""

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        residual = self.shortcut(hidden_state)
        hidden_state = self.layer(hidden_state)
        if may_overwrite(self) and hidden_state.shape == residual.shape and hidden_state.dtype == residual.dtype:
            hidden_state += residual
        else:
            hidden_state = hidden_state + residual
        return self.activation(hidden_state)


class _FastResNetBasicLayer(_InPlaceResidual, ResNetBasicLayer):
    pass


class _FastResNetBottleNeckLayer(_InPlaceResidual, ResNetBottleNeckLayer):
    pass


class ResNetStage(nn.Module):
    """``depth`` residual layers; only the first changes channels / resolution."""

    def __init__(
        self, config: ResNetConfig, in_channels: int, out_channels: int, stride: int = 2, depth: int = 2
    ) -> None:
        super().__init__()
        act = config.hidden_act
        if config.layer_type == "bottleneck":
            first: nn.Module = ResNetBottleNeckLayer(
                in_channels,
                out_channels,
                stride=stride,
                activation=act,
                downsample_in_bottleneck=config.downsample_in_bottleneck,
            )
            rest: list[nn.Module] = [
                ResNetBottleNeckLayer(out_channels, out_channels, activation=act) for _ in range(depth - 1)
            ]
        else:
            first = ResNetBasicLayer(in_channels, out_channels, stride=stride, activation=act)
            rest = [ResNetBasicLayer(out_channels, out_channels, activation=act) for _ in range(depth - 1)]
        self.layers = nn.Sequential(first, *rest)

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        return self.layers(hidden_state)


class ResNetEncoder(nn.Module):
    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        in_sizes = [config.embedding_size, *config.hidden_sizes[:-1]]
        self.stages = nn.ModuleList(
            ResNetStage(
                config,
                in_channels,
                out_channels,
                stride=2 if (i > 0 or config.downsample_in_first_stage) else 1,
                depth=depth,
            )
            for i, (in_channels, out_channels, depth) in enumerate(
                zip(in_sizes, config.hidden_sizes, config.depths)
            )
        )

    def forward(
        self, hidden_state: torch.Tensor, output_hidden_states: bool = False
    ) -> BaseModelOutputWithNoAttention:
        hidden_states: tuple[torch.Tensor, ...] = ()
        for stage in self.stages:
            if output_hidden_states:
                hidden_states += (hidden_state,)
            hidden_state = stage(hidden_state)
        if output_hidden_states:
            hidden_states += (hidden_state,)
        return BaseModelOutputWithNoAttention(
            last_hidden_state=hidden_state, hidden_states=hidden_states if output_hidden_states else None
        )


# ---------------------------------------------------------------------------------------------- models
class ResNetPreTrainedModel(PreTrainedModel):
    _inplace_activations = ("activation",)  # optimize_for_inference(): their input is always a temporary
    _inference_classes = {ResNetBasicLayer: _FastResNetBasicLayer, ResNetBottleNeckLayer: _FastResNetBottleNeckLayer}
    config_class = ResNetConfig
    base_model_prefix = "resnet"
    main_input_name = "pixel_values"

    def _init_weights(self, module: nn.Module) -> None:
        with torch.no_grad():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.Linear):
                # torch's own Linear default, written out so a re-initialised head matches a fresh one
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5))
                if module.bias is not None:
                    fan_in = module.weight.shape[1]
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                    nn.init.uniform_(module.bias, -bound, bound)
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)


class _ResNetStages(ResNetPreTrainedModel, Generic[_OutputT]):
    """The stem and the stages (``embedder``, ``encoder``), and the forward of the models that end there (the bare
    model and the backbone): each gives its output from the images in :meth:`stages_output`."""

    def build_stages(self, config: ResNetConfig) -> None:
        self.embedder = ResNetEmbeddings(config)
        self.encoder = ResNetEncoder(config)

    def stages_output(self, pixel_values: torch.Tensor, output_hidden_states: bool) -> _OutputT:
        raise NotImplementedError(f"{type(self).__name__} must define stages_output(pixel_values, output_hidden_states).")

    def forward(
        self,
        pixel_values: torch.Tensor,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> _OutputT | tuple[Any, ...]:
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        return finish_output(self.stages_output(pixel_values, output_hidden_states), return_dict, self.config)


class ResNetModel(_ResNetStages[BaseModelOutputWithPoolingAndNoAttention]):
    """Stem + stages + global average pool; ``pooler_output`` is (batch, hidden_sizes[-1], 1, 1)."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__(config)
        self.build_stages(config)
        self.pooler = nn.AdaptiveAvgPool2d((1, 1))
        self.post_init()

    def stages_output(
        self, pixel_values: torch.Tensor, output_hidden_states: bool
    ) -> BaseModelOutputWithPoolingAndNoAttention:
        encoded = self.encoder(self.embedder(pixel_values), output_hidden_states=output_hidden_states)
        last = encoded.last_hidden_state
        return BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=last, pooler_output=self.pooler(last), hidden_states=encoded.hidden_states
        )


class ResNetForImageClassification(SequenceClassificationHead, ResNetPreTrainedModel):
    """ResNet with ``classifier = Sequential(Flatten, Linear)`` on the pooled features; ``labels`` as for
    sequence classification (``config.problem_type``)."""

    output_class = ImageClassifierOutputWithNoAttention

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.resnet = ResNetModel(config)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(config.hidden_sizes[-1], config.num_labels) if config.num_labels > 0 else nn.Identity(),
        )
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> ImageClassifierOutputWithNoAttention | tuple[Any, ...]:
        if pixel_values is None:
            raise ValueError(
                "ResNetForImageClassification needs pixel_values (batch, channels, height, width)."
            )
        outputs = self.resnet(pixel_values, output_hidden_states=output_hidden_states, return_dict=True)
        return self.head_forward(outputs, labels, return_dict)

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndNoAttention) -> torch.Tensor:
        return self.classifier(encoded.pooler_output)  # (batch, num_labels)


class ResNetBackbone(BackboneMixin, _ResNetStages[BackboneOutput]):
    """The stem and stages as a backbone: ``feature_maps`` holds the output of each stage named in
    ``config.out_features`` (``stem`` is the stem's output, ``stageN`` stage N's), in stage order; ``channels``
    gives their widths. No pooler, no head."""

    has_attentions = False

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__(config)
        self._init_backbone(config)
        self.num_features = [config.embedding_size, *config.hidden_sizes]
        self.build_stages(config)
        self.post_init()

    def stages_output(self, pixel_values: torch.Tensor, output_hidden_states: bool) -> BackboneOutput:
        # every stage's output is needed to pick the feature maps: (stem, stage1, ..., stageN)
        stages = self.encoder(self.embedder(pixel_values), output_hidden_states=True).hidden_states
        feature_maps = tuple(stages[index] for index, name in enumerate(self.stage_names) if name in self.out_features)
        return BackboneOutput(feature_maps=feature_maps, hidden_states=stages if output_hidden_states else None)


__all__ = ["ResNetBackbone", "ResNetForImageClassification", "ResNetModel", "ResNetPreTrainedModel"]
