"""Image feature extraction: ``ImageFeatureExtractionMixin`` (the classic helper methods) and
``BaseImageProcessor`` (settings as attributes, plus a fast batched ``preprocess``).

The batched path does, per image and on a thread pool (Pillow's resize releases the GIL): convert the mode if
needed, resize the uint8 pixels with Pillow (bit-identical to the reference library), centre-crop, then one
fused float32 multiply-add per pixel, ``pixel * a + b`` with ``a = scale / std`` and ``b = -mean / std``,
written straight into a preallocated ``(batch, channels, height, width)`` array. numpy + Pillow only.

The transforms themselves live in :mod:`modelyard.image_transforms`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypedDict

import numpy as np
import PIL.Image

from modelyard import image_transforms as T
from modelyard.errors import ConfigurationError, FeatureExtractionError
from modelyard.feature_extraction import (
    BatchFeature,
    FeatureExtractionMixin,
    Unpack,
    is_torch_tensor,
    tensor_type_name,
)
from modelyard.options import refuse_near_misses

logger = logging.getLogger(__name__)

IMAGENET_STANDARD_MEAN = [0.5, 0.5, 0.5]
IMAGENET_STANDARD_STD = [0.5, 0.5, 0.5]
IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406]
IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225]
# the statistics of the images OpenAI trained CLIP on (CLIP and the models built on its image encoder use them)
OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=min(8, T.usable_cpus()), thread_name_prefix="modelyard-image")
    return _pool


def _is_image(value: Any) -> bool:
    return isinstance(value, (PIL.Image.Image, np.ndarray)) or is_torch_tensor(value)


def flatten_images(images: Any) -> list[Any]:
    """One image, a list of images, a nested list, or a 4-D batch array/tensor, as a flat list of images."""
    if isinstance(images, PIL.Image.Image):
        return [images]
    if isinstance(images, np.ndarray) or is_torch_tensor(images):
        ndim = len(images.shape)
        if ndim == 4:
            return list(images)
        if ndim in (2, 3):
            return [images]
        raise FeatureExtractionError(
            f"An image array must be 2-D, 3-D or a 4-D batch, got shape {tuple(images.shape)}."
        )
    if isinstance(images, (list, tuple)):
        flat: list[Any] = []
        for item in images:
            if isinstance(item, (list, tuple)) or (not isinstance(item, PIL.Image.Image) and len(getattr(item, "shape", ())) == 4):
                flat.extend(flatten_images(item))
            elif _is_image(item):
                flat.append(item)
            else:
                raise FeatureExtractionError(
                    f"Images must be PIL images, numpy arrays or torch tensors, got a {type(item).__name__} in the list."
                )
        return flat
    raise FeatureExtractionError(
        f"Images must be a PIL image, a numpy array, a torch tensor, or a list of those; got {type(images).__name__}."
    )


def size_to_hw(size: Any, *, name: str = "size") -> tuple[int, int] | tuple[str, int, int | None]:
    """``(height, width)`` for an exact size, or ``("shortest_edge", s, longest_or_None)``."""
    if isinstance(size, dict):
        if "height" in size and "width" in size:
            size = (size["height"], size["width"])
        elif "shortest_edge" in size:
            edge, longest = size["shortest_edge"], size.get("longest_edge")
            if not isinstance(edge, int) or edge <= 0:
                raise ConfigurationError(f"{name}['shortest_edge'] must be a positive integer, got {edge!r}.")
            return ("shortest_edge", edge, longest)
        else:
            raise ConfigurationError(
                f"{name} must have the keys 'height' and 'width' (or 'shortest_edge'), got {sorted(size)}."
            )
    elif isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if (
        isinstance(size, (list, tuple))
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        return (int(size[0]), int(size[1]))
    raise ConfigurationError(
        f"{name}={size!r} is not an image size; use an int (square), (height, width), or "
        "{'height': h, 'width': w}."
    )


def size_dict(size: Any, *, name: str = "size") -> dict[str, int]:
    """The reference library's dict form of ``size``."""
    hw = size_to_hw(size, name=name)
    if len(hw) == 3:  # ("shortest_edge", edge, longest or None)
        out = {"shortest_edge": hw[1]}
        if hw[2] is not None:
            out["longest_edge"] = hw[2]
        return out
    return {"height": hw[0], "width": hw[1]}


@dataclass
class _Settings:
    do_convert_rgb: bool | None
    do_resize: bool
    size: tuple[Any, ...] | None
    resample: int
    crop: tuple[int, int] | None
    scale: float
    mean: Any
    std: Any
    data_format: T.ChannelFormat
    input_data_format: T.ChannelFormat | None
    coefficients: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


