"""Corpus repositories in the shapes of the most used real custom-code repositories, one module per style.

``CorpusRepo`` describes one repository (its files, the Auto class that loads it, the inputs of ``forward`` and
the outputs to compare); ``_reference_corpus.CORPUS`` registers every entry, one line each. A style module
writes its own small code with the import surface, config idioms and naming of the repositories it imitates;
none of their code is copied.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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
    extra: dict[str, Any] = field(default_factory=dict)
    bool_inputs: tuple[str, ...] = ()
    # writes the files that are not text (a tokenizer.model trained for the test) into the repository folder
    binary_files: Callable[[Path], None] | None = None
    hub: bool = False  # also loaded from the embedded hub, pinned to a commit


def config_json(model_type: str, auto_map: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"model_type": model_type, "auto_map": auto_map, **extra}, indent=2)


def output_field(outputs: Any, name: str) -> Any:
    """``outputs.<name>``, or ``outputs[<name>]`` for a position (models that return plain tuples)."""
    return outputs[int(name)] if name.isdigit() else getattr(outputs, name)
