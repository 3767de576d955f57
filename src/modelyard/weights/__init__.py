"""Weights on disk and how a load treats them.

- ``checkpoint``: finding a checkpoint (safetensors, single file or shards + index, or ``pytorch_model.bin``
  read through ``torch.load(weights_only=True)``) and reading it lazily: names and shapes first, each tensor once;
- ``saving``: writing a state dict as one file or shards + index, deterministically;
- ``load_options``: :class:`LoadOptions`, the keywords ``from_pretrained`` takes about the load itself;
- ``report``: :class:`LoadReport`, the keys a load left new, unused or mismatched, and a verdict on them.

Mapping checkpoint key names onto a model (old names, base-model prefix) is the model's own business
(``PreTrainedModel._checkpoint_key_renames`` in :mod:`modelyard.modeling`).
"""

from modelyard.weights.checkpoint import Checkpoint, find_checkpoint
from modelyard.weights.saving import parse_size, save_state_dict

__all__ = ["Checkpoint", "find_checkpoint", "parse_size", "save_state_dict"]
