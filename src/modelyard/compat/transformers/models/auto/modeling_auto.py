"""``transformers.models.auto.modeling_auto``: the Auto model classes and their ``MODEL_*_MAPPING(_NAMES)``."""

from __future__ import annotations

from modelyard.compat.transformers.models.auto._tables import TABLE_NAMES, declare_auto_module
from modelyard.registry import MODEL_TASKS

__getattr__, __dir__ = declare_auto_module(
    globals(), MODEL_TASKS, (*(n for n in TABLE_NAMES if n.startswith("MODEL")), "CONFIG_MAPPING_NAMES")
)
