"""Feature extractors: ``FeatureExtractionMixin``, ``BatchFeature`` and the audio ``SequenceFeatureExtractor``.

A feature extractor is a bag of JSON attributes (saved as ``preprocessor_config.json``, the reference
library's file) plus a ``__call__`` that turns raw images or audio into model inputs. This module imports
numpy only; torch is imported when a caller asks for ``return_tensors="pt"`` (or calls ``BatchFeature.to``).

Custom-code contract (read by :mod:`modelyard.dynamic_modules`)
----------------------------------------------------------------
* ``SomeExtractor.register_for_auto_class("AutoFeatureExtractor")`` (or ``"AutoImageProcessor"``; processors:
  ``"AutoProcessor"``) sets the class attribute ``_auto_class``.
* ``save_pretrained(directory)`` of an object whose class has ``_auto_class`` set calls
  ``save_custom_code(obj, directory)`` (no ``config``) *before* writing its JSON; the paths it returns are
  added to the returned list. It must copy the module defining ``type(obj)`` (and what it imports
  relatively) into ``directory``. It may record the entry in ``obj.auto_map``; this module then writes
  ``obj.auto_map`` into the JSON it writes (``preprocessor_config.json``; for processors also
  ``processor_config.json``), adding ``{_auto_class: "<module file stem>.<ClassName>"}`` if it is missing.
* The Auto classes pass an ``auto_map`` entry, exactly as stored in the file (a string, or a list for
  tokenizers), to ``resolve_remote_class(reference, auto_class=..., source=<FileSource or None>,
  trust_remote_code=..., code_revision=..., builtin=<built-in class or None>)``; ``None`` back means "use the
  built-in class". A class returned from remote code gets ``register_for_auto_class(auto_class)`` so that
  saving it again ships its code.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypedDict, TypeVar

import numpy as np

from modelyard import json_files
from modelyard.batch_dict import BatchDict
from modelyard.errors import ConfigurationError, FeatureExtractionError, HubError, MissingFileError
from modelyard.hub.files import FileSource
from modelyard.json_settings import JsonSettings
from modelyard.keyword_groups import Unpack
from modelyard.options import HubOptions, refuse_near_misses, unknown_keywords_error
from modelyard.pretrained_io import locate

logger = logging.getLogger(__name__)

FEATURE_EXTRACTOR_NAME = "preprocessor_config.json"
PROCESSOR_NAME = "processor_config.json"
# Bookkeeping keys naming the class; never attributes of the object.
TYPE_KEYS = ("feature_extractor_type", "image_processor_type")
AUTO_CLASS_NAMES = ("AutoFeatureExtractor", "AutoImageProcessor", "AutoProcessor")

F = TypeVar("F", bound="FeatureExtractionMixin")
R = TypeVar("R")


# ---------------------------------------------------------------------------------------------- tensors
def tensor_type_name(tensor_type: Any) -> str | None:
    """``None``, ``"np"`` or ``"pt"`` from a string or an enum-like with a ``.value``."""
    if tensor_type is None:
        return None
    value = getattr(tensor_type, "value", tensor_type)
    if value in ("np", "pt"):
        return value
    raise FeatureExtractionError(
        f"return_tensors={tensor_type!r} is not supported: modelyard returns numpy arrays ('np') or PyTorch "
        "tensors ('pt'), or lists when return_tensors is None."
    )


def is_torch_tensor(value: Any) -> bool:
    """True for a ``torch.Tensor``, decided without importing torch."""
    return type(value).__module__.startswith("torch") and hasattr(value, "detach") and hasattr(value, "numpy")


def to_numpy(value: Any) -> Any:
    """Torch tensors to numpy arrays (on CPU); anything else unchanged."""
    if is_torch_tensor(value):
        return value.detach().cpu().numpy()
    return value


def _ragged_error(key: str, kind: str, value: Sequence[Any]) -> FeatureExtractionError:
    shapes = sorted({tuple(np.shape(v)) for v in value})
    return FeatureExtractionError(
        f"Cannot make one {kind} tensor from {key!r}: its {len(value)} items have different shapes "
        f"{shapes[:6]}{' ...' if len(shapes) > 6 else ''}. Pass padding=True (or padding='max_length' with "
        "max_length=...) so they match, or use return_tensors='np' or None to get the rows as they are."
    )


def _ragged_rows(items: Sequence[Any]) -> np.ndarray:
    """A one-dimensional object array holding each row as its own array, as the reference gives for a batch of
    unequal rows with ``return_tensors="np"`` (``array[i]`` is row ``i``; nothing is padded)."""
    rows = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        rows[i] = np.asarray(to_numpy(item))
    return rows


def _stack_numpy(key: str, value: Any, kind: str) -> np.ndarray:
    """One numpy array from ``value``. Rows of different shapes make an object array of rows for numpy (the
    reference's result) and an error for PyTorch, which has no ragged tensors."""
    if isinstance(value, np.ndarray):
        return value
    value = to_numpy(value)
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, np.ndarray) or is_torch_tensor(v) for v in value):
        items = [to_numpy(v) for v in value]
        if len({v.shape for v in items}) > 1:
            if kind == "numpy":
                return _ragged_rows(items)
            raise _ragged_error(key, kind, items)
        return np.stack(items)
    try:
        array = np.asarray(value)
    except ValueError as err:  # numpy refuses ragged nested lists
        if kind == "numpy" and isinstance(value, (list, tuple)) and all(isinstance(v, (list, tuple)) for v in value):
            return _ragged_rows(value)
        raise _ragged_error(key, kind, value) from err
    if array.dtype == object:
        raise _ragged_error(key, kind, value)
    return array


