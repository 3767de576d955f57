"""Added tokens: ``AddedToken`` and the splitter that isolates them in a text before tokenization.

``AddedToken`` mirrors ``tokenizers.AddedToken`` (same fields, defaults, equality and hash) in pure Python,
so slow tokenizers never need the Rust package. ``AddedTokenSplitter`` cuts a text along the added tokens it
contains. When no token overlaps another (the usual case: ``[CLS]``, ``<pad>``...), a compiled regular
expression finds them; otherwise a character-by-character trie walk reproduces the reference's cuts exactly,
including its behaviour on overlapping tokens.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

_FIELDS = ("content", "single_word", "lstrip", "rstrip", "normalized", "special")


class AddedToken:
    """A token added to a vocabulary, with how it matches in text.

    ``single_word``: match only as a whole word; ``lstrip``/``rstrip``: swallow the whitespace on that side;
    ``normalized``: match the normalized (e.g. lower-cased) text; defaults to ``not special``.
    """

    __slots__ = _FIELDS

    def __init__(
        self,
        content: str,
        single_word: bool = False,
        lstrip: bool = False,
        rstrip: bool = False,
        special: bool = False,
        normalized: bool | None = None,
    ) -> None:
        if not isinstance(content, str):
            raise TypeError(f"AddedToken content must be a str, got {type(content).__name__}: {content!r}.")
        self.content = content
        self.single_word = bool(single_word)
        self.lstrip = bool(lstrip)
        self.rstrip = bool(rstrip)
        self.special = bool(special)
        self.normalized = (not self.special) if normalized is None else bool(normalized)

    @classmethod
    def from_any(cls, value: Any) -> AddedToken:
        """Accept our ``AddedToken``, ``tokenizers.AddedToken``, a saved dict or a plain string."""
        if isinstance(value, AddedToken):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict):
            fields = {k: v for k, v in value.items() if k in _FIELDS}
            return cls(**fields)
        if hasattr(value, "content") and hasattr(value, "special"):  # tokenizers.AddedToken
            return cls(**{name: getattr(value, name) for name in _FIELDS})
        raise TypeError(f"Cannot make an AddedToken from {type(value).__name__}: {value!r}.")

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("content", "single_word", "lstrip", "rstrip", "normalized", "special")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Partial updates are allowed (the reference uses them to flip `special`).
        if not hasattr(self, "content"):
            self.__init__(state["content"])  # type: ignore[misc]  # unpickling: the object has no state yet
        for key, value in state.items():
            if key in _FIELDS:
                setattr(self, key, value)

    def copy(self) -> AddedToken:
        clone = AddedToken.__new__(AddedToken)
        for name in _FIELDS:
            setattr(clone, name, getattr(self, name))
        return clone

    def to_rust(self) -> Any:
        """The equivalent ``tokenizers.AddedToken`` (imports the Rust package)."""
        from tokenizers import AddedToken as RustAddedToken

        return RustAddedToken(
            self.content,
            single_word=self.single_word,
            lstrip=self.lstrip,
            rstrip=self.rstrip,
            normalized=self.normalized,
            special=self.special,
        )

    def __str__(self) -> str:
        return self.content

    def __repr__(self) -> str:
        return (
            f'AddedToken("{self.content}", rstrip={self.rstrip}, lstrip={self.lstrip}, '
            f"single_word={self.single_word}, normalized={self.normalized}, special={self.special})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AddedToken):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _FIELDS)

    def __hash__(self) -> int:
        return hash(self.content)

    def __deepcopy__(self, memo: dict[int, Any]) -> AddedToken:
        return self.copy()


def special_added_token(token: str | AddedToken | None, **flags: Any) -> str | AddedToken | None:
    """A string special token as an ``AddedToken`` with ``flags`` (how the families declare their defaults)."""
    return AddedToken(token, **flags) if isinstance(token, str) else token


def special_added_tokens(*tokens: str | AddedToken | None, **flags: Any) -> list[str | AddedToken | None]:
    """:func:`special_added_token` for each of ``tokens``, in order."""
    return [special_added_token(token, **flags) for token in tokens]


def _overlap_free(tokens: set[str]) -> bool:
    """True when no token occurs inside another and no token's tail is another's head.

    Then occurrences in a text can never overlap, leftmost-longest regex matching gives the same cuts as the
    reference's trie walk, and the C regex engine can do the work.
    """
    heads: set[str] = set()
    for token in tokens:
        heads.update(token[:k] for k in range(1, len(token)))
    for token in tokens:
        n = len(token)
        for k in range(1, n):
            if token[n - k :] in heads or token[n - k :] in tokens:
                return False
        for i in range(n):
            for j in range(i + 1, n + 1 if i else n):
                if token[i:j] in tokens:
                    return False
    return True


class AddedTokenSplitter:
    """Cuts text into pieces: runs of plain text and the added tokens found in it (never empty pieces)."""

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        self._tokens: set[str] = set()
        self._root: dict[str, Any] = {}
        self._pattern: re.Pattern[str] | None = None
        self._simple = True
        self.update(tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._tokens

    def __len__(self) -> int:
        return len(self._tokens)

    def update(self, tokens: Iterable[str]) -> None:
        new = [t for t in tokens if t and t not in self._tokens]
        if not new:
            return
        for token in new:
            self._tokens.add(token)
            node = self._root
            for char in token:
                node = node.setdefault(char, {})
            node[""] = True  # end-of-token marker
        ordered = sorted(self._tokens, key=lambda t: (-len(t), t))
        self._pattern = re.compile("|".join(map(re.escape, ordered)))
        self._simple = _overlap_free(self._tokens)

    def split(self, text: str) -> list[str]:
        if not text:
            return []
        pattern = self._pattern
        if pattern is None or pattern.search(text) is None:
            return [text]
        if self._simple:
            pieces: list[str] = []
            position = 0
            for match in pattern.finditer(text):
                start = match.start()
                if start > position:
                    pieces.append(text[position:start])
                pieces.append(match.group())
                position = match.end()
            if position < len(text):
                pieces.append(text[position:])
            return pieces
        return _cut(text, _trie_offsets(self._root, text))


def _longest_from(
    text: str, node: dict[str, Any], index: int, best: tuple[int, int, int], start: int
) -> tuple[int, int, int]:
    """Extend a partial match starting at ``start`` from ``index``; returns the last (start, end, skip) seen."""
    length = len(text)
    if "" in node:
        best = (start, index, index)
    following = text[index] if index < length else None
    while following is not None and following in node:
        node = node[following]
        index += 1
        if "" in node:
            best = (start, index, index)
        if index == length:
            break
        following = text[index]
    return best


def _trie_offsets(root: dict[str, Any], text: str) -> list[int]:
    """Cut offsets of the reference's greedy trie walk (kept bug-for-bug for overlapping tokens)."""
    offsets = [0]
    partial: dict[int, dict[str, Any]] = {}  # start index -> trie node reached so far (insertion ordered)
    skip = 0
    for current, char in enumerate(text):
        if skip and current < skip:
            continue
        dead: list[int] = []
        matched = False
        for start, node in partial.items():
            if "" in node:
                # A token ends here: look for a longer one from this start or from an earlier partial match.
                best = (start, current, skip)
                for other_start, other_node in partial.items():
                    if other_start > best[0]:  # a longer match from an earlier start already won
                        break
                    # Earlier partial matches already consumed `char`; the one at `start` has not.
                    index = current + 1 if other_start < start else current
                    best = (best[0], index, best[2])
                    best = _longest_from(text, other_node, index, best, other_start)
                found_start, found_end, skip = best
                offsets.append(found_start)
                offsets.append(found_end)
                matched = True
                break
            if char in node:
                partial[start] = node[char]
            else:
                dead.append(start)
        if matched:
            partial = {}
        else:
            for start in dead:
                del partial[start]
        if current >= skip and char in root:
            partial[current] = root[char]
    for start, node in partial.items():
        if "" in node:
            offsets.append(start)
            offsets.append(len(text))
            break
    return offsets


def _cut(text: str, offsets: list[int]) -> list[str]:
    offsets.append(len(text))
    pieces = []
    start = 0
    for end in offsets:
        if start > end:
            logger.error("Added-token splitting produced out-of-order cuts in %r; recovering.", text)
            continue
        if start == end:
            continue
        pieces.append(text[start:end])
        start = end
    return pieces
