"""``transformers.modeling_utils``: ``PreTrainedModel`` (modelyard's own class) and its helpers.

``apply_chunking_to_forward``, ``find_pruneable_heads_and_indices`` and ``prune_linear_layer`` moved to
``pytorch_utils`` in the reference long ago; code written before that still imports them from here, so they
are here too.
"""

from __future__ import annotations

import torch

from modelyard.compat.transformers._namespace import declare


def get_parameter_dtype(parameter: torch.nn.Module) -> torch.dtype:
    """The dtype of the first floating-point parameter (or buffer) of a module."""
    for tensor in [*parameter.parameters(), *parameter.buffers()]:
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()


_PYTORCH_UTILS = "modelyard.compat.transformers.pytorch_utils"
# Here in the reference's releases up to 4.2x (now in pytorch_utils); hub code written then imports them from here.
_LEGACY = frozenset({"apply_chunking_to_forward", "find_pruneable_heads_and_indices", "prune_linear_layer", "Conv1D"})
__getattr__, __dir__ = declare(
    globals(),
    {
        "PreTrainedModel": "modelyard.modeling",
        "ModuleUtilsMixin": "modelyard.module_utils",
        "PretrainedConfig": "modelyard.configuration",
        "apply_chunking_to_forward": _PYTORCH_UTILS,
        "find_pruneable_heads_and_indices": _PYTORCH_UTILS,
        "prune_linear_layer": _PYTORCH_UTILS,
        "Conv1D": _PYTORCH_UTILS,
    },
)
