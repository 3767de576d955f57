"""``OPTConfig``: the settings an OPT model is built from (keys and defaults as in ``config.json``).

Imports no torch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from modelyard.configuration import PretrainedConfig
from modelyard.pretrained_io import constructor_arguments


class OPTConfig(PretrainedConfig):
    """Configuration of :class:`~modelyard.models.opt.OPTModel` and its heads.

    The defaults describe ``facebook/opt-125m``: 12 pre-norm layers of width 768 with 12 heads, a ReLU
    feed-forward of ``ffn_dim`` = 3072, a learned position table of ``max_position_embeddings`` = 2048 entries
    (plus OPT's two reserved rows) and biases everywhere (``enable_bias``).

    ``word_embed_proj_dim``: the width of the token embeddings and of what the heads read; when it differs from
    ``hidden_size`` (opt-350m: 512 and 1024) the decoder projects in (``project_in``) and out (``project_out``).
    ``do_layer_norm_before``: pre-norm blocks (every size but 350m) or post-norm ones. ``_remove_final_layer_norm``:
    a pre-norm decoder without the final norm (old checkpoints). ``layerdrop``: the probability of skipping a
    whole layer while training.
    """

    model_type = "opt"
    keys_to_ignore_at_inference: ClassVar[list[str]] = ["past_key_values"]

    # sizes
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    ffn_dim: int
    num_attention_heads: int
    max_position_embeddings: int
    word_embed_proj_dim: int
    # the blocks' layout
    do_layer_norm_before: bool
    _remove_final_layer_norm: bool
    enable_bias: bool
    layer_norm_elementwise_affine: bool
    activation_function: str
    # training and inference
    dropout: float
    attention_dropout: float
    layerdrop: float
    init_std: float
    use_cache: bool

    def __init__(  # the reference's order of arguments
        self,
        vocab_size: int = 50272, hidden_size: int = 768, num_hidden_layers: int = 12, ffn_dim: int = 3072,
        max_position_embeddings: int = 2048,
        do_layer_norm_before: bool = True, _remove_final_layer_norm: bool = False,
        word_embed_proj_dim: int | None = None,
        dropout: float = 0.1, attention_dropout: float = 0.0,
        num_attention_heads: int = 12, activation_function: str = "relu",
        layerdrop: float = 0.0, init_std: float = 0.02, use_cache: bool = True,
        pad_token_id: int | None = 1, bos_token_id: int | None = 2, eos_token_id: int | list[int] | None = 2,
        enable_bias: bool = True, layer_norm_elementwise_affine: bool = True,
        **kwargs: Any,
    ) -> None:
        if word_embed_proj_dim is None:
            word_embed_proj_dim = hidden_size
        super().__init__(**constructor_arguments())

    def to_dict(self) -> dict[str, Any]:
        """Every setting; ``_remove_final_layer_norm`` is kept despite its underscore, as the reference writes it
        to ``config.json`` (private attributes are otherwise left out)."""
        output = super().to_dict()
        output["_remove_final_layer_norm"] = self._remove_final_layer_norm
        return output


__all__ = ["OPTConfig"]
