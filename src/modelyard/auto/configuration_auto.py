"""``AutoConfig``: pick the configuration class from a file's ``model_type``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from modelyard.auto.base import CustomCode, PretrainedAutoClass
from modelyard.configuration import COMMON_DEFAULTS, PretrainedConfig
from modelyard.errors import ConfigurationError
from modelyard.hub.files import FileSource, Location
from modelyard.options import HubOptions
from modelyard.registry import ModelTypeTable, builtin_names

logger = logging.getLogger(__name__)

CONFIG_TABLE = ModelTypeTable("AutoConfig", builtin_names(lambda family: family.config))


class AutoConfig(PretrainedAutoClass[PretrainedConfig]):
    """The configuration class of a checkpoint, chosen by its ``model_type``: :meth:`from_pretrained`,
    :meth:`for_model`. To a type checker a PretrainedConfig (the class is chosen at run time; attributes a family
    adds read as Any through PretrainedConfig's alias lookup)."""

    _ENTRY_POINTS = ("from_pretrained(...)", "for_model(...)")

    @classmethod
    def for_model(cls, model_type: str, *args: Any, **kwargs: Any) -> PretrainedConfig:
        """A new default config of the class registered for ``model_type`` (kwargs override attributes)."""
        config_class = CONFIG_TABLE.require(model_type, where="AutoConfig.for_model")
        return config_class(*args, **kwargs)

    @classmethod
    def register(cls, model_type: str, config: type[PretrainedConfig], exist_ok: bool = False) -> None:
        """Make ``config`` the class for ``model_type``; it must declare the same ``model_type``."""
        if not (isinstance(config, type) and issubclass(config, PretrainedConfig)):
            raise ConfigurationError(f"AutoConfig.register needs a PretrainedConfig subclass, got {config!r}.")
        if config.model_type != model_type:
            raise ConfigurationError(
                f"{config.__name__}.model_type is {config.model_type!r} but it is being registered as "
                f"{model_type!r}; the two must match (set `model_type = {model_type!r}` on the class)."
            )
        CONFIG_TABLE.register(model_type, config, exist_ok=exist_ok)

    @classmethod
    def _load(cls, location: Location, hub: HubOptions, code: CustomCode, *args: Any, **kwargs: Any) -> Any:
        """Read the config file, choose its class from ``model_type`` (or from ``auto_map`` for custom code) and
        build it; the other keywords override attributes, as in :meth:`PretrainedConfig.from_pretrained`
        (``return_unused_kwargs=True`` returns those that are not attributes too)."""
        opened = PretrainedConfig._locate(location, hub)
        config_dict = PretrainedConfig._config_dict_at(opened)
        if isinstance(opened, Path):  # a lone config file: custom code, if any, sits next to it
            source = FileSource.open(opened.parent) if opened.parent.is_dir() else None
        else:
            source = opened
        if "model_type" not in config_dict and "AutoConfig" not in (config_dict.get("auto_map") or {}):
            name = location.name if isinstance(location, FileSource) else str(location)
            guessed = model_type_in_name(name)
            if guessed is not None:
                logger.info(
                    "config.json of %s has no model_type; using %s, the longest model type in its name (add "
                    "\"model_type\" to the file to choose otherwise).", name, guessed,
                )
                config_class: type[PretrainedConfig] = CONFIG_TABLE.require(guessed, where=name)
                return config_class.from_dict(config_dict, **kwargs)
        config_class = resolve_config_class(config_dict, code=code.at(source))
        return config_class.from_dict(config_dict, **kwargs)


def model_type_in_name(name: str) -> str | None:
    """The longest known model type written in ``name`` (``"fake-roberta"`` -> ``roberta``, not ``bert``): how
    the reference reads a config.json that has no ``model_type``, from the folder or repository name."""
    for model_type in sorted(CONFIG_TABLE.model_types(), key=len, reverse=True):
        if model_type in name:
            return model_type
    return None


# Keys every config file may hold that say nothing about the architecture.
_BOOKKEEPING_KEYS = frozenset(
    {"auto_map", "architectures", "model_type", "transformers_version", "modelyard_version", "torch_dtype", "num_labels"}
)


def builtin_config_misfit(config_class: type[PretrainedConfig], config_dict: dict[str, Any]) -> str | None:
    """Why ``config_class`` cannot stand in for a file written for other (custom) code, or ``None`` if it can:
    most of the file's own settings must be attributes the class knows."""
    specific = [
        key
        for key in config_dict
        if key not in COMMON_DEFAULTS and key not in _BOOKKEEPING_KEYS and not key.startswith("_")
    ]
    known = config_class.known_attributes()
    unknown = [key for key in specific if key not in known]
    if len(unknown) * 2 <= len(specific):
        return None
    return (
        f"{len(unknown)} of the {len(specific)} settings in its config.json are unknown to {config_class.__name__} "
        f"({', '.join(sorted(unknown)[:8])}{', ...' if len(unknown) > 8 else ''}), so it describes another architecture."
    )


def resolve_config_class(config_dict: dict[str, Any], *, code: CustomCode) -> type[PretrainedConfig]:
    """The class for a config dict: custom code from ``auto_map`` (behind the trust gate) or the table.

    Without consent, the table's class for the same ``model_type`` stands in only when the file's settings
    are its own; otherwise the trust error is raised (never a config that silently drops the architecture).
    """
    model_type = config_dict.get("model_type")
    auto_map = config_dict.get("auto_map") or {}
    if "AutoConfig" in auto_map:
        candidate = CONFIG_TABLE.get(model_type) if model_type in CONFIG_TABLE else None
        misfit = builtin_config_misfit(candidate, config_dict) if candidate is not None else None
        remote = code.resolve(
            auto_map["AutoConfig"], auto_class="AutoConfig", builtin=candidate if misfit is None else None, misfit=misfit
        )
        if remote is not None:
            return remote
    where = f"config.json of {config_dict.get('_name_or_path') or 'the given dict'}"
    if model_type is None:
        raise ConfigurationError(
            f"{where} has no 'model_type' key, so AutoConfig cannot tell which class to use. Load it with the "
            f"config class itself (e.g. BertConfig.from_pretrained), or add \"model_type\" to the file. Known: "
            f"{', '.join(CONFIG_TABLE.model_types())}."
        )
    return CONFIG_TABLE.require(model_type, where=where)