class BatchFeature(BatchDict):
    """The output of a feature extractor: a dict (``"input_values"``, ``"pixel_values"``, ...) whose values
    are lists, numpy arrays or torch tensors. Keys are also attributes (``batch.pixel_values``)."""

    def __init__(self, data: Mapping[str, Any] | None = None, tensor_type: Any = None) -> None:
        super().__init__(data)
        self.convert_to_tensors(tensor_type)

    def __getitem__(self, item: str) -> Any:
        if isinstance(item, str):
            return self.data[item]
        raise KeyError(
            f"BatchFeature is indexed by name ({', '.join(map(repr, self.data))}), not by {item!r}; "
            "index the value instead, e.g. batch['input_values'][0]."
        )

    def convert_to_tensors(self, tensor_type: Any = None) -> BatchFeature:
        """Turn every value into a numpy array (``"np"``) or a torch tensor (``"pt"``), in place."""
        kind = tensor_type_name(tensor_type)
        if kind is None:
            return self
        if kind == "np":
            for key, value in self.data.items():
                self.data[key] = _stack_numpy(key, value, "numpy")
            return self
        import torch  # only here: return_tensors="pt" asked for it

        for key, value in self.data.items():
            if isinstance(value, torch.Tensor):
                continue
            if isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor) for v in value):
                if len({tuple(v.shape) for v in value}) > 1:
                    raise _ragged_error(key, "PyTorch", value)
                self.data[key] = torch.stack(list(value))
                continue
            array = _stack_numpy(key, value, "PyTorch")
            self.data[key] = torch.from_numpy(array if array.flags.writeable else array.copy())
        return self

    def to(self, *args: Any, **kwargs: Any) -> BatchFeature:
        """``tensor.to(...)`` on every torch value: a dtype casts floating tensors only (masks stay integers);
        a device moves every tensor. Returns ``self``."""
        import torch

        device = kwargs.get("device")
        non_blocking = kwargs.get("non_blocking", False)
        if device is None and args:
            first = args[0]
            if isinstance(first, torch.dtype):
                pass
            elif isinstance(first, (str, int, torch.device)):
                device = first
            else:
                raise FeatureExtractionError(
                    f"BatchFeature.to() takes a device ('cpu', 'cuda:0', torch.device) or a torch dtype, got {first!r}."
                )

        def move(value: Any) -> Any:
            if isinstance(value, torch.Tensor) and torch.is_floating_point(value):
                return value.to(*args, **kwargs)
            if isinstance(value, torch.Tensor) and device is not None:
                return value.to(device=device, non_blocking=non_blocking)
            return value

        self.data = {key: move(value) for key, value in self.data.items()}
        return self


