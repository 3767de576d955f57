"""``transformers.modeling_utils``: ``PreTrainedModel`` (modelyard's own class) and its helpers.

``apply_chunking_to_forward``, ``find_pruneable_heads_and_indices`` and ``prune_linear_layer`` moved to
``pytorch_utils`` in the reference long ago; code written before that still imports them from here, so they
are here too.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from modelyard.compat.transformers._namespace import declare
from modelyard.weights import sharing
from modelyard.weights.checkpoint import load_weights_file


def get_parameter_dtype(parameter: torch.nn.Module) -> torch.dtype:
    """The dtype of the first floating-point parameter (or buffer) of a module."""
    for tensor in [*parameter.parameters(), *parameter.buffers()]:
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()


def load_state_dict(
    checkpoint_file: str | os.PathLike[str],
    is_quantized: bool = False,
    map_location: str | torch.device | None = "cpu",
    weights_only: bool = True,
) -> dict[str, torch.Tensor]:
    """The tensors of one ``.safetensors`` or ``pytorch_model.bin`` file, by name.

    A pickle is always read with ``weights_only=True``: modelyard never unpickles arbitrary objects, so
    ``weights_only=False`` does not lift that (a file that needs it is refused with an error saying so).
    ``is_quantized`` is accepted for the reference's signature; modelyard loads no quantized checkpoints.
    """
    return load_weights_file(os.fspath(checkpoint_file), map_location=map_location)


def _get_tied_weight_keys(module: nn.Module, prefix: str = "") -> list[str]:
    return sharing.tied_weight_keys(module, prefix)


def _find_disjoint(tensors: list[set[str]], state_dict: dict[str, torch.Tensor]) -> tuple[list[set[str]], list[str]]:
    return sharing.split_disjoint(tensors, state_dict)


def _find_identical(
    tensors: list[set[str]], state_dict: dict[str, torch.Tensor]
) -> tuple[list[set[str]], list[set[str]]]:
    return sharing.split_identical(tensors, state_dict)


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
