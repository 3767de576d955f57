"""Model card (README.md) metadata: the YAML block between ``---`` lines at the top of the file."""

from __future__ import annotations

import re
from typing import Any

from modelyard.server import bounded

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def _front_matter(text: str) -> str | None:
    match = _FRONT_MATTER.match(text)
    return match.group(1) if match else None


def card_body(text: str) -> str:
    """The card's Markdown after its metadata block (the whole text when there is none)."""
    match = _FRONT_MATTER.match(text)
    return text[match.end():] if match else text.removeprefix("\ufeff")


def _children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list):  # a sequence (nodes) or a mapping ((key node, value node) pairs)
        return [n for item in value for n in (item if isinstance(item, tuple) else (item,))]
    return []


def _check_expanded_size(root: Any) -> None:
    """Refuse a composed YAML document whose aliases (and merge keys) would expand beyond the bounds.

    Aliases share nodes, so the composed graph stays as small as the text; the size is counted as if every
    alias were written out, once per node (memoized), without recursion; an alias cycle is refused."""
    sizes: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            children = _children(node)
            items = 1 + sum(sizes[id(c)][0] for c in children)
            chars = (len(node.value) if isinstance(node.value, str) else 0) + sum(sizes[id(c)][1] for c in children)
            if items > bounded.MAX_ITEMS or chars > bounded.MAX_TEXT:
                raise bounded.ContentTooComplex(
                    f"the aliases expand to more than {bounded.MAX_ITEMS} values or {bounded.MAX_TEXT} characters")
            sizes[key] = (items, chars)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise bounded.ContentTooComplex("an alias refers to a node that contains it")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _load_yaml(block: str) -> Any:
    """The block's value, with aliases allowed only while their expansion stays within ``bounded``'s limits."""
    import yaml  # PyYAML comes with huggingface_hub; imported lazily to keep the server start light

    loader = yaml.SafeLoader(block)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node)
        return bounded.check_value(loader.construct_document(node))
    finally:
        loader.dispose()


def card_metadata(text: str | None) -> dict[str, Any] | None:
    """The card's metadata dict, or None when there is none or it does not parse."""
    block = _front_matter(text or "")
    if block is None:
        return None
    try:
        data = _load_yaml(block)
    except Exception:  # an invalid (or bomb-like) card must not break repo info, nor a listing
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
    except bounded.ContentTooComplex as err:
        return [f"The README.md metadata block is too large or too deeply nested to be served: {err}. Keep it "
                f"under {bounded.MAX_DEPTH} levels, and write repeated values out rather than through aliases."]
    except RecursionError:
        return [f"The README.md metadata block is nested deeper than {bounded.MAX_DEPTH} levels."]
    except Exception as err:
        return [f"Invalid YAML in the README.md metadata block: {err}".replace("\n", " ")]
    if data is not None and not isinstance(data, dict):
        return [f"The README.md metadata block must be a YAML mapping (key: value), got {type(data).__name__}."]
    return []
