"""``transformers.modeling_attn_mask_utils``: the additive attention masks remote decoders build.

Remote code written for the reference's 4.3x-4.4x releases (ChatGLM, Baichuan, InternLM, DeepSeek, MiniCPM,
...) builds its masks with these helpers and adds the result to attention scores, so the values must be the
reference's: ``0`` where a query may attend, the dtype's most negative finite value where it may not, shaped
``(batch, 1, query_length, key_value_length)``; the ``_for_sdpa`` variants answer ``None`` where SDPA's own
``is_causal`` (or no mask) gives the same result, as the reference does.
"""

from __future__ import annotations

import torch

from modelyard.compat.transformers._namespace import declare
from modelyard.errors import ShapeError as MaskShapeError


def _tracing(tensor: torch.Tensor) -> bool:
    compiling = getattr(torch.compiler, "is_compiling", lambda: False)()
    return bool(torch.jit.is_tracing() or isinstance(tensor, torch.fx.Proxy) or compiling)


class AttentionMaskConverter:
    """Turns 2-d padding masks into 4-d additive masks, causal (optionally within a sliding window) or not."""

    def __init__(self, is_causal: bool, sliding_window: int | None = None) -> None:
        if sliding_window is not None and sliding_window <= 0:
            raise MaskShapeError(
                f"sliding_window must be a positive number of tokens or None, got {sliding_window}."
            )
        self.is_causal = is_causal
        self.sliding_window = sliding_window

    def to_causal_4d(self, batch_size: int, query_length: int, key_value_length: int, dtype: torch.dtype,
                     device: torch.device | str = "cpu") -> torch.Tensor | None:
        """The causal mask alone (None for a single query without a window: it may see every key)."""
        if not self.is_causal:
            raise MaskShapeError("to_causal_4d needs a converter built with is_causal=True.")
        if query_length == 1 and self.sliding_window is None:
            return None
        return self._make_causal_mask((batch_size, query_length), dtype, device,
                                      key_value_length - query_length, self.sliding_window)

    def to_4d(self, attention_mask_2d: torch.Tensor, query_length: int, dtype: torch.dtype,
              key_value_length: int | None = None) -> torch.Tensor:
        """The padding mask (1 = keep) as a 4-d additive mask, combined with the causal mask when causal."""
        batch = attention_mask_2d.shape[0]
        causal = None
        if self.is_causal and (query_length > 1 or self.sliding_window is not None):
            if key_value_length is None:
                raise MaskShapeError("A causal 4-d mask needs key_value_length (past length + query length).")
            causal = self._make_causal_mask((batch, query_length), dtype, attention_mask_2d.device,
                                            key_value_length - query_length, self.sliding_window)
        elif self.sliding_window is not None:
            raise NotImplementedError("A sliding window is only implemented for causal masks.")
        padding = self._expand_mask(attention_mask_2d, dtype, tgt_len=query_length).to(attention_mask_2d.device)
        if causal is None:
            return padding
        return causal.masked_fill(padding.bool(), torch.finfo(dtype).min)

    @staticmethod
    def _make_causal_mask(input_ids_shape: tuple[int, int] | torch.Size, dtype: torch.dtype,
                          device: torch.device | str, past_key_values_length: int = 0,
                          sliding_window: int | None = None) -> torch.Tensor:
        batch, query_length = input_ids_shape
        past = past_key_values_length
        # query i sits at absolute position past + i and sees key j when j <= past + i; with a window, also
        # only when j is above past + i - sliding_window - 1 (the reference's window counts one extra key)
        query_pos = torch.arange(query_length, device=device).view(-1, 1) + past
        key_pos = torch.arange(past + query_length, device=device).view(1, -1)
        hidden = key_pos > query_pos
        if sliding_window is not None:
            hidden |= key_pos - query_pos <= -sliding_window - 1
        mask = torch.zeros(hidden.shape, dtype=dtype, device=device).masked_fill(hidden, torch.finfo(dtype).min)
        return mask[None, None, :, :].expand(batch, 1, query_length, past + query_length)

    @staticmethod
    def _expand_mask(mask: torch.Tensor, dtype: torch.dtype, tgt_len: int | None = None) -> torch.Tensor:
        """``(batch, src)`` keep-mask -> ``(batch, 1, tgt, src)`` additive mask."""
        batch, src_len = mask.shape
        expanded = mask[:, None, None, :].expand(batch, 1, tgt_len if tgt_len is not None else src_len, src_len)
        inverted = 1.0 - expanded.to(dtype)
        return inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)

    @staticmethod
    def _unmask_unattended(expanded_mask: torch.Tensor, min_dtype: float) -> torch.Tensor:
        """Rows that attend to nothing (left padding) attend to everything instead, as SDPA's memory-efficient
        path needs (those rows' outputs are discarded anyway)."""
        if expanded_mask.dtype == torch.bool:
            raise MaskShapeError("_unmask_unattended expects an additive (float) mask, not a boolean one.")
        return expanded_mask.mul(~torch.all(expanded_mask == min_dtype, dim=-1, keepdim=True))

    @staticmethod
    def _ignore_causal_mask_sdpa(attention_mask: torch.Tensor | None, inputs_embeds: torch.Tensor,
                                 past_key_values_length: int, sliding_window: int | None = None,
                                 is_training: bool = False) -> bool:
        """Whether SDPA's ``is_causal`` (or no mask at all) is exactly the mask, so none need be built."""
        query_length = inputs_embeds.shape[1]
        key_value_length = query_length + past_key_values_length
        tracing = _tracing(inputs_embeds)
        window_fits = sliding_window is None or key_value_length < sliding_window
        square_or_single = query_length == 1 or key_value_length == query_length
        if attention_mask is None:
            return bool((is_training or not tracing) and square_or_single and window_fits)
        if not window_fits or attention_mask.dim() == 4:
            return False
        return bool(not tracing and square_or_single and torch.all(attention_mask == 1))