# ---------------------------------------------------------------------------------------------- JSON files
def read_json_object(path: Path) -> dict[str, Any]:
    """The settings in a preprocessing file; errors name the file and what is wrong with it."""
    return json_files.read_json_object(
        path, holds="a JSON object of settings", fix="Fix the file, or write it again with save_pretrained().",
        error=ConfigurationError,
    )


def open_source(
    pretrained_model_name_or_path: str | os.PathLike[str] | FileSource, hub: HubOptions | None = None
) -> tuple[FileSource | None, Path | None]:
    """``(source, None)`` for a folder / repo id / FileSource, ``(None, path)`` for a JSON file path."""
    location = locate(pretrained_model_name_or_path, hub, json_files=True)
    if isinstance(location, Path):
        if not location.is_file():
            raise MissingFileError(f"{str(location)!r} does not exist. Pass an existing JSON file or a folder.")
        return None, location
    return location, None


def read_preprocessor_settings(
    pretrained_model_name_or_path: str | os.PathLike[str] | FileSource,
    hub: HubOptions | None = None,
    *,
    what: str = "feature extractor",
) -> tuple[FileSource | None, dict[str, Any], str]:
    """``(source, settings dict, name for messages)`` of a saved preprocessor: a JSON file path, or a folder /
    repo id / FileSource read with :func:`load_preprocessor_dict`.

    When the settings cannot be had (no such file, repository or revision, offline), the error keeps its class
    and its reason, opened by the reference's sentence ``Can't load <what> for '<name>'.``, which code
    written against the reference matches."""
    try:
        source, file_path = open_source(pretrained_model_name_or_path, hub)
        if file_path is not None:
            return None, read_json_object(file_path), str(file_path)
        assert source is not None
        data = load_preprocessor_dict(source)
    except (HubError, MissingFileError) as err:
        name = pretrained_model_name_or_path.name if isinstance(pretrained_model_name_or_path, FileSource) else str(
            pretrained_model_name_or_path
        )
        raise type(err)(f"Can't load {what} for '{name}'. {err}") from err
    assert data is not None  # required=True raises instead of returning None
    return source, data, source.name


def load_preprocessor_dict(source: FileSource, *, required: bool = True) -> dict[str, Any] | None:
    """The feature-extractor / image-processor settings of ``source``: ``preprocessor_config.json``, or the
    ``"feature_extractor"`` / ``"image_processor"`` object nested in ``processor_config.json`` (newer format)."""
    path = source.get(FEATURE_EXTRACTOR_NAME, required=False)
    if path is not None:
        data = read_json_object(path)
        # A few reference-made files nest the settings under the attribute name.
        nested = data.get("feature_extractor")
        return dict(nested) if isinstance(nested, dict) else data
    processor_path = source.get(PROCESSOR_NAME, required=False)
    if processor_path is not None:
        data = read_json_object(processor_path)
        for key in ("feature_extractor", "image_processor"):
            if isinstance(data.get(key), dict):
                return dict(data[key])
    if not required:
        return None
    files = source.list_files()
    raise MissingFileError(
        f"{source.name!r} has no {FEATURE_EXTRACTOR_NAME} (nor a feature extractor inside {PROCESSOR_NAME}); it "
        f"holds: {', '.join(files[:12]) or 'no files'}{' ...' if len(files) > 12 else ''}. Save one with "
        "feature_extractor.save_pretrained(folder), or pass the folder that has it."
    )


