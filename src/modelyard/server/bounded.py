"""Stored content parsed for an answer or a page, within bounds.

Repository files are written by anyone who can push. A ``config.json`` nested ten thousand levels deep, or a
model card whose YAML aliases expand a few hundred bytes into millions of items, must not make an answer
fail (Python's parsers and encoders recurse) or grow without limit, least of all an answer about other
repositories (the global listings). What is parsed here is refused, as a :class:`ContentTooComplex`
(a ``ValueError``), beyond :data:`MAX_DEPTH` levels of nesting or :data:`MAX_ITEMS` values; callers treat
that like content that does not parse.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Deeper than any real config, card or safetensors header (they nest a handful of levels), far below the
# interpreter's recursion limit, which the JSON encoder and the page templates share.
MAX_DEPTH = 64
# Values (containers and scalars) once YAML aliases are expanded: a large model-index card holds a few
# thousand; the cap keeps an answer built from one card to a few megabytes at most.
MAX_ITEMS = 100_000
# Characters of the scalars once aliases are expanded.
MAX_TEXT = 2 * 1024 * 1024

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class ContentTooComplex(ValueError):
    """Stored content nested deeper, or holding more values, than an answer may carry."""


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (strings skipped), without recursion."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that refuses documents nested deeper than ``max_depth`` (:class:`ContentTooComplex`)."""
    text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
    brackets = text.count("[") + text.count("{")
    depth = json_depth(text) if brackets > max_depth else brackets  # fewer brackets: cannot nest deeper
    if depth > max_depth:
        raise ContentTooComplex(f"JSON nested {depth} levels deep; at most {max_depth} are read")
    try:
        return json.loads(text)
    except RecursionError:  # only reachable with a max_depth near the interpreter's limit
        raise ContentTooComplex("JSON nested too deep to read") from None


def check_value(value: Any, *, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS,
                max_text: int = MAX_TEXT) -> Any:
    """``value`` (parsed JSON or YAML) if it nests at most ``max_depth`` levels and holds at most ``max_items``
    values and ``max_text`` characters of strings, counting shared or repeated objects each time they occur;
    otherwise :class:`ContentTooComplex`. Walks without recursion and stops at the first bound crossed, so a
    self-referencing or exponentially shared structure costs no more than the bounds."""
    items = text = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        items += 1
        if items > max_items:
            raise ContentTooComplex(f"more than {max_items} values")
        if isinstance(current, dict):
            children: Any = [*current.keys(), *current.values()]
        elif isinstance(current, (list, tuple, set)):
            children = current
        else:
            if isinstance(current, (str, bytes)):
                text += len(current)
                if text > max_text:
                    raise ContentTooComplex(f"more than {max_text} characters of text")
            continue
        if children and depth >= max_depth:
            raise ContentTooComplex(f"nested more than {max_depth} levels deep")
        stack.extend((child, depth + 1) for child in children)
    return value
