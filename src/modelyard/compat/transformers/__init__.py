"""What custom code gets for ``import transformers`` when modelyard runs it: modelyard's classes under the
reference library's names (``PretrainedConfig``, ``PreTrainedModel``, the Auto classes, the families
modelyard has), and its submodules at the reference's paths (``configuration_utils``, ``modeling_utils``,
``modeling_outputs``, ``activations``, ``pytorch_utils``, ``utils`` with ``utils.logging``,
``tokenization_utils*``, ``feature_extraction_utils``, ``image_processing_utils``, ``processing_utils``,
``models.<family>.<module>``, ``generation`` and ``cache_utils``).

The classes are modelyard's own, not copies: a remote ``PreTrainedModel`` subclass is a modelyard model, so
the Auto classes, ``save_pretrained``, ``push_to_hub`` and the loaders treat it like any other. A name this
namespace lacks is an error naming it and the remote file that asked for it. ``__version__`` is the
reference release whose API this follows, since remote code compares it to pick code paths.

Only modules of remote code see this namespace as ``transformers`` (see :mod:`modelyard.dynamic_modules.remote_imports`);
importing it directly as ``modelyard.compat.transformers`` is possible but never needed.
"""

from __future__ import annotations

from modelyard import _EXPORTS as _MODELYARD_CORE_EXPORTS
from modelyard.compat.transformers._namespace import declare
from modelyard.compat.transformers.models.auto._tables import TABLE_NAMES as _AUTO_TABLES
from modelyard.compat.transformers.utils import logging as _logging_of_the_reference  # noqa: F401 - forwards records
from modelyard.registry import public_exports

_MODELYARD_EXPORTS = {**_MODELYARD_CORE_EXPORTS, **public_exports()}  # the core's names and every family's

__version__ = "4.57.6"

# modelyard's top level offers every logits processor; the reference keeps Hamming diversity in generation only
_MODELYARD_ONLY = {"clear_module_cache", "HammingDiversityLogitsProcessor"}
# the reference keeps its output classes in their submodules only (modeling_outputs, generation)
_NOT_AT_THE_TOP = {
    name for name, module in _MODELYARD_CORE_EXPORTS.items() if module in ("modelyard.outputs", "modelyard.generation.outputs")
}
_HERE = "modelyard.compat.transformers"
# names of other releases than the one this namespace follows (5.x's spelling, 4.4x's warper base class)
_LEGACY = frozenset({"PreTrainedConfig", "LogitsWarper"})

__getattr__, __dir__ = declare(
    globals(),
    {
        **{
            name: module
            for name, module in _MODELYARD_EXPORTS.items()
            if name not in _MODELYARD_ONLY and name not in _NOT_AT_THE_TOP
        },
        "TensorType": "modelyard.tokenization.encoding",
        "SpecialTokensMixin": "modelyard.tokenization.special_tokens",
        # the reference's top level offers the live tables (not the *_NAMES dicts, which stay in the submodules)
        **{name: f"{_HERE}.models.auto" for name in _AUTO_TABLES if not name.endswith("_NAMES")},
        "set_seed": f"{_HERE}.trainer_utils",
        "enable_full_determinism": f"{_HERE}.trainer_utils",
        "is_torch_available": f"{_HERE}.utils.import_utils",
        "add_start_docstrings": f"{_HERE}.utils.doc",
        "apply_chunking_to_forward": f"{_HERE}.pytorch_utils",
        "prune_layer": f"{_HERE}.pytorch_utils",
        "Conv1D": f"{_HERE}.pytorch_utils",
        "logging": f"{_HERE}.utils.logging:",
        **{
            name: "modelyard.training.schedulers"
            for name in (
                "get_scheduler", "get_constant_schedule", "get_constant_schedule_with_warmup",
                "get_linear_schedule_with_warmup", "get_cosine_schedule_with_warmup",
                "get_cosine_with_hard_restarts_schedule_with_warmup", "get_polynomial_decay_schedule_with_warmup",
                "get_inverse_sqrt_schedule", "get_wsd_schedule",
            )
        },
        "SchedulerType": "modelyard.training.choices",
        "PreTrainedConfig": "modelyard.configuration:PretrainedConfig",  # transformers 5.x's spelling
        "Adafactor": "modelyard.training.adafactor",
        "IntervalStrategy": "modelyard.training.arguments",
    },
    submodules=(
        "activations",
        "cache_utils",
        "configuration_utils",
        "dynamic_module_utils",
        "feature_extraction_sequence_utils",
        "feature_extraction_utils",
        "file_utils",
        "generation",
        "image_processing_utils",
        "integrations",
        "modeling_attn_mask_utils",
        "modeling_outputs",
        "modeling_utils",
        "models",
        "optimization",
        "processing_utils",
        "pytorch_utils",
        "tokenization_utils",
        "tokenization_utils_base",
        "tokenization_utils_fast",
        "trainer",
        "trainer_callback",
        "trainer_pt_utils",
        "trainer_utils",
        "training_args",
        "utils",
    ),
    constants=("__version__",),
)
