"""``MistralConfig``: the settings a Mistral model is built from (keys and defaults as in ``config.json``).

Imports no torch.
"""

from __future__ import annotations

from typing import Any

from modelyard.models.llama.configuration_llama import _LlamaStyleConfig
from modelyard.pretrained_io import constructor_arguments


class MistralConfig(_LlamaStyleConfig):
    """Configuration of :class:`~modelyard.models.mistral.MistralModel` and its heads.

    The defaults describe Mistral 7B: 32 layers of width 4096, 32 query and 8 key/value heads, SwiGLU width
    14336, and sliding-window attention over the last ``sliding_window`` tokens (``None``: full attention).
    """

    model_type = "mistral"
    sliding_window: int | None
    head_dim: int | None

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
        # rope_scaling (in kwargs) is no argument of the reference's MistralConfig, but its rotary embedding reads it
        # when present: stored normalised, as the other decoders' one
        super().__init__(**constructor_arguments())


__all__ = ["MistralConfig"]