def _prepare_4d_causal_attention_mask(attention_mask: torch.Tensor | None, input_shape: tuple[int, ...] | torch.Size,
                                      inputs_embeds: torch.Tensor, past_key_values_length: int,
                                      sliding_window: int | None = None) -> torch.Tensor | None:
    """The causal additive mask for eager attention, from a 2-d padding mask, a 4-d keep-mask, or None."""
    return _causal_additive_mask(attention_mask, input_shape, inputs_embeds, past_key_values_length, sliding_window)


def _causal_additive_mask(attention_mask: torch.Tensor | None, input_shape: tuple[int, ...] | torch.Size,
                          inputs_embeds: torch.Tensor, past_key_values_length: int,
                          sliding_window: int | None) -> torch.Tensor | None:
    converter = AttentionMaskConverter(is_causal=True, sliding_window=sliding_window)
    batch, query_length = input_shape[0], input_shape[-1]
    key_value_length = query_length + past_key_values_length
    dtype = inputs_embeds.dtype
    if attention_mask is None:
        return converter.to_causal_4d(batch, query_length, key_value_length, dtype, inputs_embeds.device)
    if attention_mask.dim() == 2:
        return converter.to_4d(attention_mask, query_length, dtype, key_value_length=key_value_length)
    expected = (batch, 1, query_length, key_value_length)
    if tuple(attention_mask.shape) != expected:
        raise MaskShapeError(
            f"A 4-d attention mask must have shape {expected} (batch, 1, query length, key length), got "
            f"{tuple(attention_mask.shape)}."
        )
    inverted = 1.0 - attention_mask
    return inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)


def _prepare_4d_causal_attention_mask_for_sdpa(attention_mask: torch.Tensor | None,
                                               input_shape: tuple[int, ...] | torch.Size,
                                               inputs_embeds: torch.Tensor, past_key_values_length: int,
                                               sliding_window: int | None = None) -> torch.Tensor | None:
    """As :func:`_prepare_4d_causal_attention_mask` (but a 4-d mask is passed as given), or None where SDPA's
    ``is_causal`` says the same."""
    if AttentionMaskConverter._ignore_causal_mask_sdpa(attention_mask, inputs_embeds, past_key_values_length,
                                                       sliding_window):
        return None
    if attention_mask is not None and attention_mask.dim() == 4:
        mask: torch.Tensor | None = attention_mask
    else:
        mask = _causal_additive_mask(attention_mask, input_shape, inputs_embeds, past_key_values_length, sliding_window)
    # rows with no key to attend (left padding) would give SDPA NaNs on CUDA: they attend everywhere instead
    if attention_mask is not None and mask is not None and mask.device.type == "cuda" and not _tracing(inputs_embeds):
        mask = AttentionMaskConverter._unmask_unattended(mask, torch.finfo(inputs_embeds.dtype).min)
    return mask


def _prepare_4d_attention_mask(mask: torch.Tensor, dtype: torch.dtype, tgt_len: int | None = None) -> torch.Tensor:
    """A bidirectional padding mask ``(batch, src)`` as ``(batch, 1, tgt, src)`` additive mask."""
    return AttentionMaskConverter._expand_mask(mask, dtype, tgt_len)


def _prepare_4d_attention_mask_for_sdpa(mask: torch.Tensor, dtype: torch.dtype,
                                        tgt_len: int | None = None) -> torch.Tensor | None:
    """As :func:`_prepare_4d_attention_mask`, or None when nothing is masked (SDPA then needs no mask)."""
    if not _tracing(mask) and torch.all(mask == 1):
        return None
    return AttentionMaskConverter._expand_mask(mask, dtype, tgt_len)


def _create_4d_causal_attention_mask(input_shape: tuple[int, int] | torch.Size, dtype: torch.dtype,
                                     device: torch.device | str, past_key_values_length: int = 0,
                                     sliding_window: int | None = None) -> torch.Tensor | None:
    """The causal mask for a batch without padding."""
    converter = AttentionMaskConverter(is_causal=True, sliding_window=sliding_window)
    key_value_length = past_key_values_length + input_shape[-1]
    return converter.to_causal_4d(input_shape[0], input_shape[-1], key_value_length, dtype=dtype, device=device)


# Remote code imports these helpers by their private names; they are part of what this module offers.
__getattr__, __dir__ = declare(
    globals(), {},
    constants=("_prepare_4d_causal_attention_mask", "_prepare_4d_causal_attention_mask_for_sdpa",
               "_prepare_4d_attention_mask", "_prepare_4d_attention_mask_for_sdpa", "_create_4d_causal_attention_mask"),
)
