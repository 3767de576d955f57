"""``AutoFeatureExtractor``: pick the feature extractor class from ``preprocessor_config.json`` (its
``feature_extractor_type``, or ``auto_map`` for custom code) or from ``config.json``'s ``model_type``.

The helpers here (class lookup by name, the remote-code step, registration) are shared with
``AutoImageProcessor`` and ``AutoProcessor``. Importing this module imports neither torch nor a model family.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any, Literal, overload

from modelyard.auto.base import AutoClass
from modelyard.errors import RegistrationError, UnknownModelTypeError
from modelyard.feature_extraction import (
    FeatureExtractionMixin,
    read_json_object,
    read_preprocessor_settings,
)
from modelyard.hub.files import FileSource
from modelyard.options import HubOptions
from modelyard.registry import ModelTypeTable, builtin_names

logger = logging.getLogger(__name__)

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


def resolve_remote(
    reference: Any,
    *,
    auto_class: str,
    source: FileSource | None,
    trust_remote_code: bool | None,
    code_revision: str | None,
    builtin: type | None,
) -> type[Any] | None:
    """The custom class an ``auto_map`` entry names (behind the trust gate), registered for ``auto_class`` so
    that saving it again ships its code; ``None`` means use ``builtin``."""
    from modelyard.dynamic_modules import resolve_remote_class

    remote = resolve_remote_class(
        reference,
        auto_class=auto_class,
        source=source,
        trust_remote_code=trust_remote_code,
        code_revision=code_revision,
        builtin=builtin,
    )
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


class AutoFeatureExtractor(AutoClass):
    """The feature extractor of a checkpoint, its class chosen from its settings: :meth:`from_pretrained`."""

    # A FeatureExtractionMixin to a type checker (the class is chosen at run time)
    @overload
    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike[str] | FileSource, *, config: Any = None,
        trust_remote_code: bool | None = None, code_revision: str | None = None,
        return_unused_kwargs: Literal[True], **kwargs: Any,
    ) -> tuple[FeatureExtractionMixin, dict[str, Any]]: ...

    @overload
    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike[str] | FileSource, *, config: Any = None,
        trust_remote_code: bool | None = None, code_revision: str | None = None, **kwargs: Any,
    ) -> FeatureExtractionMixin: ...

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike[str] | FileSource,
        *,
        config: Any = None,
        trust_remote_code: bool | None = None,
        code_revision: str | None = None,
        **kwargs: Any,
    ) -> FeatureExtractionMixin | tuple[FeatureExtractionMixin, dict[str, Any]]:
        """Load a feature extractor: the class comes from ``feature_extractor_type`` (or
        ``image_processor_type``), then ``auto_map["AutoFeatureExtractor"]`` (custom code, behind
        ``trust_remote_code``), then ``config.json``'s ``model_type``. ``kwargs`` override attributes."""
        hub = HubOptions.take(kwargs, where="AutoFeatureExtractor.from_pretrained")
        source, data, name = read_preprocessor_settings(pretrained_model_name_or_path, hub)
        extractor_class = resolve_preprocessor_class(
            data,
            auto_class="AutoFeatureExtractor",
            table=FEATURE_EXTRACTOR_TABLE,
            type_keys=("feature_extractor_type", "image_processor_type"),
            source=source,
            config=config,
            trust_remote_code=trust_remote_code,
            code_revision=code_revision,
            where=f"preprocessor_config.json of {name}",
        )
        return extractor_class.from_dict(data, **kwargs)

    @staticmethod
    def register(config_class: Any, feature_extractor_class: type, exist_ok: bool = False) -> None:
        """Use ``feature_extractor_class`` for ``config_class.model_type`` (or a model_type string)."""
        if not (isinstance(feature_extractor_class, type) and issubclass(feature_extractor_class, FeatureExtractionMixin)):
            raise RegistrationError(
                f"AutoFeatureExtractor.register needs a FeatureExtractionMixin subclass, got {feature_extractor_class!r}."
            )
        register_class(FEATURE_EXTRACTOR_TABLE, config_class, feature_extractor_class, exist_ok=exist_ok)


def resolve_preprocessor_class(
    data: dict[str, Any],
    *,
    auto_class: str,
    table: ModelTypeTable,
    type_keys: tuple[str, ...],
    source: FileSource | None,
    config: Any,
    trust_remote_code: bool | None,
    code_revision: str | None,
    where: str,
    rename: Any = None,
) -> type[Any]:
    """The class for a preprocessor settings dict (shared by AutoFeatureExtractor and AutoImageProcessor)."""
    class_name = next((data[k] for k in type_keys if isinstance(data.get(k), str)), None)
    auto_map = data.get("auto_map") or {}
    reference = auto_map.get(auto_class) or (auto_map.get("AutoFeatureExtractor") if auto_class == "AutoImageProcessor" else None)
    model_type = None
    if class_name is None and reference is None:
        config_dict = config_dict_of(source, config)
        class_name = config_dict.get(type_keys[0])
        config_map = config_dict.get("auto_map") or {}
        reference = config_map.get(auto_class)
        model_type = config_dict.get("model_type")
    builtin: type | None = None
    if class_name is not None:
        builtin = (rename(class_name) if rename else None) or class_from_name(class_name, table)
    elif model_type is not None and model_type in table:
        builtin = table.get(model_type)
    if reference is not None:
        remote = resolve_remote(
            reference,
            auto_class=auto_class,
            source=source,
            trust_remote_code=trust_remote_code,
            code_revision=code_revision,
            builtin=builtin,
        )
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


__all__ = ["FEATURE_EXTRACTOR_TABLE", "AutoFeatureExtractor"]
