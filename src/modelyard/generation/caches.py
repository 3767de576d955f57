"""Key/value caches for autoregressive decoding, with the reference library's (4.57) public API.

A cache holds, per attention layer, the keys and values of every token seen so far, shaped
``(batch, kv_heads, seq, head_dim)``. A model's attention calls ``cache.update(key_states, value_states,
layer_idx, cache_kwargs)`` once per layer and step, and attends over what it returns.

- :class:`DynamicCache` grows with each step (the default of ``generate()``); layers whose config declares
  a ``sliding_window`` keep only the window's last tokens.
- :class:`StaticCache` preallocates fixed-shape buffers of ``max_cache_len`` positions and writes the new
  states at ``cache_kwargs["cache_position"]``: shapes never change, so ``torch.compile`` traces one graph.
- :class:`EncoderDecoderCache` pairs a self-attention cache with a cross-attention cache (a decoder that also
  attends over an encoder's states, e.g. BERT with ``add_cross_attention``): the encoder's keys and values are
  computed once, on the first step, and reused after (``is_updated`` says which layers hold them).
- The legacy tuple format ``((keys, values), ...)`` converts both ways (``from_legacy_cache`` /
  ``to_legacy_cache``), and a cache indexes and iterates as that tuple does, since remote code written for
  older releases of the reference reads it that way (``past_key_values[0][0].shape[2]``). The older
  attribute spellings (``key_cache``, ``value_cache``, ``seen_tokens``, ``get_usable_length``) work too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch

from modelyard.errors import ConfigurationError

__all__ = [
    "Cache",
    "CacheLayerMixin",
    "DynamicCache",
    "DynamicLayer",
    "DynamicSlidingWindowLayer",
    "EncoderDecoderCache",
    "StaticCache",
    "StaticLayer",
    "StaticSlidingWindowLayer",
]

LegacyCache = tuple[tuple[torch.Tensor, torch.Tensor], ...]


# -- one layer's states ----------------------------------------------------------------------------------------
class CacheLayerMixin:
    """One attention layer's cached keys and values; subclasses decide how states are stored."""

    is_compileable = False
    is_sliding = False

    def __init__(self) -> None:
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None
        self.is_initialized = False

    def __repr__(self) -> str:
        return type(self).__name__

    def held_states(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(keys, values)`` of a layer that holds states (an error before its first update)."""
        if self.keys is None or self.values is None:
            raise ConfigurationError(f"This {type(self).__name__} holds no states yet; update it first.")
        return self.keys, self.values

    def lazy_initialization(self, key_states: torch.Tensor) -> None:
        raise NotImplementedError

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, cache_kwargs: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def get_seq_length(self) -> int:
        raise NotImplementedError

    def get_max_cache_shape(self) -> int:
        raise NotImplementedError

    def get_mask_sizes(self, cache_position: torch.Tensor) -> tuple[int, int]:
        """``(kv_length, kv_offset)``: how many key positions the next attention sees, and the absolute
        position of the first of them (for building its mask)."""
        raise NotImplementedError

    def reset(self) -> None:
        if self.is_initialized:
            keys, values = self.held_states()
            keys.zero_()
            values.zero_()
        if hasattr(self, "cumulative_length"):
            self.cumulative_length = 0

    def reorder_cache(self, beam_idx: torch.Tensor) -> None:
        """Reorder the batch rows (beam search keeps the states of the beams it selected)."""
        if self.is_initialized and self.keys is not None and self.keys.numel():
            keys, values = self.held_states()
            beam_idx = beam_idx.to(keys.device)
            self.keys, self.values = keys.index_select(0, beam_idx), values.index_select(0, beam_idx)

    def crop(self, max_length: int) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot be cropped; use a DynamicCache")

    def batch_repeat_interleave(self, repeats: int) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot change its batch size; use a DynamicCache")

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot change its batch size; use a DynamicCache")


class DynamicLayer(CacheLayerMixin):
    """States that grow along the sequence axis with each update.

    Concatenating would copy the whole cache at every decoding step. Instead, from the second update on, the
    states live in buffers with room for :attr:`spare_positions` more positions, and an update writes the new
    states in place; ``keys``/``values`` are views of the filled part. The room is made again (one copy) when
    it runs out. A view handed out earlier is never written to: writes land past its end, and after anything
    else replaced ``keys`` (``crop``, beam reordering, a caller's assignment) the next update starts new
    buffers. States that autograd records, or a tracer, take the plain concatenation.
    """

    spare_positions = 128

    def __init__(self) -> None:
        super().__init__()
        # The buffers behind keys/values, and the exact view objects last handed out (see update()).
        self._key_buffer: torch.Tensor | None = None
        self._value_buffer: torch.Tensor | None = None
        self._views: tuple[torch.Tensor, torch.Tensor] | None = None

    def lazy_initialization(self, key_states: torch.Tensor) -> None:
        self.dtype, self.device = key_states.dtype, key_states.device
        self.keys = key_states.new_empty((*key_states.shape[:-2], 0, key_states.shape[-1]))
        self.values = self.keys
        self.is_initialized = True

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, cache_kwargs: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        held = self._states_so_far(key_states)
        if held is None:
            # the first states are kept as given: concatenating onto an empty tensor would only copy them
            self.keys, self.values = key_states, value_states
            return key_states, value_states
        keys, values = held
        if not _may_write_in_place(keys, values, key_states, value_states):
            self._views = None
            self.keys = keys = torch.cat((keys, key_states), dim=-2)
            self.values = values = torch.cat((values, value_states), dim=-2)
            return keys, values
        length, new = keys.shape[-2], key_states.shape[-2]
        key_buffer, value_buffer = self._key_buffer, self._value_buffer
        ours = (self._views is not None and self._views[0] is keys and self._views[1] is values
                and key_buffer is not None and value_buffer is not None
                # a buffer made under inference_mode can only be written under it
                and (torch.is_inference_mode_enabled() or not key_buffer.is_inference()))
        if not ours or key_buffer is None or value_buffer is None or length + new > key_buffer.shape[-2]:
            room = length + new + self.spare_positions
            key_buffer = keys.new_empty((*keys.shape[:-2], room, keys.shape[-1]))
            value_buffer = values.new_empty((*values.shape[:-2], room, values.shape[-1]))
            key_buffer[..., :length, :].copy_(keys)
            value_buffer[..., :length, :].copy_(values)
            self._key_buffer, self._value_buffer = key_buffer, value_buffer
        key_buffer[..., length:length + new, :].copy_(key_states)
        value_buffer[..., length:length + new, :].copy_(value_states)
        self.keys = keys = key_buffer[..., :length + new, :]
        self.values = values = value_buffer[..., :length + new, :]
        self._views = (keys, values)
        return keys, values

    def _states_so_far(self, key_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The states held before this update; ``None`` when there are none yet (an empty layer too), and then the
        layer takes the new states' dtype and device and counts as initialized from now on."""
        keys, values = self.keys, self.values
        if self.is_initialized and keys is not None and values is not None and keys.numel() > 0:
            return keys, values
        self.dtype, self.device = key_states.dtype, key_states.device
        self.is_initialized = True
        return None

    def get_seq_length(self) -> int:
        if not self.is_initialized or self.keys is None or self.keys.dim() < 2:
            return 0
        return self.keys.shape[-2]

    def get_max_cache_shape(self) -> int:
        return -1

    def get_mask_sizes(self, cache_position: torch.Tensor) -> tuple[int, int]:
        return self.get_seq_length() + cache_position.shape[0], 0

    def crop(self, max_length: int) -> None:
        """Keep the first ``max_length`` positions (a negative value drops that many from the end)."""
        length = self.get_seq_length()
        if max_length < 0:
            max_length = length + max_length
        if length <= max_length:
            return
        keys, values = self.held_states()
        self.keys, self.values = keys[..., :max_length, :], values[..., :max_length, :]

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self.get_seq_length() > 0:
            keys, values = self.held_states()
            self.keys, self.values = keys.repeat_interleave(repeats, dim=0), values.repeat_interleave(repeats, dim=0)

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.get_seq_length() > 0:
            keys, values = self.held_states()
            self.keys, self.values = keys[indices, ...], values[indices, ...]


def _may_write_in_place(keys: torch.Tensor, values: torch.Tensor, key_states: torch.Tensor,
                        value_states: torch.Tensor) -> bool:
    """Whether new states may be written into a buffer in place: nothing records them (autograd would see the
    buffer change under states it saved; a tracer would record a graph that depends on spare room), and they
    match the cached ones in dtype, device and every axis but the sequence one."""
    if torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.compiler.is_exporting():
        return False
    if any(t.requires_grad for t in (keys, values, key_states, value_states)):
        return False
    return (
        key_states.dtype == keys.dtype and value_states.dtype == values.dtype
        and key_states.device == keys.device and value_states.device == values.device
        and key_states.shape[:-2] == keys.shape[:-2] and key_states.shape[-1] == keys.shape[-1]
        and value_states.shape[:-2] == values.shape[:-2] and value_states.shape[-1] == values.shape[-1]
    )


class DynamicSlidingWindowLayer(DynamicLayer):
    """Growing states that keep only the last ``sliding_window - 1`` positions between updates.

    An update returns the kept states plus the new ones (the current query attends over its whole window);
    ``get_seq_length`` counts every token seen, as the positions of the next tokens need.
    """

    is_sliding = True

    def __init__(self, sliding_window: int) -> None:
        super().__init__()
        self.sliding_window = sliding_window
        self.cumulative_length = 0

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, cache_kwargs: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        held = self._states_so_far(key_states)
        if held is None:
            full_keys, full_values = key_states, value_states
        else:
            full_keys = torch.cat((held[0], key_states), dim=-2)
            full_values = torch.cat((held[1], value_states), dim=-2)
        self.cumulative_length += key_states.shape[-2]
        keep = self.sliding_window - 1
        self.keys = full_keys[:, :, -keep:, :] if keep > 0 else full_keys[:, :, :0, :]
        self.values = full_values[:, :, -keep:, :] if keep > 0 else full_values[:, :, :0, :]
        return full_keys, full_values

    def get_seq_length(self) -> int:
        return self.cumulative_length

    def get_max_cache_shape(self) -> int:
        return self.sliding_window

    def get_mask_sizes(self, cache_position: torch.Tensor) -> tuple[int, int]:
        query_length = cache_position.shape[0]
        kv_offset = max(self.cumulative_length - self.sliding_window + 1, 0)
        if self.cumulative_length >= self.sliding_window:
            return self.sliding_window - 1 + query_length, kv_offset
        return self.cumulative_length + query_length, kv_offset

    def crop(self, max_length: int) -> None:
        if self.cumulative_length >= self.sliding_window:
            raise ValueError(
                f"Cannot crop a sliding-window cache layer that has seen {self.cumulative_length} tokens, more than "
                f"its window of {self.sliding_window}: the states before the window are gone. Crop before the "
                "window fills, or use a cache without a sliding window."
            )
        super().crop(max_length)
        self.cumulative_length = super().get_seq_length()


def _is_compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and compiler.is_compiling())


class StaticLayer(CacheLayerMixin):
    """Fixed buffers of ``max_cache_len`` positions, written in place at ``cache_position``.

    The buffers are allocated once (lazily on the first update, or ahead of time by the cache) and never
    reassigned, so a compiled graph keeps addressing the same memory from step to step.
    """

    is_compileable = True

    def __init__(self, max_cache_len: int) -> None:
        super().__init__()
        self.max_cache_len = max_cache_len

    def lazy_initialization(self, key_states: torch.Tensor) -> None:
        self.max_batch_size, self.num_heads, _, self.head_dim = key_states.shape
        self.dtype, self.device = key_states.dtype, key_states.device
        shape = (self.max_batch_size, self.num_heads, self.max_cache_len, self.head_dim)
        self.keys = torch.zeros(shape, dtype=self.dtype, device=self.device)
        self.values = torch.zeros(shape, dtype=self.dtype, device=self.device)
        if not _is_compiling():
            torch._dynamo.mark_static_address(self.keys)
            torch._dynamo.mark_static_address(self.values)
        self.is_initialized = True

    def _positions(self, key_states: torch.Tensor, cache_kwargs: dict[str, Any] | None) -> torch.Tensor:
        position = cache_kwargs.get("cache_position") if cache_kwargs else None
        if position is None:  # older callers pass no position: the states fill the buffer from its start
            position = torch.arange(key_states.shape[-2], device=self.device)
        return position

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, cache_kwargs: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states)
        position = self._positions(key_states, cache_kwargs)
        assert self.keys is not None and self.values is not None
        self.keys.index_copy_(2, position, key_states.to(self.dtype))
        self.values.index_copy_(2, position, value_states.to(self.dtype))
        return self.keys, self.values

    def get_seq_length(self) -> int:
        # occupied positions: any non-zero value in the first row and head (a count that needs no Python state,
        # so it stays traceable); the reference counts the same way
        if not self.is_initialized or self.keys is None:
            return 0
        return self.keys[0, 0].any(dim=-1).sum()  # type: ignore[return-value]  # a 0-d tensor, so the count stays traceable

    def get_max_cache_shape(self) -> int:
        return self.max_cache_len

    def get_mask_sizes(self, cache_position: torch.Tensor) -> tuple[int, int]:
        return self.max_cache_len, 0


