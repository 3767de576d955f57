"""A pure-PyTorch ResNet standing in for ``timm.models.resnet`` (timm cannot be imported here).

Module names follow timm's, so a state dict of a timm ResNet (e.g. ``timm.create_model("resnet50d")``)
loads into the same configuration unchanged. Covers what the document's config exposes: basic and
bottleneck blocks, ``cardinality`` and ``base_width`` (ResNeXt), ``stem_width`` and ``stem_type``
("", "deep", "deep-tiered"), and ``avg_down`` (average-pool shortcuts, the "D" variants).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        cardinality: int = 1,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        if cardinality != 1 or base_width != 64:
            raise ValueError(
                f"BasicBlock supports only cardinality=1 and base_width=64, got {cardinality} and {base_width}; "
                "use block_type='bottleneck' for ResNeXt-style widths."
            )
        outplanes = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, outplanes, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outplanes)
        self.act2 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        return self.act2(x + shortcut)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        cardinality: int = 1,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        width = int(math.floor(planes * (base_width / 64)) * cardinality)  # ResNeXt: groups x width per group
        outplanes = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, width, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, kernel_size=3, stride=stride, padding=1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.act2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(width, outplanes, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(outplanes)
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        return self.act3(x + shortcut)


def _downsample(inplanes: int, outplanes: int, stride: int, avg_down: bool) -> nn.Sequential:
    if avg_down:  # pool first, then a stride-1 1x1 conv: no input pixel is skipped
        pool: nn.Module = (
            nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride != 1 else nn.Identity()
        )
        return nn.Sequential(pool, nn.Conv2d(inplanes, outplanes, 1, bias=False), nn.BatchNorm2d(outplanes))
    return nn.Sequential(nn.Conv2d(inplanes, outplanes, 1, stride=stride, bias=False), nn.BatchNorm2d(outplanes))


class ResNet(nn.Module):
    """``ResNet(block, layers, num_classes=..., in_chans=..., ...)`` with timm's arguments and module names."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: list[int],
        num_classes: int = 1000,
        in_chans: int = 3,
        cardinality: int = 1,
        base_width: int = 64,
        stem_width: int = 64,
        stem_type: str = "",
        avg_down: bool = False,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        deep_stem = "deep" in stem_type
        inplanes = stem_width * 2 if deep_stem else 64
        if deep_stem:  # three 3x3 convs instead of one 7x7 (the "C"/"D" variants)
            first, second = (3 * (stem_width // 4), stem_width) if "tiered" in stem_type else (stem_width, stem_width)
            self.conv1: nn.Module = nn.Sequential(
                nn.Conv2d(in_chans, first, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(first),
                nn.ReLU(inplace=True),
                nn.Conv2d(first, second, 3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(second),
                nn.ReLU(inplace=True),
                nn.Conv2d(second, inplanes, 3, stride=1, padding=1, bias=False),
            )
        else:
            self.conv1 = nn.Conv2d(in_chans, inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        for index, blocks in enumerate(layers):
            planes = 64 * 2**index
            stride = 1 if index == 0 else 2
            outplanes = planes * block.expansion
            downsample = _downsample(inplanes, outplanes, stride, avg_down) if stride != 1 or inplanes != outplanes else None
            stage = [block(inplanes, planes, stride, downsample, cardinality=cardinality, base_width=base_width)]
            stage += [block(outplanes, planes, cardinality=cardinality, base_width=base_width) for _ in range(blocks - 1)]
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
            inplanes = outplanes
        self.num_features = inplanes
        self.global_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
        self.fc: nn.Module = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.num_stages = len(layers)
        self.init_weights()

    def init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for module in self.modules():
            if isinstance(module, BasicBlock | Bottleneck):
                module.zero_init_last()  # each residual block starts as the identity

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, in_chans, H, W)`` -> ``(batch, num_features, H/32, W/32)``."""
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        for index in range(self.num_stages):
            x = getattr(self, f"layer{index + 1}")(x)
        return x

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.global_pool(x))  # (batch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


# timm's names for the configurations (block, layers, keyword arguments).
_VARIANTS: dict[str, tuple[type[BasicBlock] | type[Bottleneck], list[int], dict[str, object]]] = {
    "resnet18": (BasicBlock, [2, 2, 2, 2], {}),
    "resnet34": (BasicBlock, [3, 4, 6, 3], {}),
    "resnet50": (Bottleneck, [3, 4, 6, 3], {}),
    "resnet50d": (Bottleneck, [3, 4, 6, 3], {"stem_width": 32, "stem_type": "deep", "avg_down": True}),
    "resnet101d": (Bottleneck, [3, 4, 23, 3], {"stem_width": 32, "stem_type": "deep", "avg_down": True}),
    "resnext50_32x4d": (Bottleneck, [3, 4, 6, 3], {"cardinality": 32, "base_width": 4}),
}


def create_model(name: str, pretrained: bool = False, **kwargs: object) -> ResNet:
    """Like ``timm.create_model`` for the names above; there is nothing to download, so ``pretrained=True``
    is refused (load a state dict you have with ``model.load_state_dict``)."""
    if pretrained:
        raise ValueError(
            "This stand-in for timm has no pretrained weights to download; create the model with "
            "pretrained=False and load a state dict (e.g. one saved from timm) with load_state_dict()."
        )
    if name not in _VARIANTS:
        raise ValueError(f"Unknown model {name!r}; known: {', '.join(sorted(_VARIANTS))}.")
    block, layers, defaults = _VARIANTS[name]
    layers = list(kwargs.pop("layers", layers))  # type: ignore[call-overload]
    return ResNet(block, layers, **{**defaults, **kwargs})  # type: ignore[arg-type]
