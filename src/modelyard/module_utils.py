"""Mask helpers every model has, under the reference library's names (``ModuleUtilsMixin``).

Code written for the reference library calls them from its own models (``self.get_extended_attention_mask``
in a BERT-style encoder, ``self.get_head_mask`` for head masking); ``PreTrainedModel`` inherits them so such
code, and anyone writing a model the same way, runs unchanged. Masks are additive: 0 where attention is
allowed, the dtype's most negative value where it is not.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch

logger = logging.getLogger(__name__)


class ModuleUtilsMixin:
    """Needs ``self.dtype`` (a ``PreTrainedModel`` property) and ``self.config``."""

    if TYPE_CHECKING:
        @property
        def dtype(self) -> torch.dtype: ...

    @staticmethod
    def create_extended_attention_mask_for_decoder(
        input_shape: tuple[int, ...], attention_mask: torch.Tensor, device: torch.device | None = None
    ) -> torch.Tensor:
        """``(batch, 1, seq, seq)``: each position sees the non-padding positions up to itself."""
        batch_size, seq_length = input_shape[0], input_shape[1]
        positions = torch.arange(seq_length, device=attention_mask.device)
        causal = positions[None, None, :].repeat(batch_size, seq_length, 1) <= positions[None, :, None]
        causal = causal.to(attention_mask.dtype)
        if causal.shape[1] < attention_mask.shape[1]:  # cached keys before the new positions: all visible
            prefix = attention_mask.shape[1] - causal.shape[1]
            ones = torch.ones((batch_size, seq_length, prefix), device=causal.device, dtype=causal.dtype)
            causal = torch.cat([ones, causal], dim=-1)
        return causal[:, None, :, :] * attention_mask[:, None, None, :]

    def get_extended_attention_mask(
        self,
        attention_mask: torch.Tensor,
        input_shape: tuple[int, ...],
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        """A 2-D ``(batch, seq)`` or 3-D ``(batch, from, to)`` 1/0 mask as an additive mask broadcastable to
        ``(batch, heads, from, to)``; causal as well for a decoder (``config.is_decoder``)."""
        dtype = dtype if dtype is not None else self.dtype
        if attention_mask.dim() == 3:
            extended = attention_mask[:, None, :, :]
        elif attention_mask.dim() == 2:
            if getattr(getattr(self, "config", None), "is_decoder", False):
                extended = self.create_extended_attention_mask_for_decoder(input_shape, attention_mask, device)
            else:
                extended = attention_mask[:, None, None, :]
        else:
            raise ValueError(
                f"Wrong shape for input_ids (shape {tuple(input_shape)}) or attention_mask (shape "
                f"{tuple(attention_mask.shape)}): the mask must have 2 or 3 dimensions."
            )
        extended = extended.to(dtype=dtype)
        return (1.0 - extended) * torch.finfo(dtype).min

    def invert_attention_mask(self, encoder_attention_mask: torch.Tensor) -> torch.Tensor:
        """A 1/0 encoder mask as an additive mask for cross-attention."""
        if encoder_attention_mask.dim() == 3:
            extended = encoder_attention_mask[:, None, :, :]
        elif encoder_attention_mask.dim() == 2:
            extended = encoder_attention_mask[:, None, None, :]
        else:
            raise ValueError(f"encoder_attention_mask must have 2 or 3 dimensions, got {encoder_attention_mask.dim()}.")
        extended = extended.to(dtype=self.dtype)
        return (1.0 - extended) * torch.finfo(self.dtype).min

    def get_head_mask(
        self, head_mask: torch.Tensor | None, num_hidden_layers: int, is_attention_chunked: bool = False
    ) -> torch.Tensor | list[None]:
        """``(layers, batch, heads, seq, seq)``-broadcastable head mask, or ``[None] * num_hidden_layers``."""
        if head_mask is None:
            return [None] * num_hidden_layers
        if head_mask.dim() == 1:
            head_mask = head_mask[None, None, :, None, None].expand(num_hidden_layers, -1, -1, -1, -1)
        elif head_mask.dim() == 2:
            head_mask = head_mask[:, None, :, None, None]  # one row per layer
        if head_mask.dim() != 5:
            raise ValueError(f"head_mask must have 1, 2 or 5 dimensions, got {head_mask.dim()}.")
        head_mask = head_mask.to(dtype=self.dtype)
        return head_mask.unsqueeze(-1) if is_attention_chunked else head_mask

    def warn_if_padding_and_no_attention_mask(self, input_ids: torch.Tensor | None, attention_mask: torch.Tensor | None) -> None:
        """Warn (once per model) when ``input_ids`` look padded (the pad token first or last) and come without an
        ``attention_mask``. Skipped while torch.compile or torch.jit traces, where it would break the graph."""
        if attention_mask is not None or input_ids is None or getattr(self, "_warned_padding_no_mask", False):
            return
        if torch.compiler.is_compiling() or torch.jit.is_tracing():
            return
        config = getattr(self, "config", None)
        pad = getattr(config, "pad_token_id", None)
        if pad is None or not bool((input_ids[:, [-1, 0]] == pad).any()):
            return
        message = (
            f"The input_ids contain padding (token {pad}) but no attention_mask was passed, so padded positions are "
            "attended to. We strongly recommend passing in an `attention_mask` (the tokenizer returns one)."
        )
        specials = {name: getattr(config, f"{name}_token_id", None) for name in ("bos", "eos", "sep")}
        if pad in specials.values():
            shared = ", ".join(f"`{name}_token_id`" for name, value in specials.items() if value == pad)
            message += (f"\nYou may ignore this warning if your `pad_token_id` ({pad}) is also the {shared} and your "
                        "input is not padded.")
        logger.warning(message)
        self._warned_padding_no_mask = True
