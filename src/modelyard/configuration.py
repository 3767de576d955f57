"""``PretrainedConfig``: the attributes a model is built from, saved as ``config.json``.

Subclasses follow three rules (as the reference library's guide says): inherit from ``PretrainedConfig``,
accept ``**kwargs`` in ``__init__``, and pass them to ``super().__init__``. Keys a class does not know are
kept as attributes, so a config read from a file round-trips without losing anything.

This module never imports torch.
"""

from __future__ import annotations

import contextvars
import copy
import inspect
import json
import logging
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, overload

from modelyard._version import __version__
from modelyard.errors import ConfigurationError, MissingFileError, UnexpectedArgumentError
from modelyard.hub.files import FileSource
from modelyard.json_files import read_json_object
from modelyard.json_settings import JsonSettings
from modelyard.options import HubOptions, answer_with_unused, near_misses_message

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")

C = TypeVar("C", bound="PretrainedConfig")

# Attributes every config has, with their defaults. Only values that differ from these are written to
# config.json (the "diff"), which keeps files short and equal to what the reference library writes.
COMMON_DEFAULTS: dict[str, Any] = {
    "return_dict": True,
    "torchscript": False,
    "output_hidden_states": False,
    "output_attentions": False,
    "dtype": None,
    "tie_word_embeddings": True,
    "chunk_size_feed_forward": 0,
    "is_encoder_decoder": False,
    "is_decoder": False,
    "add_cross_attention": False,
    "architectures": None,
    "finetuning_task": None,
    "id2label": {0: "LABEL_0", 1: "LABEL_1"},
    "label2id": {"LABEL_0": 0, "LABEL_1": 1},
    "tokenizer_class": None,
    "prefix": None,
    "bos_token_id": None,
    "pad_token_id": None,
    "eos_token_id": None,
    "sep_token_id": None,
    "decoder_start_token_id": None,
    "task_specific_params": None,
    "problem_type": None,
    "pruned_heads": {},
}
# Generation settings that 4.x configs carried as attributes (their values in the reference, 4.57). They live in
# GenerationConfig now, but remote code still reads them from the config (``config.max_length``), so an unset one
# reads as its default; a value given to the config (or in config.json) is an ordinary attribute.
LEGACY_GENERATION_DEFAULTS: dict[str, Any] = {
    "max_length": 20, "min_length": 0, "do_sample": False, "early_stopping": False, "num_beams": 1,
    "temperature": 1.0, "top_k": 50, "top_p": 1.0, "typical_p": 1.0, "repetition_penalty": 1.0,
    "length_penalty": 1.0, "no_repeat_ngram_size": 0, "encoder_no_repeat_ngram_size": 0, "bad_words_ids": None,
    "num_return_sequences": 1, "output_scores": False, "return_dict_in_generate": False,
    "forced_bos_token_id": None, "forced_eos_token_id": None, "remove_invalid_values": False,
    "exponential_decay_length_penalty": None, "suppress_tokens": None, "begin_suppress_tokens": None,
    "num_beam_groups": 1, "diversity_penalty": 0.0,
}
# Keys that are never attributes of the object (bookkeeping written next to the attributes).
_FILE_ONLY_KEYS = ("model_type", "modelyard_version", "num_labels")

# Set while building a config from a file: unknown keys there are data to keep, not typos to warn about.
_loading_from_file: contextvars.ContextVar[bool] = contextvars.ContextVar("_loading_from_file", default=False)


