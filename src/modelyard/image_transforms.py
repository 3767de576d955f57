"""Image transforms on numpy arrays and PIL images (numpy + Pillow only; torch tensors are read, never imported).

Conventions: arrays are ``(height, width, channels)`` ("channels_last") or ``(channels, height, width)``
("channels_first"); 2-D arrays are grayscale. Resizing goes through Pillow on uint8 data, exactly as the
reference library does, so resized pixels match it bit for bit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import PIL.Image

from modelyard.errors import FeatureExtractionError
from modelyard.feature_extraction import is_torch_tensor

logger = logging.getLogger(__name__)

ChannelFormat = Literal["channels_first", "channels_last"]
CHANNELS_FIRST: ChannelFormat = "channels_first"
CHANNELS_LAST: ChannelFormat = "channels_last"

# Pillow filter codes by name (PIL.Image.Resampling), plus the names older Pillow versions used.
RESAMPLE_CODES: dict[str, int] = {member.name: int(member.value) for member in PIL.Image.Resampling}
RESAMPLE_CODES.update({"ANTIALIAS": int(PIL.Image.Resampling.LANCZOS), "LINEAR": int(PIL.Image.Resampling.BILINEAR),
                       "CUBIC": int(PIL.Image.Resampling.BICUBIC)})
_RESAMPLE_PREFIXES = ("PIL.Image.Resampling.", "PIL.Image.", "Image.Resampling.", "Image.", "Resampling.",
                      "PILImageResampling.")


def resolve_resample(value: Any) -> int:
    """The Pillow filter code for ``value``: a ``PIL.Image.Resampling`` member, an int code, or a name such as
    ``"PIL.Image.BOX"``, ``"Image.BOX"``, ``"BOX"`` or ``"box"``."""
    valid = sorted({int(m.value) for m in PIL.Image.Resampling})
    if isinstance(value, bool):
        pass
    elif isinstance(value, (int, np.integer)):
        if int(value) in valid:
            return int(value)
    elif isinstance(value, str):
        name = value.strip()
        for prefix in _RESAMPLE_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        code = RESAMPLE_CODES.get(name.upper())
        if code is not None:
            return code
    names = ", ".join(f"{m.name} ({int(m.value)})" for m in PIL.Image.Resampling)
    raise FeatureExtractionError(
        f"resample={value!r} is not a Pillow resampling filter. Use a PIL.Image.Resampling member, its code or "
        f"its name (e.g. 'PIL.Image.BOX' or 'box'); filters: {names}."
    )


# ---------------------------------------------------------------------------------------------- arrays
def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def to_numpy_image(image: Any) -> np.ndarray:
    """A PIL image, numpy array or torch tensor as a numpy array (no copy when it already is one)."""
    if isinstance(image, PIL.Image.Image):
        return np.asarray(image)
    if is_torch_tensor(image):
        return image.detach().cpu().numpy()
    if isinstance(image, np.ndarray):
        return image
    raise FeatureExtractionError(
        f"Images must be PIL images, numpy arrays or torch tensors, got {type(image).__name__}."
    )


def infer_channel_format(image: np.ndarray, num_channels: Sequence[int] = (1, 3)) -> ChannelFormat:
    """Which axis of a 3-D image holds the channels: the first if it has 1 or 3 entries (the reference's rule,
    also when both ends would fit), else the last."""
    if image.ndim != 3:
        raise FeatureExtractionError(
            f"An image must be 2-D (grayscale) or 3-D (with channels), got an array of shape {image.shape}."
        )
    if image.shape[0] in num_channels:
        return CHANNELS_FIRST
    if image.shape[-1] in num_channels:
        return CHANNELS_LAST
    raise FeatureExtractionError(channel_count_message(image.shape, num_channels))


def channel_count_message(shape: tuple[int, ...], num_channels: Sequence[int] = (1, 3)) -> str:
    hint = ""
    if 4 in (shape[0], shape[-1]):
        hint = " A 4-channel image is probably RGBA: drop the alpha channel (image[..., :3]) or convert it with " \
               "PIL.Image.fromarray(image).convert('RGB')."
    elif 2 in (shape[0], shape[-1]):
        hint = " A 2-channel image is probably grayscale + alpha: keep the first channel."
    return (
        f"Cannot find the channel axis of an image of shape {tuple(shape)}: expected {' or '.join(map(str, num_channels))} "
        f"channels on the first or last axis.{hint} If the layout is right, pass input_data_format='channels_first' "
        "or 'channels_last'."
    )


def to_channels_last(image: np.ndarray, input_format: ChannelFormat | None = None) -> np.ndarray:
    """A ``(height, width, channels)`` view of a 2-D or 3-D image (2-D gets a channel axis of 1)."""
    if image.ndim == 2:
        return image[:, :, None]
    fmt = input_format or infer_channel_format(image)
    return image.transpose(1, 2, 0) if fmt == CHANNELS_FIRST else image


def to_channel_format(image: np.ndarray, fmt: ChannelFormat, input_format: ChannelFormat | None = None) -> np.ndarray:
    last = to_channels_last(image, input_format)
    return last.transpose(2, 0, 1) if fmt == CHANNELS_FIRST else last


def pil_ready(image: np.ndarray) -> tuple[np.ndarray, float]:
    """``(uint8 array, factor)``: what Pillow can resize, and the factor that brings resized values back to
    the input's range. Floats in [0, 1] are scaled by 255 (and truncated, as the reference does); whole
    numbers in [0, 255] are cast. Anything else is an error naming the range found."""
    if image.dtype == np.uint8:
        return image, 1.0
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise FeatureExtractionError("The image contains NaN or infinite values; clean it (np.nan_to_num) before processing.")
    low, high = (image.min(), image.max()) if image.size else (0, 0)
    if image.dtype.kind in "iub" or np.allclose(image, image.astype(np.int64)):
        if low < 0 or high > 255:
            raise FeatureExtractionError(
                f"Integer pixel values must lie in [0, 255] to be resized, got [{low}, {high}]. Rescale the image "
                "to 0-255 (or floats in 0-1) first."
            )
        return image.astype(np.uint8), 1.0
    if low < 0 or high > 1:
        raise FeatureExtractionError(
            f"Float pixel values must lie in [0, 1] (or be whole numbers in [0, 255]) to be resized, got "
            f"[{low}, {high}]. Normalised images cannot be resized: resize before normalising, or pass do_resize=False."
        )
    return (image.astype(np.float64) * 255).astype(np.float32).astype(np.uint8), 1 / 255


def pil_resize(image: PIL.Image.Image, size: tuple[int, int], resample: int) -> PIL.Image.Image:
    """Resize to ``(height, width)`` with a Pillow filter code."""
    height, width = size
    return image.resize((width, height), resample=resample)


def pil_resize_array(image: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
    """Resize a ``(height, width, channels)`` uint8 array with Pillow: 1, 3 or 4 channels (L, RGB, RGBA, which
    Pillow resizes with premultiplied alpha, as the reference's resize does) in one image, other counts one
    channel at a time."""
    channels = image.shape[2]
    if channels in (1, 3, 4):
        pil = PIL.Image.fromarray(image[:, :, 0] if channels == 1 else np.ascontiguousarray(image))
        return np.asarray(pil_resize(pil, size, resample))
    planes = [np.asarray(pil_resize(PIL.Image.fromarray(np.ascontiguousarray(image[:, :, c])), size, resample))
              for c in range(channels)]
    return np.stack(planes, axis=-1)


def resize(
    image: Any,
    size: tuple[int, int],
    resample: Any = PIL.Image.Resampling.BILINEAR,
    *,
    input_format: ChannelFormat | None = None,
    data_format: ChannelFormat | None = None,
) -> np.ndarray:
    """Resize to ``(height, width)`` through Pillow; returns a numpy array in ``data_format`` (default: the
    input's layout), uint8 for uint8 input and float32 in the input's range for float input."""
    code = resolve_resample(resample)
    if isinstance(image, PIL.Image.Image):
        out = np.asarray(pil_resize(image, size, code))
        if data_format is None:
            return out
        return to_channel_format(out[:, :, None] if out.ndim == 2 else out, data_format, CHANNELS_LAST)
    array = to_numpy_image(image)
    fmt = CHANNELS_LAST if array.ndim == 2 else (input_format or infer_channel_format(array))
    last = to_channels_last(array, fmt)
    pixels, factor = pil_ready(last)
    pil = PIL.Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else np.ascontiguousarray(pixels))
    out = np.asarray(pil_resize(pil, size, code))
    out = out[:, :, None] if out.ndim == 2 else out
    if factor != 1.0:
        out = (out.astype(np.float64) * factor).astype(np.float32)
    if array.ndim == 2 and data_format is None:
        return out[:, :, 0]
    return to_channel_format(out, data_format or fmt, CHANNELS_LAST)


def shortest_edge_size(height: int, width: int, shortest_edge: int, longest_edge: int | None = None) -> tuple[int, int]:
    """Output ``(height, width)`` that keeps the aspect ratio with the short side at ``shortest_edge`` (the
    long side capped at ``longest_edge``), rounded down like the reference."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = shortest_edge, int(shortest_edge * long / short)
    if longest_edge is not None and new_long > longest_edge:
        new_short, new_long = int(longest_edge * new_short / new_long), longest_edge
    return (new_long, new_short) if width <= height else (new_short, new_long)


def center_crop(image: np.ndarray, size: tuple[int, int], *, input_format: ChannelFormat | None = None) -> np.ndarray:
    """Crop the centre ``(height, width)``; an image smaller than that is zero-padded around it first."""
    fmt = CHANNELS_LAST if image.ndim == 2 else (input_format or infer_channel_format(image))
    last = to_channels_last(image, fmt)
    out = crop_channels_last(last, size)
    if image.ndim == 2:
        return out[:, :, 0]
    return to_channel_format(out, fmt, CHANNELS_LAST)


def crop_channels_last(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    height, width = image.shape[:2]
    crop_h, crop_w = size
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    if top >= 0 and left >= 0:
        return image[top : top + crop_h, left : left + crop_w]
    # Too small: centre it on a zero canvas large enough, then crop that.
    canvas_h, canvas_w = max(height, crop_h), max(width, crop_w)
    canvas = np.zeros((canvas_h, canvas_w, image.shape[2]), dtype=image.dtype)
    pad_top, pad_left = (canvas_h - height) // 2, (canvas_w - width) // 2
    canvas[pad_top : pad_top + height, pad_left : pad_left + width] = image
    top, left = (canvas_h - crop_h) // 2, (canvas_w - crop_w) // 2
    return canvas[top : top + crop_h, left : left + crop_w]


def rescale(image: np.ndarray, scale: float, dtype: Any = np.float32) -> np.ndarray:
    """``image * scale`` computed in float64 and stored as ``dtype``."""
    return (np.asarray(image).astype(np.float64) * scale).astype(dtype)


def _per_channel(values: float | Sequence[float], channels: int, name: str) -> np.ndarray:
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if array.size == 1:
        return np.repeat(array, channels)
    if array.size != channels:
        raise FeatureExtractionError(
            f"{name} has {array.size} values {array.tolist()} but the image has {channels} channel(s); give one "
            f"value per channel (or a single value)."
        )
    return array


def normalize(
    image: np.ndarray,
    mean: float | Sequence[float],
    std: float | Sequence[float],
    *,
    input_format: ChannelFormat | None = None,
) -> np.ndarray:
    """``(image - mean) / std`` per channel, in float32 (float inputs keep their dtype)."""
    fmt = CHANNELS_LAST if image.ndim == 2 else (input_format or infer_channel_format(image))
    channels = 1 if image.ndim == 2 else (image.shape[0] if fmt == CHANNELS_FIRST else image.shape[-1])
    work = image if image.dtype.kind == "f" else image.astype(np.float32)
    mean_a = _per_channel(mean, channels, "image_mean").astype(work.dtype)
    std_a = _per_channel(std, channels, "image_std").astype(work.dtype)
    if np.any(std_a == 0):
        raise FeatureExtractionError(f"image_std must not contain 0 (division by zero), got {std_a.tolist()}.")
    if image.ndim == 2:
        return (work - mean_a[0]) / std_a[0]
    if fmt == CHANNELS_FIRST:
        return (work - mean_a[:, None, None]) / std_a[:, None, None]
    return (work - mean_a) / std_a


def affine_coefficients(
    channels: int,
    *,
    scale: float,
    mean: float | Sequence[float] | None,
    std: float | Sequence[float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(a, b)`` in float32 with ``out = pixel * a + b`` equal to ``(pixel * scale - mean) / std``:
    rescale and normalise fused into one multiply-add per pixel."""
    if mean is None or std is None:
        return np.full(channels, scale, dtype=np.float32), np.zeros(channels, dtype=np.float32)
    mean_a = _per_channel(mean, channels, "image_mean")
    std_a = _per_channel(std, channels, "image_std")
    if np.any(std_a == 0):
        raise FeatureExtractionError(f"image_std must not contain 0 (division by zero), got {std_a.tolist()}.")
    return (scale / std_a).astype(np.float32), (-mean_a / std_a).astype(np.float32)


def convert_to_rgb(image: Any) -> Any:
    """PIL images in another mode become RGB (Pillow drops alpha); numpy grayscale is repeated to 3 channels."""
    if isinstance(image, PIL.Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    array = to_numpy_image(image)
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    return array


def flip_channel_order(image: np.ndarray, *, input_format: ChannelFormat | None = None) -> np.ndarray:
    """RGB <-> BGR."""
    fmt = input_format or infer_channel_format(image)
    return image[::-1] if fmt == CHANNELS_FIRST else image[..., ::-1]


__all__ = [
    "CHANNELS_FIRST",
    "CHANNELS_LAST",
    "affine_coefficients",
    "center_crop",
    "convert_to_rgb",
    "flip_channel_order",
    "infer_channel_format",
    "normalize",
    "pil_ready",
    "rescale",
    "resize",
    "resolve_resample",
    "shortest_edge_size",
    "to_channel_format",
    "to_channels_last",
    "to_numpy_image",
]
