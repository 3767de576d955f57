"""SpecAugment span masks (Park et al., 2019) for speech encoders trained on masked frames or channels.

Shared by audio encoders of the Wav2Vec2 kind: the model replaces masked frames by a learned vector and
zeroes masked feature channels. Masks are drawn with torch's RNG, so ``torch.manual_seed`` reproduces them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

import numpy as np
import torch

_MaskT = TypeVar("_MaskT", torch.Tensor, np.ndarray)


class _RandomSource(NamedTuple):
    """What a span mask draws with, and builds its (batch, length) mask of: torch's or NumPy's."""

    uniform: Callable[[], float]  # one draw in [0, 1)
    distinct: Callable[[int, int], Any]  # ``count`` distinct values of range(n), in draw order (no draw for none)
    empty_mask: Callable[[int, int], Any]  # (batch, length), all False
    arange: Callable[[int], Any]
    at_most: Callable[[Any, int], Any]  # each position, capped at a bound


class _SpanMasks(Generic[_MaskT]):
    """Span masks drawn from one random source: a random (batch, length) bool mask made of spans of
    ``mask_length`` that cover about ``mask_prob`` of each row's valid part (at least ``min_masks`` spans where
    they fit; spans may overlap, so ``mask_prob`` is an upper bound of the masked share). The number of spans per
    row is ``mask_prob * length / mask_length`` rounded at random (one draw for the batch). With a right-padded
    ``attention_mask`` (batch, length), spans start only in the valid part of a row."""

    def __init__(self, source: _RandomSource, doc: str) -> None:
        self.source = source
        self.__doc__ = f"{doc}\n\n{type(self).__doc__}"

    def __call__(
        self,
        shape: tuple[int, int],
        mask_prob: float,
        mask_length: int,
        attention_mask: torch.Tensor | None = None,
        min_masks: int = 0,
    ) -> _MaskT:
        batch, length = shape
        if not 1 <= mask_length <= length:
            raise ValueError(
                f"mask_length must be between 1 and the sequence length {length}, got {mask_length} (a span must not "
                "exceed the sequence); lower mask_time_length / mask_feature_length in the config, or use longer "
                "inputs."
            )
        source = self.source
        epsilon = source.uniform()  # probabilistic rounding of the number of spans

        def num_spans(input_length: int) -> int:
            count = max(int(mask_prob * input_length / mask_length + epsilon), min_masks)
            count = min(count, length // mask_length)
            return max(min(count, input_length - (mask_length - 1)), 0)

        lengths = attention_mask.detach().sum(-1).tolist() if attention_mask is not None else [length] * batch
        mask = source.empty_mask(batch, length)
        if num_spans(length) == 0:  # no row has room for a span: nothing to draw
            return mask
        offsets = source.arange(mask_length)
        for row, input_length in enumerate(int(n) for n in lengths):
            starts = source.distinct(input_length - (mask_length - 1), num_spans(input_length))
            mask[row, source.at_most((starts[:, None] + offsets).reshape(-1), length - 1)] = True
        return mask


def _torch_distinct(n: int, count: int) -> torch.Tensor:
    return torch.randperm(n)[:count] if count else torch.zeros(0, dtype=torch.long)


compute_mask_indices = _SpanMasks[torch.Tensor](
    _RandomSource(
        uniform=lambda: torch.rand(()).item(),
        distinct=_torch_distinct,
        empty_mask=lambda batch, length: torch.zeros(batch, length, dtype=torch.bool),
        arange=torch.arange,
        at_most=lambda positions, bound: positions.clamp(max=bound),
    ),
    "A torch bool tensor, drawn with torch's RNG (``torch.manual_seed`` reproduces it): the masks of the models.",
)

# The reference exposes NumPy versions of these helpers (``_compute_mask_indices``, ``_sample_negative_indices``
# in its Wav2Vec2 modeling module) that data collators for pre-training call on the CPU; these give the same
# kinds of arrays, drawn with NumPy's global RNG (``np.random.seed`` reproduces them).
compute_mask_indices_np = _SpanMasks[np.ndarray](
    _RandomSource(
        uniform=lambda: np.random.rand(1).item(),
        distinct=lambda n, count: np.random.choice(np.arange(n), count, replace=False),
        empty_mask=lambda batch, length: np.zeros((batch, length), dtype=bool),
        arange=np.arange,
        at_most=np.minimum,
    ),
    "A NumPy bool array, drawn with NumPy's global RNG (``np.random.seed`` reproduces it): for data collators.",
)


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