class StaticSlidingWindowLayer(StaticLayer):
    """Fixed buffers of ``min(max_cache_len, sliding_window)`` positions holding the window's last tokens."""

    is_sliding = True

    def __init__(self, max_cache_len: int, sliding_window: int) -> None:
        super().__init__(max_cache_len=min(max_cache_len, sliding_window))
        self.sliding_window = sliding_window
        self.cumulative_length = 0

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, cache_kwargs: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states)
        assert self.keys is not None and self.values is not None
        seen = self.cumulative_length
        new = key_states.shape[-2]
        self.cumulative_length += new
        if seen + new <= self.max_cache_len:  # the window is not full yet: write in place
            position = self._positions(key_states, cache_kwargs)
            self.keys.index_copy_(2, position, key_states.to(self.dtype))
            self.values.index_copy_(2, position, value_states.to(self.dtype))
            return self.keys, self.values
        if seen >= self.max_cache_len and new == 1:  # full: shift left by one and write the last slot
            self.keys.copy_(torch.cat((self.keys[:, :, 1:], key_states.to(self.dtype)), dim=-2))
            self.values.copy_(torch.cat((self.values[:, :, 1:], value_states.to(self.dtype)), dim=-2))
            return self.keys, self.values
        # several new tokens overflow the window: attend over everything, keep the window's tail
        kept = min(seen, self.max_cache_len)
        start = 1 if seen >= self.max_cache_len else 0
        full_keys = torch.cat((self.keys[:, :, start:kept], key_states.to(self.dtype)), dim=-2)
        full_values = torch.cat((self.values[:, :, start:kept], value_states.to(self.dtype)), dim=-2)
        self.keys.copy_(full_keys[:, :, -self.max_cache_len :])
        self.values.copy_(full_values[:, :, -self.max_cache_len :])
        return full_keys, full_values

    def get_seq_length(self) -> int:
        return self.cumulative_length

    def get_mask_sizes(self, cache_position: torch.Tensor) -> tuple[int, int]:
        query_length = cache_position.shape[0]
        window = self.max_cache_len
        kv_offset = max(self.cumulative_length - window + 1, 0)
        if self.cumulative_length >= window:
            return window + query_length - 1, kv_offset
        if self.cumulative_length + query_length > window:
            return self.cumulative_length + query_length, kv_offset
        return window, kv_offset


