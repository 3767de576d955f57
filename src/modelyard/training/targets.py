"""Matching module names against a target list (the reference's ``optim_target_modules`` rule, also used by
adapter libraries): a regular expression that must match the whole name, or a list of names, of name
fragments, or of regular expressions."""

from __future__ import annotations

import re
from collections.abc import Sequence


def check_target_module_exists(
    optim_target_modules: str | Sequence[str], key: str, return_is_regex: bool = False
) -> bool | tuple[bool, bool]:
    """Whether the module named ``key`` is among the targets; with ``return_is_regex``, also whether the match
    came from a regular expression (rather than a name or a fragment of one).

    A string is one regular expression, matched against the whole name. In a list, an entry matches when it
    is the name, a part of it (``"q_proj"`` matches ``"model.layers.0.attn.q_proj"``), or a regular expression
    matching the whole name, tried in that order."""
    found = is_regex = False
    if isinstance(optim_target_modules, str):
        found = re.fullmatch(optim_target_modules, key) is not None
        is_regex = optim_target_modules != key
    elif key in optim_target_modules or any(target in key for target in optim_target_modules):
        found = True
    elif any(re.fullmatch(target, key) is not None for target in optim_target_modules):
        found = is_regex = True
    return (found, is_regex) if return_is_regex else found
