"""The rotary embedding module: cos/sin tables for the positions of a forward pass, and their application.

The frequencies come from :mod:`modelyard.layers.rotary` (every ``rope_scaling`` kind). ``"dynamic"`` scaling
recomputes them when a forward sees a position past the longest one seen so far (and goes back to the
trained frequencies once the positions are short again), as the reference does, so a long generation uses
the same frequencies step by step as there.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from modelyard.layers.rotary import rope_kind, rope_parameters


class RotaryEmbedding(nn.Module):
    """``forward(x, position_ids)`` -> ``(cos, sin)``, each (batch, seq, rotary_dim) in ``x``'s dtype."""

    inv_freq: torch.Tensor

    def __init__(self, config: Any, device: torch.device | None = None) -> None:
        super().__init__()
        self.config = config
        self.rope_type = rope_kind(getattr(config, "rope_scaling", None))
        self.max_seq_len_cached = config.max_position_embeddings
        self.original_max_seq_len = config.max_position_embeddings
        inv_freq, self.attention_scaling = rope_parameters(config, device=device)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.original_inv_freq = inv_freq

    def _dynamic_update(self, position_ids: torch.Tensor, device: torch.device) -> None:
        seq_len = int(position_ids.max()) + 1
        if seq_len > self.max_seq_len_cached:  # longer than ever: stretch the frequencies further
            inv_freq, self.attention_scaling = rope_parameters(self.config, device=device, seq_len=seq_len)
            self.register_buffer("inv_freq", inv_freq, persistent=False)
            self.max_seq_len_cached = seq_len
        if seq_len < self.original_max_seq_len and self.max_seq_len_cached > self.original_max_seq_len:
            self.original_inv_freq = self.original_inv_freq.to(device)  # short again: the trained frequencies
            self.register_buffer("inv_freq", self.original_inv_freq, persistent=False)
            self.max_seq_len_cached = self.original_max_seq_len

    def _longrope_update(self, position_ids: torch.Tensor, device: torch.device) -> None:
        seq_len = int(position_ids.max()) + 1
        original = getattr(self.config, "original_max_position_embeddings", None) or self.config.max_position_embeddings
        if seq_len > original:
            if not hasattr(self, "long_inv_freq"):
                self.long_inv_freq, _ = rope_parameters(self.config, device=device, seq_len=original + 1)
            self.register_buffer("inv_freq", self.long_inv_freq, persistent=False)
        else:
            self.original_inv_freq = self.original_inv_freq.to(device)
            self.register_buffer("inv_freq", self.original_inv_freq, persistent=False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.rope_type == "dynamic":
            self._dynamic_update(position_ids, x.device)
        elif self.rope_type == "longrope":
            self._longrope_update(position_ids, x.device)
        device_type = x.device.type if x.device.type != "mps" else "cpu"
        with torch.autocast(device_type=device_type, enabled=False):  # the angles always in float32
            # (batch, seq, 1) * (dim/2,): each angle is one float32 product, as the reference's K=1 matmul.
            freqs = position_ids[:, :, None].float() * self.inv_freq.float().to(x.device)
            emb = torch.cat((freqs, freqs), dim=-1)  # (batch, seq, rotary_dim)
            cos = emb.cos() * self.attention_scaling
            sin = emb.sin() * self.attention_scaling
        return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) over the last dimension's halves."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary(
    query: torch.Tensor, key: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate (batch, heads, seq, head_dim) queries and keys by the (batch, seq, head_dim) cos/sin tables."""
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # (batch, 1, seq, head_dim): broadcast over heads
    return (query * cos) + (rotate_half(query) * sin), (key * cos) + (rotate_half(key) * sin)


__all__ = ["RotaryEmbedding", "apply_rotary", "rotate_half"]
