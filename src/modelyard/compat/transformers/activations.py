"""``transformers.activations``: ``ACT2FN`` and the activation modules by the reference's names.

``ACT2FN[name]`` builds a new module each time (as the reference's ``ClassInstantier`` does), so a model
holding several activations never shares one module between layers.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from modelyard.compat.transformers._namespace import declare
from modelyard.layers.activations import GELUFast, GELUTanh, QuickGELU


class GELUActivation(nn.Module):
    """Exact GELU: ``torch.nn.functional.gelu``, or the erf formula written out (``use_gelu_python``)."""

    def __init__(self, use_gelu_python: bool = False) -> None:
        super().__init__()
        self.use_gelu_python = use_gelu_python

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_gelu_python:
            return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
        return nn.functional.gelu(x)


class NewGELUActivation(nn.Module):
    """The tanh approximation of GELU, written as the formula (Google BERT, GPT)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


AccurateGELUActivation = NewGELUActivation


class FastGELUActivation(GELUFast):
    pass


class QuickGELUActivation(QuickGELU):
    pass


class ClippedGELUActivation(nn.Module):
    """GELU clipped to ``[min, max]`` (quantisation-friendly)."""

    def __init__(self, min: float, max: float) -> None:  # noqa: A002 - the reference's argument names
        if min > max:
            raise ValueError(f"min should be < max (got min: {min}, max: {max})")
        super().__init__()
        self.min, self.max = min, max

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clip(nn.functional.gelu(x), self.min, self.max)


class LaplaceActivation(nn.Module):
    def forward(self, x: torch.Tensor, mu: float = 0.707107, sigma: float = 0.282095) -> torch.Tensor:
        return 0.5 * (1.0 + torch.erf((x - mu).div(sigma * math.sqrt(2.0))))


class ReLUSquaredActivation(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.square(nn.functional.relu(x))


class LinearActivation(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


MishActivation = nn.Mish
SiLUActivation = nn.SiLU


class ClassInstantier(OrderedDict):
    """``{name: class or (class, kwargs)}`` whose lookups return a new instance."""

    def __getitem__(self, key: str) -> Any:
        try:
            content = super().__getitem__(key)
        except KeyError:
            raise KeyError(f"function {key} not found in ACT2FN mapping {list(self.keys())}") from None
        cls, kwargs = content if isinstance(content, tuple) else (content, {})
        return cls(**kwargs)


ACT2CLS: dict[str, Any] = {
    "gelu": GELUActivation,
    "gelu_10": (ClippedGELUActivation, {"min": -10, "max": 10}),
    "gelu_fast": FastGELUActivation,
    "gelu_new": NewGELUActivation,
    "gelu_python": (GELUActivation, {"use_gelu_python": True}),
    "gelu_pytorch_tanh": GELUTanh,
    "gelu_accurate": AccurateGELUActivation,
    "laplace": LaplaceActivation,
    "leaky_relu": nn.LeakyReLU,
    "linear": LinearActivation,
    "mish": MishActivation,
    "quick_gelu": QuickGELUActivation,
    "relu": nn.ReLU,
    "relu2": ReLUSquaredActivation,
    "relu6": nn.ReLU6,
    "sigmoid": nn.Sigmoid,
    "silu": SiLUActivation,
    "swish": SiLUActivation,
    "tanh": nn.Tanh,
    "prelu": nn.PReLU,
}
ACT2FN = ClassInstantier(ACT2CLS)


def get_activation(activation_string: str) -> nn.Module:
    if activation_string in ACT2FN:
        return ACT2FN[activation_string]
    raise KeyError(f"function {activation_string} not found in ACT2FN mapping {list(ACT2FN.keys())}")


gelu_python = get_activation("gelu_python")
gelu_new = get_activation("gelu_new")
gelu = get_activation("gelu")
gelu_fast = get_activation("gelu_fast")
quick_gelu = get_activation("quick_gelu")
silu = get_activation("silu")
mish = get_activation("mish")
linear_act = get_activation("linear")

__getattr__, __dir__ = declare(
    globals(),
    {"GELUTanh": "modelyard.layers.activations"},
    constants=(
        "ACT2CLS", "ACT2FN", "AccurateGELUActivation", "MishActivation", "SiLUActivation", "gelu_python", "gelu_new",
        "gelu", "gelu_fast", "quick_gelu", "silu", "mish", "linear_act",
    ),
)
