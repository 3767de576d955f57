"""KV caches: the reference's (4.57) public API, the legacy tuple format both ways, static and sliding layers."""

from __future__ import annotations

import pytest
import torch

from modelyard import PretrainedConfig
from modelyard.errors import ConfigurationError
from modelyard.generation.caches import (
    DynamicCache,
    DynamicLayer,
    DynamicSlidingWindowLayer,
    EncoderDecoderCache,
    StaticCache,
    StaticLayer,
    StaticSlidingWindowLayer,
)


def states(batch: int = 2, heads: int = 2, seq: int = 3, dim: int = 4, start: int = 0) -> torch.Tensor:
    """Distinct exactly representable values: position p of row b holds (start + p + 1) + b/4 everywhere."""
    positions = torch.arange(start, start + seq, dtype=torch.float32) + 1
    rows = torch.arange(batch, dtype=torch.float32) / 4
    return (positions[None, None, :, None] + rows[:, None, None, None]).expand(batch, heads, seq, dim).clone()


def config(**kwargs: object) -> PretrainedConfig:
    base = {"num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2, "hidden_size": 8}
    return PretrainedConfig(**{**base, **kwargs})


def test_dynamic_cache_grows_per_layer_and_reports_lengths() -> None:
    cache = DynamicCache()
    assert len(cache) == 0 and cache.get_seq_length() == 0 and cache.get_max_cache_shape() == -1
    for layer in range(2):
        keys, values = cache.update(states(seq=3), -states(seq=3), layer)
        assert keys.shape == (2, 2, 3, 4) and torch.equal(values, -keys)
    keys, values = cache.update(states(seq=1, start=3), -states(seq=1, start=3), 0)
    assert keys.shape == (2, 2, 4, 4) and torch.equal(keys, states(seq=4))
    assert len(cache) == 2 and cache.get_seq_length(0) == 4 and cache.get_seq_length(1) == 3
    assert cache.seen_tokens == 4 and cache.get_seq_length(5) == 0
    assert cache.get_usable_length(1) == 4 and cache.get_max_length() is None
    assert bool(DynamicCache())  # an empty cache is still a cache


def test_legacy_round_trip_and_tuple_views() -> None:
    legacy = tuple((states(start=i), -states(start=i)) for i in range(3))
    cache = DynamicCache.from_legacy_cache(legacy)
    assert len(cache) == 3 and cache.get_seq_length() == 3
    back = cache.to_legacy_cache()
    assert isinstance(back, tuple) and len(back) == 3
    for (k0, v0), (k1, v1) in zip(legacy, back):
        assert torch.equal(k0, k1) and torch.equal(v0, v1)
    # indexing and iteration in the legacy format: past_key_values[0][0].shape[2]
    assert cache[0][0].shape[2] == 3 and torch.equal(cache[-1][1], legacy[2][1])
    assert [torch.equal(k, lk) for (k, _), (lk, _) in zip(cache, legacy)] == [True] * 3
    with pytest.raises(KeyError, match="holds 3 layers"):
        cache[3]
    # the older list attributes read and write the layers
    assert len(cache.key_cache) == 3 and torch.equal(cache.value_cache[1], legacy[1][1])
    cache.key_cache[0] = states(seq=5)
    assert cache.get_seq_length() == 5
    assert DynamicCache.from_legacy_cache(None).get_seq_length() == 0
    # ddp_cache_data fills a cache directly
    assert torch.equal(DynamicCache(legacy)[2][0], legacy[2][0])


def test_reorder_crop_repeat_select() -> None:
    cache = DynamicCache.from_legacy_cache(((states(batch=3), -states(batch=3)),))
    cache.reorder_cache(torch.tensor([2, 0, 0]))
    keys = cache[0][0]
    assert torch.equal(keys[0], states(batch=3)[2]) and torch.equal(keys[1], keys[2])
    cache.crop(2)
    assert cache.get_seq_length() == 2
    cache.crop(-1)
    assert cache.get_seq_length() == 1
    cache.batch_repeat_interleave(2)
    assert cache[0][0].shape[0] == 6 and torch.equal(cache[0][0][0], cache[0][0][1])
    cache.batch_select_indices(torch.tensor([0, 5]))
    assert cache[0][0].shape[0] == 2 and torch.equal(cache[0][1], -cache[0][0])


def test_split_and_join_batches() -> None:
    cache = DynamicCache.from_legacy_cache(((states(batch=4), -states(batch=4)),))
    parts = cache.batch_split(4, 3)
    assert [p[0][0].shape[0] for p in parts] == [3, 1]
    assert torch.equal(DynamicCache.from_batch_splits(parts)[0][0], cache[0][0])


def test_static_cache_writes_at_cache_position_with_fixed_shapes() -> None:
    cache = StaticCache(config=config(), max_cache_len=6)
    assert cache.get_max_cache_shape() == 6 and cache.is_compileable and not cache.is_initialized
    keys, values = cache.update(states(seq=3), -states(seq=3), 0, {"cache_position": torch.arange(3)})
    assert keys.shape == (2, 2, 6, 4)
    assert torch.equal(keys[:, :, :3], states(seq=3)) and not keys[:, :, 3:].any()
    first = keys.data_ptr()
    keys, _ = cache.update(states(seq=1, start=3), -states(seq=1, start=3), 0, {"cache_position": torch.tensor([3])})
    assert keys.data_ptr() == first  # written in place: a compiled graph keeps its buffer
    assert torch.equal(keys[:, :, :4], states(seq=4)) and int(cache.get_seq_length()) == 4
    assert cache.get_usable_length(3) == 3  # 4 cached + 3 new overflows the 6 slots
    cache.reset()
    assert int(cache.get_seq_length()) == 0


def test_static_cache_older_signature_allocates_up_front() -> None:
    cache = StaticCache(config=config(), max_batch_size=3, max_cache_len=5, device="cpu", dtype=torch.float16)
    assert cache.is_initialized and cache.max_batch_size == 3 and cache.max_cache_len == 5
    assert cache[0][0].shape == (3, 2, 5, 4) and cache[0][0].dtype == torch.float16
    with pytest.raises(ConfigurationError, match="max_cache_len"):
        StaticCache(config=config(), max_cache_len=0)
    with pytest.raises(TypeError, match="max_cach_len"):
        StaticCache(config=config(), max_cach_len=4)


def test_config_with_sliding_window_builds_sliding_layers() -> None:
    assert all(isinstance(layer, DynamicSlidingWindowLayer) for layer in DynamicCache(config=config(sliding_window=3)).layers)
    mixed = DynamicCache(config=config(sliding_window=3, layer_types=["full_attention", "sliding_attention"]))
    assert [type(layer) for layer in mixed.layers] == [DynamicLayer, DynamicSlidingWindowLayer]
    static = StaticCache(config=config(sliding_window=3, layer_types=["full_attention", "sliding_attention"]),
                         max_cache_len=8)
    assert [type(layer) for layer in static.layers] == [StaticLayer, StaticSlidingWindowLayer]
    assert static.get_max_cache_shape(1) == 3 and static.is_sliding == [False, True]


def test_dynamic_sliding_layer_keeps_the_window_and_counts_everything() -> None:
    layer = DynamicSlidingWindowLayer(sliding_window=3)
    keys, _ = layer.update(states(seq=4), -states(seq=4))
    assert torch.equal(keys, states(seq=4))  # the prompt attends over itself whole
    assert layer.keys.shape[-2] == 2 and layer.get_seq_length() == 4
    keys, _ = layer.update(states(seq=1, start=4), -states(seq=1, start=4))
    assert torch.equal(keys, states(seq=5)[:, :, 2:])  # window of 3: positions 2, 3, 4
    assert layer.get_mask_sizes(torch.tensor([5])) == (3, 3)
    with pytest.raises(ValueError, match="window"):
        layer.crop(2)


def test_static_sliding_layer_matches_the_dynamic_window() -> None:
    static = StaticSlidingWindowLayer(max_cache_len=10, sliding_window=3)
    dynamic = DynamicSlidingWindowLayer(sliding_window=3)
    seen = 0
    for step, count in enumerate([2, 1, 1, 1, 2, 1]):
        new = states(seq=count, start=seen)
        s_keys, _ = static.update(new, -new, {"cache_position": torch.arange(seen, seen + count)})
        d_keys, _ = dynamic.update(new, -new)
        seen += count
        # the written slots (states are never zero) end with the last min(seen, 3) tokens, as the dynamic one's
        written = s_keys[:, :, s_keys[0, 0].any(dim=-1)]
        tail = states(seq=seen)[:, :, -min(seen, 3):]
        assert torch.equal(written[:, :, -tail.shape[2]:], tail), step
        assert torch.equal(d_keys[:, :, -tail.shape[2]:], tail), step
        assert static.get_seq_length() == seen


def test_cache_needs_exactly_one_way_to_build_layers() -> None:
    from modelyard.generation.caches import Cache

    with pytest.raises(ConfigurationError, match="exactly one"):
        Cache()
    with pytest.raises(ConfigurationError, match="num_hidden_layers"):
        StaticCache(config=PretrainedConfig(), max_cache_len=4)


def test_dynamic_layer_writes_decoding_steps_in_place_and_never_changes_a_view_it_handed_out() -> None:
    layer = DynamicLayer()
    layer.spare_positions = 4
    layer.update(states(seq=3), -states(seq=3))  # the prompt's states, kept as given
    handed_out = []
    with torch.inference_mode():
        for step in range(3, 12):
            keys, values = layer.update(states(seq=1, start=step), -states(seq=1, start=step))
            assert torch.equal(keys, states(seq=step + 1)) and torch.equal(values, -keys)
            handed_out.append((step + 1, keys, keys.clone()))
    # Steps 4-7 and 8-11 each wrote into one buffer (room for 4 more positions), copied once when it ran out.
    buffers = {keys.untyped_storage().data_ptr() for _, keys, _ in handed_out}
    assert len(buffers) == 2
    assert all(torch.equal(keys, kept) for _, keys, kept in handed_out)  # later writes landed past their end
    assert layer.get_seq_length() == 12


def test_dynamic_layer_starts_new_buffers_after_crop_and_reorder() -> None:
    layer = DynamicLayer()
    layer.update(states(seq=3), -states(seq=3))
    before, _ = layer.update(states(seq=1, start=3), -states(seq=1, start=3))
    kept = before.clone()
    layer.crop(2)
    keys, _ = layer.update(states(seq=1, start=7), -states(seq=1, start=7))
    assert torch.equal(before, kept)  # the crop's positions were not overwritten under the earlier view
    assert torch.equal(keys[..., :2, :], states(seq=2)) and torch.equal(keys[..., 2:, :], states(seq=1, start=7))
    layer.reorder_cache(torch.tensor([1, 0]))
    keys, _ = layer.update(states(seq=1, start=8), -states(seq=1, start=8))
    assert torch.equal(keys[0, :, :2], states(seq=2)[1]) and keys.shape[-2] == 4


def test_dynamic_layer_concatenates_what_autograd_records_and_moves_between_modes() -> None:
    layer = DynamicLayer()
    first = states(seq=2).requires_grad_()
    layer.update(first, -first)
    keys, values = layer.update(states(seq=1, start=2), -states(seq=1, start=2))
    (keys.sum() + values.sum()).backward()  # no buffer was written under states autograd saved
    assert first.grad is not None
    # a cache filled under inference_mode goes on under no_grad (its buffers cannot be written there)
    layer = DynamicLayer()
    with torch.inference_mode():
        layer.update(states(seq=2), -states(seq=2))
        layer.update(states(seq=1, start=2), -states(seq=1, start=2))
    with torch.no_grad():
        keys, _ = layer.update(states(seq=1, start=3), -states(seq=1, start=3))
    assert torch.equal(keys, states(seq=4))


def test_encoder_decoder_cache_updates_and_reads_its_self_attention_cache() -> None:
    # update() (what a decoder-only model calls) and every per-layer read go to the self-attention cache: the
    # decoder's tokens; the cross-attention cache is only touched by the attention that fills it
    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    for layer in range(2):
        keys, values = cache.update(states(seq=3), -states(seq=3), layer)
        assert torch.equal(keys, states(seq=3)) and torch.equal(values, -states(seq=3))
    cache.update(states(seq=1, start=3), -states(seq=1, start=3), 0)
    own = cache.self_attention_cache
    assert len(own) == 2 and len(cache.cross_attention_cache) == 0 and len(cache) == 2
    assert (cache.get_seq_length(0), cache.get_seq_length(1)) == (own.get_seq_length(0), own.get_seq_length(1)) == (4, 3)
    assert cache.get_max_cache_shape() == own.get_max_cache_shape() == -1
    assert cache.get_mask_sizes(torch.arange(4, 5), 0) == own.get_mask_sizes(torch.arange(4, 5), 0) == (5, 0)
    assert cache.is_sliding == own.is_sliding == [False, False]
    assert cache.is_compileable is own.is_compileable is False


def test_encoder_decoder_cache_over_fixed_layers_follows_them() -> None:
    sliding = EncoderDecoderCache(DynamicCache(config=config(sliding_window=4)), DynamicCache())
    assert sliding.is_sliding == [True, True] and sliding.get_max_cache_shape() == 4
    static = EncoderDecoderCache(StaticCache(config=config(), max_cache_len=8), DynamicCache())
    keys, _ = static.update(states(seq=3), states(seq=3), 1, {"cache_position": torch.arange(3)})
    assert keys.shape == (2, 2, 8, 4) and static.is_compileable and static.get_max_cache_shape() == 8
    with pytest.raises(IndexError, match="layer_idx=2 is out of range"):
        static.update(states(seq=1), states(seq=1), 2, {"cache_position": torch.arange(3, 4)})
