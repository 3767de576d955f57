"""Model card (README.md) metadata: the YAML block between ``---`` lines at the top of the file."""

from __future__ import annotations

import re
from typing import Any

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def _front_matter(text: str) -> str | None:
    match = _FRONT_MATTER.match(text)
    return match.group(1) if match else None


def card_body(text: str) -> str:
    """The card's Markdown after its metadata block (the whole text when there is none)."""
    match = _FRONT_MATTER.match(text)
    return text[match.end():] if match else text.removeprefix("\ufeff")


def _load_yaml(block: str) -> Any:
    import yaml  # PyYAML comes with huggingface_hub; imported lazily to keep the server start light

    return yaml.safe_load(block)


def card_metadata(text: str | None) -> dict[str, Any] | None:
    """The card's metadata dict, or None when there is none or it does not parse."""
    block = _front_matter(text or "")
    if block is None:
        return None
    try:
        data = _load_yaml(block)
    except Exception:  # an invalid card must not break repo info
        return None
    return data if isinstance(data, dict) else None


def validate_card(text: str) -> list[str]:
    """Problems with a card's metadata block (empty list when fine, or when there is no block)."""
    block = _front_matter(text)
    if block is None:
        return []
    try:
        data = _load_yaml(block)
    except ImportError:
        return []
    except Exception as err:
        return [f"Invalid YAML in the README.md metadata block: {err}".replace("\n", " ")]
    if data is not None and not isinstance(data, dict):
        return [f"The README.md metadata block must be a YAML mapping (key: value), got {type(data).__name__}."]
    return []
