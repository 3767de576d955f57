"""``LlamaConfig``: the settings a Llama model is built from (keys and defaults as in ``config.json``).

Imports no torch.
"""

from __future__ import annotations

from typing import Any

from modelyard.configuration import PretrainedConfig
from modelyard.layers.rotary import normalise_rope_scaling
from modelyard.pretrained_io import constructor_arguments


class _LlamaStyleConfig(PretrainedConfig):
    """The settings the Llama-style decoders (Llama, Mistral, Qwen2) hold in common, declared once for type
    checkers, and the two values they derive from their keywords alike: ``num_key_value_heads`` (None: one per
    query head) and the normalised ``rope_scaling``.

    Each family keeps its own class (a ``MistralConfig`` is no ``LlamaConfig``) and its explicit ``__init__``
    keywords, which it hands here with ``super().__init__(**constructor_arguments())``.
    """

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    hidden_act: str
    max_position_embeddings: int
    initializer_range: float
    rms_norm_eps: float
    use_cache: bool
    rope_theta: float
    rope_scaling: dict[str, Any] | None
    attention_dropout: float

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("num_key_value_heads") is None:
            kwargs["num_key_value_heads"] = kwargs.get("num_attention_heads")
        kwargs["rope_scaling"] = normalise_rope_scaling(kwargs.get("rope_scaling"), where=type(self).__name__)
        super().__init__(**kwargs)


class LlamaConfig(_LlamaStyleConfig):
    """Configuration of :class:`~modelyard.models.llama.LlamaModel` and its heads.

    The defaults describe Llama 2 7B: 32 layers of width 4096, 32 heads (``num_key_value_heads`` fewer for
    grouped-query attention), SwiGLU width 11008, rotary positions with ``rope_theta`` and optional
    ``rope_scaling`` (kinds ``default``, ``linear``, ``dynamic``, ``yarn``, ``longrope``, ``llama3``).
    """

    model_type = "llama"
    pretraining_tp: int
    attention_bias: bool
    mlp_bias: bool
    head_dim: int

    def __init__(
        self,
        vocab_size: int = 32000,
        hidden_size: int = 4096,
        intermediate_size: int = 11008,
        num_hidden_layers: int = 32,
        num_attention_heads: int = 32,
        num_key_value_heads: int | None = None,
        hidden_act: str = "silu",
        max_position_embeddings: int = 2048,
        initializer_range: float = 0.02,
        rms_norm_eps: float = 1e-6,
        use_cache: bool = True,
        pad_token_id: int | None = None,
        bos_token_id: int | None = 1,
        eos_token_id: int | list[int] | None = 2,
        pretraining_tp: int = 1,
        tie_word_embeddings: bool = False,
        rope_theta: float = 10000.0,
        rope_scaling: dict[str, Any] | None = None,
        attention_bias: bool = False,
        attention_dropout: float = 0.0,
        mlp_bias: bool = False,
        head_dim: int | None = None,
        **kwargs: Any,
    ) -> None:
        if head_dim is None:
            head_dim = hidden_size // num_attention_heads
        super().__init__(**constructor_arguments())


__all__ = ["LlamaConfig"]
