"""``ViTFeatureExtractor``: the document's ViT feature extractor (resize, then normalise).

Same processing as :class:`~modelyard.models.vit.image_processing_vit.ViTImageProcessor`, with the settings
layout the document prints: ``size`` as an int, ``resample`` as given (e.g. ``"PIL.Image.BOX"``, which
really resizes with the BOX filter), saved with ``feature_extractor_type``. Keys it does not declare, such as
``do_rescale`` or ``rescale_factor`` from files written by the reference library, are kept and honoured.
"""

from __future__ import annotations

from typing import Any, ClassVar

import PIL.Image

from modelyard.image_processing import (
    IMAGENET_STANDARD_MEAN,
    IMAGENET_STANDARD_STD,
    BaseImageProcessor,
    ImageFeatureExtractionMixin,
)
from modelyard.pretrained_io import constructor_arguments


class ViTFeatureExtractor(ImageFeatureExtractionMixin, BaseImageProcessor):
    """ViT feature extractor: resize to ``size`` x ``size`` with ``resample``, scale pixels to [0, 1],
    normalise with ``image_mean`` / ``image_std``; ``pixel_values`` are channels first.

    Args:
        do_resize: resize the images.
        size: output size, an int (square) or ``(height, width)``.
        resample: Pillow filter: ``PIL.Image.BOX``, its code ``4``, or a name (``"PIL.Image.BOX"``, ``"box"``).
            Printed as given; saved to ``preprocessor_config.json`` as the int code, which the reference
            library needs (so a reloaded extractor prints ``4``).
        do_normalize: normalise with ``image_mean`` and ``image_std``.
        image_mean: per-channel mean (default ``[0.5, 0.5, 0.5]``).
        image_std: per-channel standard deviation (default ``[0.5, 0.5, 0.5]``).
    """

    type_key: ClassVar[str] = "feature_extractor_type"
    auto_class_choices = ("AutoFeatureExtractor", "AutoImageProcessor")
    model_input_names: ClassVar[list[str]] = ["pixel_values"]

    def __init__(
        self,
        do_resize: bool = True,
        size: int | tuple[int, int] | dict[str, int] = 224,
        resample: Any = PIL.Image.Resampling.BILINEAR,
        do_normalize: bool = True,
        image_mean: float | list[float] | None = None,
        image_std: float | list[float] | None = None,
        **kwargs: Any,
    ) -> None:
        image_mean = image_mean if image_mean is not None else list(IMAGENET_STANDARD_MEAN)
        image_std = image_std if image_std is not None else list(IMAGENET_STANDARD_STD)
        super().__init__(**constructor_arguments())

    # Both bases have resize / rescale / normalize / center_crop: the classic helpers (the document's era: PIL
    # images out, int or (height, width) sizes) and the image processor's (numpy out, dict sizes, data formats),
    # which is what code written for today's reference calls, its ViTFeatureExtractor being an image processor.
    # A call in the image processor's form (a dict size, a data format, as a keyword or where the classic helper
    # takes a flag) gets the image processor's helper; any other call the classic one, as before.
    def resize(self, image: Any, size: Any, resample: Any = None, *args: Any, **kwargs: Any) -> Any:
        if _processor_form(size, kwargs) or (args and not isinstance(args[0], bool)):
            if resample is not None:
                kwargs["resample"] = resample
            return BaseImageProcessor.resize(self, image, size, *args, **kwargs)
        return ImageFeatureExtractionMixin.resize(self, image, size, resample, *args, **kwargs)

    def rescale(self, image: Any, scale: float, **kwargs: Any) -> Any:
        if _processor_form(None, kwargs):
            return BaseImageProcessor.rescale(self, image, scale, **kwargs)
        return ImageFeatureExtractionMixin.rescale(self, image, scale)

    def normalize(self, image: Any, mean: Any, std: Any, *args: Any, **kwargs: Any) -> Any:
        if _processor_form(None, kwargs) or (args and not isinstance(args[0], bool)):
            return BaseImageProcessor.normalize(self, image, mean, std, *args, **kwargs)
        return ImageFeatureExtractionMixin.normalize(self, image, mean, std, *args, **kwargs)

    def center_crop(self, image: Any, size: Any, *args: Any, **kwargs: Any) -> Any:
        if _processor_form(size, kwargs) or args:
            return BaseImageProcessor.center_crop(self, image, size, *args, **kwargs)
        return ImageFeatureExtractionMixin.center_crop(self, image, size)


def _processor_form(size: Any, kwargs: dict[str, Any]) -> bool:
    return isinstance(size, dict) or "data_format" in kwargs or "input_data_format" in kwargs


__all__ = ["ViTFeatureExtractor"]
