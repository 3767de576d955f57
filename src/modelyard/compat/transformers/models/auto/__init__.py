"""``transformers.models.auto``: the Auto classes and the reference's name tables (see ``_tables``).

Here, as in the reference: the live ``*_MAPPING`` views (``config class -> class``) and ``get_values``;
the ``*_MAPPING_NAMES`` dicts (``model_type -> class name``) live in the submodules. Every task table of the
reference is offered; those of tasks no modelyard family has a head for are empty (code reading them learns that
no model type maps to such a head here), and registering into one says to use the Auto class of its task.
"""

from __future__ import annotations

from modelyard.compat.transformers.models.auto._tables import TABLE_NAMES, declare_auto_module
from modelyard.registry import MODEL_TASKS

__getattr__, __dir__ = declare_auto_module(
    globals(),
    (
        "AutoConfig",
        "AutoTokenizer",
        "AutoFeatureExtractor",
        "AutoImageProcessor",
        "AutoProcessor",
        *MODEL_TASKS,
    ),
    tuple(name for name in TABLE_NAMES if not name.endswith("_NAMES")),
    functions=("get_values",),
    submodules=(
        "auto_factory",
        "configuration_auto",
        "feature_extraction_auto",
        "image_processing_auto",
        "modeling_auto",
        "processing_auto",
        "tokenization_auto",
    ),
)
