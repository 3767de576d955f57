"""``transformers.models.auto.processing_auto``: ``AutoProcessor``, ``PROCESSOR_MAPPING(_NAMES)`` and
``processor_class_from_name``."""

from __future__ import annotations

import importlib

from modelyard.compat.transformers.models.auto._tables import declare_auto_module, get_values, table

# The tables whose classes make up processors, searched in this order by ``processor_class_from_name``.
_COMPONENT_TABLES = ("TOKENIZER_MAPPING", "FEATURE_EXTRACTOR_MAPPING", "IMAGE_PROCESSOR_MAPPING", "PROCESSOR_MAPPING")


def processor_class_from_name(class_name: str) -> type | None:
    """The tokenizer, feature extractor, image processor or processor class called ``class_name``: one of the Auto
    tables (registered classes included), else the namespace's top-level name; ``None`` when there is none."""
    for name in _COMPONENT_TABLES:
        for klass in get_values(table(name)):
            if klass is not None and klass.__name__ == class_name:
                return klass
    top = importlib.import_module("modelyard.compat.transformers")
    if class_name in top.__all__:
        value = getattr(top, class_name)
        return value if isinstance(value, type) else None
    return None


__getattr__, __dir__ = declare_auto_module(
    globals(), ("AutoProcessor",), ("PROCESSOR_MAPPING", "PROCESSOR_MAPPING_NAMES", "CONFIG_MAPPING_NAMES")
)
