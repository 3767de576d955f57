"""The building blocks of the reference's rotary decoders, under the names remote code imports them by.

Custom decoders written for the reference often borrow Llama's parts instead of writing their own:
``from transformers.models.llama.modeling_llama import LlamaRMSNorm, LlamaRotaryEmbedding, apply_rotary_pos_emb,
repeat_kv``. modelyard's Llama, Mistral and Qwen2 are built from shared layers (``modelyard.layers``) with the
same semantics, so those names are served from there: the norm and rotary classes are the very classes our
families use (``isinstance`` in a remote ``_init_weights`` sees our modules), and the two functions keep the
reference's signatures.
"""

from __future__ import annotations

import torch

from modelyard.layers.decoder_attention import repeat_kv as _repeat_kv
from modelyard.layers.norms import RMSNorm
from modelyard.layers.rotary_embedding import RotaryEmbedding, rotate_half


def apply_rotary_pos_emb(q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                         position_ids: torch.Tensor | None = None, unsqueeze_dim: int = 1
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate queries and keys by the (batch, seq, dim) ``cos``/``sin`` tables, broadcast over the heads at
    ``unsqueeze_dim`` (1 for (batch, heads, seq, dim) tensors, 2 for (batch, seq, heads, dim)).
    ``position_ids`` is accepted and unused, as in the reference since the tables are built per position."""
    cos, sin = cos.unsqueeze(unsqueeze_dim), sin.unsqueeze(unsqueeze_dim)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def repeat_kv(hidden_states: torch.Tensor, n_rep: int) -> torch.Tensor:
    """(batch, kv_heads, seq, dim) -> (batch, kv_heads * n_rep, seq, dim): each key/value head repeated."""
    return _repeat_kv(hidden_states, n_rep)


def _family_blocks(prefix: str) -> dict[str, object]:
    return {f"{prefix}RMSNorm": RMSNorm, f"{prefix}RotaryEmbedding": RotaryEmbedding, "rotate_half": rotate_half,
            "apply_rotary_pos_emb": apply_rotary_pos_emb, "repeat_kv": repeat_kv}


# modelyard module -> the reference names it answers besides its own classes.
BUILDING_BLOCKS: dict[str, dict[str, object]] = {
    "modelyard.models.llama.modeling_llama": _family_blocks("Llama"),
    "modelyard.models.mistral.modeling_mistral": _family_blocks("Mistral"),
    "modelyard.models.qwen2.modeling_qwen2": _family_blocks("Qwen2"),
}

__all__ = ["BUILDING_BLOCKS", "apply_rotary_pos_emb", "repeat_kv"]