class DtypeName(str):
    """A dtype's name as the config stores it (``"float16"``), equal to the torch dtype too.

    The config stays torch-free and JSON-ready, and code written for the reference, where the attribute is
    a ``torch.dtype``, keeps working: ``config.dtype == torch.float16`` holds. ``config.torch_dtype`` gives
    the ``torch.dtype`` itself.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if _is_torch_dtype(other):
            other = str(other).removeprefix("torch.")
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__

    def __repr__(self) -> str:
        return str.__repr__(self)


def _layer_number(key: Any) -> Any:
    """A ``pruned_heads`` key read back from JSON (``"0"``, ``"-1"``) as the layer index it was; other keys as given."""
    if isinstance(key, str):
        try:
            return int(key)
        except ValueError:
            return key
    return key


def _is_torch_dtype(value: object) -> bool:
    return type(value).__module__ == "torch" and type(value).__name__ == "dtype"


def _dtype_name(value: Any) -> Any:
    """``torch.float16`` / ``"torch.float16"`` / ``"float16"`` -> ``DtypeName("float16")`` without importing
    torch; None and other values pass through."""
    if _is_torch_dtype(value) or (isinstance(value, str) and value.startswith("torch.")):
        return DtypeName(str(value)[len("torch.") :])
    if isinstance(value, str) and not isinstance(value, DtypeName):
        return DtypeName(value)
    return value


_STRICT_ENV = "MODELYARD_STRICT_CONFIG"
_strict_keywords: bool | None = None


def strict_config_keywords(strict: bool | None = True) -> None:
    """Make a configuration keyword that looks like a misspelt setting an error (``True``), a logged warning
    (``False``, the reference's behaviour and the default), or follow ``MODELYARD_STRICT_CONFIG`` (``None``)."""
    global _strict_keywords
    _strict_keywords = strict


def _strict() -> bool:
    if _strict_keywords is not None:
        return _strict_keywords
    return os.environ.get(_STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def flag_near_misses(where: str, keys: Iterable[str], accepted: Iterable[str]) -> None:
    """Warn about (strict mode: refuse) keywords that misspell a known setting."""
    message = near_misses_message(where, keys, accepted)
    if message is None:
        return
    if _strict():
        raise UnexpectedArgumentError(message)
    logger.warning("%s The value is kept as an attribute the model does not read; set %s=1 to make this an "
                   "error.", message, _STRICT_ENV)


class PretrainedConfig(JsonSettings):
    """Base class of every model configuration.

    Class attributes a family sets: ``model_type`` (the key used by the Auto classes and written to
    ``config.json``) and ``attribute_map`` (aliases, e.g. ``{"hidden_size": "dim"}``: reading or writing
    the alias reads or writes the real attribute).
    """

    model_type: ClassVar[str] = ""
    attribute_map: ClassVar[dict[str, str]] = {}
    # attribute -> config class of the configs a composite model nests (text/vision towers); none here
    sub_configs: ClassVar[dict[str, type[PretrainedConfig]]] = {}
    # whether ``Config()`` needs arguments (composite configs of the reference); every modelyard config has defaults
    has_no_defaults_at_init: ClassVar[bool] = False
    # Where a family's own settings (its ``__init__`` parameters other than the common ones) stand among the
    # attributes, so ``to_dict()`` lists them where the reference does: after the common ones (False: BERT's
    # constructor calls its base first), or before them (True: GPT-2's and DistilBERT's store theirs first).
    _own_settings_first: ClassVar[bool] = False
    auto_class_choices = ("AutoConfig",)

    # The attributes of COMMON_DEFAULTS (set in __init__), declared for type checkers and IDEs.
    return_dict: bool
    torchscript: bool
    output_hidden_states: bool
    output_attentions: bool
    dtype: Any  # a dtype's name (a str equal to the torch dtype too) or None
    tie_word_embeddings: bool
    chunk_size_feed_forward: int
    is_encoder_decoder: bool
    is_decoder: bool
    add_cross_attention: bool
    architectures: list[str] | None
    finetuning_task: str | None
    id2label: dict[int, str]
    label2id: dict[str, int]
    tokenizer_class: str | None
    prefix: str | None
    bos_token_id: int | None
    pad_token_id: int | None
    eos_token_id: int | list[int] | None
    sep_token_id: int | None
    decoder_start_token_id: int | None
    task_specific_params: dict[str, Any] | None
    problem_type: str | None
    pruned_heads: dict[int, list[int]]

    def __init__(self, **kwargs: Any) -> None:
        if "torch_dtype" in kwargs:  # the older key name for the same setting
            kwargs.setdefault("dtype", kwargs.pop("torch_dtype"))
        num_labels = kwargs.pop("num_labels", None)
        name_or_path = kwargs.pop("name_or_path", kwargs.pop("_name_or_path", ""))
        commit_hash = kwargs.pop("_commit_hash", None)
        attn_implementation = kwargs.pop("attn_implementation", kwargs.pop("_attn_implementation", None))
        for key in _FILE_ONLY_KEYS:
            kwargs.pop(key, None)
        if not _loading_from_file.get():
            self._refuse_probable_typos(kwargs)

        given_labels = {key for key in ("id2label", "label2id") if kwargs.get(key) is not None}
        if type(self)._own_settings_first:
            for key in type(self)._init_defaults():
                if key in kwargs and key not in COMMON_DEFAULTS:
                    setattr(self, key, kwargs.pop(key))
        for key, default in COMMON_DEFAULTS.items():
            value = kwargs.pop(key, copy.deepcopy(default))
            setattr(self, key, value)
        self.dtype = _dtype_name(self.dtype)
        self._normalise_labels(num_labels, given_labels)
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ConfigurationError(
                f"problem_type must be one of {PROBLEM_TYPES} or None, got {self.problem_type!r}."
            )
        heads: Any = self.__dict__.get("pruned_heads")
        if isinstance(heads, dict):
            # JSON keys are strings: layer numbers become ints again; anything else is kept as given (the
            # reference's constructor keeps the dict unchanged)
            self.pruned_heads = {
                _layer_number(k): list(v) if isinstance(v, (list, tuple, set)) else v for k, v in heads.items()
            }
        self._name_or_path = str(name_or_path)
        self._commit_hash = commit_hash
        # "sdpa" (None: the default) or "eager"; a run-time choice, never written to config.json.
        self._attn_implementation = attn_implementation
        # Anything else (a newer library's setting, a user's own key) is kept as is.
        for key, value in kwargs.items():
            try:
                setattr(self, key, value)
            except AttributeError as err:
                raise ConfigurationError(f"Cannot set {key}={value!r} on {type(self).__name__}: {err}") from err

    # ------------------------------------------------------------------ aliases
    def __setattr__(self, name: str, value: Any) -> None:
        name = type(self).attribute_map.get(name, name)
        if name == "dtype":
            value = _dtype_name(value)
        super().__setattr__(name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: resolve aliases, then fail with a helpful message.
        target = type(self).attribute_map.get(name)
        if target is not None:
            return getattr(self, target)
        if name in LEGACY_GENERATION_DEFAULTS:
            return copy.deepcopy(LEGACY_GENERATION_DEFAULTS[name])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------------ labels
    def _normalise_labels(self, num_labels: int | None, given: set[str]) -> None:
        """Keep id2label and label2id consistent; whichever the caller gave wins over the default."""
        if self.id2label is not None:  # JSON object keys are strings: ids become ints again
            self.id2label = {int(k): v for k, v in self.id2label.items()}
        # label2id keeps its values as given, as the reference does (a config.json holds them as numbers already)
        if given == {"label2id"}:
            self.id2label = {int(i): label for label, i in self.label2id.items()}
        elif given == {"id2label"}:
            self.label2id = {label: i for i, label in self.id2label.items()}
        if num_labels is not None and (self.id2label is None or len(self.id2label) != num_labels):
            self.num_labels = num_labels

    @property
    def num_labels(self) -> int:
        return len(self.id2label) if self.id2label is not None else 0

    @num_labels.setter
    def num_labels(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(f"num_labels must be a non-negative int, got {value!r}.")
        if self.id2label is None or len(self.id2label) != value:
            self.id2label = {i: f"LABEL_{i}" for i in range(value)}
            self.label2id = {label: i for i, label in self.id2label.items()}

    # ------------------------------------------------------------------ convenience
    @property
    def name_or_path(self) -> str:
        return self._name_or_path

    @name_or_path.setter
    def name_or_path(self, value: str | os.PathLike[str]) -> None:
        self._name_or_path = str(value)

    @property
    def torch_dtype(self) -> Any:
        """``dtype`` as a ``torch.dtype`` (imports torch), as the reference gives it; None when unset."""
        if self.dtype is None:
            return None
        import torch

        value = getattr(torch, str(self.dtype), None)
        return value if isinstance(value, torch.dtype) else self.dtype

    @torch_dtype.setter
    def torch_dtype(self, value: Any) -> None:
        self.dtype = value

    @property
    def use_return_dict(self) -> bool:
        """Whether models return output objects: ``return_dict``, except under ``torchscript`` (tuples)."""
        return bool(self.return_dict) and not self.torchscript

    def get_text_config(self, decoder: bool | None = None, encoder: bool | None = None) -> PretrainedConfig:
        """The configuration of the text model: a nested ``text_config`` (or ``decoder``/``encoder`` config,
        as asked) where a composite model has one, this configuration otherwise (the reference's method)."""
        if decoder and encoder:
            raise ConfigurationError("get_text_config: ask for the decoder or the encoder, not both.")
        names = ("decoder", "generator", "text_config") if decoder else ("text_encoder", "encoder", "text_config") \
            if encoder else ("text_config", "decoder", "generator", "text_encoder")
        found = [getattr(self, n) for n in names if isinstance(getattr(self, n, None), PretrainedConfig)]
        if len(found) > 1:
            raise ConfigurationError(
                f"{type(self).__name__} nests several text configurations ({', '.join(names)}); pass decoder=True or "
                "encoder=True to choose."
            )
        return found[0] if found else self

    @classmethod
    def known_attributes(cls) -> set[str]:
        """Names a user may pass: ``__init__`` parameters along the class hierarchy, common ones, aliases."""
        names = set(COMMON_DEFAULTS) | set(cls.attribute_map) | {"num_labels", "name_or_path", "torch_dtype",
                                                                  "attn_implementation"}
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            for param in inspect.signature(init).parameters.values():
                if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY) and param.name != "self":
                    names.add(param.name)
        return names

    def _refuse_probable_typos(self, extra_kwargs: dict[str, Any]) -> None:
        """Extra keywords become attributes, as in the reference (custom settings are welcome, and real
        ``config.json`` files carry keys of other versions, e.g. ``hidden_dropout_prob`` in a Wav2Vec2 config).
        One that misspells a known setting is kept too but logged with the likely name, since the model
        ignores it; in strict mode (:func:`strict_config_keywords`) it is an error."""
        flag_near_misses(f"{type(self).__name__}()", [k for k in extra_kwargs if not k.startswith("_")],
                         self.known_attributes())

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Every attribute, plus ``model_type``; JSON-ready (dtypes as strings)."""
        # nested configurations (a composite model's text_config, vision_config, ...) as their own dicts
        output = {
            k: v.to_dict() if isinstance(v, PretrainedConfig) else copy.deepcopy(v)
            for k, v in self.__dict__.items()
            if not k.startswith("_")
        }
        output["dtype"] = _dtype_name(output.get("dtype"))
        if type(self).model_type:
            output["model_type"] = type(self).model_type
        output["modelyard_version"] = __version__
        return output

    def to_diff_dict(self) -> dict[str, Any]:
        """Only what differs from the common defaults; every model-specific key is kept, and so is a common
        key whose value differs from this class's own default (``tie_word_embeddings=True`` for a class whose
        ``__init__`` defaults it to False), as the reference writes it: the file reloads to the same config."""
        full = self.to_dict()
        own = type(self)._own_common_defaults()
        diff = {
            key: value
            for key, value in full.items()
            if key not in COMMON_DEFAULTS or value != COMMON_DEFAULTS[key] or (key in own and value != own[key])
        }
        for key, value in self.__dict__.items():  # a nested configuration: its own difference, with its model_type
            if isinstance(value, PretrainedConfig) and key in diff:
                nested = value.to_diff_dict()
                nested.pop("modelyard_version", None)
                diff[key] = nested
        return diff

    @classmethod
    def _init_defaults(cls) -> dict[str, Any]:
        """The named parameters of this class's ``__init__``, in signature order, with their defaults
        (``inspect.Parameter.empty`` where there is none); read once per class."""
        cached = cls.__dict__.get("_init_defaults_cache")
        if cached is None:
            params = inspect.signature(cls.__init__).parameters.values()
            cached = {p.name: p.default for p in params
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"}
            type.__setattr__(cls, "_init_defaults_cache", cached)
        return cached

    @classmethod
    def _own_common_defaults(cls) -> dict[str, Any]:
        """The common keys this class's ``__init__`` gives defaults of its own (e.g. ``bos_token_id=1``)."""
        return {name: default for name, default in cls._init_defaults().items()
                if name in COMMON_DEFAULTS and default is not inspect.Parameter.empty}

    def to_json_string(self, use_diff: bool = True) -> str:
        data = self.to_diff_dict() if use_diff else self.to_dict()
        return json.dumps(_json_ready(data), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, json_file_path: str | os.PathLike[str], use_diff: bool = True) -> None:
        Path(json_file_path).write_text(self.to_json_string(use_diff=use_diff), encoding="utf-8")

    def _compared(self) -> Any:
        return self.to_dict()

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    def update_from_string(self, update_str: str) -> None:
        """Set existing attributes from ``"name=value,name=value"`` (a command line's style), each value read as
        the attribute's current type: ``true``/``false`` (or 1/0, yes/no) for a bool, an int, a float, else text."""
        for item in filter(None, (part.strip() for part in update_str.split(","))):
            key, equals, text = item.partition("=")
            if not equals:
                raise ConfigurationError(f"update_from_string: {item!r} is not of the form name=value.")
            if not hasattr(self, key):
                raise ConfigurationError(f"update_from_string: {type(self).__name__} has no attribute {key!r}.")
            old = getattr(self, key)
            value: Any
            try:
                if isinstance(old, bool):
                    lowered = text.lower()
                    if lowered not in {"true", "1", "y", "yes", "false", "0", "n", "no"}:
                        raise ValueError(text)
                    value = lowered in {"true", "1", "y", "yes"}
                elif isinstance(old, int):
                    value = int(text)
                elif isinstance(old, float):
                    value = float(text)
                elif isinstance(old, str) or old is None:
                    value = text
                else:
                    raise ConfigurationError(
                        f"update_from_string: {key} holds a {type(old).__name__}, which a string cannot set; use "
                        "update() or set the attribute."
                    )
            except ValueError as err:
                raise ConfigurationError(
                    f"update_from_string: {key}={text!r} is not a {type(old).__name__} like its current value {old!r}."
                ) from err
            setattr(self, key, value)

    def _get_non_default_generation_parameters(self) -> dict[str, Any]:
        """The legacy generation settings (``min_length``, ``num_beams``, ...) this config holds with a value other
        than its class's own default (the global default when the class cannot be built without arguments);
        ``None`` means "leave it to the generation config" and never counts. The reference's name."""
        try:
            default: PretrainedConfig | None = type(self)()
        except (ValueError, TypeError):
            default = None
        found: dict[str, Any] = {}
        for name, global_default in LEGACY_GENERATION_DEFAULTS.items():
            value = getattr(self, name)
            if value is None:
                continue
            if value != (getattr(default, name) if default is not None else global_default):
                found[name] = value
        return found

    # ------------------------------------------------------------------ saving (PretrainedIO hooks)
    def _save_into(self, directory: Path, *, portable_code: bool = False) -> list[Path]:
        """Write ``config.json`` (and the custom code, when the class is registered for an Auto class;
        ``portable_code=True`` writes its imports of modelyard so the transformers library can run it too)."""
        misplaced = self._get_non_default_generation_parameters()
        if misplaced:
            # a UserWarning, as in the reference (code and tests check for it); saved anyway
            warnings.warn(
                f"{type(self).__name__} holds generation settings that are not its defaults: {misplaced}. They "
                "belong in a GenerationConfig (model.generation_config, or generation_config.json saved with "
                "GenerationConfig.save_pretrained), which is what generate() reads; they are written to config.json "
                "too, for code that still reads them there.",
                UserWarning,
                stacklevel=3,
            )
        written: list[Path] = []
        if type(self)._auto_class is not None:
            from modelyard.dynamic.saving import save_custom_code

            written += save_custom_code(self, directory, config=self, portable=portable_code)
        path = directory / CONFIG_NAME
        self.to_json_file(path)
        written.append(path)
        logger.info("Configuration saved in %s", path)
        return written

    # ------------------------------------------------------------------ loading
    @classmethod
    def _settings_at(cls, location: FileSource | Path) -> dict[str, Any]:
        """The ``config.json`` of a folder or repository (or a JSON file) that ``from_pretrained`` builds from; a
        file of another ``model_type`` loads with a warning. Keyword arguments of ``from_pretrained`` that are not
        attributes come back with ``return_unused_kwargs=True`` (otherwise a warning names them); a misspelt
        attribute is an error (see ``from_dict``)."""
        config_dict = cls._config_dict_at(location)
        file_type = config_dict.get("model_type")
        if cls.model_type and file_type and file_type != cls.model_type:
            logger.warning(
                "Loading a %r config into %s (model_type %r): this may give a model with wrong settings.",
                file_type,
                cls.__name__,
                cls.model_type,
            )
        return config_dict

    @classmethod
    def _accepted_keywords(cls) -> set[str]:
        return super()._accepted_keywords() | cls.known_attributes()

    @staticmethod
    def _set_token_in_kwargs(kwargs: dict[str, Any], token: str | bool | None = None) -> None:
        """Folds the deprecated ``use_auth_token`` into ``token`` in ``kwargs``, in place: what the config classes of
        custom code call first in their own ``from_pretrained`` (the reference's 4.x helper; 5.x dropped it)."""
        if token is None:
            token = kwargs.pop("token", None)
        use_auth_token = kwargs.pop("use_auth_token", None)
        if use_auth_token is not None:
            warnings.warn("use_auth_token is deprecated; pass token instead.", FutureWarning, stacklevel=2)
            if token is not None:
                # the values are credentials: the message names the keywords, never what they hold
                raise ConfigurationError("Both token and use_auth_token were given; pass only token.")
            token = use_auth_token
        if token is not None:
            kwargs["token"] = token

    @classmethod
    def get_config_dict(
        cls, pretrained_model_name_or_path: str | os.PathLike[str] | FileSource, **kwargs: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(config_dict, unused_kwargs)``, as the reference returns them: the raw dict of the config file
        (with ``_name_or_path`` and ``_commit_hash``), and the keywords that were not options of the read
        (the :class:`~modelyard.options.HubOptions` fields)."""
        hub = HubOptions.take(kwargs, where=f"{cls.__name__}.get_config_dict")
        kwargs.pop("trust_remote_code", None)
        return cls._config_dict_at(cls._locate(pretrained_model_name_or_path, hub)), kwargs

    @classmethod
    def _config_dict_at(cls, location: FileSource | Path) -> dict[str, Any]:
        """The raw dict of a config file, with ``_name_or_path`` and ``_commit_hash`` filled in."""
        if isinstance(location, Path):
            config_dict = cls._dict_from_json_file(location)
            config_dict["_name_or_path"] = str(location.parent)
            return config_dict
        path = location.get(CONFIG_NAME)
        assert path is not None  # required: a missing file raises
        config_dict = cls._dict_from_json_file(path)
        config_dict["_name_or_path"] = location.name
        config_dict["_commit_hash"] = location.commit_hash
        return config_dict

    @classmethod
    def _dict_from_json_file(cls, path: Path) -> dict[str, Any]:
        if not path.is_file():
            hint = ""
            if path.parent.is_dir() and (path.parent / CONFIG_NAME).is_file():
                hint = (
                    f" The folder {str(path.parent)!r} holds {CONFIG_NAME!r} (save_pretrained always writes that "
                    f"name): pass {str(path.parent)!r} or {str(path.parent / CONFIG_NAME)!r}."
                )
            elif path.parent.is_dir():
                jsons = sorted(p.name for p in path.parent.glob("*.json"))
                hint = f" JSON files in {str(path.parent)!r}: {jsons or 'none'}."
            raise MissingFileError(f"Configuration file {str(path)!r} does not exist.{hint}")
        data = read_json_object(
            path, holds="a JSON object of configuration attributes",
            fix="Fix the file, or write it again with save_pretrained().", error=ConfigurationError,
        )
        cls._check_value_types(data, source=str(path))
        return data

    @classmethod
    def _check_value_types(cls, data: dict[str, Any], *, source: str) -> None:
        """Compare file values with the types of the library's defaults; name the key and file on mismatch.

        Only modelyard's own configuration classes declare types this way: the defaults of a user's subclass
        (``def __init__(self, a=0, ...)``) are examples, not contracts, and the reference takes any value."""
        defaults: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            init = klass.__dict__.get("__init__")
            if init is None or not klass.__module__.startswith("modelyard."):
                continue
            for param in inspect.signature(init).parameters.values():
                if param.default is not inspect.Parameter.empty and param.default is not None:
                    defaults[param.name] = param.default
        for key, value in data.items():
            key = cls.attribute_map.get(key, key)
            if key not in defaults or value is None:
                continue
            expected = type(defaults[key])
            ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                ok = True
            if expected in (list, tuple) and isinstance(value, (list, tuple)):
                ok = True
            if not ok:
                raise ConfigurationError(
                    f"{source}: key {key!r} must be {expected.__name__} (like the default {defaults[key]!r}), "
                    f"got {type(value).__name__} {value!r}. Fix the value in the file."
                )

    @overload
    @classmethod
    def from_dict(
        cls: type[C], config_dict: dict[str, Any], *, return_unused_kwargs: Literal[True], **kwargs: Any
    ) -> tuple[C, dict[str, Any]]: ...

    @overload
    @classmethod
    def from_dict(
        cls: type[C], config_dict: dict[str, Any], *, return_unused_kwargs: Literal[False] = False, **kwargs: Any
    ) -> C: ...

    @overload
    @classmethod
    def from_dict(
        cls: type[C], config_dict: dict[str, Any], *, return_unused_kwargs: bool, **kwargs: Any
    ) -> C | tuple[C, dict[str, Any]]: ...

    @classmethod
    def from_dict(
        cls: type[C], config_dict: dict[str, Any], *, return_unused_kwargs: bool = False, **kwargs: Any
    ) -> C | tuple[C, dict[str, Any]]:
        if not isinstance(config_dict, dict):
            raise ConfigurationError(f"from_dict needs a dict, got {type(config_dict).__name__}.")
        # As the reference: the caller's attn_implementation (a choice for this run) replaces any the dict holds, so
        # a config class taking attn_implementation in __init__ (InternLM2's) gets None unless one is asked for.
        config_dict = {**config_dict, "attn_implementation": kwargs.pop("attn_implementation", None)}
        token = _loading_from_file.set(True)
        try:
            config = cls(**config_dict)
        finally:
            _loading_from_file.reset(token)
        unused = {}
        for key, value in kwargs.items():
            if key in ("torch_dtype", "dtype"):
                config.dtype = _dtype_name(value)
            elif key == "num_labels" or hasattr(config, key):
                setattr(config, key, value)
            else:
                unused[key] = value
        flag_near_misses(f"{cls.__name__}.from_dict", unused, cls.known_attributes())
        return answer_with_unused(config, unused, return_unused_kwargs=return_unused_kwargs, where=cls.__name__)

    @classmethod
    def from_json_file(cls: type[C], json_file: str | os.PathLike[str]) -> C:
        data = cls._dict_from_json_file(Path(json_file))
        config = cls.from_dict(data)
        assert isinstance(config, cls)
        return config


def _json_ready(value: Any) -> Any:
    """Dict keys to str (JSON), sets to sorted lists, dtypes to names."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, set):
        return sorted(_json_ready(v) for v in value)
    if isinstance(value, PretrainedConfig):
        return _json_ready(value.to_diff_dict())
    return _dtype_name(value)
