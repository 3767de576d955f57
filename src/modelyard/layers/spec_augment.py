"""SpecAugment span masks (Park et al., 2019) for speech encoders trained on masked frames or channels.

Shared by audio encoders of the Wav2Vec2 kind: the model replaces masked frames by a learned vector and
zeroes masked feature channels. Masks are drawn with torch's RNG, so ``torch.manual_seed`` reproduces them.
"""

from __future__ import annotations

import numpy as np
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


# The reference exposes NumPy versions of these helpers (``_compute_mask_indices``, ``_sample_negative_indices``
# in its Wav2Vec2 modeling module) that data collators for pre-training call on the CPU; these give the same
# kinds of arrays, drawn with NumPy's global RNG (``np.random.seed`` reproduces them).
def compute_mask_indices_np(
    shape: tuple[int, int],
    mask_prob: float,
    mask_length: int,
    attention_mask: torch.Tensor | None = None,
    min_masks: int = 0,
) -> np.ndarray:
    """:func:`compute_mask_indices` as a NumPy (batch, length) bool array. The number of spans per row is
    ``mask_prob * length / mask_length`` rounded at random (one draw for the batch), at least ``min_masks``;
    spans may overlap, so ``mask_prob`` is an upper bound of the masked share."""
    batch, length = shape
    if mask_length < 1:
        raise ValueError(f"mask_length must be at least 1, got {mask_length}.")
    if mask_length > length:
        raise ValueError(
            f"mask_length ({mask_length}) must not exceed the sequence length ({length}); lower mask_time_length "
            "/ mask_feature_length or use longer inputs."
        )
    epsilon = np.random.rand(1).item()

    def num_spans(input_length: int) -> int:
        count = max(int(mask_prob * input_length / mask_length + epsilon), min_masks)
        if count * mask_length > length:
            count = length // mask_length
        return max(min(count, input_length - (mask_length - 1)), 0)

    lengths = attention_mask.detach().sum(-1).tolist() if attention_mask is not None else [length] * batch
    mask = np.zeros((batch, length), dtype=bool)
    if num_spans(length) == 0:
        return mask
    offsets = np.arange(mask_length)
    for row, input_length in enumerate(int(n) for n in lengths):
        count = num_spans(input_length)
        starts = np.random.choice(np.arange(input_length - (mask_length - 1)), count, replace=False)
        positions = (starts[:, None] + offsets).reshape(-1)
        mask[row, np.minimum(positions, length - 1)] = True
    return mask


def sample_negative_indices(
    features_shape: tuple[int, int], num_negatives: int, mask_time_indices: np.ndarray | None = None
) -> np.ndarray:
    """For each masked frame, ``num_negatives`` other masked frames of the same row (uniformly, with repeats) as
    distractors of a contrastive loss: a (batch, length, num_negatives) int32 array of indices into the
    flattened (batch * length) frames; 0 + the row's offset at unmasked frames. Without ``mask_time_indices``
    every frame counts as masked."""
    batch, length = features_shape
    masked = mask_time_indices.astype(bool) if mask_time_indices is not None else np.ones(features_shape, dtype=bool)
    sampled = np.zeros((batch, length, num_negatives), dtype=np.int32)
    frames = np.arange(length)
    for row in range(batch):
        candidates = frames[masked[row]]
        count = len(candidates)
        if count > 1:
            # draw among the count - 1 others: a draw at or past the frame's own rank moves up by one
            draws = np.random.randint(0, count - 1, size=(count, num_negatives))
            draws[draws >= np.arange(count)[:, None]] += 1
            sampled[row][masked[row]] = candidates[draws]
        sampled[row] += row * length
    return sampled


__all__ = ["compute_mask_indices", "compute_mask_indices_np", "sample_negative_indices"]
