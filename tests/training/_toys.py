"""Small models and data sets for the Trainer tests (each trains in well under a second)."""

from __future__ import annotations

import torch
from torch import nn


class DictModel(nn.Module):
    """Returns ``{"loss", "logits"}`` like the guide's custom ResNet (a plain dict, not a ModelOutput)."""

    def __init__(self, features: int = 4, classes: int = 2, output: str = "dict") -> None:
        super().__init__()
        self.linear = nn.Linear(features, classes)
        self.output = output

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None):  # noqa: ANN201
        logits = self.linear(x)
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        if self.output == "tuple":
            return (loss, logits) if loss is not None else (logits,)
        if self.output == "model_output":
            from modelyard.outputs import SequenceClassifierOutput

            return SequenceClassifierOutput(loss=loss, logits=logits)
        if self.output == "no_loss":
            return {"logits": logits}
        return {"loss": loss, "logits": logits} if loss is not None else {"logits": logits}


def separable(count: int = 64, features: int = 4, seed: int = 0) -> list[dict]:
    """Examples whose label is the sign of the first feature (a linear model learns it in a few steps)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(count, features, generator=g)
    return [{"x": x[i], "labels": int(x[i, 0] > 0)} for i in range(count)]


