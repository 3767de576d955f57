"""``OPTConfig``: the settings an OPT model is built from (keys and defaults as in ``config.json``).

Imports no torch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from modelyard.configuration import PretrainedConfig


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
        # sizes
        self.vocab_size, self.hidden_size, self.num_hidden_layers = vocab_size, hidden_size, num_hidden_layers
        self.ffn_dim, self.num_attention_heads = ffn_dim, num_attention_heads
        self.max_position_embeddings = max_position_embeddings
        self.word_embed_proj_dim = word_embed_proj_dim if word_embed_proj_dim is not None else hidden_size
        # the blocks' layout
        self.do_layer_norm_before, self._remove_final_layer_norm = do_layer_norm_before, _remove_final_layer_norm
        self.enable_bias, self.layer_norm_elementwise_affine = enable_bias, layer_norm_elementwise_affine
        self.activation_function = activation_function
        # training and inference
        self.dropout, self.attention_dropout, self.layerdrop = dropout, attention_dropout, layerdrop
        self.init_std = init_std
        self.use_cache = use_cache
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Every setting; ``_remove_final_layer_norm`` is kept despite its underscore, as the reference writes it
        to ``config.json`` (private attributes are otherwise left out)."""
        output = super().to_dict()
        output["_remove_final_layer_norm"] = self._remove_final_layer_norm
        return output


__all__ = ["OPTConfig"]
