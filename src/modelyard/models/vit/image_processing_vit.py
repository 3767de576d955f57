"""``ViTImageProcessor``: resize to a fixed size, rescale to [0, 1], normalise (today's name for ViT's
preprocessing; the document's ``ViTFeatureExtractor`` does the same with the older settings layout)."""

from __future__ import annotations

from typing import Any, ClassVar

import PIL.Image

from modelyard.image_processing import (
    IMAGENET_STANDARD_MEAN,
    IMAGENET_STANDARD_STD,
    BaseImageProcessor,
    size_dict,
)
from modelyard.pretrained_io import constructor_arguments


class ViTImageProcessor(BaseImageProcessor):
    """ViT preprocessing: resize to ``size`` (default 224x224, bilinear), rescale by ``rescale_factor``
    (1/255), normalise with ``image_mean`` / ``image_std`` (0.5 each), channels first.

    Args:
        do_resize: resize to ``size``.
        size: an int (square), ``(height, width)`` or ``{"height": h, "width": w}``; stored as the dict.
        resample: Pillow filter: enum, int code or name (``"PIL.Image.BOX"``, ``"bicubic"``).
        do_rescale: multiply pixels by ``rescale_factor``.
        rescale_factor: the factor (1/255: uint8 pixels to [0, 1]).
        do_normalize: subtract ``image_mean`` and divide by ``image_std``, per channel.
        image_mean: one value per channel (or one for all).
        image_std: one value per channel (or one for all).
        do_convert_rgb: convert every image to RGB. ``None`` (default) converts PIL images in modes other than
            RGB/L and repeats grayscale to 3 channels when the mean has 3 values; ``False`` never converts.
    """

    model_input_names: ClassVar[list[str]] = ["pixel_values"]

    def __init__(
        self,
        do_resize: bool = True,
        size: int | tuple[int, int] | dict[str, int] | None = None,
        resample: Any = PIL.Image.Resampling.BILINEAR,
        do_rescale: bool = True,
        rescale_factor: float = 1 / 255,
        do_normalize: bool = True,
        image_mean: float | list[float] | None = None,
        image_std: float | list[float] | None = None,
        do_convert_rgb: bool | None = None,
        **kwargs: Any,
    ) -> None:
        size = size_dict(size if size is not None else {"height": 224, "width": 224})
        image_mean = image_mean if image_mean is not None else list(IMAGENET_STANDARD_MEAN)
        image_std = image_std if image_std is not None else list(IMAGENET_STANDARD_STD)
        super().__init__(**constructor_arguments())


__all__ = ["ViTImageProcessor"]
