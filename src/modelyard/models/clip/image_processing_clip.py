"""``CLIPImageProcessor``: CLIP's preprocessing (also that of the vision-language models built on CLIP's image
encoder): RGB, resize the shortest edge, centre crop, rescale, normalise with OpenAI's CLIP statistics."""

from __future__ import annotations

from typing import Any, ClassVar

import PIL.Image

from modelyard.image_processing import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, BaseImageProcessor, size_dict
from modelyard.pretrained_io import constructor_arguments


class CLIPImageProcessor(BaseImageProcessor):
    """CLIP preprocessing: convert to RGB, resize so the shortest edge is ``size["shortest_edge"]`` (224, bicubic,
    aspect ratio kept), centre-crop to ``crop_size`` (224 x 224), rescale by ``rescale_factor`` (1/255), normalise
    with ``image_mean`` / ``image_std`` (OpenAI's CLIP statistics), channels first.

    Args:
        do_resize: resize to ``size``.
        size: ``{"shortest_edge": s}`` (an int means the same), or an exact ``{"height": h, "width": w}``.
        resample: Pillow filter: enum, int code or name (default bicubic).
        do_center_crop: crop the centre ``crop_size`` after resizing.
        crop_size: an int (square), ``(height, width)`` or ``{"height": h, "width": w}``.
        do_rescale: multiply pixels by ``rescale_factor``.
        rescale_factor: the factor (1/255: uint8 pixels to [0, 1]).
        do_normalize: subtract ``image_mean`` and divide by ``image_std``, per channel.
        image_mean: one value per channel (or one for all).
        image_std: one value per channel (or one for all).
        do_convert_rgb: convert PIL images to RGB (and repeat grayscale to 3 channels) first.
    """

    model_input_names: ClassVar[list[str]] = ["pixel_values"]
    int_size_is_shortest_edge: ClassVar[bool] = True

    def __init__(
        self,
        do_resize: bool = True,
        size: int | dict[str, int] | None = None,
        resample: Any = PIL.Image.Resampling.BICUBIC,
        do_center_crop: bool = True,
        crop_size: int | tuple[int, int] | dict[str, int] | None = None,
        do_rescale: bool = True,
        rescale_factor: float = 1 / 255,
        do_normalize: bool = True,
        image_mean: float | list[float] | None = None,
        image_std: float | list[float] | None = None,
        do_convert_rgb: bool = True,
        **kwargs: Any,
    ) -> None:
        # Files from before ``crop_size`` became a dict say ``use_square_size``: a square resize instead.
        square = bool(kwargs.pop("use_square_size", False))
        if size is None:
            size = {"shortest_edge": 224}
        elif isinstance(size, int) and not isinstance(size, bool):
            size = {"height": size, "width": size} if square else {"shortest_edge": size}
        size = size_dict(size)
        crop_size = size_dict(crop_size if crop_size is not None else {"height": 224, "width": 224}, name="crop_size")
        image_mean = image_mean if image_mean is not None else list(OPENAI_CLIP_MEAN)
        image_std = image_std if image_std is not None else list(OPENAI_CLIP_STD)
        super().__init__(**constructor_arguments())


__all__ = ["CLIPImageProcessor"]