def jsonable(value: Any, *, where: str = "") -> Any:
    """Plain JSON values: numpy arrays and scalars to lists and numbers, tuples and sets to lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v, where=f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, where=where) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v, where=where) for v in value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ConfigurationError(
        f"Attribute {where!r} holds a {type(value).__name__} ({value!r}), which cannot be written to JSON. "
        "Store a string, number, list or dict instead."
    )


def _stem(name: str) -> str:
    for suffix in ("Fast", "FeatureExtractor", "ImageProcessor", "Processor"):
        name = name.removesuffix(suffix)
    return name


def custom_code_auto_map(obj: Any, directory: Path, written: list[Path], *, portable: bool = False) -> dict[str, Any] | None:
    """Save ``obj``'s custom code if its class is registered for an Auto class; the auto_map to write."""
    auto_class = getattr(type(obj), "_auto_class", None)
    if auto_class is None:
        return None
    from modelyard.dynamic.saving import save_custom_code

    written.extend(save_custom_code(obj, directory, portable=portable) or [])
    auto_map = dict(getattr(obj, "auto_map", None) or {})  # save_custom_code may have recorded the entry
    auto_map.setdefault(auto_class, f"{type(obj).__module__.rsplit('.', 1)[-1]}.{type(obj).__name__}")
    return auto_map


