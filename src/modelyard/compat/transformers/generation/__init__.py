"""``transformers.generation``: modelyard's generation API under the reference's names and submodule paths."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare, entries_for
from modelyard.generation import _EXPORTS as _GENERATION

# LogitsWarper: the base class of warpers in releases before 4.46; remote code written then still imports it
_LEGACY = frozenset({"LogitsWarper"})
# what the reference keeps in submodules only: the caches (in cache_utils) and the beam-group diversity
# processor (in generation.logits_process)
_ELSEWHERE = set(entries_for(_GENERATION, "modelyard.generation.caches")) | {"HammingDiversityLogitsProcessor"}
__getattr__, __dir__ = declare(
    globals(),
    {
        **{name: module for name, module in _GENERATION.items() if name not in _ELSEWHERE},
        "PromptLookupCandidateGenerator": "modelyard.generation.assisted",
    },
    submodules=("configuration_utils", "logits_process", "stopping_criteria", "streamers", "utils"),
)
