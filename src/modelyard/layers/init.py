"""Weight initialisation shared by the families' ``_init_weights``."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def init_normal_(module: nn.Module, std: float) -> bool:
    """BERT-style initialisation of one module: ``Linear`` and ``Embedding`` weights from N(0, std) with zero
    biases and a zero padding row, ``LayerNorm`` to ones and zeros. Returns whether the module was one of
    those (the family initialises its other modules itself)."""
    if isinstance(module, nn.Linear):
        module.weight.normal_(mean=0.0, std=std)
        if module.bias is not None:
            module.bias.zero_()
    elif isinstance(module, nn.Embedding):
        module.weight.normal_(mean=0.0, std=std)
        if module.padding_idx is not None:
            module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        module.weight.fill_(1.0)
        module.bias.zero_()
    else:
        return False
    return True


__all__ = ["init_normal_"]
