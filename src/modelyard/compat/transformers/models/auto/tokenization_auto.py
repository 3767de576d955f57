"""``transformers.models.auto.tokenization_auto``: ``AutoTokenizer``, ``TOKENIZER_MAPPING(_NAMES)`` and
``tokenizer_class_from_name``."""

from __future__ import annotations

from modelyard.compat.transformers.models.auto._tables import declare_auto_module

__getattr__, __dir__ = declare_auto_module(
    globals(), ("AutoTokenizer",), ("TOKENIZER_MAPPING", "TOKENIZER_MAPPING_NAMES", "CONFIG_MAPPING_NAMES"),
    others={"tokenizer_class_from_name": "modelyard.auto.tokenization_auto"},
)
