"""``AutoFeatureExtractor``: pick the feature extractor class from ``preprocessor_config.json`` (its
``feature_extractor_type``, or ``auto_map`` for custom code) or from ``config.json``'s ``model_type``.

The helpers here (class lookup by name, the remote-code step, registration) are shared with
``AutoImageProcessor`` and ``AutoProcessor``; ``_PreprocessorAutoClass`` is the loading both
``AutoFeatureExtractor`` and ``AutoImageProcessor`` do. Importing this module imports neither torch nor a model family.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, ClassVar, TypeVar

from modelyard.auto.base import CustomCode, PretrainedAutoClass
from modelyard.errors import RegistrationError, UnknownModelTypeError
from modelyard.feature_extraction import (
    FeatureExtractionMixin,
    read_json_object,
    read_preprocessor_settings,
)
from modelyard.hub.files import FileSource, Location
from modelyard.options import HubOptions
from modelyard.registry import ModelTypeTable, builtin_names

logger = logging.getLogger(__name__)

# What a preprocessor Auto class gives a type checker: FeatureExtractionMixin, BaseImageProcessor.
P = TypeVar("P")

FEATURE_EXTRACTOR_TABLE = ModelTypeTable("AutoFeatureExtractor", builtin_names(lambda family: family.feature_extractor))


def class_from_name(name: str, table: ModelTypeTable) -> type[Any] | None:
    """The class called ``name``: a registration in ``table``, one of its built-ins, or a public modelyard name."""
    for model_type in table.model_types():
        if table.builtin_name(model_type) is None:
            registered = table.get(model_type)
            if getattr(registered, "__name__", None) == name:
                return registered
    for model_type in table.model_types():
        if table.builtin_name(model_type) == name:
            return table.get(model_type)
    modelyard = importlib.import_module("modelyard")
    if name in getattr(modelyard, "__all__", ()):
        return getattr(modelyard, name)
    return None


def config_dict_of(source: FileSource | None, config: Any = None) -> dict[str, Any]:
    """``config.json`` as a dict (or the given config object's dict); empty when there is none."""
    if config is not None:
        return config.to_dict() if hasattr(config, "to_dict") else dict(config)
    if source is None:
        return {}
    path = source.get("config.json", required=False)
    return read_json_object(path) if path is not None else {}


def resolve_remote(reference: Any, *, auto_class: str, code: CustomCode, builtin: type | None) -> type[Any] | None:
    """The custom class an ``auto_map`` entry names (behind the trust gate), registered for ``auto_class`` so
    that saving it again ships its code; ``None`` means use ``builtin``."""
    remote = code.resolve(reference, auto_class=auto_class, builtin=builtin)
    if remote is not None and hasattr(remote, "register_for_auto_class"):
        remote.register_for_auto_class(auto_class)
    return remote


def register_class(table: ModelTypeTable, config_class: Any, value: type, *, exist_ok: bool) -> None:
    """``register(ConfigClass, cls)`` (the reference's form) or ``register("model_type", cls)``."""
    model_type = config_class if isinstance(config_class, str) else getattr(config_class, "model_type", None)
    if not model_type:
        raise RegistrationError(
            f"{table.description}.register needs a config class with a model_type (or a model_type string), got "
            f"{config_class!r}. Set `model_type = \"...\"` on the config class."
        )
    if not isinstance(value, type):
        raise RegistrationError(f"{table.description}.register needs a class, got {value!r}.")
    table.register(model_type, value, exist_ok=exist_ok)


def unknown_class_error(where: str, name: str, table: ModelTypeTable) -> UnknownModelTypeError:
    return UnknownModelTypeError(
        f"{where} names the class {name!r}, which modelyard does not know. Known model types for {table.description}: "
        f"{', '.join(table.model_types())}. Register your class with {table.description}.register(ConfigClass, "
        f"{name}), or load a repository that ships its code with trust_remote_code=True."
    )


class _PreprocessorAutoClass(PretrainedAutoClass[P]):
    """What ``AutoFeatureExtractor`` and ``AutoImageProcessor`` share: a saved preprocessor's class is chosen from
    its settings (the type keys, then ``auto_map`` behind the trust gate, then ``config.json``'s ``model_type``)
    and built with ``from_dict``. Subclasses name their table (its name is their ``auto_map`` key), their type
    keys and what messages call them."""

    _table: ClassVar[ModelTypeTable]
    _type_keys: ClassVar[tuple[str, ...]]
    _what: ClassVar[str]  # for messages: "feature extractor", "image processor"

    @classmethod
    def _class_named(cls, name: str) -> type[Any] | None:
        """The class a settings file names (AutoImageProcessor also maps older names to today's)."""
        return class_from_name(name, cls._table)

    @classmethod
    def _load(cls, location: Location, hub: HubOptions, code: CustomCode, *args: Any, **kwargs: Any) -> Any:
        """Read the settings, choose the class (``config=``: a config object or dict to read ``model_type`` from
        instead of ``config.json``) and build it; the other keywords override attributes."""
        config = kwargs.pop("config", None)
        source, data, name = read_preprocessor_settings(location, hub, what=cls._what)
        chosen = cls._resolve_class(data, code=code.at(source), config=config, where=f"preprocessor_config.json of {name}")
        return chosen.from_dict(data, **kwargs)

    @classmethod
    def _resolve_class(cls, data: dict[str, Any], *, code: CustomCode, config: Any, where: str) -> type[Any]:
        """The class for a preprocessor settings dict."""
        table, type_keys = cls._table, cls._type_keys
        auto_class = table.description  # the auto_map key: "AutoFeatureExtractor", "AutoImageProcessor"
        class_name = next((data[k] for k in type_keys if isinstance(data.get(k), str)), None)
        auto_map = data.get("auto_map") or {}
        reference = auto_map.get(auto_class) or (auto_map.get("AutoFeatureExtractor") if auto_class == "AutoImageProcessor" else None)
        model_type = None
        if class_name is None and reference is None:
            config_dict = config_dict_of(code.source, config)
            class_name = config_dict.get(type_keys[0])
            config_map = config_dict.get("auto_map") or {}
            reference = config_map.get(auto_class)
            model_type = config_dict.get("model_type")
        builtin: type | None = None
        if class_name is not None:
            builtin = cls._class_named(class_name)
        elif model_type is not None and model_type in table:
            builtin = table.get(model_type)
        if reference is not None:
            remote = resolve_remote(reference, auto_class=auto_class, code=code, builtin=builtin)
            if remote is not None:
                return remote
        if builtin is not None:
            return builtin
        if class_name is not None:
            raise unknown_class_error(where, class_name, table)
        return table.require(
            model_type,
            where=f"{where} has no {' / '.join(type_keys)} key, and config.json's model_type",
        )


class AutoFeatureExtractor(_PreprocessorAutoClass[FeatureExtractionMixin]):
    """The feature extractor of a checkpoint, its class chosen from its settings (``feature_extractor_type`` or
    ``image_processor_type``, then ``auto_map["AutoFeatureExtractor"]``: custom code, behind ``trust_remote_code``,
    then ``config.json``'s ``model_type``): :meth:`from_pretrained`. A FeatureExtractionMixin to a type checker."""

    _table = FEATURE_EXTRACTOR_TABLE
    _type_keys = ("feature_extractor_type", "image_processor_type")
    _what = "feature extractor"

    @staticmethod
    def register(config_class: Any, feature_extractor_class: type, exist_ok: bool = False) -> None:
        """Use ``feature_extractor_class`` for ``config_class.model_type`` (or a model_type string)."""
        if not (isinstance(feature_extractor_class, type) and issubclass(feature_extractor_class, FeatureExtractionMixin)):
            raise RegistrationError(
                f"AutoFeatureExtractor.register needs a FeatureExtractionMixin subclass, got {feature_extractor_class!r}."
            )
        register_class(FEATURE_EXTRACTOR_TABLE, config_class, feature_extractor_class, exist_ok=exist_ok)


__all__ = ["FEATURE_EXTRACTOR_TABLE", "AutoFeatureExtractor"]