# ---------------------------------------------------------------------------------------------- the mixin
class FeatureExtractionMixin(JsonSettings):
    """Attributes from keyword arguments, JSON (de)serialisation, ``save_pretrained`` / ``from_pretrained``.

    Every keyword given to ``__init__`` becomes an attribute, so files written by other versions (or by the
    reference library) load without losing keys. ``print(extractor)`` shows the class name and its JSON.
    """

    _auto_class: ClassVar[str | None] = None
    # The key naming the class in the JSON file ("image_processor_type" for image processors).
    type_key: ClassVar[str] = "feature_extractor_type"
    auto_class_choices = ("AutoFeatureExtractor", "AutoImageProcessor")
    settings_error = ConfigurationError
    model_input_names: ClassVar[list[str]] = []

    def __init__(self, **kwargs: Any) -> None:
        self._processor_class: str | None = kwargs.pop("processor_class", None)
        for key in TYPE_KEYS:
            kwargs.pop(key, None)
        for key, value in kwargs.items():
            if key.startswith("_"):
                continue  # private bookkeeping from other libraries (e.g. "_valid_processor_keys")
            existing = getattr(type(self), key, None)
            if callable(existing) or isinstance(existing, property):
                raise ConfigurationError(
                    f"{type(self).__name__}: setting {key!r}={value!r} would hide the method or property of that "
                    "name. Remove the key from the file or the call."
                )
            setattr(self, key, value)

    def _set_processor_class(self, processor_class: str) -> None:
        """Remember the processor this object belongs to (written as ``processor_class``)."""
        self._processor_class = processor_class

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Every public attribute, plus the class name under ``feature_extractor_type`` (or
        ``image_processor_type``) and ``processor_class`` when set."""
        output = {k: copy.deepcopy(v) for k, v in self.__dict__.items() if not k.startswith("_")}
        output[self.type_key] = type(self).__name__
        if self._processor_class is not None:
            output["processor_class"] = self._processor_class
        return output

    def _file_dict(self) -> dict[str, Any]:
        """What the JSON file holds; subclasses turn display values into ones the reference library reads."""
        return self.to_dict()

    def to_json_string(self) -> str:
        """The attributes as sorted, indented JSON (what ``print`` shows)."""
        return json.dumps(jsonable(self.to_dict()), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, json_file_path: str | os.PathLike[str]) -> None:
        """Write the file form of the attributes (see :meth:`save_pretrained`)."""
        self._write_json(Path(json_file_path), None)

    def _write_json(self, path: Path, auto_map: dict[str, Any] | None) -> None:
        data = self._file_dict()
        if auto_map:
            data["auto_map"] = auto_map
        path.write_text(json.dumps(jsonable(data), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def _compared(self) -> Any:
        return jsonable(self.to_dict())

    # ------------------------------------------------------------------ saving (PretrainedIO hooks)
    def _save_into(
        self, directory: Path, *, extra_auto_map: dict[str, Any] | None = None, portable_code: bool = False
    ) -> list[Path]:
        """Write ``preprocessor_config.json`` (and the class's code when it is registered with
        :meth:`register_for_auto_class`; ``portable_code=True`` writes its imports of modelyard so the
        transformers library can run it too); returns the files written."""
        written: list[Path] = []
        auto_map = custom_code_auto_map(self, directory, written, portable=portable_code)
        if extra_auto_map:
            auto_map = {**(auto_map or getattr(self, "auto_map", None) or {}), **extra_auto_map}
        path = directory / FEATURE_EXTRACTOR_NAME
        self._write_json(path, auto_map)
        written.append(path)
        logger.info("Feature extractor saved in %s", path)
        return written

    # ------------------------------------------------------------------ loading
    @classmethod
    def _settings_at(cls, location: FileSource | Path) -> dict[str, Any]:
        """The settings ``from_pretrained`` builds from: a JSON file, or the preprocessor file of a folder or hub
        repository. Keyword arguments of ``from_pretrained`` override attributes; those that are not attributes
        come back with ``return_unused_kwargs=True`` (otherwise a warning names them); a misspelt one is an error."""
        _, data, _ = read_preprocessor_settings(location)
        return data

    @classmethod
    def _accepted_keywords(cls) -> set[str]:
        return super()._accepted_keywords() | cls._init_parameter_names()

    @classmethod
    def get_feature_extractor_dict(
        cls, pretrained_model_name_or_path: str | os.PathLike[str] | FileSource, **kwargs: Any
    ) -> dict[str, Any]:
        """The raw settings dict of a saved feature extractor (keywords: the HubOptions)."""
        hub = HubOptions.take(kwargs, where=f"{cls.__name__}.get_feature_extractor_dict")
        if kwargs:
            raise unknown_keywords_error(f"{cls.__name__}.get_feature_extractor_dict", kwargs, HubOptions.field_names(),
                                         "options of where the file comes from")
        _, data, _ = read_preprocessor_settings(pretrained_model_name_or_path, hub)
        return data

    @classmethod
    def _init_parameter_names(cls) -> set[str]:
        names: set[str] = set()
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            for param in inspect.signature(init).parameters.values():
                if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY) and param.name != "self":
                    names.add(param.name)
        return names

    @classmethod
    def from_dict(
        cls: type[F], feature_extractor_dict: dict[str, Any], *, return_unused_kwargs: bool = False, **kwargs: Any
    ) -> F | tuple[F, dict[str, Any]]:
        """Build from a settings dict; ``kwargs`` that are attributes (or ``__init__`` parameters) override it."""
        if not isinstance(feature_extractor_dict, dict):
            raise ConfigurationError(
                f"{cls.__name__}.from_dict needs a dict of settings, got {type(feature_extractor_dict).__name__}."
            )
        data = dict(feature_extractor_dict)
        file_type = next((data[k] for k in TYPE_KEYS if isinstance(data.get(k), str)), None)
        if file_type and _stem(file_type) != _stem(cls.__name__) and not cls.__name__.startswith(_stem(file_type)):
            logger.warning(
                "Loading settings saved by %s into %s: the two may expect different settings.", file_type, cls.__name__
            )
        known = cls._init_parameter_names()
        unused: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in data or key in known:
                data[key] = value
            else:
                unused[key] = value
        try:
            obj = cls(**data)
        except TypeError as err:
            raise ConfigurationError(
                f"{cls.__name__} could not be built from these settings ({sorted(data)}): {err}. Remove the "
                "offending key from the file, or give the class a **kwargs parameter."
            ) from err
        refuse_near_misses(f"{cls.__name__}.from_dict", unused, known | set(data))
        if return_unused_kwargs:
            return obj, unused
        if unused:
            warnings.warn(
                f"{cls.__name__}: ignored keyword arguments that are not attributes: {sorted(unused)}. "
                "Pass return_unused_kwargs=True to receive them.",
                UserWarning,
                stacklevel=3,
            )
        return obj

    @classmethod
    def from_json_file(cls: type[F], json_file: str | os.PathLike[str]) -> F:
        obj = cls.from_dict(read_json_object(Path(json_file)))
        assert isinstance(obj, cls)
        return obj


# ---------------------------------------------------------------------------------------------- audio
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")


def padding_strategy(padding: bool | str | Any, max_length: int | None) -> str:
    """``"longest"``, ``"max_length"`` or ``"do_not_pad"`` from the ``padding`` argument."""
    value = getattr(padding, "value", padding)
    if value is True:
        strategy = "longest"
    elif value is False or value is None:
        strategy = "do_not_pad"
    elif isinstance(value, str) and value in PADDING_STRATEGIES:
        strategy = value
    else:
        raise FeatureExtractionError(
            f"padding={padding!r} is not a padding strategy; use True / 'longest', 'max_length' (with max_length=) "
            "or False / 'do_not_pad'."
        )
    if strategy == "max_length" and max_length is None:
        raise FeatureExtractionError("padding='max_length' needs max_length=<number of samples>; pass it, or use padding=True.")
    return strategy


def padded_length(longest: int, strategy: str, max_length: int | None, pad_to_multiple_of: int | None) -> int:
    target = longest if strategy == "longest" else int(max_length or 0)
    return round_up(target, pad_to_multiple_of)


def round_up(length: int, multiple: int | None) -> int:
    if multiple is None:
        return length
    if not isinstance(multiple, int) or isinstance(multiple, bool) or multiple <= 0:
        raise FeatureExtractionError(f"pad_to_multiple_of must be a positive integer, got {multiple!r}.")
    return -(-length // multiple) * multiple


class AudioPaddingKwargs(TypedDict, total=False):
    """The padding options of an audio feature extractor's ``__call__`` and ``pad``, declared once (the reference's
    names; taken as ``**options: Unpack[AudioPaddingKwargs]``, so type checkers and IDEs see each one).

    ``padding``: ``True``/``"longest"``, ``"max_length"`` (with ``max_length``) or ``False``/``"do_not_pad"``
    (``pad`` pads by default, ``__call__`` does not); ``max_length``: the target length of ``"max_length"`` padding
    and of truncation; ``truncation``: cut longer inputs to ``max_length``; ``pad_to_multiple_of``: round the
    padded length up to a multiple of this; ``return_attention_mask``: add the mask (1 = real, 0 = padding;
    default: the extractor's ``return_attention_mask``); ``return_tensors``: ``None``, ``"np"`` or ``"pt"``.
    """

    padding: bool | str
    max_length: int | None
    truncation: bool
    pad_to_multiple_of: int | None
    return_attention_mask: bool | None
    return_tensors: Any


@dataclass(frozen=True)
class AudioPadding:
    """One call's :class:`AudioPaddingKwargs`, checked, with the extractor's defaults filled in."""

    strategy: str  # "longest", "max_length" or "do_not_pad"
    max_length: int | None
    truncation: bool
    pad_to_multiple_of: int | None
    return_attention_mask: bool
    return_tensors: Any

    def truncated(self, rows: list[R]) -> list[R]:
        """``rows`` cut to ``max_length`` (rounded up to ``pad_to_multiple_of``) under ``truncation=True``."""
        if not self.truncation:
            return rows
        limit = round_up(int(self.max_length or 0), self.pad_to_multiple_of)
        return [row[:limit] for row in rows]  # type: ignore[index]  # rows are arrays (or lists) of samples

    def target_length(self, longest: int) -> int:
        """The length every row is padded to, given the longest row's (the strategy must pad)."""
        return padded_length(longest, self.strategy, self.max_length, self.pad_to_multiple_of)


class SequenceFeatureExtractor(FeatureExtractionMixin):
    """Base class of audio feature extractors: a ``sampling_rate`` to check, and :meth:`pad`."""

    model_input_names: ClassVar[list[str]] = ["input_values", "attention_mask"]

    def __init__(self, feature_size: int, sampling_rate: int, padding_value: float, **kwargs: Any) -> None:
        if isinstance(feature_size, bool) or not isinstance(feature_size, int) or feature_size < 1:
            raise ConfigurationError(f"feature_size must be a positive integer, got {feature_size!r}.")
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, int) or sampling_rate <= 0:
            raise ConfigurationError(f"sampling_rate must be a positive integer (Hz), got {sampling_rate!r}.")
        self.feature_size = feature_size
        self.sampling_rate = sampling_rate
        self.padding_value = padding_value
        self.padding_side = kwargs.pop("padding_side", "right")
        if self.padding_side not in ("left", "right"):
            raise ConfigurationError(f"padding_side must be 'left' or 'right', got {self.padding_side!r}.")
        self.return_attention_mask = kwargs.pop("return_attention_mask", True)
        super().__init__(**kwargs)

    def _check_sampling_rate(self, sampling_rate: int | None) -> None:
        """A wrong rate is an error naming both rates; a missing one is a warning (once per object)."""
        if sampling_rate is None:
            if not getattr(self, "_warned_sampling_rate", False):
                self._warned_sampling_rate = True
                logger.warning(
                    "%s() was called without sampling_rate; pass sampling_rate=%d (the rate this extractor expects) "
                    "so that audio at another rate is caught instead of silently giving wrong features.",
                    type(self).__name__,
                    self.sampling_rate,
                )
            return
        if sampling_rate != self.sampling_rate:
            raise FeatureExtractionError(
                f"{type(self).__name__} expects audio sampled at {self.sampling_rate} Hz, but sampling_rate="
                f"{sampling_rate} Hz was given. Resample the audio to {self.sampling_rate} Hz first (e.g. with "
                "torchaudio.functional.resample or librosa.resample)."
            )

    def pad(
        self,
        processed_features: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        **options: Unpack[AudioPaddingKwargs],
    ) -> BatchFeature:
        """Pad (and optionally truncate) a batch of features to one length.

        ``processed_features``: a dict / BatchFeature of lists, or a list of dicts (a collate function's
        input). ``padding``: ``True``/``"longest"``, ``"max_length"`` (needs ``max_length``) or
        ``False``/``"do_not_pad"``. Values are padded with ``padding_value`` on ``padding_side``; the
        attention mask (1 = real, 0 = padding) is added when asked or when the extractor's default says so.
        The other options: see :class:`AudioPaddingKwargs`.
        """
        self._refuse_unknown_options("pad", options)
        if isinstance(processed_features, (list, tuple)):
            if not processed_features:
                raise FeatureExtractionError("pad() got an empty list; give at least one example.")
            if not all(isinstance(e, Mapping) for e in processed_features):
                raise FeatureExtractionError(
                    "pad() takes a dict of lists or a list of dicts, got a list of "
                    f"{type(processed_features[0]).__name__}."
                )
            processed_features = {key: [e[key] for e in processed_features] for key in processed_features[0]}
        if not isinstance(processed_features, Mapping):
            raise FeatureExtractionError(
                f"pad() takes a BatchFeature, a dict of lists or a list of dicts, got {type(processed_features).__name__}."
            )
        main = self.model_input_names[0]
        if main not in processed_features:
            raise FeatureExtractionError(
                f"pad() needs the key {main!r} (this extractor's model input), got keys {list(processed_features)}."
            )
        values = processed_features[main]
        if len(values) == 0:
            out = dict(processed_features)
            if self._wants_attention_mask(options):
                out["attention_mask"] = []
            return BatchFeature(out)
        first = values[0]
        plan = self._padding(options, padding=True)
        return_tensors = plan.return_tensors
        if return_tensors is None:
            return_tensors = "pt" if is_torch_tensor(first) or (isinstance(first, (list, tuple)) and first and is_torch_tensor(first[0])) else "np"
        if isinstance(first, (int, float, np.number)):  # one example given as a flat list of numbers
            values = [values]
        arrays = [np.asarray(to_numpy(v)) for v in values]
        masks = processed_features.get("attention_mask")
        mask_arrays = [np.asarray(to_numpy(m), dtype=np.int32) for m in masks] if masks is not None else None
        arrays = plan.truncated(arrays)
        mask_arrays = plan.truncated(mask_arrays) if mask_arrays is not None else None
        strategy = plan.strategy
        if strategy != "do_not_pad" and self.padding_value is None:
            raise FeatureExtractionError(
                f"{type(self).__name__}.padding_value is None, so it cannot pad; set extractor.padding_value = 0.0."
            )
        lengths = [len(a) for a in arrays]
        target = plan.target_length(max(lengths)) if strategy != "do_not_pad" else 0
        padded, new_masks = [], []
        for i, array in enumerate(arrays):
            if array.dtype == np.float64:
                array = array.astype(np.float32)
            n = len(array)
            mask = mask_arrays[i] if mask_arrays is not None else np.ones(n, dtype=np.int32)
            if strategy != "do_not_pad" and n < target:
                array = self._pad_one(array, target, self.padding_value)
                mask = self._pad_one(mask, target, 0)
            padded.append(array)
            new_masks.append(mask)
        out = {k: v for k, v in processed_features.items() if k not in (main, "attention_mask")}
        out[main] = padded
        if plan.return_attention_mask or masks is not None:
            out["attention_mask"] = new_masks
        shapes = {a.shape for a in padded}
        return BatchFeature(out, tensor_type=return_tensors if len(shapes) == 1 else None)

    # ------------------------------------------------------------------ the padding options
    def _refuse_unknown_options(self, method: str, options: Mapping[str, Any]) -> None:
        unknown = [key for key in options if key not in AudioPaddingKwargs.__annotations__]
        if unknown:
            raise unknown_keywords_error(f"{type(self).__name__}.{method}()", unknown,
                                         AudioPaddingKwargs.__annotations__, "its parameters nor padding options")

    def _wants_attention_mask(self, options: AudioPaddingKwargs) -> bool:
        asked = options.get("return_attention_mask")
        return bool(self.return_attention_mask if asked is None else asked)

    def _padding(self, options: AudioPaddingKwargs, *, padding: bool | str) -> AudioPadding:
        """The options of one call, checked; ``padding`` is the method's default strategy."""
        max_length = options.get("max_length")
        strategy = padding_strategy(options.get("padding", padding), max_length)
        truncation = bool(options.get("truncation", False))
        if truncation and max_length is None:
            raise FeatureExtractionError("truncation=True needs max_length=<number of samples>; pass it.")
        return AudioPadding(strategy=strategy, max_length=max_length, truncation=truncation,
                            pad_to_multiple_of=options.get("pad_to_multiple_of"),
                            return_attention_mask=self._wants_attention_mask(options),
                            return_tensors=options.get("return_tensors"))

    def _pad_one(self, array: np.ndarray, target: int, value: float) -> np.ndarray:
        result = np.full((target,) + array.shape[1:], value, dtype=array.dtype)
        if self.padding_side == "right":
            result[: len(array)] = array
        else:
            result[target - len(array) :] = array
        return result
