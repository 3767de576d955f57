"""SpecAugment span masks (Park et al., 2019) for speech encoders trained on masked frames or channels.

Shared by audio encoders of the Wav2Vec2 kind: the model replaces masked frames by a learned vector and
zeroes masked feature channels. Masks are drawn with torch's RNG, so ``torch.manual_seed`` reproduces them.
"""

from __future__ import annotations

import torch


def compute_mask_indices(
    shape: tuple[int, int],
    mask_prob: float,
    mask_length: int,
    attention_mask: torch.Tensor | None = None,
    min_masks: int = 0,
) -> torch.Tensor:
    """A random (batch, length) bool mask made of spans of ``mask_length`` that cover about ``mask_prob``
    of each row's valid part (at least ``min_masks`` spans where they fit); with a right-padded
    ``attention_mask`` (batch, length), spans start only in the valid part of a row."""
    batch, length = shape
    if not 1 <= mask_length <= length:
        raise ValueError(
            f"mask_length must be between 1 and the sequence length {length}, got {mask_length}; lower "
            "mask_time_length / mask_feature_length in the config, or use longer inputs."
        )
    epsilon = torch.rand(()).item()  # probabilistic rounding of the number of spans

    def num_spans(input_length: int) -> int:
        count = max(int(mask_prob * input_length / mask_length + epsilon), min_masks)
        count = min(count, length // mask_length)
        return max(min(count, input_length - (mask_length - 1)), 0)

    lengths = attention_mask.sum(-1).tolist() if attention_mask is not None else [length] * batch
    mask = torch.zeros(batch, length, dtype=torch.bool)
    offsets = torch.arange(mask_length)
    for row, input_length in enumerate(int(n) for n in lengths):
        count = num_spans(input_length)
        if count:
            starts = torch.randperm(input_length - mask_length + 1)[:count]
            mask[row, (starts[:, None] + offsets).flatten().clamp(max=length - 1)] = True
    return mask


__all__ = ["compute_mask_indices"]