@dataclass
class _Item:
    image: Any  # a PIL image, or a channels-last numpy view
    convert: bool  # PIL mode conversion to RGB, done in the worker
    channels: int  # channels after conversion
    out_hw: tuple[int, int]
    resize_to: tuple[int, int] | None


class ImageFeatureExtractionMixin:
    """The classic image helpers of feature extractors (PIL images, numpy arrays or torch tensors in)."""

    def _ensure_format_supported(self, image: Any) -> None:
        if not _is_image(image):
            raise FeatureExtractionError(
                f"Got a {type(image).__name__}; only PIL.Image.Image, np.ndarray and torch.Tensor images are supported."
            )

    def to_pil_image(self, image: Any, rescale: bool | None = None) -> PIL.Image.Image:
        """A PIL image; float arrays are multiplied by 255 first unless ``rescale=False``."""
        self._ensure_format_supported(image)
        if isinstance(image, PIL.Image.Image):
            return image
        array = T.to_numpy_image(image)
        if array.ndim == 3 and array.shape[0] in (1, 3):
            array = array.transpose(1, 2, 0)
        if rescale if rescale is not None else array.dtype.kind == "f":
            array = array * 255
        array = array.astype(np.uint8)
        return PIL.Image.fromarray(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array)

    def convert_rgb(self, image: Any) -> Any:
        """PIL images to RGB mode; other inputs unchanged."""
        self._ensure_format_supported(image)
        return image.convert("RGB") if isinstance(image, PIL.Image.Image) else image

    def rescale(self, image: np.ndarray, scale: float) -> np.ndarray:
        self._ensure_format_supported(image)
        return image * scale

    def to_numpy_array(self, image: Any, rescale: bool | None = None, channel_first: bool = True) -> np.ndarray:
        """A numpy array; integer pixels are scaled to [0, 1] (float32) unless ``rescale=False``."""
        self._ensure_format_supported(image)
        array = T.to_numpy_image(image)
        if rescale if rescale is not None else array.dtype.kind in "iu":
            array = array.astype(np.float32) * np.float32(1 / 255)
        if channel_first and array.ndim == 3:
            array = array.transpose(2, 0, 1)
        return array

    def expand_dims(self, image: Any) -> Any:
        self._ensure_format_supported(image)
        if isinstance(image, PIL.Image.Image):
            return image
        if is_torch_tensor(image):
            return image.unsqueeze(0)
        return np.expand_dims(image, axis=0)

    def normalize(self, image: Any, mean: Any, std: Any, rescale: bool = False) -> np.ndarray:
        """``(image - mean) / std`` per channel (PIL images are scaled to [0, 1] first)."""
        self._ensure_format_supported(image)
        if isinstance(image, PIL.Image.Image):
            image = self.to_numpy_array(image, rescale=True)
        else:
            image = T.to_numpy_image(image)
            if rescale:
                image = image.astype(np.float32) * np.float32(1 / 255)
        fmt = T.CHANNELS_FIRST if image.ndim == 3 and image.shape[0] in (1, 3) else T.CHANNELS_LAST
        return T.normalize(image, mean, std, input_format=fmt)

    def resize(
        self, image: Any, size: Any, resample: Any = None, default_to_square: bool = True, max_size: int | None = None
    ) -> PIL.Image.Image:
        """A resized PIL image. An int ``size`` gives a square unless ``default_to_square=False``, which
        matches the shorter edge to it (longer edge capped at ``max_size``)."""
        code = T.resolve_resample(PIL.Image.Resampling.BILINEAR if resample is None else resample)
        self._ensure_format_supported(image)
        pil = image if isinstance(image, PIL.Image.Image) else self.to_pil_image(image)
        if isinstance(size, list):
            size = tuple(size)
        if isinstance(size, int) or len(size) == 1:
            edge = size if isinstance(size, int) else size[0]
            if default_to_square:
                hw = (edge, edge)
            else:
                if max_size is not None and max_size <= edge:
                    raise FeatureExtractionError(f"max_size={max_size} must be greater than size={edge}.")
                width, height = pil.size
                if min(width, height) == edge:
                    return pil
                hw = T.shortest_edge_size(height, width, edge, max_size)
        else:
            hw = (size[0], size[1])
        return T.pil_resize(pil, hw, code)

    def center_crop(self, image: Any, size: Any) -> Any:
        """Centre crop to ``size`` (int or (height, width)); small images are zero-padded."""
        self._ensure_format_supported(image)
        hw = (size, size) if isinstance(size, int) else (size[0], size[1])
        if isinstance(image, PIL.Image.Image):
            width, height = image.size
            top, left = (height - hw[0]) // 2, (width - hw[1]) // 2
            return image.crop((left, top, left + hw[1], top + hw[0]))
        array = T.to_numpy_image(image)
        fmt = T.CHANNELS_FIRST if array.ndim == 3 and array.shape[0] in (1, 3) else T.CHANNELS_LAST
        return T.center_crop(array, hw, input_format=fmt)

    def flip_channel_order(self, image: Any) -> np.ndarray:
        self._ensure_format_supported(image)
        if isinstance(image, PIL.Image.Image):
            image = self.to_numpy_array(image)
        return T.to_numpy_image(image)[::-1, :, :]

    def rotate(self, image: Any, angle: float, resample: Any = None, expand: int = 0, center: Any = None,
               translate: Any = None, fillcolor: Any = None) -> PIL.Image.Image:
        code = T.resolve_resample(PIL.Image.Resampling.NEAREST if resample is None else resample)
        self._ensure_format_supported(image)
        pil = image if isinstance(image, PIL.Image.Image) else self.to_pil_image(image)
        # Pillow's stubs want a Resampling member; Pillow takes its int code as well
        return pil.rotate(angle, resample=code, expand=expand, center=center, translate=translate, fillcolor=fillcolor)  # type: ignore[arg-type]  # Pillow's stubs want a Resampling member; Pillow takes its int code


