"""``ProcessorMixin``: one object holding a model's preprocessors (feature extractor / image processor and
tokenizer), saved and loaded together.

A subclass declares its parts::

    class Wav2Vec2Processor(ProcessorMixin):
        attributes = ["feature_extractor", "tokenizer"]
        feature_extractor_class = "Wav2Vec2FeatureExtractor"
        tokenizer_class = "Wav2Vec2CTCTokenizer"

Each part is saved with its own ``save_pretrained`` into the same folder (the reference library's layout:
``preprocessor_config.json`` + tokenizer files, both carrying ``processor_class``). ``processor_config.json``
is written only when the processor has settings of its own (``optional_attributes``) or custom code
(``auto_map``). Tokenizers are used only through their public API: ``__call__``, ``decode``,
``batch_decode``, ``pad``, ``save_pretrained``, ``from_pretrained``.

Custom code: see the contract in :mod:`modelyard.feature_extraction`; a processor registered with
``register_for_auto_class("AutoProcessor")`` also writes ``auto_map["AutoProcessor"]`` into its feature
extractor's ``preprocessor_config.json`` and into ``processor_config.json``.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import inspect
import json
import logging
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypedDict, TypeVar

from modelyard.errors import ConfigurationError, FeatureExtractionError, UnexpectedArgumentError
from modelyard.feature_extraction import (
    PROCESSOR_NAME,
    FeatureExtractionMixin,
    custom_code_auto_map,
    jsonable,
    read_json_object,
)
from modelyard.hub.files import FileSource
from modelyard.keyword_groups import Unpack, group_keywords
from modelyard.pretrained_io import PretrainedIO

logger = logging.getLogger(__name__)

P = TypeVar("P", bound="ProcessorMixin")

# Which call input each kind of part takes.
_MODALITY_OF = {"feature_extractor": "audio", "image_processor": "images", "tokenizer": "text"}
_TOKENIZER_API = ("__call__", "decode", "batch_decode", "save_pretrained")


# The reference's typed call options (``transformers.processing_utils``): a processor whose ``__call__`` declares
# ``**kwargs: Unpack[<its ProcessingKwargs>]`` tells type checkers (and the reference's tests) which options each
# part takes. The routing below does not need them: it reads the parts' own signatures.
class TextKwargs(TypedDict, total=False):
    add_special_tokens: bool | None
    padding: bool | str | None
    truncation: bool | str | None
    max_length: int | None
    stride: int | None
    is_split_into_words: bool | None
    pad_to_multiple_of: int | None
    return_token_type_ids: bool | None
    return_attention_mask: bool | None
    return_overflowing_tokens: bool | None
    return_special_tokens_mask: bool | None
    return_offsets_mapping: bool | None
    return_length: bool | None
    verbose: bool | None
    padding_side: str | None


class AudioKwargs(TypedDict, total=False):
    sampling_rate: int | None
    raw_speech: Any
    padding: bool | str | None
    max_length: int | None
    truncation: bool | str | None
    pad_to_multiple_of: int | None
    return_attention_mask: bool | None


class ImagesKwargs(TypedDict, total=False):
    do_resize: bool | None
    size: dict[str, int] | None
    do_rescale: bool | None
    rescale_factor: float | None
    do_normalize: bool | None
    image_mean: float | list[float] | None
    image_std: float | list[float] | None


class CommonKwargs(TypedDict, total=False):
    return_tensors: str | None


class ProcessingKwargs(TextKwargs, AudioKwargs, ImagesKwargs, CommonKwargs, total=False):
    """Every option a processor call takes: flat (``padding=True``), per part (``text_kwargs={...}``) or for all
    parts (``common_kwargs``)."""

    text_kwargs: TextKwargs
    audio_kwargs: AudioKwargs
    images_kwargs: ImagesKwargs
    common_kwargs: CommonKwargs


def _explicit_parameters(function: Any) -> tuple[set[str], bool]:
    """Named keyword parameters of ``function`` (with the keys of a ``**kwargs: Unpack[SomeTypedDict]``, e.g. an
    audio extractor's padding options) and whether it also takes ``**kwargs``."""
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return set(), True
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    var_keyword = next((p for p in params if p.kind is p.VAR_KEYWORD), None)
    if var_keyword is not None and var_keyword.annotation is not inspect.Parameter.empty:
        names |= set(group_keywords(function, var_keyword.name) or ())
    return names, var_keyword is not None


class ProcessorMixin(PretrainedIO):
    """Bundles preprocessors; subclasses declare ``attributes`` and one ``<attribute>_class`` name each."""

    attributes: ClassVar[list[str]] = ["feature_extractor", "tokenizer"]
    # Settings of the processor itself, saved in processor_config.json.
    optional_attributes: ClassVar[list[str]] = []
    feature_extractor_class: ClassVar[str | None] = None
    image_processor_class: ClassVar[str | None] = None
    tokenizer_class: ClassVar[str | None] = None
    # With audio (or images) and text in one call, the text's input_ids go under this key.
    text_target_key: ClassVar[str] = "labels"
    auto_class_choices = ("AutoProcessor",)
    # The parts that ``attributes`` names, set by __init__ (declared for type checkers; a processor has only
    # the parts its ``attributes`` name).
    tokenizer: Any
    feature_extractor: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        optional = {k: kwargs.pop(k) for k in list(kwargs) if k in self.optional_attributes}
        for key in ("processor_class", "auto_map"):
            if key in kwargs:
                optional[key] = kwargs.pop(key)
        unknown = [k for k in kwargs if k not in self.attributes]
        if unknown:
            raise UnexpectedArgumentError(
                f"{type(self).__name__} got unexpected keyword argument(s) {unknown}; its parts are "
                f"{self.attributes} and its settings {self.optional_attributes or 'none'}."
            )
        if len(args) > len(self.attributes):
            raise UnexpectedArgumentError(
                f"{type(self).__name__} takes {len(self.attributes)} positional parts ({', '.join(self.attributes)}), "
                f"got {len(args)}."
            )
        parts = dict(zip(self.attributes, args))
        for name, value in kwargs.items():
            if name in parts:
                raise UnexpectedArgumentError(f"{type(self).__name__} got {name!r} both by position and by keyword.")
            parts[name] = value
        missing = [name for name in self.attributes if parts.get(name) is None]
        if missing:
            raise ConfigurationError(
                f"{type(self).__name__} needs {', '.join(missing)}: pass "
                + ", ".join(f"{m}=<{self._declared_class(m) or m}>" for m in missing)
                + " (or load everything with from_pretrained)."
            )
        for name, value in parts.items():
            self._check_part(name, value)
            setattr(self, name, value)
        self.auto_map = optional.pop("auto_map", None)
        optional.pop("processor_class", None)
        for name, value in optional.items():
            setattr(self, name, value)

    @classmethod
    def _declared_class(cls, attribute: str) -> str | None:
        return getattr(cls, f"{attribute}_class", None)

    def _check_part(self, name: str, value: Any) -> None:
        if "tokenizer" in name:
            missing = [m for m in _TOKENIZER_API if not callable(getattr(value, m, None))]
            if missing:
                raise ConfigurationError(
                    f"{type(self).__name__}: {name} must be a tokenizer (with {', '.join(_TOKENIZER_API)}), got "
                    f"{type(value).__name__}, which lacks {', '.join(missing)}."
                )
        elif not isinstance(value, FeatureExtractionMixin):
            expected = self._declared_class(name) or "a FeatureExtractionMixin subclass"
            raise ConfigurationError(
                f"{type(self).__name__}: {name} must be a feature extractor / image processor ({expected}), got "
                f"{type(value).__name__}."
            )

    # ------------------------------------------------------------------ calling
    def __call__(
        self,
        audio: Any = None,
        text: Any = None,
        images: Any = None,
        *,
        audio_kwargs: Mapping[str, object] | None = None,
        text_kwargs: Mapping[str, object] | None = None,
        images_kwargs: Mapping[str, object] | None = None,
        common_kwargs: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Route inputs: ``audio`` to the feature extractor, ``images`` to the image processor, ``text`` to the
        tokenizer. With audio (or images) and text, the result is the features plus ``labels`` = the text's
        ``input_ids``.

        Keyword arguments go to every called part whose ``__call__`` names them (``padding``,
        ``return_tensors`` usually to both, ``sampling_rate`` to the feature extractor); for anything else, or
        to give a part its own value, use ``audio_kwargs=`` / ``text_kwargs=`` / ``images_kwargs=``, and
        ``common_kwargs=`` for every part (it wins over the rest). An option given both ways is an error. Text
        options the tokenizer was created with (``from_pretrained(..., padding="max_length", max_length=64)``)
        are its defaults here, as in the reference.
        """
        if "raw_speech" in kwargs:
            warnings.warn("raw_speech= is deprecated; pass audio= (or the audio as first argument).", FutureWarning, stacklevel=2)
            audio = kwargs.pop("raw_speech")
        inputs = {"audio": audio, "text": text, "images": images}
        given = {m for m, v in inputs.items() if v is not None}
        if not given:
            raise FeatureExtractionError(f"{type(self).__name__} needs an input: audio=, text= or images=.")
        parts = {_MODALITY_OF.get(self._kind(a)): getattr(self, a) for a in self.attributes}
        for modality in given:
            if modality not in parts:
                raise FeatureExtractionError(
                    f"{type(self).__name__} has no part for {modality} (its parts: {', '.join(self.attributes)})."
                )
        if getattr(self, "_in_target_context_manager", False):
            parts["audio"] = parts["images"] = self.tokenizer
        explicit = {"audio": dict(audio_kwargs or {}), "text": dict(text_kwargs or {}), "images": dict(images_kwargs or {})}
        for modality, options in explicit.items():
            twice = sorted(set(options) & set(kwargs))
            if twice:
                raise FeatureExtractionError(
                    f"{type(self).__name__}: {twice[0]!r} was passed two times, in {modality}_kwargs and as a keyword "
                    "argument; pass it once."
                )
        routed = self._route_kwargs(kwargs, {m: parts[m] for m in given})
        if "text" in given and not getattr(self, "_in_target_context_manager", False):
            routed["text"] = {**self._tokenizer_defaults(parts["text"]), **routed["text"]}
        outputs: dict[str, Any] = {}
        for modality in ("audio", "images", "text"):
            if modality in given:
                call_kwargs = {**routed[modality], **explicit[modality], **(common_kwargs or {})}
                outputs[modality] = parts[modality](inputs[modality], **call_kwargs)
        if "text" not in outputs:
            return outputs.get("audio", outputs.get("images"))
        features = outputs.get("audio", outputs.get("images"))
        if features is None:
            return outputs["text"]
        features[self.text_target_key] = outputs["text"]["input_ids"]
        return features

    def _route_kwargs(self, kwargs: dict[str, Any], called: dict[str, Any]) -> dict[str, dict[str, Any]]:
        routed: dict[str, dict[str, Any]] = {m: {} for m in called}
        signatures = {m: _explicit_parameters(part.__call__) for m, part in called.items()}
        for key, value in kwargs.items():
            targets = [m for m, (names, _) in signatures.items() if key in names]
            if not targets:
                # Tokenizers commonly take extra options through **kwargs.
                targets = [m for m, (_, var) in signatures.items() if var and m == "text"]
            if not targets:
                parts = ", ".join(f"{type(called[m]).__name__}.__call__" for m in called)
                raise UnexpectedArgumentError(
                    f"{type(self).__name__}: keyword {key!r} is not a parameter of {parts}. Pass it to one part with "
                    "audio_kwargs=, text_kwargs= or images_kwargs=."
                )
            for m in targets:
                routed[m][key] = value
        return routed

    @staticmethod
    def _tokenizer_defaults(tokenizer: Any) -> dict[str, Any]:
        """Text options the tokenizer was created with (its ``init_kwargs``): the current attribute where the
        tokenizer has one (``padding_side``), else the value it was given."""
        init = getattr(tokenizer, "init_kwargs", None) or {}
        return {key: getattr(tokenizer, key, init[key]) for key in TextKwargs.__annotations__ if key in init}

    @staticmethod
    def _kind(attribute: str) -> str:
        for kind in _MODALITY_OF:
            if kind in attribute:
                return kind
        return attribute

    def pad(self, *args: Any, **kwargs: Any) -> Any:
        """``pad(input_features, labels=...)``: features through the feature extractor's ``pad``, ``labels``
        through the tokenizer's; both given: the features with ``labels`` = the padded ``input_ids``."""
        if getattr(self, "_in_target_context_manager", False):
            return self.tokenizer.pad(*args, **kwargs)
        input_features = kwargs.pop("input_features", None)
        labels = kwargs.pop("labels", None)
        if args:
            input_features, args = args[0], args[1:]
        extractor = getattr(self, "feature_extractor", None) or getattr(self, "image_processor", None)
        if input_features is not None:
            if extractor is None or not hasattr(extractor, "pad"):
                raise FeatureExtractionError(f"{type(self).__name__} has no feature extractor that can pad.")
            input_features = extractor.pad(input_features, *args, **kwargs)
        if labels is not None:
            labels = self.tokenizer.pad(labels, **kwargs)
        if labels is None:
            return input_features
        if input_features is None:
            return labels
        input_features[self.text_target_key] = labels["input_ids"]
        return input_features

    def decode(self, *args: Any, **kwargs: Any) -> Any:
        """The tokenizer's ``decode``."""
        return self.tokenizer.decode(*args, **kwargs)

    def batch_decode(self, *args: Any, **kwargs: Any) -> Any:
        """The tokenizer's ``batch_decode``."""
        return self.tokenizer.batch_decode(*args, **kwargs)

    @contextlib.contextmanager
    def as_target_processor(self) -> Iterator[None]:
        """Deprecated: inside the block, calls go to the tokenizer. Pass ``text=`` to ``__call__`` instead."""
        warnings.warn(
            "as_target_processor() is deprecated: pass the labels as text= in the same call as the audio, or in a "
            "separate call.",
            FutureWarning,
            stacklevel=3,
        )
        self._in_target_context_manager = True
        try:
            yield
        finally:
            self._in_target_context_manager = False

    @property
    def model_input_names(self) -> list[str]:
        """The parts' input names, in attribute order, as the reference lists them (a family may override)."""
        names: list[str] = []
        for attribute in self.attributes:
            names.extend(getattr(getattr(self, attribute), "model_input_names", []))
        return names

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """The processor's own settings (not its parts), ``auto_map`` when set, and ``processor_class``."""
        output = {name: copy.deepcopy(getattr(self, name)) for name in self.optional_attributes if hasattr(self, name)}
        if self.auto_map:
            output["auto_map"] = dict(self.auto_map)
        output["processor_class"] = type(self).__name__
        return output

    def to_json_string(self) -> str:
        return json.dumps(jsonable(self.to_dict()), indent=2, sort_keys=True) + "\n"

    def __repr__(self) -> str:
        parts = "\n".join(f"- {name}: {getattr(self, name)!r}" for name in self.attributes)
        return f"{type(self).__name__}:\n{parts}\n\n{self.to_json_string()}"

    def _save_into(self, directory: Path, *, portable_code: bool = False,
                   legacy_serialization: bool = True) -> list[Path]:
        """Save every part into ``directory`` (plus ``processor_config.json`` when needed; ``save_pretrained``);
        ``portable_code=True`` writes custom code's imports of modelyard so the transformers library can run it.

        ``legacy_serialization=False`` is the reference's newer layout: the feature extractor / image processor
        settings go into ``processor_config.json`` (nested under their attribute names) instead of their own file;
        tokenizers keep their files. That file is then written always, and listed first."""
        written: list[Path] = []
        auto_map = custom_code_auto_map(self, directory, written, portable=portable_code)
        processor_map = {"AutoProcessor": auto_map["AutoProcessor"]} if auto_map and "AutoProcessor" in auto_map else None
        nested: dict[str, Any] = {}
        for name in self.attributes:
            part = getattr(self, name)
            if hasattr(part, "_set_processor_class"):
                part._set_processor_class(type(self).__name__)
            if isinstance(part, FeatureExtractionMixin) and not legacy_serialization:
                nested[name] = part._file_dict()
            elif isinstance(part, FeatureExtractionMixin):
                written += part._save_into(directory, extra_auto_map=processor_map, portable_code=portable_code)
            else:
                # a part may be any object with save_pretrained: pass the option only when it is asked for
                files = part.save_pretrained(directory, **({"portable_code": True} if portable_code else {}))
                written += [Path(f) for f in files or []]
        data = {**self.to_dict(), **nested}
        if auto_map:
            data["auto_map"] = auto_map
        if set(data) != {"processor_class"}:
            path = directory / PROCESSOR_NAME
            path.write_text(json.dumps(jsonable(data), indent=2, sort_keys=True) + "\n", encoding="utf-8")
            written.insert(0 if nested else len(written), path)
        logger.info("Processor saved in %s", directory)
        return written

    # ------------------------------------------------------------------ loading
    @classmethod
    def _part_class(cls, attribute: str) -> Any:
        """The class named by ``<attribute>_class``: the processor's own module first (custom code), then
        modelyard's public names (Auto classes included)."""
        name = cls._declared_class(attribute)
        if name is None:
            raise ConfigurationError(f"{cls.__name__} declares no {attribute}_class; set it to the class name to load.")
        module = sys.modules.get(cls.__module__)
        if module is not None and isinstance(getattr(module, name, None), type):
            return getattr(module, name)
        modelyard = importlib.import_module("modelyard")
        if name in getattr(modelyard, "__all__", ()):
            return getattr(modelyard, name)
        raise ConfigurationError(
            f"{cls.__name__}.{attribute}_class is {name!r}, which is neither in {cls.__module__} nor a modelyard class."
        )

    @classmethod
    def _from_source(
        cls: type[P],
        location: FileSource | Path,
        *,
        trust_remote_code: bool | None = None,
        code_revision: str | None = None,
        **kwargs: Any,
    ) -> P:
        """Load every part from one folder or repository (``from_pretrained``; one :class:`FileSource`).

        ``kwargs``: the processor's own settings (``optional_attributes``), ``<attribute>_kwargs={...}``
        (e.g. ``tokenizer_kwargs={"do_lower_case": False}``) passed to one part's ``from_pretrained``, or plain
        settings of the parts (``bos_token=...``, ``do_normalize=False``), each given to every part that takes it,
        as the reference gives them to all. ``trust_remote_code`` / ``code_revision`` reach parts loaded through
        Auto classes.
        """
        if isinstance(location, Path):
            raise ConfigurationError(
                f"{cls.__name__}.from_pretrained needs a folder or repository (its parts live in several files), "
                f"got the file {str(location)!r}; pass its folder."
            )
        part_kwargs = {name: dict(kwargs.pop(f"{name}_kwargs", None) or {}) for name in cls.attributes}
        own = {k: kwargs.pop(k) for k in list(kwargs) if k in cls.optional_attributes}
        part_classes = {name: cls._part_class(name) for name in cls.attributes}
        for key in list(kwargs):
            takers = [name for name, part in part_classes.items() if key in _keywords_of(part)]
            for name in takers:
                part_kwargs[name].setdefault(key, kwargs[key])
            if takers:
                del kwargs[key]
        if kwargs:
            raise UnexpectedArgumentError(
                f"{cls.__name__}.from_pretrained got keyword argument(s) {sorted(kwargs)} that no part "
                f"({', '.join(c.__name__ for c in part_classes.values())}) takes. Give settings of one part as "
                f"{', '.join(f'{a}_kwargs={{...}}' for a in cls.attributes)}."
            )
        parts = {}
        for name in cls.attributes:
            part_class = part_classes[name]
            extra = part_kwargs[name]
            if part_class.__name__.startswith("Auto"):
                extra = {"trust_remote_code": trust_remote_code, "code_revision": code_revision, **extra}
            parts[name] = part_class.from_pretrained(location, **extra)
        processor_path = location.get(PROCESSOR_NAME, required=False)
        settings: dict[str, Any] = {}
        if processor_path is not None:
            data = read_json_object(processor_path)
            settings = {k: v for k, v in data.items() if k in cls.optional_attributes or k == "auto_map"}
        settings.update(own)
        return cls(**parts, **settings)

    @classmethod
    def _accepted_keywords(cls) -> set[str]:
        return super()._accepted_keywords() | set(cls.optional_attributes) | {f"{a}_kwargs" for a in cls.attributes}


def _keywords_of(part_class: Any) -> frozenset[str]:
    """The settings a part's ``from_pretrained`` takes (beyond where the files come from)."""
    accepted = getattr(part_class, "accepted_keywords", None)
    return frozenset(accepted()) if accepted is not None else frozenset()


__all__ = [
    "AudioKwargs",
    "CommonKwargs",
    "ImagesKwargs",
    "ProcessingKwargs",
    "ProcessorMixin",
    "TextKwargs",
    "Unpack",
]
