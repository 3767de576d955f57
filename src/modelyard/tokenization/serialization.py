"""Reading and writing tokenizer folders in the reference library's formats.

A folder holds ``tokenizer_config.json`` (constructor arguments, ``added_tokens_decoder``, ``tokenizer_class``),
``special_tokens_map.json``, ``added_tokens.json`` (tokens beyond the base vocabulary, when any), the vocabulary
file(s) and, for fast tokenizers, ``tokenizer.json``. Older folders without ``added_tokens_decoder`` are read
the legacy way (special tokens from ``special_tokens_map.json``, added tokens from ``added_tokens.json`` or
``tokenizer.json``). Files are written as the reference writes them: sorted keys, two-space indent, UTF-8.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard import registry
from modelyard.errors import TokenizerError
from modelyard.hub.files import FileSource
from modelyard.json_files import read_json_object
from modelyard.tokenization.added_tokens import AddedToken
from modelyard.tokenization.special_tokens import SPECIAL_TOKENS_ATTRIBUTES

if TYPE_CHECKING:
    from modelyard.tokenization.base import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
FULL_TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"

_LEGACY_FILES = {
    "added_tokens_file": ADDED_TOKENS_FILE,
    "special_tokens_map_file": SPECIAL_TOKENS_MAP_FILE,
    "tokenizer_config_file": TOKENIZER_CONFIG_FILE,
    "tokenizer_file": FULL_TOKENIZER_FILE,
}
_MISSING = object()
# Bookkeeping keys that never go back into tokenizer_config.json.
_NOT_SAVED = ("name_or_path", "special_tokens_map_file", "tokenizer_file", "device_map")


def read_json(path: Path | str, *, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as err:
        raise TokenizerError(f"{what} at {str(path)!r} is not valid JSON ({err}). Re-save the tokenizer or fix the file.") from err


def read_json_vocab(vocab_file: str | os.PathLike[str] | None, *, owner: str, layout: str) -> dict[str, Any]:
    """The JSON object of a vocabulary file; errors name the file, ``owner`` (the tokenizer class) and the
    ``layout`` it reads (e.g. ``'{token: id}'``)."""
    return read_json_object(
        vocab_file, holds=f"the vocabulary of {owner}, a JSON object {layout} (whatever the file extension)",
        fix=f"Pass vocab_file=<path>, or load a saved tokenizer with {owner}.from_pretrained(<folder or repo id>).",
        error=TokenizerError,
    )


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def decode_added_tokens(obj: Any) -> Any:
    """Turn ``{"__type": "AddedToken", ...}`` dicts (older files) back into ``AddedToken`` objects, recursively."""
    if isinstance(obj, dict):
        if obj.get("__type") == "AddedToken":
            return AddedToken.from_any({k: v for k, v in obj.items() if k != "__type"})
        return {k: decode_added_tokens(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [decode_added_tokens(v) for v in obj]
    return obj


def encode_added_tokens(obj: Any, *, type_field: bool) -> Any:
    """Make ``AddedToken`` values JSON-ready: with ``"__type"`` (tokenizer_config) or without ``special``."""
    if isinstance(obj, AddedToken):
        state = obj.__getstate__()
        if type_field:
            state["__type"] = "AddedToken"
        else:
            state.pop("special")
        return state
    if isinstance(obj, dict):
        return {k: encode_added_tokens(v, type_field=type_field) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode_added_tokens(v, type_field=type_field) for v in obj]
    return obj


# ---------------------------------------------------------------------------------------------------- loading
def resolve_files(cls: type[PreTrainedTokenizerBase], source: FileSource) -> dict[str, Path | None]:
    """Every file the class may read, as local paths (``None`` when absent); all through one ``source``."""
    names = {**cls.vocab_files_names, **_LEGACY_FILES}
    return {key: source.get(filename, required=False) for key, filename in names.items()}


def _config_tokenizer_class(source: FileSource) -> str | None:
    """Tokenizer class named by config.json (``tokenizer_class``, else the table entry of ``model_type``)."""
    path = source.get(CONFIG_FILE, required=False)
    if path is None:
        return None
    try:
        config = read_json(path, what=CONFIG_FILE)
    except TokenizerError:
        return None
    if not isinstance(config, dict):
        return None
    if config.get("tokenizer_class"):
        return str(config["tokenizer_class"])
    family = registry.families().get(config.get("model_type") or "")
    if family is None:
        return None
    manifest = family[1]
    return manifest.tokenizer or manifest.fast_tokenizer


def load_init_kwargs(
    cls: type[PreTrainedTokenizerBase],
    source: FileSource,
    files: dict[str, Path | None],
    init_inputs: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Build the constructor arguments of ``cls`` from a folder's files plus the caller's overrides."""
    files = dict(files)
    config_file = files.pop("tokenizer_config_file", None)
    has_tokenizer_file = files.get("tokenizer_file") is not None
    if config_file is not None:
        init_kwargs = read_json(config_file, what=TOKENIZER_CONFIG_FILE)
        if not isinstance(init_kwargs, dict):
            raise TokenizerError(f"{TOKENIZER_CONFIG_FILE} in {source.name} must hold a JSON object, got {type(init_kwargs).__name__}.")
        config_class = init_kwargs.pop("tokenizer_class", None)
        if not has_tokenizer_file:
            init_kwargs.pop("tokenizer_file", None)
        saved_inputs = init_kwargs.pop("init_inputs", ())
        init_inputs = init_inputs or tuple(saved_inputs)
    else:
        init_kwargs, config_class = {}, None
    init_kwargs.pop("_commit_hash", None)
    if isinstance(init_kwargs.get("auto_map"), (list, tuple)):
        init_kwargs["auto_map"] = {"AutoTokenizer": list(init_kwargs["auto_map"])}
    if config_class is None:
        config_class = _config_tokenizer_class(source)
    if config_class is not None and cls.__name__.replace("Fast", "") != str(config_class).replace("Fast", ""):
        logger.warning(
            "%s was saved as %s but is being loaded with %s; tokenization may differ. Load it with %s (or "
            "AutoTokenizer) if that is not intended.",
            source.name,
            config_class,
            cls.__name__,
            config_class,
        )
    templates = _saved_chat_templates(source)
    if templates is not None:
        init_kwargs["chat_template"] = templates
    init_kwargs.update(kwargs)

    added_tokens_file = files.pop("added_tokens_file", None)
    special_map_file = files.pop("special_tokens_map_file", None)
    tokenizer_file = files.get("tokenizer_file")
    for key, path in files.items():
        if key == "tokenizer_file" and "tokenizer_file" not in cls.vocab_files_names:
            continue
        if key not in init_kwargs:
            init_kwargs[key] = str(path) if path is not None else None

    decoder: dict[int, AddedToken] = {}
    by_content: dict[str, AddedToken] = {}
    if "added_tokens_decoder" in init_kwargs:
        for index, token in (init_kwargs["added_tokens_decoder"] or {}).items():
            token = AddedToken.from_any(token)
            decoder[int(index)] = token
            by_content[str(token)] = token
    else:
        if special_map_file is not None:
            special_map = read_json(special_map_file, what=SPECIAL_TOKENS_MAP_FILE)
            for key, value in special_map.items():
                if kwargs.get(key):
                    continue
                if isinstance(value, dict):
                    value = AddedToken.from_any({**value, "special": True})
                elif key == "additional_special_tokens" and isinstance(value, list):
                    merged = list(init_kwargs.pop("additional_special_tokens", None) or [])
                    for token in value:
                        if isinstance(token, dict):
                            token = AddedToken.from_any({**token, "special": True})
                        if token not in merged:
                            merged.append(token)
                    value = merged
                init_kwargs[key] = value
        if added_tokens_file is not None:
            specials: list[str] = []
            for key in SPECIAL_TOKENS_ATTRIBUTES:
                value = init_kwargs.get(key)
                if value is None:
                    continue
                specials.extend(str(t) for t in value) if isinstance(value, list) else specials.append(str(value))
            for content, index in read_json(added_tokens_file, what=ADDED_TOKENS_FILE).items():
                special = content in specials
                decoder[int(index)] = AddedToken(content, rstrip=False, lstrip=False, normalized=not special, special=special)
                by_content[content] = decoder[int(index)]
        if tokenizer_file is not None:
            for entry in read_json(tokenizer_file, what=FULL_TOKENIZER_FILE).get("added_tokens", []):
                entry = dict(entry)
                index = int(entry.pop("id"))
                decoder[index] = AddedToken.from_any(entry)
                by_content[decoder[index].content] = decoder[index]
    init_kwargs["added_tokens_decoder"] = decoder
    init_kwargs = decode_added_tokens(init_kwargs)
    if by_content:
        for key in SPECIAL_TOKENS_ATTRIBUTES:
            if key != "additional_special_tokens" and init_kwargs.get(key) is not None:
                init_kwargs[key] = by_content.get(str(init_kwargs[key]), init_kwargs[key])
    init_kwargs["name_or_path"] = source.name
    return init_inputs, init_kwargs


