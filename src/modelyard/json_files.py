"""Reading the JSON object a settings or vocabulary file holds, with errors that name the file and the fix."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from modelyard.errors import MissingFileError, ModelyardError


def read_json_object(path: str | os.PathLike[str] | None, *, holds: str, fix: str, error: type[ModelyardError]) -> dict[str, Any]:
    """The JSON object in the file at ``path``.

    A missing file raises :class:`~modelyard.errors.MissingFileError`; text that is not JSON, or JSON that is
    not an object, raises ``error``. Each message names the file, what it ``holds`` (e.g. ``"a JSON object of
    settings"``) and the ``fix``.
    """
    if path is None or not Path(path).is_file():
        raise MissingFileError(f"{str(path)!r} is not a file; it should hold {holds}. {fix}")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise error(
            f"{str(path)!r} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}. It should hold "
            f"{holds}. {fix}"
        ) from err
    if not isinstance(data, dict):
        raise error(f"{str(path)!r} must hold {holds}, got a {type(data).__name__}. {fix}")
    return data


__all__ = ["read_json_object"]
