"""What a corpus entry is: a repository's files, how it is loaded and what is compared."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CorpusRepo:
    name: str
    files: dict[str, str]
    auto_class: str
    model_class: str
    inputs: dict[str, Any]
    outputs: tuple[str, ...]  # output fields by name, or by position ("0") for a model that returns a tuple
    tokenizer_text: list[str] | None = None  # for a repository with a tokenizer: texts to encode
    xfail: str | None = None
    float_inputs: tuple[str, ...] = ()
    bool_inputs: tuple[str, ...] = ()
    # generate / beam / chat: keywords of generate() and of chat(input_ids, attention_mask); tied: (key, key);
    # text_chat: the model's own chat helpers called with its tokenizer (see _corpus_runner.run_text_chat);
    # decode: keywords of decode() for comparing pieces and decodings; encode: keywords of an embedding model's
    # own encode()
    extra: dict[str, Any] = field(default_factory=dict)
    assets: Callable[[], dict[str, bytes]] | None = None  # binary files made when the repository is built


def config_json(model_type: str, auto_map: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"model_type": model_type, "auto_map": auto_map, **extra}, indent=2)


def output_field(outputs: Any, name: str) -> Any:
    """``outputs.<name>``, or ``outputs[<name>]`` for a position (models that return plain tuples)."""
    return outputs[int(name)] if name.isdigit() else getattr(outputs, name)
