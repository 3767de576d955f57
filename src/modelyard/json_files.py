"""Reading the JSON files that hold one object of settings (``config.json``, ``preprocessor_config.json``, ...).

The errors name the file and what is wrong with it, the same way for every kind of settings file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelyard.errors import ConfigurationError


def read_json_object(path: Path, *, holds: str = "settings") -> dict[str, Any]:
    """The JSON object in the file ``path`` (which exists); ``holds`` says what its keys are, for the error."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigurationError(
            f"{str(path)!r} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}. Fix the file, "
            "or write it again with save_pretrained()."
        ) from err
    if not isinstance(data, dict):
        raise ConfigurationError(f"{str(path)!r} must hold a JSON object of {holds}, got a {type(data).__name__}.")
    return data


__all__ = ["read_json_object"]
