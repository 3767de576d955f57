"""State-dict I/O: safetensors (single file or shards + index), ``pytorch_model.bin`` read-only through
``torch.load(weights_only=True)``, and checkpoint key renaming."""

from modelyard.weights.checkpoint import Checkpoint, find_checkpoint
from modelyard.weights.saving import parse_size, save_state_dict

__all__ = ["Checkpoint", "find_checkpoint", "parse_size", "save_state_dict"]