def _saved_chat_templates(source: FileSource) -> str | dict[str, str] | None:
    """Templates saved as ``.jinja`` files (they win over a ``chat_template`` in tokenizer_config.json)."""
    from modelyard.tokenization import chat_template

    folder = chat_template.CHAT_TEMPLATE_DIR + "/"
    names = [
        name[len(folder) : -len(".jinja")]
        for name in source.list_files()
        if name.startswith(folder) and name.endswith(".jinja") and "/" not in name[len(folder) :]
    ]
    return chat_template.read_template_files(lambda name: source.get(name, required=False), names)


# ---------------------------------------------------------------------------------------------------- saving
def build_tokenizer_config(tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """The content of tokenizer_config.json for ``tokenizer`` (before custom-code bookkeeping)."""
    config = copy.deepcopy(tokenizer.init_kwargs)
    for key in set(tokenizer.init_kwargs) | {"model_max_length", "clean_up_tokenization_spaces"}:
        if key in ("added_tokens_decoder", *_NOT_SAVED):
            continue
        value = getattr(tokenizer, key, _MISSING)
        if value is not _MISSING and not callable(value):
            config[key] = copy.deepcopy(value)
    config.update(tokenizer.special_tokens_map)
    if "extra_special_tokens" not in config:
        config["extra_special_tokens"] = dict(tokenizer.extra_special_tokens)
        config.update(tokenizer.extra_special_tokens)
    if tokenizer.chat_template is not None:
        config["chat_template"] = tokenizer.chat_template
    for file_id in tokenizer.vocab_files_names:
        config.pop(file_id, None)
    config = encode_added_tokens(config, type_field=True)
    config["added_tokens_decoder"] = {index: token.__getstate__() for index, token in tokenizer.added_tokens_decoder.items()}
    name = type(tokenizer).__name__
    if name.endswith("Fast") and getattr(tokenizer, "slow_tokenizer_class", None) is not None and getattr(
        tokenizer, "can_save_slow_tokenizer", False
    ):
        name = name[: -len("Fast")]
    config["tokenizer_class"] = name
    if getattr(tokenizer, "_processor_class", None) is not None:
        config["processor_class"] = tokenizer._processor_class
    for key in _NOT_SAVED:
        config.pop(key, None)
    return config

