"""``GPT2Config``: the settings a GPT-2 model is built from (keys and defaults as in ``config.json``).

Imports no torch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from modelyard.configuration import PretrainedConfig
from modelyard.pretrained_io import constructor_arguments


class GPT2Config(PretrainedConfig):
    """Configuration of :class:`~modelyard.models.gpt2.GPT2Model` and its heads.

    The defaults describe ``openai-community/gpt2`` (124M): 12 layers of width 768 with 12 heads, a learned
    position table of ``n_positions`` = 1024 entries, and the tanh GELU. The common names ``hidden_size``,
    ``max_position_embeddings``, ``num_attention_heads`` and ``num_hidden_layers`` are aliases of ``n_embd``,
    ``n_positions``, ``n_head`` and ``n_layer``.
    """

    model_type = "gpt2"
    keys_to_ignore_at_inference: ClassVar[list[str]] = ["past_key_values"]
    attribute_map: ClassVar[dict[str, str]] = {
        "hidden_size": "n_embd",
        "max_position_embeddings": "n_positions",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
    }
    _own_settings_first = True
    # the settings, stored by PretrainedConfig from the keywords below (declared for type checkers)
    vocab_size: int
    n_positions: int
    n_embd: int
    n_layer: int
    n_head: int
    n_inner: int | None
    activation_function: str
    resid_pdrop: float
    embd_pdrop: float
    attn_pdrop: float
    layer_norm_epsilon: float
    initializer_range: float
    summary_type: str
    summary_use_proj: bool
    summary_activation: str | None
    summary_proj_to_labels: bool
    summary_first_dropout: float
    scale_attn_weights: bool
    use_cache: bool
    scale_attn_by_inverse_layer_idx: bool
    reorder_and_upcast_attn: bool

    def __init__(
        self,
        vocab_size: int = 50257,
        n_positions: int = 1024,
        n_embd: int = 768,
        n_layer: int = 12,
        n_head: int = 12,
        n_inner: int | None = None,
        activation_function: str = "gelu_new",
        resid_pdrop: float = 0.1,
        embd_pdrop: float = 0.1,
        attn_pdrop: float = 0.1,
        layer_norm_epsilon: float = 1e-5,
        initializer_range: float = 0.02,
        summary_type: str = "cls_index",
        summary_use_proj: bool = True,
        summary_activation: str | None = None,
        summary_proj_to_labels: bool = True,
        summary_first_dropout: float = 0.1,
        scale_attn_weights: bool = True,
        use_cache: bool = True,
        bos_token_id: int | None = 50256,
        eos_token_id: int | list[int] | None = 50256,
        scale_attn_by_inverse_layer_idx: bool = False,
        reorder_and_upcast_attn: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**constructor_arguments())


__all__ = ["GPT2Config"]
