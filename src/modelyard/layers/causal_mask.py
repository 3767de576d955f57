"""Attention masks of decoder models: causal, sliding-window, padding and packed sequences in one pass.

A decoder forward builds its masks once and every layer reuses them. What is built depends on the
attention path:

- SDPA: ``None`` whenever the kernel's own ``is_causal`` gives the same result (no padding, and the queries
  are either the whole sequence or a single new token), so the fast kernels run and nothing is allocated;
  otherwise a boolean (batch, 1, query, key) mask, True where a query may attend.
- eager (and ``output_attentions``): an additive float mask, 0 where allowed and the dtype's minimum
  elsewhere, as the reference's eager path uses (a fully masked row then spreads evenly instead of NaN).

Key positions are ``kv_offset + arange(kv_length)``: with a sliding-window cache the keys are only the
last window of the sequence, and the cache says where they start (``Cache.get_mask_sizes``).
"""

from __future__ import annotations

import torch

from modelyard.layers.tracing import tracing


def packed_sequence_ids(position_ids: torch.Tensor) -> torch.Tensor | None:
    """(batch, seq) positions -> the index of the sequence each token belongs to, when several sequences are
    packed in one row (positions restart at a lower value); None when every row is a single sequence."""
    first = position_ids[:, :1] - 1
    restarts = torch.diff(position_ids, prepend=first, dim=-1) != 1
    if not tracing() and not bool(restarts[:, 1:].any()):
        return None
    return restarts.cumsum(-1)


def build_causal_mask(
    *,
    batch_size: int,
    cache_position: torch.Tensor,
    kv_length: int,
    kv_offset: int = 0,
    attention_mask: torch.Tensor | None = None,
    sliding_window: int | None = None,
    packed_ids: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    additive: bool = False,
    allow_skip: bool = True,
) -> torch.Tensor | None:
    """The mask for queries at ``cache_position`` over ``kv_length`` keys starting at position ``kv_offset``.

    ``attention_mask``: the (batch, past + query) 1/0 padding mask, or a ready 4-D mask (returned as is).
    ``additive``: the eager form (float, 0 / dtype min) instead of the SDPA form (bool, or None if skippable).
    ``allow_skip=False`` always builds a mask (static caches: the kernel must not depend on the values).
    """
    if attention_mask is not None and attention_mask.dim() == 4:
        return attention_mask
    padding = None
    if attention_mask is not None:
        padding = attention_mask.to(device=cache_position.device, dtype=torch.bool)
        if (short := kv_length + kv_offset - padding.shape[-1]) > 0:
            padding = torch.nn.functional.pad(padding, (0, short))
    q_length = cache_position.shape[0]
    if (
        allow_skip
        and not additive
        and packed_ids is None
        and not tracing()
        and (q_length == 1 or kv_length == q_length)
        and (sliding_window is None or kv_length < sliding_window)
        and (padding is None or bool(padding[:, kv_offset : kv_offset + kv_length].all()))
    ):
        return None
    kv_idx = torch.arange(kv_offset, kv_offset + kv_length, device=cache_position.device)
    allowed = kv_idx[None, :] <= cache_position[:, None]  # (query, key)
    if sliding_window is not None:
        allowed = allowed & (kv_idx[None, :] > cache_position[:, None] - sliding_window)
    mask = allowed[None, None].expand(batch_size, 1, q_length, kv_length)  # (batch, 1, query, key)
    if padding is not None:
        mask = mask & padding[:, None, None, kv_offset : kv_offset + kv_length]
    if packed_ids is not None:  # no cache: queries and keys are the same tokens
        mask = mask & (packed_ids[:, None, :, None] == packed_ids[:, None, None, :])
    if not additive:
        return mask
    return torch.where(mask, torch.tensor(0.0, dtype=dtype, device=mask.device), torch.finfo(dtype).min)


__all__ = ["build_causal_mask", "packed_sequence_ids"]
