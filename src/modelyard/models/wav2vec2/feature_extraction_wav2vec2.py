"""``Wav2Vec2FeatureExtractor``: raw mono audio to ``input_values`` (padded, optionally zero-mean unit-variance).

Fast path: the padded batch is one preallocated ``(batch, length)`` float32 array that every clip is copied
into once and normalised in place, row by row, with the same numpy reductions the reference library uses
(so results match it bit for bit with right padding). numpy only; torch is imported for ``return_tensors="pt"``.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np

from modelyard.errors import FeatureExtractionError
from modelyard.feature_extraction import (
    AudioPaddingKwargs,
    BatchFeature,
    SequenceFeatureExtractor,
    Unpack,
    to_numpy,
)
from modelyard.image_transforms import usable_cpus

logger = logging.getLogger(__name__)

_EPSILON = 1e-7  # added to the variance, as the reference does
_PARALLEL_MIN_SAMPLES = 1 << 20  # below this, thread hand-off costs more than it saves
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=min(4, usable_cpus()), thread_name_prefix="modelyard-audio")
    return _pool


def _normalize_into(values: np.ndarray, out: np.ndarray, scratch: np.ndarray | None = None) -> bool:
    """``out = (values - mean) / sqrt(var + 1e-7)`` in float32 (``out`` may be ``values``), computed exactly
    like ``np.mean`` / ``np.var`` do (same reductions, same rounding) without their temporaries and without a
    separate copy. False if the values are not finite."""
    n = values.size
    mean = values.mean()
    if not np.isfinite(mean):
        return False
    np.subtract(values, mean, out=out)
    squares = np.multiply(out, out, out=scratch[:n].reshape(out.shape) if scratch is not None else None)
    variance = out.dtype.type(np.add.reduce(squares, axis=None) / n)
    np.divide(out, np.sqrt(variance + _EPSILON), out=out)
    return True


class Wav2Vec2FeatureExtractor(SequenceFeatureExtractor):
    """Feature extractor for Wav2Vec2: pads raw 16 kHz mono audio and (by default) normalises each clip to
    zero mean and unit variance.

    Args:
        feature_size: values per time step (1 for raw audio).
        sampling_rate: the rate the model was trained on, in Hz; calls with another ``sampling_rate`` fail.
        padding_value: the value padding positions get.
        return_attention_mask: return ``attention_mask`` by default. Models with
            ``feat_extract_norm == "group"`` (wav2vec2-base) were trained without one: pad with 0 and pass none.
        do_normalize: zero-mean unit-variance normalise each clip. With an attention mask the statistics come
            from the real samples only and padding keeps ``padding_value``; without one the padded row is
            normalised as a whole, padding included (the reference library's behaviour, kept for parity).
            With ``padding_side="left"`` the statistics come from the real samples too (the reference library
            instead takes the first ``length`` positions, which are mostly padding there).
    """

    model_input_names: ClassVar[list[str]] = ["input_values", "attention_mask"]

    def __init__(
        self,
        feature_size: int = 1,
        sampling_rate: int = 16000,
        padding_value: float = 0.0,
        return_attention_mask: bool = False,
        do_normalize: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(feature_size=feature_size, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs)
        self.return_attention_mask = return_attention_mask
        self.do_normalize = do_normalize

    @staticmethod
    def zero_mean_unit_var_norm(
        input_values: list[np.ndarray], attention_mask: list[np.ndarray] | None, padding_value: float = 0.0
    ) -> list[np.ndarray]:
        """Normalise each array to zero mean and unit variance (over its masked part when a mask is given;
        masked-out positions are set to ``padding_value``)."""
        normed = []
        for i, vector in enumerate(input_values):
            vector = np.array(vector, dtype=np.float32)
            if attention_mask is not None:
                length = int(np.asarray(attention_mask[i]).sum())
                real = vector[:length]
                mean, std = real.mean(), np.sqrt(real.var() + _EPSILON)
                vector = (vector - mean) / std
                vector[length:] = padding_value
            else:
                vector = (vector - vector.mean()) / np.sqrt(vector.var() + _EPSILON)
            normed.append(vector)
        return normed

    # ------------------------------------------------------------------ input parsing
    def _clips(self, raw_speech: Any) -> list[np.ndarray]:
        mono = self.feature_size == 1
        raw_speech = to_numpy(raw_speech)
        if isinstance(raw_speech, np.ndarray):
            if raw_speech.ndim > (2 if mono else 3):
                raise FeatureExtractionError(
                    f"{type(self).__name__} takes mono audio: one clip of shape (samples,) or a batch of shape "
                    f"(batch, samples), got an array of shape {raw_speech.shape}. For stereo, average the channels "
                    "(audio.mean(axis=0)) or pick one."
                )
            items: list[Any] = [raw_speech] if raw_speech.ndim == (1 if mono else 2) else list(raw_speech)
        elif isinstance(raw_speech, (list, tuple)):
            if len(raw_speech) == 0:
                raise FeatureExtractionError(
                    f"{type(self).__name__} got an empty batch; give one clip or a list of clips."
                )
            first = to_numpy(raw_speech[0])
            batched = isinstance(first, (np.ndarray, list, tuple)) and (mono or np.ndim(first) == 2)
            items = list(raw_speech) if batched else [raw_speech]
        else:
            raise FeatureExtractionError(
                f"{type(self).__name__} takes audio as a list of floats, a numpy array, a torch tensor, or a list "
                f"of those, got {type(raw_speech).__name__}."
            )
        clips = []
        for i, item in enumerate(items):
            clip = np.asarray(to_numpy(item))
            if clip.dtype.kind not in "fiub":
                raise FeatureExtractionError(
                    f"Clip {i} has dtype {clip.dtype}; audio must be numbers (float32 samples in [-1, 1] usually)."
                )
            if clip.ndim != (1 if mono else 2):
                hint = " For stereo, average the channels (clip.mean(axis=0))." if mono and clip.ndim == 2 else ""
                raise FeatureExtractionError(
                    f"Clip {i} has shape {clip.shape}, but {type(self).__name__} (feature_size={self.feature_size}) "
                    f"takes {'1-D mono clips' if mono else '(samples, feature_size) arrays'}.{hint}"
                )
            if len(clip) == 0:
                raise FeatureExtractionError(f"Clip {i} is empty (0 samples); remove it from the batch.")
            clips.append(clip)
        return clips

    # ------------------------------------------------------------------ call
    def __call__(
        self, raw_speech: Any, *, sampling_rate: int | None = None, **options: Unpack[AudioPaddingKwargs]
    ) -> BatchFeature:
        """Featurise one clip or a batch.

        Args:
            raw_speech: a 1-D clip (list of floats, numpy array, torch tensor), a list of clips, or a 2-D
                ``(batch, samples)`` array.
            sampling_rate: the rate of ``raw_speech`` in Hz; checked against the extractor's.
            options: the padding options, as ``pad`` takes them
                (:class:`~modelyard.feature_extraction.AudioPaddingKwargs`): ``padding`` (``False`` by default
                here), ``max_length``, ``truncation``, ``pad_to_multiple_of``, ``return_attention_mask`` and
                ``return_tensors`` (``None`` gives lists of arrays).
        """
        self._refuse_unknown_options("__call__", options)
        self._check_sampling_rate(sampling_rate)
        clips = self._clips(raw_speech)
        plan = self._padding(options, padding=False)
        strategy, want_mask, return_tensors = plan.strategy, plan.return_attention_mask, plan.return_tensors
        clips = plan.truncated(clips)
        lengths = [len(c) for c in clips]
        if strategy == "do_not_pad":
            row_lengths = lengths
        else:
            if self.padding_value is None:
                raise FeatureExtractionError(
                    f"{type(self).__name__}.padding_value is None, so it cannot pad; set extractor.padding_value = 0.0."
                )
            target = plan.target_length(max(lengths))
            row_lengths = [max(n, target) for n in lengths]  # clips longer than max_length stay whole
        # Statistics over the real samples when a mask tells the model where they are; otherwise over the
        # whole (padded) row, as the reference does.
        masked_stats = want_mask and strategy != "do_not_pad"
        feature_shape = clips[0].shape[1:]
        uniform = len(set(row_lengths)) == 1
        values: np.ndarray | None = None
        mask: np.ndarray | None = None
        if uniform:
            values = np.empty((len(clips), row_lengths[0], *feature_shape), dtype=np.float32)
            rows = list(values)
            mask = np.zeros((len(clips), row_lengths[0]), dtype=np.int32) if want_mask else None
            mask_rows = list(mask) if mask is not None else None
        else:
            rows = [np.empty((n, *feature_shape), dtype=np.float32) for n in row_lengths]
            mask_rows = [np.zeros(n, dtype=np.int32) for n in row_lengths] if want_mask else None
        padding_value = 0.0 if self.padding_value is None else self.padding_value
        right = self.padding_side == "right"

        def fill(i: int, scratch: np.ndarray | None = None) -> None:
            row, n, clip = rows[i], lengths[i], clips[i]
            start = 0 if right else len(row) - n
            real = row[start : start + n]
            if n < len(row):
                row[:start] = padding_value
                row[start + n :] = padding_value
            if mask_rows is not None:
                mask_rows[i][start : start + n] = 1
            if self.do_normalize and masked_stats and clip.dtype == np.float32 and clip.flags.c_contiguous:
                ok = _normalize_into(clip, real, scratch)  # straight from the input: no copy pass
            else:
                np.copyto(real, clip, casting="unsafe")
                if self.do_normalize:
                    ok = _normalize_into(real if masked_stats else row, real if masked_stats else row, scratch)
                else:
                    ok = bool(np.isfinite(np.add.reduce(real, axis=None)))
            if not ok:
                raise FeatureExtractionError(
                    f"Clip {i} contains NaN or infinite samples; clean or drop it (np.nan_to_num(clip) replaces them)."
                )

        total = sum(row_lengths)
        if len(clips) > 1 and total >= _PARALLEL_MIN_SAMPLES and usable_cpus() > 1:
            list(_executor().map(fill, range(len(clips))))
        else:
            scratch = np.empty(max(r.size for r in rows), dtype=np.float32) if self.do_normalize else None
            for i in range(len(clips)):
                fill(i, scratch)

        # Containers as the reference returns them without return_tensors: normalised values as a list of
        # rows; raw values as one array (2-D, or an object array of rows when their lengths differ).
        if return_tensors is not None or not self.do_normalize:
            input_values: Any = values if uniform else _object_array(rows)
        else:
            input_values = rows
        if return_tensors is not None and not uniform:
            input_values = rows  # BatchFeature explains why ragged rows cannot become a tensor
        data: dict[str, Any] = {"input_values": input_values}
        if mask_rows is not None:
            data["attention_mask"] = mask if uniform and return_tensors is not None else mask_rows
        return BatchFeature(data, tensor_type=return_tensors)


def _object_array(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of different lengths in one 1-D object array (what numpy makes of a ragged batch)."""
    array = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        array[i] = row
    return array


__all__ = ["Wav2Vec2FeatureExtractor"]