class ImagePreprocessKwargs(TypedDict, total=False):
    """The options of one ``preprocess`` (or ``__call__``) of an image processor, declared once (the reference's
    names; taken as ``**options: Unpack[ImagePreprocessKwargs]``, so type checkers and IDEs see each one). Each
    defaults to the processor's attribute of the same name; ``data_format`` (of the output) to channels first and
    ``input_data_format`` to what the image's shape says."""

    do_resize: bool | None
    size: Any
    resample: Any
    do_center_crop: bool | None
    crop_size: Any
    do_rescale: bool | None
    rescale_factor: float | None
    do_normalize: bool | None
    image_mean: float | Sequence[float] | None
    image_std: float | Sequence[float] | None
    do_convert_rgb: bool | None
    data_format: str
    input_data_format: str | None


class BaseImageProcessor(FeatureExtractionMixin):
    """Image processors: settings as attributes, ``__call__``/``preprocess`` turning images into
    ``pixel_values``. Saved as ``preprocessor_config.json`` with ``image_processor_type``.

    ``resample`` may be a Pillow filter, its int code or a name (``"PIL.Image.BOX"``, ``"box"``): the object
    keeps and prints what it was given, and the file stores the int code, which is what the reference
    library reads (``PILImageResampling(resample)``).
    """

    type_key: ClassVar[str] = "image_processor_type"
    auto_class_choices = ("AutoImageProcessor", "AutoFeatureExtractor")
    model_input_names: ClassVar[list[str]] = ["pixel_values"]
    # What a plain int ``size`` means: a square (ViT's 224 x 224), or the shortest edge, the aspect ratio kept
    # (CLIP's), as the reference reads it for each processor.
    int_size_is_shortest_edge: ClassVar[bool] = False

    def __init__(self, **kwargs: Any) -> None:
        if isinstance(kwargs.get("resample"), PIL.Image.Resampling):
            kwargs["resample"] = int(kwargs["resample"])  # a filter is kept as its code, as the reference does
        super().__init__(**kwargs)
        resample = getattr(self, "resample", None)
        if resample is not None:
            T.resolve_resample(resample)  # fail at construction, not on the first call

    @property
    def is_fast(self) -> bool:
        """False: these processors run on NumPy and Pillow (the reference's "slow" image processors; its
        torchvision-based fast ones answer True)."""
        return False

    def _file_dict(self) -> dict[str, Any]:
        data = self.to_dict()
        if data.get("resample") is not None:
            data["resample"] = T.resolve_resample(data["resample"])
        return data

    # ------------------------------------------------------------------ new-style transforms (numpy out)
    # The formats here are the caller's strings, passed on as given (the ignores: image_transforms types them
    # as the two valid values).
    def resize(self, image: np.ndarray, size: Any, resample: Any = PIL.Image.Resampling.BILINEAR,
               data_format: str | None = None, input_data_format: str | None = None) -> np.ndarray:
        hw = size_to_hw(size)
        if hw[0] == "shortest_edge":
            array = T.to_numpy_image(image)
            fmt = input_data_format or (T.infer_channel_format(array) if array.ndim == 3 else T.CHANNELS_LAST)
            height, width = T.to_channels_last(array, fmt).shape[:2]  # type: ignore[arg-type]  # the caller's format string (see above)
            hw = T.shortest_edge_size(height, width, hw[1], hw[2])
        return T.resize(image, hw, resample, input_format=input_data_format, data_format=data_format)  # type: ignore[arg-type]  # the caller's format strings (see above)

    def rescale(self, image: np.ndarray, scale: float, **_: Any) -> np.ndarray:
        return T.rescale(image, scale)

    def normalize(self, image: np.ndarray, mean: Any, std: Any, input_data_format: str | None = None, **_: Any) -> np.ndarray:
        return T.normalize(image, mean, std, input_format=input_data_format)  # type: ignore[arg-type]  # the caller's format string (see above)

    def center_crop(self, image: np.ndarray, size: Any, input_data_format: str | None = None, **_: Any) -> np.ndarray:
        hw = size_to_hw(size, name="crop_size")
        return T.center_crop(image, hw, input_format=input_data_format)  # type: ignore[arg-type]  # the caller's format string (see above)

    # ------------------------------------------------------------------ the batched pipeline
    def __call__(
        self, images: Any, return_tensors: Any = None, **options: Unpack[ImagePreprocessKwargs]
    ) -> BatchFeature:
        """Preprocess one image or a batch; see :meth:`preprocess`."""
        return self.preprocess(images, return_tensors=return_tensors, **options)

    def preprocess(
        self, images: Any, *, return_tensors: Any = None, **options: Unpack[ImagePreprocessKwargs]
    ) -> BatchFeature:
        """Images (PIL, numpy HWC/CHW/2-D, torch; one, a list, or a 4-D batch) to ``pixel_values``.

        The options (:class:`ImagePreprocessKwargs`) default to the attributes of the same names. Returns a list of
        ``(C, H, W)`` float32 arrays, or one ``(N, C, H, W)`` array / tensor with ``return_tensors="np"`` /
        ``"pt"``. A keyword that misspells an option is an error; any other keyword is ignored with a warning, as
        in the reference (code passes one set of options to several processors).
        """
        given: dict[str, Any] = dict(options)
        unknown = {key: given.pop(key) for key in list(given) if key not in _PREPROCESS_OPTIONS}
        if unknown:
            accepted = _PREPROCESS_OPTIONS
            refuse_near_misses(f"{type(self).__name__}.preprocess", unknown, accepted)
            warnings.warn(
                f"{type(self).__name__}.preprocess ignores the keyword arguments {sorted(unknown)}: they are not among "
                f"its settings ({', '.join(sorted(accepted))}).",
                UserWarning,
                stacklevel=2,
            )
        kind = tensor_type_name(return_tensors)
        settings = self._settings(given)
        flat = flatten_images(images)
        if not flat:
            raise FeatureExtractionError(f"{type(self).__name__} got an empty batch; give at least one image.")
        items = [self._plan(i, image, settings) for i, image in enumerate(flat)]
        first = items[0].image
        if settings.scale != 1.0 and isinstance(first, np.ndarray) and first.dtype.kind == "f" and first.size:
            if 0 <= first.min() and first.max() <= 1:
                logger.warning(
                    "The images look already rescaled (float pixels in [0, 1]) and do_rescale is on, so they are "
                    "multiplied by rescale_factor=%s again. Pass do_rescale=False if they are in [0, 1].",
                    settings.scale,
                )
        affine = settings.scale != 1.0 or settings.mean is not None
        dtypes = {np.dtype(np.float32) if affine or self._resized_float(it, settings) else self._source_dtype(it) for it in items}
        shapes = {self._out_shape(it, settings) for it in items}
        out: np.ndarray | None = None
        if len(shapes) == 1 and len(dtypes) == 1:
            out = np.empty((len(items), *shapes.pop()), dtype=dtypes.pop())

        def work(i: int) -> np.ndarray:
            try:
                return self._process(items[i], settings, out[i] if out is not None else None)
            except FeatureExtractionError as err:
                raise FeatureExtractionError(f"Image {i}: {err}") from err

        if len(items) > 1 and T.usable_cpus() > 1:
            results = list(_executor().map(work, range(len(items))))
        else:
            results = [work(i) for i in range(len(items))]
        if out is not None and kind is not None:
            return BatchFeature({"pixel_values": out}, tensor_type=kind)
        return BatchFeature({"pixel_values": results}, tensor_type=kind)

    def _settings(self, given: dict[str, Any]) -> _Settings:
        """One call's options, each defaulting to the attribute of its name, checked."""
        def pick(name: str, default: Any) -> Any:
            value = given.get(name)
            return value if value is not None else getattr(self, name, default)

        do_resize = bool(pick("do_resize", False))
        size = pick("size", None)
        if do_resize and size is None:
            raise ConfigurationError(f"{type(self).__name__}: do_resize=True needs a size; set size=...")
        do_center_crop = bool(pick("do_center_crop", False))
        crop_size = pick("crop_size", None)
        if do_center_crop and crop_size is None:
            raise ConfigurationError(f"{type(self).__name__}: do_center_crop=True needs crop_size=...")
        crop = size_to_hw(crop_size, name="crop_size") if do_center_crop else None
        if crop is not None and crop[0] == "shortest_edge":
            raise ConfigurationError("crop_size must be an exact size (height and width), not a shortest edge.")
        scale = 1.0
        if pick("do_rescale", True):
            factor = pick("rescale_factor", 1 / 255)
            if not isinstance(factor, (int, float)) or isinstance(factor, bool):
                raise ConfigurationError(f"rescale_factor must be a number, got {factor!r}.")
            scale = float(factor)
        mean = std = None
        if pick("do_normalize", False):
            mean, std = pick("image_mean", None), pick("image_std", None)
            if mean is None or std is None:
                raise ConfigurationError(
                    f"{type(self).__name__}: do_normalize=True needs image_mean and image_std (one value per channel)."
                )
        data_format = given.get("data_format", T.CHANNELS_FIRST)
        input_data_format = given.get("input_data_format")
        for name, value in (("data_format", data_format), ("input_data_format", input_data_format)):
            if value not in (None, T.CHANNELS_FIRST, T.CHANNELS_LAST):
                raise FeatureExtractionError(f"{name} must be 'channels_first' or 'channels_last', got {value!r}.")
        if data_format is None:
            raise FeatureExtractionError("data_format must be 'channels_first' or 'channels_last', got None.")
        return _Settings(
            do_convert_rgb=pick("do_convert_rgb", None),
            do_resize=do_resize,
            size=(size_to_hw({"shortest_edge": size} if isinstance(size, int) and self.int_size_is_shortest_edge else size)
                  if do_resize else None),
            resample=T.resolve_resample(pick("resample", PIL.Image.Resampling.BILINEAR)),
            crop=crop,  # type: ignore[arg-type]  # crop sizes are height and width (as the reference reads them)
            scale=scale,
            mean=mean,
            std=std,
            data_format=data_format,
            input_data_format=input_data_format,
        )

    def _plan(self, index: int, image: Any, s: _Settings) -> _Item:
        """Checks and shapes, done up front so the output can be allocated once."""
        convert = False
        if isinstance(image, PIL.Image.Image):
            mode = image.mode
            if mode in ("I", "F") or mode.startswith("I;"):
                return self._plan(index, np.asarray(image), s)  # not 8-bit: the numpy rules apply
            if mode == "RGB":
                channels = 3
            elif mode == "L" and not s.do_convert_rgb:
                channels = 1
            elif s.do_convert_rgb is False:
                return self._plan(index, np.asarray(image), s)
            else:
                convert, channels = True, 3
            width, height = image.size
            source: Any = image
        else:
            array = T.to_numpy_image(image)
            if array.dtype.kind not in "fiub":
                raise FeatureExtractionError(f"Image {index} has dtype {array.dtype}; pixels must be numbers.")
            if array.ndim not in (2, 3):
                raise FeatureExtractionError(
                    f"Image {index} has shape {array.shape}; an image is 2-D (grayscale) or 3-D (with channels)."
                )
            if array.ndim == 3:
                fmt = s.input_data_format or T.infer_channel_format(array)
                if fmt is T.CHANNELS_FIRST and s.input_data_format is None and array.shape[-1] in (1, 3):
                    logger.warning(
                        "Image %d has shape %s: the channel axis is ambiguous; taking the first axis as channels "
                        "(pass input_data_format='channels_last' if that is wrong).", index, array.shape)
                source = T.to_channels_last(array, fmt)
                # Any channel count once the layout is given (RGBA, multispectral), as in the reference; the
                # mean and std must then have one value, or one per channel.
                if source.shape[2] not in (1, 3) and s.input_data_format is None:
                    raise FeatureExtractionError(f"Image {index}: {T.channel_count_message(array.shape)}")
            else:
                source = array[:, :, None]
            height, width, channels = source.shape
            if height == 0 or width == 0:
                raise FeatureExtractionError(f"Image {index} is empty (shape {array.shape}).")
        if channels == 1 and (s.do_convert_rgb or (s.mean is not None and np.size(s.mean) == 3)):
            channels = 3  # grayscale repeated to RGB (during the multiply-add, by broadcasting)
        resize_to = None
        if s.do_resize and s.size is not None:
            if s.size[0] == "shortest_edge":
                resize_to = T.shortest_edge_size(height, width, s.size[1], s.size[2])
            else:
                resize_to = (int(s.size[0]), int(s.size[1]))
        out_hw = resize_to or (height, width)
        if s.crop is not None:
            out_hw = s.crop
        return _Item(image=source, convert=convert, channels=channels, out_hw=out_hw, resize_to=resize_to)

    def _out_shape(self, item: _Item, s: _Settings) -> tuple[int, int, int]:
        h, w = item.out_hw
        return (item.channels, h, w) if s.data_format == T.CHANNELS_FIRST else (h, w, item.channels)

    @staticmethod
    def _source_dtype(item: _Item) -> np.dtype:
        return np.dtype(np.uint8) if isinstance(item.image, PIL.Image.Image) else item.image.dtype

    @staticmethod
    def _resized_float(item: _Item, s: _Settings) -> bool:
        return item.resize_to is not None and not isinstance(item.image, PIL.Image.Image) and item.image.dtype != np.uint8

    def _process(self, item: _Item, s: _Settings, out: np.ndarray | None) -> np.ndarray:
        factor = 1.0
        image = item.image
        if isinstance(image, PIL.Image.Image):
            if item.convert:
                image = image.convert("RGB")
            if item.resize_to is not None:
                image = T.pil_resize(image, item.resize_to, s.resample)
            pixels = np.asarray(image)
        elif item.resize_to is not None:
            uint8, factor = T.pil_ready(image)
            pixels = T.pil_resize_array(uint8, item.resize_to, s.resample)
        else:
            pixels = image
            if pixels.dtype.kind == "f" and not np.isfinite(pixels).all():
                raise FeatureExtractionError("the image contains NaN or infinite values; clean it (np.nan_to_num) first.")
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        if s.crop is not None:
            pixels = T.crop_channels_last(pixels, s.crop)
        first = s.data_format == T.CHANNELS_FIRST
        src = pixels.transpose(2, 0, 1) if first else pixels
        scale = s.scale * factor
        if scale == 1.0 and s.mean is None:
            if out is None:
                out = np.empty(self._out_shape(item, s), dtype=np.float32 if factor != 1.0 else pixels.dtype)
            np.copyto(out, src, casting="unsafe")  # broadcasts grayscale to 3 channels when asked
            return out
        key = (item.channels, scale)
        if key not in s.coefficients:  # a handful of keys per call: computed once, shared by the threads
            s.coefficients[key] = T.affine_coefficients(item.channels, scale=scale, mean=s.mean, std=s.std)
        a, b = s.coefficients[key]
        shape = (-1, 1, 1) if first else (1, 1, -1)
        if out is None:
            out = np.empty(self._out_shape(item, s), dtype=np.float32)
        np.multiply(src, a.reshape(shape), out=out, casting="unsafe")
        if b.any():
            np.add(out, b.reshape(shape), out=out)
        return out


# the settings preprocess() takes, for the check of the keywords it does not
_PREPROCESS_OPTIONS = frozenset(ImagePreprocessKwargs.__annotations__) | {"return_tensors"}
# The reference marks a preprocess that warns about keywords outside its signature this way (its tools check it).
setattr(BaseImageProcessor.preprocess, "_filter_out_non_signature_kwargs", True)  # noqa: B010  # a function attribute


__all__ = [
    "IMAGENET_DEFAULT_MEAN",
    "IMAGENET_DEFAULT_STD",
    "IMAGENET_STANDARD_MEAN",
    "IMAGENET_STANDARD_STD",
    "OPENAI_CLIP_MEAN",
    "OPENAI_CLIP_STD",
    "BaseImageProcessor",
    "ImageFeatureExtractionMixin",
    "ImagePreprocessKwargs",
    "flatten_images",
    "size_dict",
    "size_to_hw",
]
