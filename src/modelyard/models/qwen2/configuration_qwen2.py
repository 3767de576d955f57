"""``Qwen2Config``: the settings a Qwen2 model is built from (keys and defaults as in ``config.json``).

Imports no torch.
"""

from __future__ import annotations

from typing import Any

from modelyard.errors import ConfigurationError
from modelyard.models.llama.configuration_llama import _LlamaStyleConfig
from modelyard.pretrained_io import constructor_arguments

LAYER_KINDS = ("full_attention", "sliding_attention")


class Qwen2Config(_LlamaStyleConfig):
    """Configuration of :class:`~modelyard.models.qwen2.Qwen2Model` and its heads.

    With ``use_sliding_window=True`` the layers from ``max_window_layers`` on attend over the last
    ``sliding_window`` tokens (``layer_types`` lists each layer's kind and may be given directly); otherwise
    ``sliding_window`` is stored as ``None`` and every layer attends to everything, as in the reference.
    """

    model_type = "qwen2"
    use_sliding_window: bool
    sliding_window: int | None
    max_window_layers: int
    layer_types: list[str]

    def __init__(
        self,
        vocab_size: int = 151936,
        hidden_size: int = 4096,
        intermediate_size: int = 22016,
        num_hidden_layers: int = 32,
        num_attention_heads: int = 32,
        num_key_value_heads: int | None = 32,
        hidden_act: str = "silu",
        max_position_embeddings: int = 32768,
        initializer_range: float = 0.02,
        rms_norm_eps: float = 1e-6,
        use_cache: bool = True,
        tie_word_embeddings: bool = False,
        rope_theta: float = 10000.0,
        rope_scaling: dict[str, Any] | None = None,
        use_sliding_window: bool = False,
        sliding_window: int | None = 4096,
        max_window_layers: int = 28,
        layer_types: list[str] | None = None,
        attention_dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        if not use_sliding_window:
            sliding_window = None
        if layer_types is None:
            layer_types = [
                "sliding_attention" if sliding_window is not None and i >= max_window_layers else "full_attention"
                for i in range(num_hidden_layers)
            ]
        unknown = sorted({kind for kind in layer_types if kind not in LAYER_KINDS})
        if unknown or len(layer_types) != num_hidden_layers:
            raise ConfigurationError(
                f"Qwen2Config: layer_types must list one of {LAYER_KINDS} per layer ({num_hidden_layers} layers), "
                f"got {layer_types!r}; fix layer_types or leave it out to derive it from max_window_layers."
            )
        layer_types = list(layer_types)
        super().__init__(**constructor_arguments())


__all__ = ["Qwen2Config"]
