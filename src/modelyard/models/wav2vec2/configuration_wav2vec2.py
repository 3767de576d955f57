"""``Wav2Vec2Config``: the settings of a Wav2Vec2 speech encoder (keys and defaults as in
``facebook/wav2vec2-base-960h``).

Every key has the reference's name and default, so files round-trip both ways: the pre-training (quantizer,
contrastive loss), adapter (``add_adapter``, ``adapter_attn_dim``) and x-vector (``tdnn_*``) settings included.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

from modelyard.configuration import PretrainedConfig
from modelyard.errors import ConfigurationError
from modelyard.pretrained_io import constructor_arguments


class Wav2Vec2Config(PretrainedConfig):
    """Settings of :class:`~modelyard.Wav2Vec2Model` (the defaults give wav2vec2-base).

    The feature encoder has one 1-D convolution per entry of ``conv_dim`` / ``conv_stride`` /
    ``conv_kernel``; ``feat_extract_norm="group"`` normalises only the first one (GroupNorm), ``"layer"``
    every one (LayerNorm). ``do_stable_layer_norm=True`` selects the pre-norm encoder of the large models.
    CTC: ``ctc_loss_reduction`` ("sum" or "mean"), ``ctc_zero_infinity``; the blank is ``pad_token_id``.
    Adapters: ``add_adapter`` (``num_adapter_layers`` strided convolutions after the encoder, output width
    ``output_hidden_size``), ``adapter_attn_dim`` (a bottleneck in each pre-norm layer, per language).
    Heads: ``use_weighted_layer_sum`` (classifiers read a learned mix of every layer), ``classifier_proj_size``;
    x-vectors: ``tdnn_dim`` / ``tdnn_kernel`` / ``tdnn_dilation`` and ``xvector_output_dim``.
    """

    model_type = "wav2vec2"

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: str
    hidden_dropout: float
    activation_dropout: float
    attention_dropout: float
    feat_proj_dropout: float
    final_dropout: float
    layerdrop: float
    initializer_range: float
    layer_norm_eps: float
    feat_extract_norm: str
    feat_extract_activation: str
    conv_dim: list[int]
    conv_stride: list[int]
    conv_kernel: list[int]
    conv_bias: bool
    num_feat_extract_layers: int
    num_conv_pos_embeddings: int
    num_conv_pos_embedding_groups: int
    do_stable_layer_norm: bool
    use_weighted_layer_sum: bool
    # SpecAugment (training only)
    apply_spec_augment: bool
    mask_time_prob: float
    mask_time_length: int
    mask_time_min_masks: int
    mask_feature_prob: float
    mask_feature_length: int
    mask_feature_min_masks: int
    # pre-training (Wav2Vec2ForPreTraining)
    num_codevectors_per_group: int
    num_codevector_groups: int
    contrastive_logits_temperature: float
    feat_quantizer_dropout: float
    num_negatives: int
    codevector_dim: int
    proj_codevector_dim: int
    diversity_loss_weight: float
    # CTC
    ctc_loss_reduction: str
    ctc_zero_infinity: bool
    # adapters
    add_adapter: bool
    adapter_kernel_size: int
    adapter_stride: int
    num_adapter_layers: int
    output_hidden_size: int
    adapter_attn_dim: int | None
    # sequence classification
    classifier_proj_size: int
    # x-vector (Wav2Vec2ForXVector)
    tdnn_dim: list[int]
    tdnn_kernel: list[int]
    tdnn_dilation: list[int]
    xvector_output_dim: int

    def __init__(
        self,
        vocab_size: int = 32,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout: float = 0.1,
        activation_dropout: float = 0.1,
        attention_dropout: float = 0.1,
        feat_proj_dropout: float = 0.0,
        feat_quantizer_dropout: float = 0.0,
        final_dropout: float = 0.1,
        layerdrop: float = 0.1,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-5,
        feat_extract_norm: str = "group",
        feat_extract_activation: str = "gelu",
        conv_dim: list[int] | tuple[int, ...] = (512, 512, 512, 512, 512, 512, 512),
        conv_stride: list[int] | tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2),
        conv_kernel: list[int] | tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2),
        conv_bias: bool = False,
        num_conv_pos_embeddings: int = 128,
        num_conv_pos_embedding_groups: int = 16,
        do_stable_layer_norm: bool = False,
        apply_spec_augment: bool = True,
        mask_time_prob: float = 0.05,
        mask_time_length: int = 10,
        mask_time_min_masks: int = 2,
        mask_feature_prob: float = 0.0,
        mask_feature_length: int = 10,
        mask_feature_min_masks: int = 0,
        num_codevectors_per_group: int = 320,
        num_codevector_groups: int = 2,
        contrastive_logits_temperature: float = 0.1,
        num_negatives: int = 100,
        codevector_dim: int = 256,
        proj_codevector_dim: int = 256,
        diversity_loss_weight: float = 0.1,
        ctc_loss_reduction: str = "sum",
        ctc_zero_infinity: bool = False,
        use_weighted_layer_sum: bool = False,
        classifier_proj_size: int = 256,
        tdnn_dim: list[int] | tuple[int, ...] = (512, 512, 512, 512, 1500),
        tdnn_kernel: list[int] | tuple[int, ...] = (5, 3, 3, 1, 1),
        tdnn_dilation: list[int] | tuple[int, ...] = (1, 2, 3, 1, 1),
        xvector_output_dim: int = 512,
        pad_token_id: int | None = 0,
        bos_token_id: int | None = 1,
        eos_token_id: int | None = 2,
        add_adapter: bool = False,
        adapter_kernel_size: int = 3,
        adapter_stride: int = 2,
        num_adapter_layers: int = 3,
        output_hidden_size: int | None = None,
        adapter_attn_dim: int | None = None,
        **kwargs: Any,
    ) -> None:
        if not (len(conv_dim) == len(conv_stride) == len(conv_kernel)):
            raise ConfigurationError(
                "conv_dim, conv_stride and conv_kernel need one entry per feature-encoder layer, got lengths "
                f"{len(conv_dim)}, {len(conv_stride)} and {len(conv_kernel)}; give all three the same length."
            )
        if feat_extract_norm not in ("group", "layer"):
            raise ConfigurationError(
                f"feat_extract_norm must be 'group' or 'layer', got {feat_extract_norm!r}."
            )
        if ctc_loss_reduction not in ("sum", "mean", "none"):
            raise ConfigurationError(
                f"ctc_loss_reduction must be 'sum', 'mean' or 'none', got {ctc_loss_reduction!r}."
            )
        conv_dim, conv_stride, conv_kernel = list(conv_dim), list(conv_stride), list(conv_kernel)
        tdnn_dim, tdnn_kernel, tdnn_dilation = list(tdnn_dim), list(tdnn_kernel), list(tdnn_dilation)
        output_hidden_size = output_hidden_size or hidden_size
        kwargs["num_feat_extract_layers"] = len(conv_dim)  # derived: a value given (the file's) is replaced
        super().__init__(**constructor_arguments())

    @property
    def inputs_to_logits_ratio(self) -> int:
        """Audio samples per output frame (the product of the convolution strides; 320 for the base model)."""
        return functools.reduce(operator.mul, self.conv_stride, 1)


__all__ = ["Wav2Vec2Config"]
