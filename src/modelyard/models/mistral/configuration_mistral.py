"""``MistralConfig``: the settings a Mistral model is built from (keys and defaults as in ``config.json``).

Imports no torch.
"""

from __future__ import annotations

from typing import Any

from modelyard.configuration import PretrainedConfig
from modelyard.layers.rotary import normalise_rope_scaling


class MistralConfig(PretrainedConfig):
    """Configuration of :class:`~modelyard.models.mistral.MistralModel` and its heads.

    The defaults describe Mistral 7B: 32 layers of width 4096, 32 query and 8 key/value heads, SwiGLU width
    14336, and sliding-window attention over the last ``sliding_window`` tokens (``None``: full attention).
    """

    model_type = "mistral"

    def __init__(
        self,
        vocab_size: int = 32000,
        hidden_size: int = 4096,
        intermediate_size: int = 14336,
        num_hidden_layers: int = 32,
        num_attention_heads: int = 32,
        num_key_value_heads: int | None = 8,
        head_dim: int | None = None,
        hidden_act: str = "silu",
        max_position_embeddings: int = 4096 * 32,
        initializer_range: float = 0.02,
        rms_norm_eps: float = 1e-6,
        use_cache: bool = True,
        pad_token_id: int | None = None,
        bos_token_id: int | None = 1,
        eos_token_id: int | list[int] | None = 2,
        tie_word_embeddings: bool = False,
        rope_theta: float = 10000.0,
        sliding_window: int | None = 4096,
        attention_dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.sliding_window = sliding_window
        self.head_dim = head_dim
        self.num_key_value_heads = num_attention_heads if num_key_value_heads is None else num_key_value_heads
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        self.use_cache = use_cache
        self.rope_theta = rope_theta
        self.attention_dropout = attention_dropout
        # Not an argument of the reference's MistralConfig, but its rotary embedding reads it when present.
        self.rope_scaling = normalise_rope_scaling(kwargs.pop("rope_scaling", None), where=type(self).__name__)
        super().__init__(
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            tie_word_embeddings=tie_word_embeddings,
            **kwargs,
        )


__all__ = ["MistralConfig"]
