"""``ViTConfig``: the Vision Transformer's settings (keys and defaults as in ``google/vit-base-patch16-224``)."""

from __future__ import annotations

from typing import Any

from modelyard.configuration import PretrainedConfig
from modelyard.pretrained_io import constructor_arguments


class ViTConfig(PretrainedConfig):
    """Settings of :class:`~modelyard.ViTModel`; the defaults give ViT-base with 16x16 patches on 224x224 images.

    ``image_size`` and ``patch_size`` may be an int (square) or a ``(height, width)`` pair.
    ``pooler_output_size`` defaults to ``hidden_size``.
    """

    model_type = "vit"
    # the settings, stored by PretrainedConfig from the keywords below (declared for type checkers)
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: str
    hidden_dropout_prob: float
    attention_probs_dropout_prob: float
    initializer_range: float
    layer_norm_eps: float
    image_size: int | tuple[int, int] | list[int]
    patch_size: int | tuple[int, int] | list[int]
    num_channels: int
    qkv_bias: bool
    encoder_stride: int
    pooler_output_size: int
    pooler_act: str

    def __init__(
        self,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.0,
        attention_probs_dropout_prob: float = 0.0,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        image_size: int | tuple[int, int] | list[int] = 224,
        patch_size: int | tuple[int, int] | list[int] = 16,
        num_channels: int = 3,
        qkv_bias: bool = True,
        encoder_stride: int = 16,
        pooler_output_size: int | None = None,
        pooler_act: str = "tanh",
        **kwargs: Any,
    ) -> None:
        pooler_output_size = pooler_output_size if pooler_output_size else hidden_size
        super().__init__(**constructor_arguments())


__all__ = ["ViTConfig"]
