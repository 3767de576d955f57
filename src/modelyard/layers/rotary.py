"""Rotary position embeddings (RoPE) and the ``rope_scaling`` kinds of the reference library.

``config.rope_scaling`` picks how the inverse frequencies are computed: ``None`` / ``"default"`` (plain RoPE),
``"linear"`` (positions divided by ``factor``), ``"dynamic"`` (NTK scaling that grows with the longest position
seen), ``"yarn"``, ``"longrope"`` and ``"llama3"``. The formulas follow the reference's so that checkpoints
trained with one of them give the same logits here. :func:`validate_rope_scaling` rejects an unknown kind or
missing keys when the config is built, naming the kinds and keys that work.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from modelyard.errors import ConfigurationError

logger = logging.getLogger(__name__)

# kind -> (required keys, optional keys); "rope_type" (or its old name "type") is always there.
ROPE_KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "default": (frozenset(), frozenset()),
    "linear": (frozenset({"factor"}), frozenset()),
    "dynamic": (frozenset({"factor"}), frozenset({"original_max_position_embeddings"})),
    "yarn": (
        frozenset({"factor"}),
        frozenset({"attention_factor", "beta_fast", "beta_slow", "original_max_position_embeddings", "mscale",
                   "mscale_all_dim", "truncate"}),
    ),
    "longrope": (
        frozenset({"short_factor", "long_factor"}),
        frozenset({"attention_factor", "factor", "original_max_position_embeddings"}),
    ),
    "llama3": (
        frozenset({"factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor"}),
        frozenset(),
    ),
}


def rope_kind(rope_scaling: Mapping[str, Any] | None) -> str:
    """The kind named by a ``rope_scaling`` dict (``rope_type``, or the older ``type``); ``"default"`` for None."""
    if not rope_scaling:
        return "default"
    return str(rope_scaling.get("rope_type", rope_scaling.get("type", "default")))


def validate_rope_scaling(rope_scaling: Any, *, where: str) -> None:
    """Raise :class:`ConfigurationError` for a ``rope_scaling`` no model could use; log keys it ignores."""
    if rope_scaling is None:
        return
    if not isinstance(rope_scaling, Mapping):
        raise ConfigurationError(
            f"{where}: rope_scaling must be a dict such as {{'rope_type': 'linear', 'factor': 2.0}} or None, "
            f"got {rope_scaling!r}."
        )
    kind = rope_kind(rope_scaling)
    if kind not in ROPE_KINDS:
        raise ConfigurationError(
            f"{where}: unknown rope_scaling kind {kind!r} (rope_scaling={dict(rope_scaling)!r}); use one of "
            f"{', '.join(sorted(ROPE_KINDS))}, or rope_scaling=None for plain rotary embeddings."
        )
    required, optional = ROPE_KINDS[kind]
    given = set(rope_scaling) - {"rope_type", "type"}
    missing = sorted(required - given)
    if missing:
        raise ConfigurationError(
            f"{where}: rope_scaling of kind {kind!r} needs the keys {missing} (got {dict(rope_scaling)!r}); "
            f"it takes {sorted(required)} and optionally {sorted(optional)}."
        )
    unused = sorted(given - required - optional)
    if unused:
        logger.warning("%s: rope_scaling keys %s are not used by the %r kind.", where, unused, kind)


def normalise_rope_scaling(rope_scaling: Any, *, where: str) -> Any:
    """Copy the older ``type`` key to ``rope_type`` (as the reference does) and validate the dict."""
    if isinstance(rope_scaling, dict) and "type" in rope_scaling:
        rope_scaling["rope_type"] = rope_scaling["type"]
    validate_rope_scaling(rope_scaling, where=where)
    return rope_scaling


def _rotary_dim(config: Any) -> int:
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return int(head_dim * getattr(config, "partial_rotary_factor", 1.0))


def _plain_inv_freq(base: float, dim: int, device: Any = None) -> Any:
    import torch

    exponents = torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float) / dim
    return 1.0 / (base**exponents)


def _default(config: Any, device: Any, seq_len: int | None) -> tuple[Any, float]:
    return _plain_inv_freq(config.rope_theta, _rotary_dim(config), device), 1.0


def _linear(config: Any, device: Any, seq_len: int | None) -> tuple[Any, float]:
    inv_freq, scaling = _default(config, device, seq_len)
    return inv_freq / config.rope_scaling["factor"], scaling


def _dynamic(config: Any, device: Any, seq_len: int | None) -> tuple[Any, float]:
    dim = _rotary_dim(config)
    max_positions = config.max_position_embeddings
    factor = config.rope_scaling["factor"]
    seq_len = max(seq_len or max_positions, max_positions)
    # NTK: stretch the base so the lowest frequency covers seq_len instead of max_positions.
    base = config.rope_theta * ((factor * seq_len / max_positions) - (factor - 1)) ** (dim / (dim - 2))
    return _plain_inv_freq(base, dim, device), 1.0


def _yarn_mscale(scale: float, mscale: float = 1.0) -> float:
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def _yarn(config: Any, device: Any, seq_len: int | None) -> tuple[Any, float]:
    import torch

    scaling = config.rope_scaling
    base, dim, factor = config.rope_theta, _rotary_dim(config), scaling["factor"]
    original = scaling.get("original_max_position_embeddings") or config.max_position_embeddings
    attention_factor = scaling.get("attention_factor")
    if attention_factor is None:
        mscale, mscale_all_dim = scaling.get("mscale"), scaling.get("mscale_all_dim")
        if mscale and mscale_all_dim:
            attention_factor = float(_yarn_mscale(factor, mscale) / _yarn_mscale(factor, mscale_all_dim))
        else:
            attention_factor = _yarn_mscale(factor)
    beta_fast = scaling.get("beta_fast") or 32
    beta_slow = scaling.get("beta_slow") or 1

    def correction_dim(rotations: float) -> float:  # the dimension that turns `rotations` times over `original`
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if scaling.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001  # a ramp of width zero would divide by zero
    ramp = ((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1).to(device=device)
    pos_freqs = base ** (torch.arange(0, dim, 2).to(device=device, dtype=torch.float) / dim)
    extrapolated, interpolated = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)
    keep = 1 - ramp  # 1: high frequencies kept as trained, 0: low frequencies interpolated
    return interpolated * (1 - keep) + extrapolated * keep, attention_factor


def _longrope(config: Any, device: Any, seq_len: int | None) -> tuple[Any, float]:
    import torch

    scaling = config.rope_scaling
    base, dim = config.rope_theta, _rotary_dim(config)
    factor = scaling.get("factor")
    attention_factor = scaling.get("attention_factor")
    original = getattr(config, "original_max_position_embeddings", None)
    if original:
        factor = config.max_position_embeddings / original
    else:
        original = config.max_position_embeddings
    if attention_factor is None:
        attention_factor = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original))
    chosen = scaling["long_factor"] if seq_len and seq_len > original else scaling["short_factor"]
    ext = torch.tensor(chosen, dtype=torch.float32, device=device)
    shape = torch.arange(0, dim, 2, dtype=torch.int64, device=device).float() / dim
    return 1.0 / (ext * base**shape), attention_factor


def _llama3(config: Any, device: Any, seq_len: int | None) -> tuple[Any, float]:
    import torch

    inv_freq, scaling = _default(config, device, seq_len)
    params = config.rope_scaling
    factor, low, high = params["factor"], params["low_freq_factor"], params["high_freq_factor"]
    old_context = params["original_max_position_embeddings"]
    low_freq_wavelen, high_freq_wavelen = old_context / low, old_context / high
    wavelen = 2 * math.pi / inv_freq
    # Long wavelengths are divided by factor, short ones kept, the band between blended smoothly.
    scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_context / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(medium, smoothed, scaled), scaling


ROPE_FUNCTIONS: dict[str, Callable[[Any, Any, int | None], tuple[Any, float]]] = {
    "default": _default,
    "linear": _linear,
    "dynamic": _dynamic,
    "yarn": _yarn,
    "longrope": _longrope,
    "llama3": _llama3,
}


def rope_parameters(config: Any, *, device: Any = None, seq_len: int | None = None) -> tuple[Any, float]:
    """``(inv_freq, attention_scaling)`` for ``config``: a float32 (rotary_dim // 2,) tensor and the factor the
    cos/sin tables are multiplied by (1.0 except for yarn and longrope)."""
    kind = rope_kind(getattr(config, "rope_scaling", None))
    validate_rope_scaling(getattr(config, "rope_scaling", None), where=type(config).__name__)
    return ROPE_FUNCTIONS[kind](config, device, seq_len)


__all__ = ["ROPE_FUNCTIONS", "ROPE_KINDS", "normalise_rope_scaling", "rope_kind", "rope_parameters", "validate_rope_scaling"]
