"""``transformers.configuration_utils``: ``PretrainedConfig`` is modelyard's own class.

``PreTrainedConfig`` is the spelling transformers 5.x uses for the same class; code written for 5.x imports
it, so it is here too (4.57 does not have it).
"""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

_LEGACY = frozenset({"PreTrainedConfig"})  # names of other releases than the one this namespace follows
__getattr__, __dir__ = declare(
    globals(),
    {"PretrainedConfig": "modelyard.configuration", "PreTrainedConfig": "modelyard.configuration:PretrainedConfig"},
)
