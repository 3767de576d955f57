"""``AutoTokenizer``: pick the tokenizer class of a saved folder or hub repository.

The class comes from ``tokenizer_config.json``'s ``tokenizer_class`` (its ``Fast`` variant first when
``use_fast=True``), else from ``config.json`` (``tokenizer_class``, then ``model_type`` through
``TOKENIZER_TABLE``); a repository's own code (``auto_map``) is used only behind the trust gate. All files
are read through one ``FileSource``, so they come from the same commit.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from modelyard.auto.base import CustomCode, PretrainedAutoClass
from modelyard.auto.feature_extraction_auto import resolve_remote
from modelyard.errors import RegistrationError, TokenizerError, UnknownModelTypeError
from modelyard.hub.files import FileSource, Location
from modelyard.options import HubOptions
from modelyard.registry import ModelTypeTable, builtin_names, import_family_class, public_exports

if TYPE_CHECKING:
    from modelyard.tokenization.base import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
CONFIG_FILE = "config.json"


class TokenizerTable(ModelTypeTable):
    """``model_type -> (slow class, fast class)``; built-ins are ``"Slow,Fast"`` name pairs (empty = none)."""

    def builtin_names(self, model_type: str) -> tuple[str | None, str | None] | None:
        names = self.builtin_name(model_type)
        if names is None:
            return None
        slow, _, fast = names.partition(",")
        return slow or None, fast or None

    def get(self, model_type: str | None) -> tuple[type | None, type | None] | None:
        if model_type is None:
            return None
        if model_type in self._registered:
            return self._registered[model_type]
        names = self.builtin_names(model_type)
        if names is None:
            return None
        return tuple(import_family_class(model_type, n) if n else None for n in names)  # type: ignore[return-value]  # a (slow, fast) pair

    def registered_pair(self, model_type: str) -> tuple[type | None, type | None] | None:
        return self._registered.get(model_type)

    def registered_classes(self) -> list[type]:
        return [klass for pair in self._registered.values() for klass in pair if klass is not None]


TOKENIZER_TABLE = TokenizerTable(
    "AutoTokenizer",
    builtin_names(
        lambda family: f"{family.tokenizer or ''},{family.fast_tokenizer or ''}"
        if family.tokenizer or family.fast_tokenizer
        else None
    ),
)


def tokenizer_class_from_name(class_name: str) -> type[Any] | None:
    """The tokenizer class called ``class_name``: built-in, registered, or a base class of modelyard."""
    if class_name in ("PreTrainedTokenizerFast", "PreTrainedTokenizer"):
        module = "fast" if class_name.endswith("Fast") else "slow"
        return getattr(importlib.import_module(f"modelyard.tokenization.{module}"), class_name)
    for model_type in TOKENIZER_TABLE.model_types():
        names = TOKENIZER_TABLE.builtin_names(model_type)
        if names is not None and class_name in names:
            return import_family_class(model_type, class_name)
    for klass in TOKENIZER_TABLE.registered_classes():
        if klass.__name__ == class_name:
            return klass
    # a family's other tokenizer classes (Wav2Vec2's older Wav2Vec2Tokenizer), as the reference finds them
    path = public_exports().get(class_name)
    if path is not None and ".tokenization_" in path:
        return getattr(importlib.import_module(path), class_name)
    return None


def _read_json_dict(source: FileSource, filename: str) -> dict[str, Any]:
    from modelyard.tokenization.serialization import read_json

    path = source.get(filename, required=False)
    if path is None:
        return {}
    data = read_json(path, what=filename)
    return data if isinstance(data, dict) else {}


class AutoTokenizer(PretrainedAutoClass["PreTrainedTokenizerBase"]):
    """The tokenizer of a checkpoint, its class chosen from its files and config: :meth:`from_pretrained` loads the
    fast class by default, the slow one with ``use_fast=False`` (or when the model has no fast tokenizer);
    ``tokenizer_type=`` names the model type whose tokenizer to use, ``config=`` a config (object or dict) to read
    the class from instead of ``config.json``. Other arguments go to the tokenizer.

    To a type checker the result is a ``PreTrainedTokenizerBase`` (the class is chosen at run time; the slow and
    fast classes share that API)."""

    _passes_positional = True  # a tokenizer's own positional arguments

    @classmethod
    def _load(
        cls, location: Location, hub: HubOptions, code: CustomCode, *inputs: Any, **kwargs: Any
    ) -> PreTrainedTokenizerBase:
        use_fast: bool = kwargs.pop("use_fast", True)
        tokenizer_type: str | None = kwargs.pop("tokenizer_type", None)
        config = kwargs.pop("config", None)
        source = hub.open(location)
        if tokenizer_type is not None:
            names = TOKENIZER_TABLE.builtin_names(tokenizer_type)
            if names is None and tokenizer_type not in TOKENIZER_TABLE:
                raise UnknownModelTypeError(
                    f"tokenizer_type={tokenizer_type!r} is unknown; use one of {', '.join(TOKENIZER_TABLE.model_types())}."
                )
            return cls._pick(TOKENIZER_TABLE.get(tokenizer_type), use_fast, tokenizer_type).from_pretrained(source, *inputs, **kwargs)

        tokenizer_config = _read_json_dict(source, TOKENIZER_CONFIG_FILE)
        class_name = tokenizer_config.get("tokenizer_class")
        auto_map = tokenizer_config.get("auto_map")
        remote = auto_map if isinstance(auto_map, (list, tuple)) else (auto_map or {}).get("AutoTokenizer")
        model_type = None
        if class_name is None:
            config_dict = _config_dict(config, source)
            class_name = config_dict.get("tokenizer_class")
            model_type = config_dict.get("model_type")
            if remote is None:
                remote = (config_dict.get("auto_map") or {}).get("AutoTokenizer")

        local_class = cls._local_class(class_name, model_type, use_fast)
        if remote is not None:
            slow_ref, fast_ref = (list(remote) + [None, None])[:2] if isinstance(remote, (list, tuple)) else (remote, None)
            chosen = fast_ref if use_fast and fast_ref else slow_ref
            if chosen is None:
                chosen = fast_ref
            remote_class = resolve_remote(chosen, auto_class="AutoTokenizer", code=code.at(source), builtin=local_class)
            if remote_class is not None:
                from modelyard.dynamic_modules import load_pretrained

                return load_pretrained(remote_class, source, *inputs, **kwargs)
        if local_class is not None:
            return local_class.from_pretrained(source, *inputs, **kwargs)
        if class_name is not None:
            raise UnknownModelTypeError(
                f"{source.name} names tokenizer class {class_name!r}, which modelyard does not know. Register it with "
                "AutoTokenizer.register(...), or load a repository that ships its code with trust_remote_code=True."
            )
        if model_type is None:
            raise TokenizerError(
                f"Cannot tell which tokenizer {source.name} needs: its tokenizer_config.json has no 'tokenizer_class' "
                "and there is no config.json with a 'model_type'. Load it with a tokenizer class directly "
                "(e.g. BertTokenizerFast.from_pretrained), or pass tokenizer_type=..."
            )
        raise UnknownModelTypeError(
            f"{source.name}: no tokenizer is registered for model_type {model_type!r}. Known model types: "
            f"{', '.join(TOKENIZER_TABLE.model_types())}. Register one with AutoTokenizer.register(config_class, ...)."
        )

    @staticmethod
    def _pick(pair: tuple[type | None, type | None] | None, use_fast: bool, what: str) -> type[Any]:
        slow, fast = pair or (None, None)
        if use_fast and fast is not None:
            return fast
        if slow is not None:
            if use_fast:
                logger.info("%s has no fast tokenizer; using the slow %s.", what, slow.__name__)
            return slow
        if fast is not None:
            return fast
        raise UnknownModelTypeError(f"No tokenizer class is registered for {what!r}.")

    @classmethod
    def _local_class(cls, class_name: str | None, model_type: str | None, use_fast: bool) -> type[Any] | None:
        if class_name is not None:
            found = None
            if use_fast and not class_name.endswith("Fast"):
                found = tokenizer_class_from_name(f"{class_name}Fast")
            return found or tokenizer_class_from_name(class_name)
        if model_type is not None and model_type in TOKENIZER_TABLE:
            return cls._pick(TOKENIZER_TABLE.get(model_type), use_fast, model_type)
        return None

    @staticmethod
    def register(
        config_class: type | str,
        slow_tokenizer_class: type | None = None,
        fast_tokenizer_class: type | None = None,
        exist_ok: bool = False,
    ) -> None:
        """Make ``AutoTokenizer`` load these classes for checkpoints of ``config_class`` (its ``model_type``)."""
        from modelyard.tokenization.fast import PreTrainedTokenizerFast
        from modelyard.tokenization.slow import PreTrainedTokenizer

        if slow_tokenizer_class is None and fast_tokenizer_class is None:
            raise RegistrationError("AutoTokenizer.register needs slow_tokenizer_class, fast_tokenizer_class, or both.")
        if slow_tokenizer_class is not None and issubclass(slow_tokenizer_class, PreTrainedTokenizerFast):
            raise RegistrationError(
                f"{slow_tokenizer_class.__name__} is a fast tokenizer; pass it as fast_tokenizer_class=, not slow_tokenizer_class=."
            )
        if fast_tokenizer_class is not None and issubclass(fast_tokenizer_class, PreTrainedTokenizer):
            raise RegistrationError(
                f"{fast_tokenizer_class.__name__} is a slow tokenizer; pass it as slow_tokenizer_class=, not fast_tokenizer_class=."
            )
        if (
            slow_tokenizer_class is not None
            and fast_tokenizer_class is not None
            and issubclass(fast_tokenizer_class, PreTrainedTokenizerFast)
            and fast_tokenizer_class.slow_tokenizer_class not in (None, slow_tokenizer_class)
        ):
            raise RegistrationError(
                f"{fast_tokenizer_class.__name__}.slow_tokenizer_class is {fast_tokenizer_class.slow_tokenizer_class.__name__}, "
                f"but {slow_tokenizer_class.__name__} is being registered as its slow class. Make them match."
            )
        model_type = config_class if isinstance(config_class, str) else getattr(config_class, "model_type", None)
        if not model_type:
            raise RegistrationError(
                f"{getattr(config_class, '__name__', config_class)} has no model_type; set `model_type = \"...\"` on the "
                "config class before registering its tokenizer."
            )
        existing = TOKENIZER_TABLE.registered_pair(model_type)
        if existing is not None:
            # Registering only the missing side keeps the other (as the reference does) and is no overwrite.
            replaces = any(new is not None and old is not None and new is not old for new, old in zip((slow_tokenizer_class, fast_tokenizer_class), existing))
            slow_tokenizer_class = slow_tokenizer_class or existing[0]
            fast_tokenizer_class = fast_tokenizer_class or existing[1]
            exist_ok = exist_ok or not replaces
        TOKENIZER_TABLE.register(model_type, (slow_tokenizer_class, fast_tokenizer_class), exist_ok=exist_ok)


def _config_dict(config: Any, source: FileSource) -> dict[str, Any]:
    if config is not None:
        if isinstance(config, dict):
            return config
        return {
            "tokenizer_class": getattr(config, "tokenizer_class", None),
            "model_type": getattr(config, "model_type", None),
            "auto_map": getattr(config, "auto_map", None) or {},
        }
    return _read_json_dict(source, CONFIG_FILE)


__all__ = ["TOKENIZER_TABLE", "AutoTokenizer", "TokenizerTable", "tokenizer_class_from_name"]
