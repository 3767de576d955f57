"""The reference's Auto name tables, read from modelyard's family manifests and registrations.

Third-party libraries (peft, sentence-transformers, optimum) and the reference's own tests read
``MODEL_FOR_<TASK>_MAPPING_NAMES`` (``model_type -> class name``), the lazy ``MODEL_FOR_<TASK>_MAPPING``
(``config class -> model class``), ``CONFIG_MAPPING`` (``model_type -> config class``) and
``TOKENIZER_MAPPING`` (``config class -> (slow, fast)``). Here each is a read-only view of the same tables
modelyard's Auto classes use, so a family or a ``register()`` call shows up in both; ``register`` on a
mapping registers with the Auto class, as in the reference.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import KW_ONLY, InitVar, dataclass
from typing import Any, TypeVar

from modelyard.auto.configuration_auto import CONFIG_TABLE
from modelyard.auto.feature_extraction_auto import FEATURE_EXTRACTOR_TABLE
from modelyard.auto.image_processing_auto import IMAGE_PROCESSOR_TABLE
from modelyard.auto.processing_auto import PROCESSOR_TABLE
from modelyard.auto.tokenization_auto import TOKENIZER_TABLE
from modelyard.registry import MODEL_TASKS, ConfigKeyedTable, ModelTypeTable, manifests

_K = TypeVar("_K")

# Auto classes whose table the reference names otherwise than the rule below
_TABLE_NAMES = {"AutoModelForPreTraining": "MODEL_FOR_PRETRAINING", "AutoBackbone": "MODEL_FOR_BACKBONE",
                "AutoModelForAudioXVector": "MODEL_FOR_AUDIO_XVECTOR"}


def table_name(auto_class: str) -> str:
    """``AutoModelForMaskedLM`` -> ``MODEL_FOR_MASKED_LM``; ``AutoModel`` -> ``MODEL``."""
    if auto_class in _TABLE_NAMES:
        return _TABLE_NAMES[auto_class]
    task = re.sub(
        r"(?<=[a-z])(?=[A-Z])", "_", auto_class.removeprefix("AutoModel").removeprefix("For")
    ).upper()
    return f"MODEL_FOR_{task}" if task else "MODEL"


def _names(pick: Any) -> OrderedDict[str, Any]:
    return OrderedDict((m.model_type, value) for m in manifests() if (value := pick(m)) is not None)


def model_mapping_names(auto_class: str) -> OrderedDict[str, str]:
    return _names(lambda m: m.models.get(auto_class))


class RegistrationsByConfig(MutableMapping[type, Any]):
    """A ``model_type``-keyed table's user registrations seen by config class: the reference's
    ``<TABLE>_MAPPING._extra_content`` for tokenizers, feature extractors, image processors and processors. Live: deleting a
    config class unregisters its ``model_type`` (the reference's tests clean up this way)."""

    def __init__(self, table: ModelTypeTable) -> None:
        self._table = table

    @staticmethod
    def _model_type(config_class: object) -> str | None:
        model_type = getattr(config_class, "model_type", None) if isinstance(config_class, type) else None
        return model_type if isinstance(model_type, str) and model_type else None

    def __getitem__(self, config_class: type) -> Any:
        model_type = self._model_type(config_class)
        if model_type is None or model_type not in self._table.registrations:
            raise KeyError(config_class)
        return self._table.registrations[model_type]

    def __setitem__(self, config_class: type, value: Any) -> None:
        model_type = self._model_type(config_class)
        if model_type is None:
            raise KeyError(f"{config_class!r} has no model_type; set `model_type = \"...\"` on the config class.")
        self._table.registrations[model_type] = value

    def __delitem__(self, config_class: type) -> None:
        model_type = self._model_type(config_class)
        if model_type is None or model_type not in self._table.registrations:
            raise KeyError(config_class)
        del self._table.registrations[model_type]

    def __iter__(self) -> Iterator[type]:
        classes = (CONFIG_TABLE.get(model_type) for model_type in list(self._table.registrations))
        return iter([c for c in classes if c is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _LookupMapping(Mapping[_K, Any]):
    """A read-only view of a live table: a key of ``_key_type`` maps to what :meth:`_lookup` finds (``None``: no
    entry, a ``KeyError``), so the view follows every registration."""

    _key_type: type

    def _lookup(self, key: _K) -> Any:
        raise NotImplementedError

    def __getitem__(self, key: _K) -> Any:
        value = self._lookup(key) if isinstance(key, self._key_type) else None
        if value is None:
            raise KeyError(key)
        return value


@dataclass(eq=False, repr=False)  # a Mapping's equality and the repr below
class ConfigClassMapping(_LookupMapping[type]):
    """``config class -> value`` over the model types a table knows, registrations included: what it is called,
    the table's model types, the value for a config class, the config classes registered, and where a
    ``register`` goes.

    ``_extra_content`` is the live mapping of user registrations (``config class -> value``), under the
    reference's name: code that cleans up after ``register`` deletes from it."""

    _describe: str
    _model_types: Callable[[], Iterable[str]]
    _value_for: Callable[[type], Any]
    _registered: Callable[[], Iterable[type]]
    _register: Callable[[type, Any, bool], None]
    _: KW_ONLY
    extra_content: InitVar[MutableMapping[type, Any] | None] = None

    def __post_init__(self, extra_content: MutableMapping[type, Any] | None) -> None:
        self._extra_content: MutableMapping[type, Any] = extra_content if extra_content is not None else {}

    def _config_classes(self) -> list[type]:
        classes = [c for t in self._model_types() if (c := CONFIG_TABLE.get(t)) is not None]
        return list(dict.fromkeys([*classes, *self._registered()]))

    _key_type = type

    def _lookup(self, config_class: type) -> Any:
        return self._value_for(config_class)

    def __iter__(self) -> Iterator[type]:
        return iter(c for c in self._config_classes() if self._value_for(c) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"<{self._describe}: {len(self)} entries>"

    # lists, as the reference's lazy mappings give (code concatenates them: ``a.items() + b.items()``)
    def keys(self) -> list[type]:  # type: ignore[override]  # lists, as the reference's (see above)
        return list(self)

    def values(self) -> list[Any]:  # type: ignore[override]  # lists, as the reference's (see above)
        return [self[key] for key in self]

    def items(self) -> list[tuple[type, Any]]:  # type: ignore[override]  # lists, as the reference's (see above)
        return [(key, self[key]) for key in self]

    def register(self, key: type, value: Any, exist_ok: bool = False) -> None:
        self._register(key, value, exist_ok)


def model_mapping(auto_class: str) -> ConfigClassMapping:
    import modelyard.auto.modeling_auto as modeling_auto

    auto = getattr(modeling_auto, auto_class)
    table: ConfigKeyedTable = auto._table
    return ConfigClassMapping(
        table_name(auto_class) + "_MAPPING",
        table.model_types,
        table.get,
        table.registered_config_classes,
        lambda key, value, exist_ok: auto.register(key, value, exist_ok=exist_ok),
        extra_content=table.registrations,
    )


class ModelTypeMapping(_LookupMapping[str]):
    """``CONFIG_MAPPING``: ``model_type -> config class``, registrations included (``_extra_content``: the
    live user registrations, ``model_type -> config class``, under the reference's name)."""

    @property
    def _extra_content(self) -> dict[str, Any]:
        return CONFIG_TABLE.registrations

    _key_type = str

    def _lookup(self, model_type: str) -> Any:
        return CONFIG_TABLE.get(model_type)

    def __iter__(self) -> Iterator[str]:
        return iter(CONFIG_TABLE.model_types())

    def __len__(self) -> int:
        return len(CONFIG_TABLE.model_types())

    def register(self, key: str, value: type, exist_ok: bool = False) -> None:
        CONFIG_TABLE.register(key, value, exist_ok=exist_ok)


def _tokenizer_pair(config_class: type) -> tuple[Any, Any] | None:
    model_type = getattr(config_class, "model_type", None)
    return TOKENIZER_TABLE.get(model_type) if model_type else None


def _register_tokenizer(config_class: type, value: Any, exist_ok: bool) -> None:
    slow, fast = value if isinstance(value, tuple) else (value, None)
    from modelyard.auto.tokenization_auto import AutoTokenizer

    AutoTokenizer.register(
        config_class, slow_tokenizer_class=slow, fast_tokenizer_class=fast, exist_ok=exist_ok
    )


def _type_table_mapping(describe: str, table: Any, register: Any) -> ConfigClassMapping:
    def value_for(config_class: type) -> Any:
        model_type = getattr(config_class, "model_type", None)
        return table.get(model_type) if model_type else None

    return ConfigClassMapping(
        describe, table.model_types, value_for, lambda: [], register, extra_content=RegistrationsByConfig(table)
    )


def get_values(model_mapping: Mapping[Any, Any]) -> list[Any]:
    """Every value of a mapping, tuples (slow, fast) flattened, as the reference's helper."""
    result: list[Any] = []
    for value in model_mapping.values():
        result.extend(value if isinstance(value, (list, tuple)) else [value])
    return result


def _refuse_direct_registration(key: Any, value: Any, exist_ok: bool) -> None:
    raise TypeError(f"Register {value!r} for {key!r} with the Auto class (e.g. AutoImageProcessor.register).")


# The reference's model tables (``<name>_MAPPING_NAMES`` / ``<name>_MAPPING``). Those of tasks no modelyard family has
# a head for are offered empty: no model type maps to such a head here, which is what code reading them needs to know.
REFERENCE_MODEL_TABLES = (
    "MODEL", "MODEL_FOR_AUDIO_CLASSIFICATION", "MODEL_FOR_AUDIO_FRAME_CLASSIFICATION", "MODEL_FOR_AUDIO_TOKENIZATION",
    "MODEL_FOR_AUDIO_XVECTOR",
    "MODEL_FOR_BACKBONE", "MODEL_FOR_CAUSAL_IMAGE_MODELING", "MODEL_FOR_CAUSAL_LM", "MODEL_FOR_CTC",
    "MODEL_FOR_DEPTH_ESTIMATION", "MODEL_FOR_DOCUMENT_QUESTION_ANSWERING", "MODEL_FOR_IMAGE_CLASSIFICATION",
    "MODEL_FOR_IMAGE", "MODEL_FOR_IMAGE_SEGMENTATION", "MODEL_FOR_IMAGE_TEXT_TO_TEXT", "MODEL_FOR_IMAGE_TO_IMAGE",
    "MODEL_FOR_INSTANCE_SEGMENTATION", "MODEL_FOR_KEYPOINT_DETECTION", "MODEL_FOR_KEYPOINT_MATCHING",
    "MODEL_FOR_MASKED_IMAGE_MODELING", "MODEL_FOR_MASKED_LM", "MODEL_FOR_MASK_GENERATION", "MODEL_FOR_MULTIPLE_CHOICE",
    "MODEL_FOR_NEXT_SENTENCE_PREDICTION", "MODEL_FOR_OBJECT_DETECTION", "MODEL_FOR_PRETRAINING",
    "MODEL_FOR_QUESTION_ANSWERING", "MODEL_FOR_RETRIEVAL", "MODEL_FOR_SEMANTIC_SEGMENTATION",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", "MODEL_FOR_SPEECH_SEQ_2_SEQ",
    "MODEL_FOR_TABLE_QUESTION_ANSWERING", "MODEL_FOR_TEXT_ENCODING", "MODEL_FOR_TEXT_TO_SPECTROGRAM",
    "MODEL_FOR_TEXT_TO_WAVEFORM", "MODEL_FOR_TIME_SERIES_CLASSIFICATION", "MODEL_FOR_TIME_SERIES_PREDICTION",
    "MODEL_FOR_TIME_SERIES_REGRESSION", "MODEL_FOR_TOKEN_CLASSIFICATION", "MODEL_FOR_UNIVERSAL_SEGMENTATION",
    "MODEL_FOR_VIDEO_CLASSIFICATION", "MODEL_FOR_VISION_2_SEQ", "MODEL_FOR_VISUAL_QUESTION_ANSWERING",
    "MODEL_FOR_ZERO_SHOT_IMAGE_CLASSIFICATION", "MODEL_FOR_ZERO_SHOT_OBJECT_DETECTION", "MODEL_WITH_LM_HEAD",
)


# The reference's one irregular name: the audio-tokenization table's names are MODEL_FOR_AUDIO_TOKENIZATION_NAMES.
_IRREGULAR_NAMES = {"MODEL_FOR_AUDIO_TOKENIZATION": "MODEL_FOR_AUDIO_TOKENIZATION_NAMES"}


def _names_table(name: str) -> str:
    return _IRREGULAR_NAMES.get(name, name + "_MAPPING_NAMES")


def _no_head_for(name: str) -> Any:
    def register(key: Any, value: Any, exist_ok: bool) -> None:
        raise TypeError(f"modelyard has no Auto class for {name}; register {value!r} with the Auto class of its task.")

    return register


def build() -> dict[str, Any]:
    """Every table of ``transformers.models.auto``, by its reference name."""
    tables: dict[str, Any] = {
        "CONFIG_MAPPING_NAMES": _names(lambda m: m.config),
        "CONFIG_MAPPING": ModelTypeMapping(),
        "TOKENIZER_MAPPING_NAMES": _names(
            lambda m: (m.tokenizer, m.fast_tokenizer) if m.tokenizer or m.fast_tokenizer else None
        ),
        "TOKENIZER_MAPPING": ConfigClassMapping(
            "TOKENIZER_MAPPING", TOKENIZER_TABLE.model_types, _tokenizer_pair, lambda: [], _register_tokenizer,
            extra_content=RegistrationsByConfig(TOKENIZER_TABLE),
        ),
        "FEATURE_EXTRACTOR_MAPPING_NAMES": _names(lambda m: m.feature_extractor),
        "FEATURE_EXTRACTOR_MAPPING": _type_table_mapping(
            "FEATURE_EXTRACTOR_MAPPING", FEATURE_EXTRACTOR_TABLE, _refuse_direct_registration
        ),
        "IMAGE_PROCESSOR_MAPPING_NAMES": _names(
            lambda m: (m.image_processor, None) if m.image_processor else None
        ),
        "IMAGE_PROCESSOR_MAPPING": _type_table_mapping(
            "IMAGE_PROCESSOR_MAPPING", IMAGE_PROCESSOR_TABLE, _refuse_direct_registration
        ),
        "PROCESSOR_MAPPING_NAMES": _names(lambda m: m.processor),
        "PROCESSOR_MAPPING": _type_table_mapping(
            "PROCESSOR_MAPPING", PROCESSOR_TABLE, _refuse_direct_registration
        ),
    }
    for auto_class in MODEL_TASKS:
        name = table_name(auto_class)
        tables[name + "_MAPPING_NAMES"] = model_mapping_names(auto_class)
        tables[name + "_MAPPING"] = model_mapping(auto_class)
    for name in REFERENCE_MODEL_TABLES:
        if name + "_MAPPING" not in tables:
            tables[_names_table(name)] = OrderedDict()
            tables[name + "_MAPPING"] = ConfigClassMapping(name + "_MAPPING", lambda: [], lambda c: None, lambda: [],
                                                           _no_head_for(name))
    return tables


TABLE_NAMES: tuple[str, ...] = (
    "CONFIG_MAPPING_NAMES",
    "CONFIG_MAPPING",
    "TOKENIZER_MAPPING_NAMES",
    "TOKENIZER_MAPPING",
    "FEATURE_EXTRACTOR_MAPPING_NAMES",
    "FEATURE_EXTRACTOR_MAPPING",
    "IMAGE_PROCESSOR_MAPPING_NAMES",
    "IMAGE_PROCESSOR_MAPPING",
    "PROCESSOR_MAPPING_NAMES",
    "PROCESSOR_MAPPING",
    *dict.fromkeys(
        table
        for name in (*(table_name(a) for a in MODEL_TASKS), *REFERENCE_MODEL_TABLES)
        for table in (_names_table(name), name + "_MAPPING")
    ),
)
_BUILT: dict[str, Any] = {}


def table(name: str) -> Any:
    if not _BUILT:
        _BUILT.update(build())
    return _BUILT[name]


def declare_auto_module(
    module_globals: dict[str, Any],
    classes: tuple[str, ...],
    tables: tuple[str, ...],
    *,
    functions: tuple[str, ...] = (),
    submodules: tuple[str, ...] = (),
    others: Mapping[str, str] | None = None,
) -> tuple[Any, Any]:
    """``(__getattr__, __dir__)`` for a module of ``transformers.models.auto``: its Auto classes (from
    ``modelyard.auto``), its tables (built on first use), helper functions (from this module) and ``others``
    (``name -> modelyard module``)."""
    from modelyard.compat.transformers._namespace import declare

    exports = {name: "modelyard.auto" for name in classes}
    exports.update({name: __name__ for name in functions})
    exports.update(others or {})
    namespace_getattr, namespace_dir = declare(
        module_globals, exports, submodules=submodules, constants=tables
    )

    def __getattr__(name: str) -> Any:
        if name in tables:
            module_globals[name] = value = table(name)
            return value
        return namespace_getattr(name)

    return __getattr__, namespace_dir