# -- the cache: one layer object per attention layer -----------------------------------------------------------
class _LayerTensors(Sequence[torch.Tensor]):
    """``cache.key_cache`` / ``cache.value_cache``: the per-layer tensors as a list, writable by index."""

    def __init__(self, cache: Cache, attribute: str) -> None:
        self._cache = cache
        self._attribute = attribute

    def __len__(self) -> int:
        return len(self._cache.layers)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [getattr(layer, self._attribute) for layer in self._cache.layers[index]]
        return getattr(self._cache.layers[index], self._attribute)

    def __setitem__(self, index: int, value: torch.Tensor) -> None:
        layer = self._cache.layers[index]
        setattr(layer, self._attribute, value)
        layer.is_initialized = True

    def append(self, value: torch.Tensor) -> None:
        """Older remote code appends a new layer's states to ``key_cache`` then ``value_cache``."""
        if self._attribute == "keys":
            layer = DynamicLayer()
            layer.keys, layer.values, layer.is_initialized = value, value[..., :0, :], True
            self._cache.layers.append(layer)
        else:
            self._cache.layers[-1].values = value

    def __repr__(self) -> str:
        return repr(list(self))


class Cache:
    """A list of per-layer caches (``self.layers``), one per attention layer of the model.

    Give ``layers`` to fix them up front, or ``layer_class_to_replicate`` to add one of that class lazily
    whenever ``update`` names a layer index not seen yet.
    """

    def __init__(
        self,
        layers: list[CacheLayerMixin] | None = None,
        layer_class_to_replicate: type[CacheLayerMixin] | None = None,
        offloading: bool = False,
        offload_only_non_sliding: bool = True,
    ) -> None:
        if (layers is None) == (layer_class_to_replicate is None):
            raise ConfigurationError(
                "A Cache is built from exactly one of `layers` (the per-layer caches) or `layer_class_to_replicate` "
                "(a layer class added lazily per layer index); pass one of them."
            )
        if offloading:
            raise ConfigurationError("Cache offloading is not supported by modelyard; pass offloading=False.")
        self.layers: list[CacheLayerMixin] = layers if layers is not None else []
        self.layer_class_to_replicate = layer_class_to_replicate
        self.offloading = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(layers={self.layers})"

    def update(
        self,
        key_states: torch.Tensor,
        value_states: torch.Tensor,
        layer_idx: int,
        cache_kwargs: dict[str, Any] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new ``(batch, kv_heads, new_seq, head_dim)`` states of layer ``layer_idx``; return the keys
        and values the layer should attend over."""
        layers = self.layers
        if layer_idx >= len(layers):
            if self.layer_class_to_replicate is None:
                raise IndexError(
                    f"This {type(self).__name__} holds {len(layers)} layers; layer_idx={layer_idx} is out of range "
                    "(was the cache built from another model's config?)."
                )
            while len(layers) <= layer_idx:
                layers.append(self.layer_class_to_replicate())
        return layers[layer_idx].update(key_states, value_states, cache_kwargs)

    def early_initialization(
        self, batch_size: int, num_heads: int, head_dim: int, dtype: torch.dtype, device: torch.device | str
    ) -> None:
        """Allocate every layer now rather than on its first update (``torch.export`` needs the buffers)."""
        empty = torch.zeros((batch_size, num_heads, 0, head_dim), dtype=dtype, device=device)
        for layer in self.layers:
            layer.lazy_initialization(empty)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        """How many tokens the cache has seen (at layer ``layer_idx``)."""
        if layer_idx >= len(self.layers):
            return 0
        return self.layers[layer_idx].get_seq_length()

    def get_max_cache_shape(self, layer_idx: int = 0) -> int:
        """The most positions layer ``layer_idx`` holds; -1 when it grows without bound."""
        if layer_idx >= len(self.layers):
            return -1
        return self.layers[layer_idx].get_max_cache_shape()

    def get_max_length(self) -> int | None:
        """The older spelling of :meth:`get_max_cache_shape` (``None`` when unbounded)."""
        length = self.get_max_cache_shape()
        return None if length == -1 else length

    def get_usable_length(self, new_seq_length: int, layer_idx: int = 0) -> int:
        """How many cached positions a forward of ``new_seq_length`` new tokens can attend to alongside them
        (older remote code sizes its masks with it): all of them, unless a bounded cache would overflow."""
        max_length = self.get_max_cache_shape(layer_idx)
        previous = self.get_seq_length(layer_idx)
        if max_length != -1 and previous + new_seq_length > max_length:
            return max_length - new_seq_length
        return previous

    def get_mask_sizes(self, cache_position: torch.Tensor, layer_idx: int) -> tuple[int, int]:
        """``(kv_length, kv_offset)`` of layer ``layer_idx`` for a forward at ``cache_position``."""
        if layer_idx >= len(self.layers):
            return cache_position.shape[0], 0
        return self.layers[layer_idx].get_mask_sizes(cache_position)

    @property
    def seen_tokens(self) -> int:
        """Tokens seen so far (the older attribute)."""
        return self.get_seq_length()

    @property
    def key_cache(self) -> _LayerTensors:
        """Each layer's keys, as the older list attribute."""
        return _LayerTensors(self, "keys")

    @property
    def value_cache(self) -> _LayerTensors:
        """Each layer's values, as the older list attribute."""
        return _LayerTensors(self, "values")

    def reset(self) -> None:
        """Zero every layer's states, keeping the buffers."""
        for layer in self.layers:
            layer.reset()

    def reorder_cache(self, beam_idx: torch.Tensor) -> None:
        """Reorder the batch rows of every layer (beam search)."""
        for layer in self.layers:
            layer.reorder_cache(beam_idx)

    def crop(self, max_length: int) -> None:
        """Keep the first ``max_length`` positions (negative: drop that many from the end)."""
        for layer in self.layers:
            layer.crop(max_length)

    def batch_repeat_interleave(self, repeats: int) -> None:
        """Repeat each batch row ``repeats`` times in place (one prompt expanded to several beams or samples)."""
        for layer in self.layers:
            layer.batch_repeat_interleave(repeats)

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep only the batch rows at ``indices``."""
        for layer in self.layers:
            layer.batch_select_indices(indices)

    @property
    def max_batch_size(self) -> int:
        sizes = {getattr(layer, "max_batch_size", None) for layer in self.layers}
        if len(sizes) != 1:
            raise ValueError(f"The cache's layers disagree on their batch size: {sorted(map(str, sizes))}")
        return sizes.pop()  # type: ignore[return-value]  # the layers' one batch size (None for growing layers, which have none)

    @property
    def max_cache_len(self) -> int:
        return max(getattr(layer, "max_cache_len", -1) for layer in self.layers)

    @property
    def is_compileable(self) -> bool:
        return bool(self.layers) and all(layer.is_compileable for layer in self.layers)

    @property
    def is_initialized(self) -> bool:
        return bool(self.layers) and all(layer.is_initialized for layer in self.layers)

    @property
    def is_sliding(self) -> list[bool]:
        return [layer.is_sliding for layer in self.layers]

    def __getitem__(self, layer_idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer ``layer_idx`` as the legacy ``(keys, values)`` pair."""
        if isinstance(layer_idx, int) and -len(self.layers) <= layer_idx < len(self.layers):
            layer = self.layers[layer_idx]
            return layer.keys, layer.values  # type: ignore[return-value]  # set once the layer holds states
        raise KeyError(f"The cache holds {len(self.layers)} layers; there is no layer {layer_idx!r}.")

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for layer in self.layers:
            yield layer.keys, layer.values  # type: ignore[misc]  # set once the layer holds states

    def __len__(self) -> int:
        return len(self.layers)

    def __bool__(self) -> bool:
        # an empty cache is still a cache: ``if past_key_values:`` must not treat it as absent
        return True


def _decoder_config(config: Any) -> Any:
    getter = getattr(config, "get_text_config", None)
    if callable(getter):
        try:
            return getter(decoder=True)
        except TypeError:
            return getter()
    for name in ("text_config", "decoder"):
        sub = getattr(config, name, None)
        if sub is not None and not isinstance(sub, (dict, bool)):
            return sub
    return config


def _layer_types(config: Any) -> tuple[list[str], int | None]:
    """Each attention layer's kind (``full_attention`` / ``sliding_attention``) and the window size."""
    window = getattr(config, "sliding_window", None) or getattr(config, "attention_chunk_size", None)
    layer_types = getattr(config, "layer_types", None)
    if layer_types is None:
        count = getattr(config, "num_hidden_layers", None)
        if count is None:
            raise ConfigurationError(
                f"Cannot size a cache from {type(config).__name__}: it has neither `layer_types` nor "
                "`num_hidden_layers`. Pass a decoder config."
            )
        kind = "sliding_attention" if window is not None else "full_attention"
        layer_types = [kind] * count
    layer_types = list(layer_types)
    shared = getattr(config, "num_kv_shared_layers", None)
    if shared:
        layer_types = layer_types[:-shared]
    return layer_types, window


class DynamicCache(Cache):
    """The growing cache ``generate()`` uses by default.

    ``DynamicCache()`` adds a layer per new ``layer_idx``. ``DynamicCache(config=model.config)`` builds the
    layers from the config, with sliding-window layers where it declares a ``sliding_window`` (or
    ``layer_types``). ``ddp_cache_data`` (an iterable of ``(keys, values)``) fills it at once.
    """

    def __init__(
        self,
        ddp_cache_data: Iterable[tuple[torch.Tensor, torch.Tensor]] | None = None,
        config: Any = None,
        offloading: bool = False,
        offload_only_non_sliding: bool = False,
    ) -> None:
        layers: list[CacheLayerMixin] = []
        if config is not None:
            layer_types, window = _layer_types(_decoder_config(config))
            for kind in layer_types:
                if kind in ("sliding_attention", "chunked_attention") and window is not None:
                    layers.append(DynamicSlidingWindowLayer(sliding_window=window))
                else:
                    layers.append(DynamicLayer())
        if ddp_cache_data is not None:
            for index, (keys, values) in enumerate(ddp_cache_data):
                if config is None:
                    layers.append(DynamicLayer())
                layers[index].update(keys, values)
        if layers:
            super().__init__(layers=layers, offloading=offloading)
        else:
            super().__init__(layer_class_to_replicate=DynamicLayer, offloading=offloading)

    def to_legacy_cache(self) -> LegacyCache:
        """The states as the legacy ``((keys, values), ...)`` tuple, one pair per layer."""
        return tuple((layer.keys, layer.values) for layer in self.layers)  # type: ignore[misc]  # set once the layer holds states

    @classmethod
    def from_legacy_cache(cls, past_key_values: LegacyCache | None) -> DynamicCache:
        """A cache holding the states of a legacy ``((keys, values), ...)`` tuple (``None``: an empty cache)."""
        cache = cls()
        if past_key_values is not None:
            for index, pair in enumerate(past_key_values):
                keys, values = pair[0], pair[1]
                cache.update(keys, values, index)
        return cache

    @classmethod
    def from_batch_splits(cls, splits: list[DynamicCache]) -> DynamicCache:
        """One cache from caches of consecutive batch slices."""
        cache = cls()
        for index in range(max((len(split) for split in splits), default=0)):
            pairs = [split[index] for split in splits if index < len(split)]
            cache.update(torch.cat([k for k, _ in pairs]), torch.cat([v for _, v in pairs]), index)
        return cache

    def batch_split(self, full_batch_size: int, split_size: int) -> list[DynamicCache]:
        """Caches of consecutive batch slices of ``split_size`` rows."""
        out = []
        for start in range(0, full_batch_size, split_size):
            part = type(self)()
            for index, layer in enumerate(self.layers):
                keys, values = layer.held_states()
                part.update(keys[start : start + split_size], values[start : start + split_size], index)
            out.append(part)
        return out


class StaticCache(Cache):
    """A cache of fixed-shape buffers for ``torch.compile`` (and ``torch.export``).

    ``StaticCache(config=model.config, max_cache_len=...)`` allocates each layer on its first update; giving
    ``max_batch_size`` with ``dtype``/``device`` (the older signature) allocates them now. Layers of a
    config with a ``sliding_window`` hold only the window. The states of each step are written at
    ``cache_kwargs["cache_position"]``, so the model's attention must pass it.
    """

    def __init__(
        self,
        config: Any,
        max_cache_len: int | None = None,
        offloading: bool = False,
        offload_only_non_sliding: bool = True,
        *,
        max_batch_size: int | None = None,
        batch_size: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        **legacy: Any,
    ) -> None:
        unknown = set(legacy) - {"layer_device_map", "tp_size"}  # older arguments with nothing to do on one device
        if unknown:
            raise TypeError(
                f"StaticCache got unexpected keyword arguments: {', '.join(sorted(unknown))}. It takes config, "
                "max_cache_len, max_batch_size, device and dtype."
            )
        decoder = _decoder_config(config)
        if max_cache_len is None:
            max_cache_len = getattr(decoder, "max_position_embeddings", None)
        if not isinstance(max_cache_len, int) or isinstance(max_cache_len, bool) or max_cache_len <= 0:
            raise ConfigurationError(
                f"StaticCache needs a positive integer max_cache_len (the most tokens it will hold); got "
                f"{max_cache_len!r}. Pass max_cache_len=prompt_length + max_new_tokens."
            )
        layer_types, window = _layer_types(decoder)
        layers: list[CacheLayerMixin] = []
        for kind in layer_types:
            if kind in ("sliding_attention", "chunked_attention") and window is not None:
                layers.append(StaticSlidingWindowLayer(max_cache_len=max_cache_len, sliding_window=window))
            else:
                layers.append(StaticLayer(max_cache_len=max_cache_len))
        super().__init__(layers=layers, offloading=offloading)
        batch = max_batch_size if max_batch_size is not None else batch_size
        if batch is not None:
            heads = getattr(decoder, "num_key_value_heads", None) or getattr(decoder, "num_attention_heads", None)
            head_dim = getattr(decoder, "head_dim", None)
            if head_dim is None and heads is not None and getattr(decoder, "hidden_size", None):
                head_dim = decoder.hidden_size // decoder.num_attention_heads
            if heads is not None and head_dim is not None:
                self.early_initialization(
                    batch, heads, head_dim, dtype or torch.get_default_dtype(), device or "cpu"
                )


class EncoderDecoderCache(Cache):
    """A decoder's self-attention cache and its cross-attention cache, as one ``past_key_values``.

    ``EncoderDecoderCache(self_attention_cache, cross_attention_cache)`` wraps two caches;
    ``EncoderDecoderCache(legacy)`` fills two :class:`DynamicCache` from the legacy tuple
    ``((self_keys, self_values[, cross_keys, cross_values]), ...)``. The cross-attention cache is written once
    per layer (``is_updated[layer_idx]`` then becomes True) and read on every later step. ``layers`` are the
    self-attention cache's, so what :class:`Cache` does with them describes the decoder: ``update`` (what a
    decoder-only model calls) stores self-attention states, and the length is the decoder tokens seen so far.
    """

    def __init__(self, *caches: Any) -> None:
        if len(caches) == 1:
            self.self_attention_cache: Cache = DynamicCache()
            self.cross_attention_cache: Cache = DynamicCache()
            for index, states in enumerate(caches[0]):
                self.self_attention_cache.update(states[0], states[1], index)
                if len(states) > 2:
                    self.cross_attention_cache.update(states[2], states[3], index)
        elif len(caches) == 2:
            if not all(isinstance(cache, Cache) for cache in caches):
                raise TypeError(
                    f"EncoderDecoderCache takes two Cache objects (self-attention, cross-attention); got "
                    f"{type(caches[0]).__name__} and {type(caches[1]).__name__}. Wrap tensors with DynamicCache first."
                )
            self.self_attention_cache, self.cross_attention_cache = caches
        else:
            raise ValueError(
                f"EncoderDecoderCache takes a self-attention and a cross-attention cache (or one legacy tuple); got "
                f"{len(caches)} arguments."
            )
        self.is_updated: dict[int, bool] = {
            index: self.cross_attention_cache.get_seq_length(index) > 0
            for index in range(len(self.cross_attention_cache))
        }
        self.offloading = False

    @property
    def layers(self) -> list[CacheLayerMixin]:  # type: ignore[override]  # a property over the self-attention cache's layers
        """The self-attention cache's layers (what the decoder's length and masks are read from)."""
        return self.self_attention_cache.layers

    @property
    def layer_class_to_replicate(self) -> type[CacheLayerMixin] | None:  # type: ignore[override]  # a property over the self-attention cache's
        """The self-attention cache's (what :meth:`Cache.update` adds a layer of when it meets a new index)."""
        return self.self_attention_cache.layer_class_to_replicate

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(self_attention_cache={self.self_attention_cache}, "
                f"cross_attention_cache={self.cross_attention_cache})")

    def _states(self, layer_idx: int) -> tuple[torch.Tensor, ...]:
        own = self.self_attention_cache.layers[layer_idx]
        states: tuple[torch.Tensor | None, ...] = (own.keys, own.values)
        if layer_idx < len(self.cross_attention_cache.layers):
            cross = self.cross_attention_cache.layers[layer_idx]
            states += (cross.keys, cross.values)
        return states  # type: ignore[return-value]  # None entries only for layers without states, as the reference

    def __getitem__(self, layer_idx: int) -> tuple[torch.Tensor, ...]:  # type: ignore[override]  # the legacy tuple of up to four tensors
        """Layer ``layer_idx`` as the legacy ``(self_keys, self_values, cross_keys, cross_values)`` tuple (the
        first two only when there is no cross-attention)."""
        if isinstance(layer_idx, int) and 0 <= layer_idx < len(self):
            return self._states(layer_idx)
        raise KeyError(f"The cache holds {len(self)} layers; there is no layer {layer_idx!r}.")

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:  # type: ignore[override]  # the legacy tuple of up to four tensors
        for index in range(len(self)):
            yield self._states(index)

    def __len__(self) -> int:
        return len(self.self_attention_cache)

    def to_legacy_cache(self) -> tuple[tuple[torch.Tensor, ...], ...]:
        """``((self_keys, self_values[, cross_keys, cross_values]), ...)``."""
        return tuple(self._states(index) for index in range(len(self)))

    @classmethod
    def from_legacy_cache(cls, past_key_values: Iterable[tuple[torch.Tensor, ...]] | None) -> EncoderDecoderCache:
        """A cache holding the states of a legacy tuple (``None``: an empty cache)."""
        cache = cls(DynamicCache(), DynamicCache())
        for index, states in enumerate(past_key_values or ()):
            cache.self_attention_cache.update(states[0], states[1], index)
            if len(states) > 2:
                cache.cross_attention_cache.update(states[2], states[3], index)
                cache.is_updated[index] = True
        return cache

    def reset(self) -> None:
        self.self_attention_cache.reset()
        self.cross_attention_cache.reset()
        self.is_updated = dict.fromkeys(self.is_updated, False)

    def reorder_cache(self, beam_idx: torch.Tensor) -> None:
        self.self_attention_cache.reorder_cache(beam_idx)
        self.cross_attention_cache.reorder_cache(beam_idx)

    def _require_dynamic(self, method: str) -> None:
        if not (isinstance(self.self_attention_cache, DynamicCache)
                and isinstance(self.cross_attention_cache, DynamicCache)):
            raise ValueError(
                f"EncoderDecoderCache.{method} needs two DynamicCache; this one holds "
                f"{type(self.self_attention_cache).__name__} and {type(self.cross_attention_cache).__name__}."
            )

    def crop(self, max_length: int) -> None:
        """Keep the first ``max_length`` decoder positions (the encoder's states are all kept)."""
        self._require_dynamic("crop")
        self.self_attention_cache.crop(max_length)

    def batch_split(self, full_batch_size: int, split_size: int) -> list[EncoderDecoderCache]:
        self._require_dynamic("batch_split")
        own = self.self_attention_cache.batch_split(full_batch_size, split_size)  # type: ignore[attr-defined]  # _require_dynamic checked both are DynamicCaches
        cross = self.cross_attention_cache.batch_split(full_batch_size, split_size)  # type: ignore[attr-defined]  # _require_dynamic checked both are DynamicCaches
        return [EncoderDecoderCache(a, b) for a, b in zip(own, cross)]

    def batch_repeat_interleave(self, repeats: int) -> None:
        self._require_dynamic("batch_repeat_interleave")
        self.self_attention_cache.batch_repeat_interleave(repeats)
        self.cross_attention_cache.batch_repeat_interleave(repeats)

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._require_dynamic("batch_select_indices")
        self.self_attention_cache.batch_select_indices(indices)
        self.cross_attention_cache.batch_select_indices(indices)
