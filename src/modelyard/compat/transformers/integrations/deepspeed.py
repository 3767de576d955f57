"""``transformers.integrations.deepspeed``: the DeepSpeed questions library code asks before touching weights.

modelyard never partitions parameters with DeepSpeed ZeRO-3 (it has no DeepSpeed integration), so
:func:`is_deepspeed_zero3_enabled` is always ``False`` here and code that gathers partitioned weights
before resizing or loading them takes its plain path.
"""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare
from modelyard.compat.transformers.utils.import_utils import _found


def is_deepspeed_available() -> bool:
    """Whether the ``deepspeed`` package is installed (modelyard does not use it)."""
    return _found("deepspeed")


def is_deepspeed_zero3_enabled() -> bool:
    """Whether model weights are partitioned by DeepSpeed ZeRO-3: never, with modelyard."""
    return False


__getattr__, __dir__ = declare(globals(), {})
