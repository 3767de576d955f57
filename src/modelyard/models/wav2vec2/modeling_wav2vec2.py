"""Wav2Vec2: a 1-D convolutional feature encoder over raw audio, then a Transformer encoder.

What differs from the text encoders: the input is a waveform (``input_values``, batch x samples) turned
into ~50 frames per second by strided convolutions (``feature_extractor``), normalised and projected to
``hidden_size`` (``feature_projection``); positions come from a grouped convolution with weight norm
(``pos_conv_embed``) instead of a table. Two layer-norm orders exist: post-norm (base models) and
pre-norm (``do_stable_layer_norm``, large models). A padding mask over samples becomes a mask over frames
through the convolution length formula. Attention math is the shared SDPA path in ``layers/attention``.

Training-time SpecAugment (``layers/spec_augment``: time and feature masks) and LayerDrop are supported, and so
is self-supervised pre-training (:class:`Wav2Vec2ForPreTraining`: a Gumbel-softmax product quantizer of the
convolutional features and a contrastive loss over masked frames).

Two kinds of adapters exist. ``config.add_adapter`` puts a stack of strided convolutions (``adapter``) after the
encoder, which shortens the output (speech-to-text encoders). ``config.adapter_attn_dim`` gives each pre-norm
encoder layer a small bottleneck (``adapter_layer``); with the CTC head these are per-language weights (MMS)
kept in ``adapter.<lang>.safetensors`` files next to the model and swapped by :meth:`load_adapter`.

Heads besides CTC: utterance classification, frame classification (diarization) and x-vectors (speaker
verification: TDNN layers, statistics pooling and an additive-margin softmax loss).
"""

# No ``from __future__ import annotations``: the forwards' ``**kwargs: Unpack[...]`` annotations stay live objects,
# which is how tools that read a signature (the Trainer, the reference's tests) see the output switches.

import logging
import math
import os
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar, cast

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize

from modelyard.errors import ConfigurationError, WeightsError
from modelyard.layers.activations import get_activation
from modelyard.layers.attention import attention_head_size, padding_mask_to_additive, self_attention
from modelyard.layers.heads import TaskHead
from modelyard.layers.returns import OutputSwitches, Unpack, base_switches, check_switches, finish_output
from modelyard.layers.spec_augment import (
    compute_mask_indices,
    compute_mask_indices_np,
    sample_negative_indices,
)
from modelyard.layers.stack import LayerStack
from modelyard.modeling import PreTrainedModel
from modelyard.models.wav2vec2.configuration_wav2vec2 import Wav2Vec2Config
from modelyard.outputs import (
    CausalLMOutput,
    MaskedLMOutput,
    ModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
    Wav2Vec2BaseModelOutput,
    XVectorOutput,
)

logger = logging.getLogger(__name__)

_OutputT = TypeVar("_OutputT", bound=ModelOutput)  # what a task head's forward returns

# Where a model's per-language attention-adapter weights live (next to its config): the reference's names
WAV2VEC2_ADAPTER_SAFE_FILE = "adapter.{}.safetensors"
WAV2VEC2_ADAPTER_PT_FILE = "adapter.{}.bin"


# ---------------------------------------------------------------------------------------------- feature encoder
class _ConvLayer(nn.Module):
    """Conv1d -> optional norm -> activation. The reference's three conv layer classes differ only in the norm
    (none, GroupNorm with one group per channel, or LayerNorm over channels), so one class takes it as an option.
    """

    def __init__(self, config: Wav2Vec2Config, layer_id: int, norm: str | None) -> None:
        super().__init__()
        in_dim = config.conv_dim[layer_id - 1] if layer_id > 0 else 1
        out_dim = config.conv_dim[layer_id]
        self.conv = nn.Conv1d(
            in_dim,
            out_dim,
            kernel_size=config.conv_kernel[layer_id],
            stride=config.conv_stride[layer_id],
            bias=config.conv_bias,
        )
        self.norm = norm
        if norm == "group":
            self.layer_norm: nn.Module = nn.GroupNorm(num_groups=out_dim, num_channels=out_dim, affine=True)
        elif norm == "layer":
            self.layer_norm = nn.LayerNorm(out_dim, elementwise_affine=True)
        self.activation = get_activation(config.feat_extract_activation)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.conv(hidden_states)  # (batch, channels, frames)
        if self.norm == "group":
            hidden_states = self.layer_norm(hidden_states)
        elif self.norm == "layer":
            # LayerNorm normalises the last dim: (batch, channels, frames) -> (batch, frames, channels) and back
            hidden_states = self.layer_norm(hidden_states.transpose(-2, -1)).transpose(-2, -1)
        return self.activation(hidden_states)


class Wav2Vec2FeatureEncoder(LayerStack):
    """(batch, samples) waveform -> (batch, conv_dim[-1], frames) features."""

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__()
        count = len(config.conv_dim)
        if config.feat_extract_norm == "group":
            norms: list[str | None] = ["group"] + [None] * (count - 1)
        elif config.feat_extract_norm == "layer":
            norms = ["layer"] * count
        else:
            raise ValueError(
                f"config.feat_extract_norm must be 'group' or 'layer', got {config.feat_extract_norm!r}."
            )
        self.conv_layers = nn.ModuleList(_ConvLayer(config, i, norm) for i, norm in enumerate(norms))
        self._requires_grad = True

    def _freeze_parameters(self) -> None:
        for param in self.parameters():
            param.requires_grad = False
        self._requires_grad = False

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:  # type: ignore[override]  # convolutions over raw audio
        hidden_states = input_values[:, None]  # (batch, 1, samples)
        if self.gradient_checkpointing and self.training and self._requires_grad:
            # reentrant checkpointing only back-propagates into layers whose input requires grad
            hidden_states = hidden_states.detach().requires_grad_(True)
        for conv_layer in self.conv_layers:
            hidden_states = self.call_layer(conv_layer, hidden_states)
        return hidden_states


class Wav2Vec2FeatureProjection(nn.Module):
    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(config.conv_dim[-1], eps=config.layer_norm_eps)
        self.projection = nn.Linear(config.conv_dim[-1], config.hidden_size)
        self.dropout = nn.Dropout(config.feat_proj_dropout)

    def forward(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (projected, normalised-but-unprojected) features."""
        normed = self.layer_norm(hidden_states)
        return self.dropout(self.projection(normed)), normed


# ---------------------------------------------------------------------------------------------- encoder
class Wav2Vec2PositionalConvEmbedding(nn.Module):
    """Grouped convolution over time with weight norm (``dim=2``: one norm per kernel position).

    The weight is stored as ``conv.parametrizations.weight.original0`` (g) / ``original1`` (v), torch's
    parametrization names, which the reference library also writes; old ``weight_g`` / ``weight_v``
    checkpoints are renamed on load.
    """

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__()
        conv = nn.Conv1d(
            config.hidden_size,
            config.hidden_size,
            kernel_size=config.num_conv_pos_embeddings,
            padding=config.num_conv_pos_embeddings // 2,
            groups=config.num_conv_pos_embedding_groups,
        )
        self.conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        # "same" padding with an even kernel yields one frame too many: drop the last one
        self.num_pad_remove = 1 if config.num_conv_pos_embeddings % 2 == 0 else 0
        self.activation = get_activation(config.feat_extract_activation)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        # (batch, frames, hidden) -> (batch, hidden, frames) for the convolution, and back
        hidden_states = self.conv(hidden_states.transpose(1, 2))
        if self.num_pad_remove:
            hidden_states = hidden_states[:, :, : -self.num_pad_remove]
        return self.activation(hidden_states).transpose(1, 2)


class Wav2Vec2Attention(nn.Module):
    """Bidirectional multi-head self-attention (q/k/v/out projections with bias)."""

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__()
        self.config = config  # read at call time: attn_implementation can change after loading
        embed_dim, num_heads = config.hidden_size, config.num_attention_heads
        attention_head_size(embed_dim, num_heads)  # checks that the heads divide the width
        self.num_heads = num_heads
        self.dropout = config.attention_dropout
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(
        self,
        hidden_states: torch.Tensor,
        additive_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        projections = (self.q_proj, self.k_proj, self.v_proj)
        context, probs = self_attention(self, hidden_states, projections, self.num_heads, self.dropout,
                                        additive_mask, None, output_attentions)
        return self.out_proj(context), probs


class Wav2Vec2FeedForward(nn.Module):
    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__()
        self.intermediate_dropout = nn.Dropout(config.activation_dropout)
        self.intermediate_dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)
        self.output_dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.output_dropout = nn.Dropout(config.hidden_dropout)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.intermediate_dropout(
            self.intermediate_act_fn(self.intermediate_dense(hidden_states))
        )
        return self.output_dropout(self.output_dense(hidden_states))


class Wav2Vec2AttnAdapterLayer(nn.Module):
    """A per-layer bottleneck, LN -> Linear(hidden, adapter_attn_dim) -> ReLU -> Linear(back), added to the
    layer's output. Only these (and the CTC head) change between the languages of a multilingual model."""

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__()
        if config.adapter_attn_dim is None:
            raise ConfigurationError("Wav2Vec2AttnAdapterLayer needs config.adapter_attn_dim (the bottleneck width).")
        self.input_dim: int = config.adapter_attn_dim
        self.hidden_dim = config.hidden_size
        self.norm = nn.LayerNorm(config.hidden_size)
        self.linear_1 = nn.Linear(config.hidden_size, self.input_dim)
        self.act_fn = nn.ReLU()
        self.linear_2 = nn.Linear(self.input_dim, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act_fn(self.linear_1(self.norm(hidden_states))))


class Wav2Vec2EncoderLayer(nn.Module):
    """One Transformer block. Post-norm (base): LN(x + attn(x)), then LN(h + FF(h)).
    Pre-norm (``stable_layer_norm``): x + attn(LN(x)), then h + FF(LN(h)). Same submodules either way.

    With ``config.adapter_attn_dim`` a pre-norm layer also adds ``adapter_layer(h)`` at the end; as in the
    reference, post-norm layers have no attention adapter.
    """

    def __init__(self, config: Wav2Vec2Config, stable_layer_norm: bool) -> None:
        super().__init__()
        self.stable_layer_norm = stable_layer_norm
        self.attention = Wav2Vec2Attention(config)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.feed_forward = Wav2Vec2FeedForward(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.adapter_layer: Wav2Vec2AttnAdapterLayer | None = None
        if stable_layer_norm and config.adapter_attn_dim is not None:
            self.adapter_layer = Wav2Vec2AttnAdapterLayer(config)

    def forward(
        self,
        hidden_states: torch.Tensor,
        additive_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        residual = hidden_states
        if self.stable_layer_norm:
            attention, probs = self.attention(
                self.layer_norm(hidden_states), additive_mask, output_attentions
            )
            hidden_states = residual + self.dropout(attention)
            hidden_states = hidden_states + self.feed_forward(self.final_layer_norm(hidden_states))
            if self.adapter_layer is not None:
                hidden_states = hidden_states + self.adapter_layer(hidden_states)
        else:
            attention, probs = self.attention(hidden_states, additive_mask, output_attentions)
            hidden_states = self.layer_norm(residual + self.dropout(attention))
            hidden_states = self.final_layer_norm(hidden_states + self.feed_forward(hidden_states))
        return hidden_states, probs


class Wav2Vec2Encoder(LayerStack):
    """Positional convolution + layers. ``layer_norm`` runs before the layers (post-norm variant) or after
    them (stable variant); ``hidden_states`` holds each layer's input plus the final output."""

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__()
        self.stable_layer_norm = bool(config.do_stable_layer_norm)
        self.config = config  # layerdrop is read at call time, as the reference does (set it after building)
        self.pos_conv_embed = Wav2Vec2PositionalConvEmbedding(config)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.layers = nn.ModuleList(
            Wav2Vec2EncoderLayer(config, self.stable_layer_norm) for _ in range(config.num_hidden_layers)
        )

    def before_layers(  # takes the (batch, frames) bool mask, gives the layers their additive one
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None]]:
        """The positional convolution (and the post-norm variant's norm) before the layers."""
        additive_mask = None
        if attention_mask is not None:
            # padded frames enter the positional convolution as zeros, as in the reference
            hidden_states = hidden_states.masked_fill(~attention_mask[..., None], 0.0)
            additive_mask = padding_mask_to_additive(attention_mask, hidden_states.dtype)
        hidden_states = hidden_states + self.pos_conv_embed(hidden_states)
        if not self.stable_layer_norm:
            hidden_states = self.layer_norm(hidden_states)
        return self.dropout(hidden_states), (additive_mask,)

    def layerdrop_rate(self) -> float:
        return self.config.layerdrop

    def final_norm(self) -> nn.LayerNorm | None:
        return self.layer_norm if self.stable_layer_norm else None  # the stable variant's norm comes last


class Wav2Vec2AdapterLayer(nn.Module):
    """Conv1d(output_hidden_size -> 2x, kernel ``adapter_kernel_size``, stride ``adapter_stride``, padding 1)
    and a GLU, which halves the channels again: the sequence gets ``adapter_stride`` times shorter."""

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__()
        width = config.output_hidden_size
        self.conv = nn.Conv1d(width, 2 * width, config.adapter_kernel_size, stride=config.adapter_stride, padding=1)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return F.glu(self.conv(hidden_states), dim=1)


class Wav2Vec2Adapter(nn.Module):
    """``config.add_adapter``: the encoder's output, projected to ``output_hidden_size`` when that differs from
    ``hidden_size``, through ``num_adapter_layers`` strided convolutions (each skipped with probability
    ``layerdrop`` while training)."""

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__()
        self.proj: nn.Linear | None = None
        self.proj_layer_norm: nn.LayerNorm | None = None
        if config.output_hidden_size != config.hidden_size:
            self.proj = nn.Linear(config.hidden_size, config.output_hidden_size)
            self.proj_layer_norm = nn.LayerNorm(config.output_hidden_size)
        self.layers = nn.ModuleList(Wav2Vec2AdapterLayer(config) for _ in range(config.num_adapter_layers))
        self.layerdrop = config.layerdrop

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if self.proj is not None and self.proj_layer_norm is not None:
            hidden_states = self.proj_layer_norm(self.proj(hidden_states))
        hidden_states = hidden_states.transpose(1, 2)  # (batch, frames, width) -> (batch, width, frames)
        for layer in self.layers:
            if not self.training or torch.rand(()).item() >= self.layerdrop:
                hidden_states = layer(hidden_states)
        return hidden_states.transpose(1, 2)


# ---------------------------------------------------------------------------------------------- models
class Wav2Vec2PreTrainedModel(PreTrainedModel):
    _inplace_activations = ("activation", "intermediate_act_fn")  # optimize_for_inference(): their input is always a temporary
    _supports_sdpa = True
    config_class = Wav2Vec2Config
    base_model_prefix = "wav2vec2"
    main_input_name = "input_values"
    supports_gradient_checkpointing = True
    # torch < 2.1 (and old checkpoints) name the weight-norm factors weight_g / weight_v
    _checkpoint_key_renames = [
        *PreTrainedModel._checkpoint_key_renames,
        (r"\.weight_g$", ".parametrizations.weight.original0"),
        (r"\.weight_v$", ".parametrizations.weight.original1"),
    ]
    # pre-training checkpoints carry the quantizer and projection heads, which the other classes do not use
    _expected_unused_keys: ClassVar[list[str] | None] = [r"^quantizer\.", r"^project_q\.", r"^project_hid\."]
    target_lang: str | None = None  # the language whose attention adapters are loaded (load_adapter)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        with torch.no_grad():
            if isinstance(module, Wav2Vec2ForPreTraining):  # the two projections keep torch's Linear init
                module.project_hid.reset_parameters()
                module.project_q.reset_parameters()
            elif isinstance(module, Wav2Vec2GumbelVectorQuantizer):  # Gumbel softmax wants unit-scale logits
                module.weight_proj.weight.normal_(mean=0.0, std=1.0)
                module.weight_proj.bias.zero_()
                nn.init.uniform_(module.codevectors)
            elif isinstance(module, Wav2Vec2PositionalConvEmbedding):
                self._init_pos_conv(module.conv.parametrizations.weight)
                nn.init.zeros_(module.conv.bias)
            elif isinstance(module, parametrize.ParametrizationList):  # a weight-norm (g, v) pair on its own
                self._init_pos_conv(module)
            elif isinstance(module, Wav2Vec2FeatureProjection):
                bound = math.sqrt(1 / module.projection.in_features)
                nn.init.uniform_(module.projection.weight, -bound, bound)
                nn.init.uniform_(module.projection.bias, -bound, bound)
            elif isinstance(module, nn.Linear):
                module.weight.normal_(mean=0.0, std=std)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, (nn.LayerNorm, nn.GroupNorm)):
                module.weight.fill_(1.0)
                module.bias.zero_()
            elif isinstance(module, nn.Conv1d):
                if not parametrize.is_parametrized(module, "weight"):
                    nn.init.kaiming_normal_(module.weight)
                if module.bias is not None:
                    bound = math.sqrt(module.groups / (module.in_channels * module.kernel_size[0]))
                    nn.init.uniform_(module.bias, -bound, bound)
            elif isinstance(module, Wav2Vec2Model) and module.masked_spec_embed is not None:
                module.masked_spec_embed.uniform_()
            elif isinstance(module, AMSoftmaxLoss):  # class directions start as standard normal draws
                module.weight.normal_(mean=0.0, std=1.0)
            if isinstance(module, _WeightedLayerSumHead) and module.layer_weights is not None:
                module.layer_weights.fill_(1.0 / module.layer_weights.numel())

    @staticmethod
    def _init_pos_conv(weight_norm: nn.Module) -> None:
        """v as torch initialises a Conv1d weight (Kaiming-uniform, a = sqrt(5)); g = |v| so the effective weight
        starts equal to v. The reference's own normal init of this conv writes into the weight that the
        parametrization computes, not into g and v, so the torch default is what its models start from."""
        # torch types a module's attributes Tensor | Module
        v, g = cast(torch.Tensor, weight_norm.original1), cast(torch.Tensor, weight_norm.original0)
        nn.init.kaiming_uniform_(v, a=math.sqrt(5))
        g.copy_(torch.linalg.vector_norm(v, dim=(0, 1), keepdim=True))  # one norm per kernel position

    def _get_feat_extract_output_lengths(
        self, input_lengths: torch.Tensor | int, add_adapter: bool | None = None
    ) -> torch.Tensor | int:
        """Frames the model outputs for ``input_lengths`` samples (Conv1d length formula, no padding): the
        feature encoder's, then, with the output adapter (``add_adapter``, default ``config.add_adapter``), its
        strided convolutions' (kernel k with padding 1 shortens like kernel 1 for the usual k = 3)."""
        steps = list(zip(self.config.conv_kernel, self.config.conv_stride))
        if self.config.add_adapter if add_adapter is None else add_adapter:
            steps += [(1, self.config.adapter_stride)] * self.config.num_adapter_layers
        for kernel, stride in steps:
            if isinstance(input_lengths, torch.Tensor):
                input_lengths = torch.div(input_lengths - kernel, stride, rounding_mode="floor") + 1
            else:
                input_lengths = (input_lengths - kernel) // stride + 1
        return input_lengths

    def _get_feature_vector_attention_mask(
        self, feature_vector_length: int, attention_mask: torch.Tensor, add_adapter: bool | None = None
    ) -> torch.Tensor:
        """A (batch, samples) padding mask -> a (batch, frames) bool mask: the first L(len) frames are valid.

        Lengths are counted, not positions: the mask is assumed right-padded, as the feature extractor pads.
        """
        lengths = self._get_feat_extract_output_lengths(attention_mask.sum(-1), add_adapter=add_adapter)
        frames = torch.arange(feature_vector_length, device=attention_mask.device)
        return (
            frames[None, :] < torch.as_tensor(lengths, device=attention_mask.device).to(torch.long)[:, None]
        )

    def freeze_feature_encoder(self) -> None:
        """Stop gradient updates of the convolutional feature encoder (common when fine-tuning)."""
        self._base().feature_extractor._freeze_parameters()

    def freeze_feature_extractor(self) -> None:
        warnings.warn(
            "freeze_feature_extractor() is deprecated; call freeze_feature_encoder() instead.",
            FutureWarning,
            stacklevel=2,
        )
        self.freeze_feature_encoder()

    def freeze_base_model(self) -> None:
        """Train only the head (``lm_head``, or ``projector`` / ``classifier`` / ``layer_weights``)."""
        for param in self._base().parameters():
            param.requires_grad = False

    def _base(self) -> "Wav2Vec2Model":  # defined below
        return self if isinstance(self, Wav2Vec2Model) else self.wav2vec2  # type: ignore[return-value]  # task heads hold the base model as wav2vec2

    # ------------------------------------------------------------------ attention adapters
    def _get_adapters(self) -> dict[str, nn.Parameter]:
        """The parameters one language's adapter file holds, by state-dict key: every layer's
        ``adapter_layer`` and, for CTC, the ``lm_head`` (each language has its own vocabulary)."""
        if self.config.adapter_attn_dim is None:
            raise ConfigurationError(
                f"{type(self).__name__} has no attention adapters: config.adapter_attn_dim is None. Build the model "
                "with adapter_attn_dim=<bottleneck width> to use adapters."
            )
        weights: dict[str, nn.Parameter] = {}
        for name, module in self.named_modules():
            if isinstance(module, Wav2Vec2AttnAdapterLayer):
                weights.update({f"{name}.{key}": param for key, param in module.named_parameters()})
        if isinstance(self, Wav2Vec2ForCTC):
            weights.update({f"lm_head.{key}": param for key, param in self.lm_head.named_parameters()})
        return weights

    def init_adapter_layers(self) -> None:
        """Initialise the attention adapters (and the CTC head) afresh, to train a new language's adapter."""
        for module in self.modules():
            if isinstance(module, Wav2Vec2AttnAdapterLayer):
                module.apply(self._init_weights)
        if isinstance(self, Wav2Vec2ForCTC):
            self._init_weights(self.lm_head)

    def load_adapter(self, target_lang: str, force_load: bool = True, *, use_safetensors: bool | None = None,
                     **hub_options: Any) -> None:
        """Swap in the adapter weights of ``target_lang``: ``adapter.<lang>.safetensors`` (or, failing that and
        unless ``use_safetensors=True``, ``adapter.<lang>.bin``) from the folder or repository the model was
        loaded from. ``hub_options``: ``revision``, ``cache_dir``, ``token``, ``local_files_only``,
        ``force_download``. The CTC head is rebuilt when the language's vocabulary has another size."""
        from modelyard.hub.files import FileSource

        if self.config.adapter_attn_dim is None:
            raise ConfigurationError(
                f"Cannot load the adapter of {target_lang!r}: config.adapter_attn_dim is None, so "
                f"{type(self).__name__} has no attention adapters. Use a checkpoint built with adapters."
            )
        if target_lang == self.target_lang and not force_load:
            logger.warning("The adapter weights of %r are already loaded.", target_lang)
            return
        location = self.config.name_or_path
        if not location:
            raise ConfigurationError(
                f"Cannot load the adapter of {target_lang!r}: the model was not loaded from a folder or repository "
                "(config.name_or_path is empty). Load it with from_pretrained, or set config.name_or_path to the "
                "folder that holds the adapter files."
            )
        options = {k: hub_options.pop(k) for k in list(hub_options)
                   if k in ("revision", "cache_dir", "token", "local_files_only", "force_download")}
        hub_options.pop("resume_download", None)  # the reference's deprecated, ignored flag
        hub_options.pop("proxies", None)
        if hub_options:
            raise TypeError(f"load_adapter() got unexpected keyword arguments {sorted(hub_options)}.")
        self._load_adapter_from(FileSource.open(location, **options), target_lang, use_safetensors=use_safetensors)

    def _load_adapter_from(self, source: Any, target_lang: str, *, use_safetensors: bool | None) -> None:
        from modelyard.weights.checkpoint import Checkpoint

        path = None
        if use_safetensors is not False:
            path = source.get(WAV2VEC2_ADAPTER_SAFE_FILE.format(target_lang), required=bool(use_safetensors))
            fmt = "safetensors"
        if path is None:
            path = source.get(WAV2VEC2_ADAPTER_PT_FILE.format(target_lang), required=True)
            fmt = "pickle"
        checkpoint = Checkpoint.from_files([path], fmt)  # a pickle holding more than tensors is refused
        state = dict(checkpoint.read(checkpoint.keys()))
        expected = self._get_adapters()
        unexpected, missing = sorted(set(state) - set(expected)), sorted(set(expected) - set(state))
        misshapen = sorted(k for k in set(state) & set(expected)
                           if k != "lm_head.weight" and k != "lm_head.bias" and state[k].shape != expected[k].shape)
        if unexpected or missing or misshapen:
            raise WeightsError(
                f"The adapter weights {os.fspath(path)!r} do not fit {type(self).__name__}: unexpected keys "
                f"{unexpected}, missing keys {missing}, other shapes {misshapen}. Check that the file belongs to "
                "this model (same hidden_size and adapter_attn_dim)."
            )
        head = getattr(self, "lm_head", None)
        if isinstance(head, nn.Linear) and "lm_head.weight" in state and state["lm_head.weight"].shape[0] != head.out_features:
            vocab_size = state["lm_head.weight"].shape[0]  # this language's vocabulary
            self.lm_head = nn.Linear(head.in_features, vocab_size, device=head.weight.device, dtype=head.weight.dtype)
            self.config.vocab_size = vocab_size
            expected = self._get_adapters()
        with torch.no_grad():
            for key, param in expected.items():
                param.copy_(state[key].to(dtype=param.dtype, device=param.device))
        self.target_lang = target_lang


class Wav2Vec2Model(Wav2Vec2PreTrainedModel):
    """The bare encoder: ``last_hidden_state`` (batch, frames, hidden) and ``extract_features`` (the
    normalised convolutional features, batch x frames x conv_dim[-1])."""

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__(config)
        self.feature_extractor = Wav2Vec2FeatureEncoder(config)
        self.feature_projection = Wav2Vec2FeatureProjection(config)
        # the learned "masked frame" vector only exists when SpecAugment can mask frames
        self.masked_spec_embed: nn.Parameter | None = None
        if config.mask_time_prob > 0.0 or config.mask_feature_prob > 0.0:
            self.masked_spec_embed = nn.Parameter(torch.empty(config.hidden_size).uniform_())
        self.encoder = Wav2Vec2Encoder(config)
        self.adapter = Wav2Vec2Adapter(config) if config.add_adapter else None
        self.post_init()

    def _mask_hidden_states(
        self,
        hidden_states: torch.Tensor,
        mask_time_indices: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """SpecAugment: replace masked frames by ``masked_spec_embed``, zero masked feature channels."""
        if not getattr(self.config, "apply_spec_augment", True):
            return hidden_states
        batch, frames, hidden = hidden_states.shape
        if mask_time_indices is None and self.training and self.config.mask_time_prob > 0:
            mask_time_indices = compute_mask_indices(
                (batch, frames),
                mask_prob=self.config.mask_time_prob,
                mask_length=self.config.mask_time_length,
                attention_mask=attention_mask,
                min_masks=self.config.mask_time_min_masks,
            ).to(hidden_states.device)
        if mask_time_indices is not None:
            if self.masked_spec_embed is None:
                raise ValueError(
                    "mask_time_indices were given but the model has no masked_spec_embed (mask_time_prob and "
                    "mask_feature_prob are 0 in the config); set mask_time_prob > 0 when building the model."
                )
            embed = self.masked_spec_embed.to(hidden_states.dtype)
            hidden_states = torch.where(mask_time_indices.bool()[..., None], embed, hidden_states)
        if self.training and self.config.mask_feature_prob > 0:
            feature_mask = compute_mask_indices(
                (batch, hidden),
                mask_prob=self.config.mask_feature_prob,
                mask_length=self.config.mask_feature_length,
                min_masks=self.config.mask_feature_min_masks,
            ).to(hidden_states.device)
            hidden_states = hidden_states.masked_fill(feature_mask[:, None, :], 0.0)
        return hidden_states

    def forward(
        self,
        input_values: torch.Tensor | None,
        attention_mask: torch.Tensor | None = None,
        mask_time_indices: torch.Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> Wav2Vec2BaseModelOutput | tuple[Any, ...]:
        output_attentions, output_hidden_states = base_switches(self, kwargs)
        if input_values is None:
            raise ValueError("Wav2Vec2Model needs input_values (batch, samples); got None.")
        weight_dtype: torch.dtype = self.feature_extractor.conv_layers[0].conv.weight.dtype  # type: ignore[union-attr,assignment]  # torch types a module's attributes Tensor | Module
        if input_values.dtype != weight_dtype:  # e.g. float32 audio into a half-precision model
            input_values = input_values.to(weight_dtype)
        # (batch, conv_dim[-1], frames) -> (batch, frames, conv_dim[-1])
        features = self.feature_extractor(input_values).transpose(1, 2)
        frame_mask = None
        if attention_mask is not None:  # over the encoder's frames: the output adapter comes after it
            frame_mask = self._get_feature_vector_attention_mask(features.shape[1], attention_mask, add_adapter=False)
        hidden_states, features = self.feature_projection(features)
        hidden_states = self._mask_hidden_states(
            hidden_states, mask_time_indices=mask_time_indices, attention_mask=frame_mask
        )
        encoded = self.encoder(hidden_states, frame_mask, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states)
        hidden_states = encoded.last_hidden_state
        if self.adapter is not None:
            hidden_states = self.adapter(hidden_states)
        output = Wav2Vec2BaseModelOutput(hidden_states, features, encoded.hidden_states, encoded.attentions)
        return finish_output(output, kwargs.get("return_dict"), self.config)


class _AudioInputs(NamedTuple):
    """A task head's inputs, as its forward got them."""

    input_values: torch.Tensor | None
    attention_mask: torch.Tensor | None
    labels: torch.Tensor | None
    output_attentions: bool | None
    output_hidden_states: bool | None

class _AudioHead(Wav2Vec2PreTrainedModel, Generic[_OutputT]):
    """The forward of the heads that take ``labels`` (CTC, sequence and frame classification, x-vector, masked
    LM), written once: each head computes its output object in :meth:`task_output`."""

    def task_output(self, inputs: _AudioInputs) -> _OutputT:
        raise NotImplementedError(f"{type(self).__name__} must define task_output(inputs).")

    def forward(
        self,
        input_values: torch.Tensor | None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> _OutputT | tuple[Any, ...]:
        check_switches(self, kwargs)  # the heads read the two they pass on: any other keyword is refused here
        output = self.task_output(_AudioInputs(input_values, attention_mask, labels, kwargs.get("output_attentions"),
                                               kwargs.get("output_hidden_states")))
        return finish_output(output, kwargs.get("return_dict"), self.config)


class _WeightedLayerSumHead(Wav2Vec2PreTrainedModel):
    """Base of the heads that read the encoder's frames, or with ``use_weighted_layer_sum`` a softmax-weighted
    sum of every layer's hidden states (sequence and frame classification, x-vectors)."""

    wav2vec2: Wav2Vec2Model
    layer_weights: nn.Parameter | None

    def build_base_model(self, config: Wav2Vec2Config) -> None:
        """``wav2vec2`` and, with ``use_weighted_layer_sum``, ``layer_weights``: one weight per layer output and
        for the layers' input, starting equal."""
        self.wav2vec2 = Wav2Vec2Model(config)
        count = config.num_hidden_layers + 1
        self.layer_weights = nn.Parameter(torch.full((count,), 1.0 / count)) if config.use_weighted_layer_sum else None

    def encode_frames(self, inputs: _AudioInputs) -> tuple[Wav2Vec2BaseModelOutput, torch.Tensor]:
        """The base model's output and the (batch, frames, hidden) frames the head reads."""
        weights = self.layer_weights
        all_layers = True if weights is not None else inputs.output_hidden_states  # the weighted sum needs them
        outputs = self.wav2vec2(inputs.input_values, inputs.attention_mask, output_attentions=inputs.output_attentions,
                                output_hidden_states=all_layers, return_dict=True)
        if weights is None:
            return outputs, outputs.last_hidden_state
        stacked = torch.stack(outputs.hidden_states, dim=1)  # (batch, layers+1, frames, hidden)
        return outputs, (stacked * F.softmax(weights, dim=-1).view(-1, 1, 1)).sum(dim=1)


class Wav2Vec2ForCTC(_AudioHead[CausalLMOutput]):
    """Wav2Vec2 with a linear layer over the character vocabulary per frame, trained with CTC.

    Labels are (batch, target_length) token ids padded with -100 (or any negative value); the CTC blank
    is ``config.pad_token_id``.

    A model with attention adapters (``config.adapter_attn_dim``) loads the adapter of ``target_lang``
    (``from_pretrained(path, target_lang="fra")``) from ``adapter.fra.safetensors`` after its own weights;
    :meth:`load_adapter` switches languages later.
    """

    def __init__(self, config: Wav2Vec2Config, target_lang: str | None = None) -> None:
        super().__init__(config)
        if target_lang is not None and config.adapter_attn_dim is None:
            raise ConfigurationError(
                f"target_lang={target_lang!r} selects an adapter, but config.adapter_attn_dim is None (the model has "
                "no attention adapters); drop target_lang or use a checkpoint with adapters."
            )
        self.target_lang = target_lang
        if config.vocab_size is None:
            raise ValueError(
                "Wav2Vec2ForCTC needs config.vocab_size (the size of the CTC vocabulary); set it in the config, "
                "e.g. Wav2Vec2ForCTC.from_pretrained(..., vocab_size=len(tokenizer))."
            )
        self.wav2vec2 = Wav2Vec2Model(config)
        self.dropout = nn.Dropout(config.final_dropout)
        # the output adapter may change the width (output_hidden_size)
        width = config.output_hidden_size if config.add_adapter else config.hidden_size
        self.lm_head = nn.Linear(width, config.vocab_size)
        self.post_init()

    @classmethod
    def _from_source(cls, location: Any, *args: Any, **kwargs: Any) -> Any:
        loaded = super()._from_source(location, *args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        if model.target_lang is not None and location is not None:  # the language's adapter replaces the saved one
            model._load_adapter_from(location, model.target_lang, use_safetensors=kwargs.get("use_safetensors"))
        return loaded

    def task_output(self, inputs: _AudioInputs) -> CausalLMOutput:
        labels = inputs.labels
        if labels is not None and labels.numel() and int(labels.max()) >= self.config.vocab_size:
            raise ValueError(
                f"CTC labels must be below vocab_size={self.config.vocab_size}, got {int(labels.max())}; check the "
                "tokenizer matches the model, or set vocab_size."
            )
        outputs = self.wav2vec2(inputs.input_values, inputs.attention_mask, output_attentions=inputs.output_attentions,
                                output_hidden_states=inputs.output_hidden_states, return_dict=True)
        logits = self.lm_head(self.dropout(outputs.last_hidden_state))
        loss = None
        if labels is not None:
            loss = self._ctc_loss(logits, labels, inputs.input_values, inputs.attention_mask)  # type: ignore[arg-type]  # input_values is required (None fails in the base model above)
        return CausalLMOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions)

    def _ctc_loss(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor,
        input_values: torch.Tensor,
        attention_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        if attention_mask is None:
            attention_mask = torch.ones(input_values.shape, dtype=torch.long, device=input_values.device)
        input_lengths = self._get_feat_extract_output_lengths(attention_mask.sum(-1)).to(torch.long)  # type: ignore[union-attr]  # attention_mask is made above when None
        label_mask = labels >= 0  # padding is -100
        target_lengths = label_mask.sum(-1)
        targets = labels.masked_select(label_mask)
        # (batch, frames, vocab) -> (frames, batch, vocab), float32: ctc_loss has no half-precision kernel
        log_probs = F.log_softmax(logits, dim=-1, dtype=torch.float32).transpose(0, 1)
        blank = self.config.pad_token_id
        if blank is None:
            raise ConfigurationError(
                "The CTC loss needs config.pad_token_id (the id of the blank token), but it is None; set it to the "
                "tokenizer's pad token id (pad_token_id=tokenizer.pad_token_id)."
            )
        with torch.backends.cudnn.flags(enabled=False):  # cuDNN's CTC gives different results and limits
            return F.ctc_loss(
                log_probs,
                targets,
                input_lengths,
                target_lengths,
                blank=blank,
                reduction=self.config.ctc_loss_reduction,
                zero_infinity=self.config.ctc_zero_infinity,
            )


class Wav2Vec2ForSequenceClassification(TaskHead, _WeightedLayerSumHead, _AudioHead[SequenceClassifierOutput]):
    """Utterance classification: project frames, average the valid ones, classify.

    With ``use_weighted_layer_sum`` the frames are a softmax-weighted sum of every layer's hidden states.
    The loss is cross-entropy over ``num_labels`` classes, as in the reference (not ``problem_type``).
    """

    output_class = SequenceClassifierOutput

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__(config)
        _refuse_output_adapter(config, type(self).__name__)
        self.build_base_model(config)
        self.projector = nn.Linear(config.hidden_size, config.classifier_proj_size)
        self.classifier = nn.Linear(config.classifier_proj_size, config.num_labels)
        self.post_init()

    def task_output(self, inputs: _AudioInputs) -> SequenceClassifierOutput:
        outputs, frames = self.encode_frames(inputs)
        hidden_states = self.projector(frames)
        if inputs.attention_mask is None:
            pooled = hidden_states.mean(dim=1)
        else:
            frame_mask = self._get_feature_vector_attention_mask(hidden_states.shape[1], inputs.attention_mask)
            summed = hidden_states.masked_fill(~frame_mask[..., None], 0.0).sum(dim=1)
            pooled = summed / frame_mask.sum(dim=1).view(-1, 1)
        return self.head_output(self.classifier(pooled), outputs, inputs.labels)  # type: ignore[return-value]  # output_class

    def head_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))


def _refuse_output_adapter(config: Wav2Vec2Config, head: str) -> None:
    if config.add_adapter:
        raise ConfigurationError(
            f"{head} reads the encoder's frames, which the output adapter (config.add_adapter=True) would shorten "
            "and re-project; build it with add_adapter=False."
        )


class Wav2Vec2ForAudioFrameClassification(_WeightedLayerSumHead, _AudioHead[TokenClassifierOutput]):
    """A label per frame (speaker diarization: ``num_labels`` speakers, any of whom may talk in a frame).

    ``labels`` are (batch, frames, num_labels) scores, e.g. one-hot; as in the reference, the loss is the
    cross-entropy against each frame's highest-scoring label.
    """

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__(config)
        _refuse_output_adapter(config, type(self).__name__)
        self.build_base_model(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.num_labels = config.num_labels
        self.post_init()

    def task_output(self, inputs: _AudioInputs) -> TokenClassifierOutput:
        outputs, frames = self.encode_frames(inputs)
        logits = self.classifier(frames)  # (batch, frames, num_labels)
        loss = None
        if inputs.labels is not None:
            targets = inputs.labels.reshape(-1, self.num_labels).argmax(dim=1)
            loss = F.cross_entropy(logits.reshape(-1, self.num_labels), targets)
        return TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


class AMSoftmaxLoss(nn.Module):
    """Additive-margin softmax: cross-entropy over ``scale`` * cosine(embedding, class direction), with
    ``margin`` taken off the true class's cosine so that classes must be separated by at least that much."""

    def __init__(self, input_dim: int, num_labels: int, scale: float = 30.0, margin: float = 0.4) -> None:
        super().__init__()
        self.scale = scale
        self.margin = margin
        self.num_labels = num_labels
        self.weight = nn.Parameter(torch.randn(input_dim, num_labels))  # one direction per class, in columns

    def forward(self, hidden_states: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = labels.flatten()
        cosine = F.normalize(hidden_states, dim=1) @ F.normalize(self.weight, dim=0)  # (batch, num_labels)
        true_class = F.one_hot(labels, self.num_labels).bool()
        logits = self.scale * torch.where(true_class, cosine - self.margin, cosine)
        return F.cross_entropy(logits, labels)


class TDNNLayer(nn.Module):
    """A time-delay layer: a dilated 1-D convolution over frames, then ReLU. Its weight is stored as a Linear
    (``kernel``: out x (kernel_size * in)), the checkpoints' layout, and applied as a convolution."""

    def __init__(self, config: Wav2Vec2Config, layer_id: int = 0) -> None:
        super().__init__()
        self.in_conv_dim = config.tdnn_dim[layer_id - 1] if layer_id > 0 else config.tdnn_dim[layer_id]
        self.out_conv_dim = config.tdnn_dim[layer_id]
        self.kernel_size = config.tdnn_kernel[layer_id]
        self.dilation = config.tdnn_dilation[layer_id]
        self.kernel = nn.Linear(self.in_conv_dim * self.kernel_size, self.out_conv_dim)
        self.activation = nn.ReLU()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        # the Linear's input is (kernel position, channel) flattened: (out, k * in) -> (out, in, k) conv weight
        weight = self.kernel.weight.view(self.out_conv_dim, self.kernel_size, self.in_conv_dim).transpose(1, 2)
        hidden_states = F.conv1d(hidden_states.transpose(1, 2), weight, self.kernel.bias, dilation=self.dilation)
        return self.activation(hidden_states.transpose(1, 2))


class Wav2Vec2ForXVector(_WeightedLayerSumHead, _AudioHead[XVectorOutput]):
    """Speaker embeddings (x-vectors): frames -> ``projector`` -> TDNN layers -> mean and standard deviation over
    the valid frames -> ``feature_extractor`` (the embedding, ``xvector_output_dim``) -> ``classifier``.

    ``labels`` (batch,) are speaker ids below ``num_labels``; the loss is :class:`AMSoftmaxLoss` over the
    logits. Compare speakers by the cosine similarity of ``embeddings``.
    """

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__(config)
        self.build_base_model(config)
        self.projector = nn.Linear(config.hidden_size, config.tdnn_dim[0])
        self.tdnn = nn.ModuleList(TDNNLayer(config, i) for i in range(len(config.tdnn_dim)))
        self.feature_extractor = nn.Linear(config.tdnn_dim[-1] * 2, config.xvector_output_dim)
        self.classifier = nn.Linear(config.xvector_output_dim, config.xvector_output_dim)
        self.objective = AMSoftmaxLoss(config.xvector_output_dim, config.num_labels)
        self.post_init()

    def _get_tdnn_output_lengths(self, input_lengths: torch.Tensor | int) -> torch.Tensor | int:
        """Frames left after the TDNN layers (unpadded convolutions of stride 1; the reference ignores the
        dilation here, and so does this count, so that the pooled frames are the same)."""
        for kernel in self.config.tdnn_kernel:
            input_lengths = input_lengths - kernel + 1
        return input_lengths

    def task_output(self, inputs: _AudioInputs) -> XVectorOutput:
        outputs, frames = self.encode_frames(inputs)
        hidden_states = self.projector(frames)
        for layer in self.tdnn:
            hidden_states = layer(hidden_states)  # (batch, frames', tdnn_dim[-1])
        if inputs.attention_mask is None:
            mean, std = hidden_states.mean(dim=1), hidden_states.std(dim=1)
        else:
            mean, std = self._pooled_statistics(hidden_states, inputs.attention_mask)
        embeddings = self.feature_extractor(torch.cat([mean, std], dim=-1))
        logits = self.classifier(embeddings)
        loss = self.objective(logits, inputs.labels) if inputs.labels is not None else None
        return XVectorOutput(loss=loss, logits=logits, embeddings=embeddings, hidden_states=outputs.hidden_states,
                             attentions=outputs.attentions)

    def _pooled_statistics(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and (unbiased) standard deviation over each sequence's first L frames, L from its unpadded length."""
        lengths = self._get_tdnn_output_lengths(self._get_feat_extract_output_lengths(attention_mask.sum(dim=1)))
        # the count ignores the dilation, so it can exceed the frames there are: those are all taken, then
        lengths = torch.as_tensor(lengths, device=hidden_states.device).to(torch.long).clamp(max=hidden_states.shape[1])
        valid = (torch.arange(hidden_states.shape[1], device=hidden_states.device)[None, :] < lengths[:, None])
        valid = valid[..., None].to(hidden_states.dtype)  # (batch, frames', 1)
        count = lengths[:, None].to(hidden_states.dtype)
        mean = (hidden_states * valid).sum(dim=1) / count
        variance = (((hidden_states - mean[:, None]) ** 2) * valid).sum(dim=1) / (count - 1)
        return mean, variance.sqrt()


# ---------------------------------------------------------------------------------------------- pre-training
# The reference's names for the NumPy helpers that pre-training data collators call
_compute_mask_indices = compute_mask_indices_np
_sample_negative_indices = sample_negative_indices


@dataclass
class Wav2Vec2ForPreTrainingOutput(ModelOutput):
    """:class:`Wav2Vec2ForPreTraining`'s output. ``loss`` = ``contrastive_loss`` + ``diversity_loss_weight`` *
    ``diversity_loss`` (only with ``sampled_negative_indices``); ``projected_states`` and
    ``projected_quantized_states`` are (batch, frames, proj_codevector_dim)."""

    loss: torch.Tensor | None = None
    projected_states: torch.Tensor | None = None
    projected_quantized_states: torch.Tensor | None = None
    codevector_perplexity: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
    contrastive_loss: torch.Tensor | None = None
    diversity_loss: torch.Tensor | None = None


class Wav2Vec2GumbelVectorQuantizer(nn.Module):
    """Product quantization of the convolutional features: ``weight_proj`` scores ``num_codevectors_per_group``
    entries in each of ``num_codevector_groups`` codebooks (``codevectors``); one entry per group is picked (a
    hard Gumbel-softmax sample while training, the argmax otherwise) and the picks are concatenated."""

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__()
        self.num_groups = config.num_codevector_groups
        self.num_vars = config.num_codevectors_per_group
        if config.codevector_dim % self.num_groups != 0:
            raise ConfigurationError(
                f"codevector_dim ({config.codevector_dim}) must be a multiple of num_codevector_groups "
                f"({self.num_groups}): each group's entries are concatenated; change one of them in the config."
            )
        self.codevectors = nn.Parameter(
            torch.empty(1, self.num_groups * self.num_vars, config.codevector_dim // self.num_groups)
        )
        self.weight_proj = nn.Linear(config.conv_dim[-1], self.num_groups * self.num_vars)
        self.temperature = 2.0  # of the Gumbel softmax; decayed during training (set_gumbel_temperature)

    @staticmethod
    def _compute_perplexity(probs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Sum over groups of exp(entropy of the mean (masked frames') distribution over entries)."""
        if mask is not None:
            keep = mask.flatten()[:, None, None].expand(probs.shape)
            marginal = torch.where(keep, probs, torch.zeros_like(probs)).sum(dim=0) / mask.sum()
        else:
            marginal = probs.mean(dim=0)
        return torch.exp(-torch.sum(marginal * torch.log(marginal + 1e-7), dim=-1)).sum()

    def forward(
        self, hidden_states: torch.Tensor, mask_time_indices: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, frames, _ = hidden_states.shape
        scores = self.weight_proj(hidden_states).view(batch * frames * self.num_groups, -1)  # (rows, entries)
        if self.training:
            probs = F.gumbel_softmax(scores.float(), tau=self.temperature, hard=True).type_as(scores)
            soft = torch.softmax(scores.view(batch * frames, self.num_groups, -1).float(), dim=-1)
            perplexity = self._compute_perplexity(soft, mask_time_indices)
        else:
            probs = scores.new_zeros(scores.shape).scatter_(-1, scores.argmax(dim=-1).view(-1, 1), 1.0)
            perplexity = self._compute_perplexity(probs.view(batch * frames, self.num_groups, -1), mask_time_indices)
        # (frames, groups * entries, 1) * (1, groups * entries, dim) summed per group -> (batch, frames, groups * dim)
        picked = (probs.view(batch * frames, -1).unsqueeze(-1) * self.codevectors)
        codevectors = picked.view(batch * frames, self.num_groups, self.num_vars, -1).sum(-2).view(batch, frames, -1)
        return codevectors, perplexity


class Wav2Vec2ForPreTraining(Wav2Vec2PreTrainedModel):
    """Self-supervised pre-training (wav2vec 2.0): the encoder's outputs at masked frames (``mask_time_indices``)
    must pick the quantized feature of their own frame among distractors (``sampled_negative_indices``, e.g.
    from ``_sample_negative_indices``) by cosine similarity (``project_hid`` / ``project_q`` map both to
    ``proj_codevector_dim``), and a diversity term keeps the codebooks used."""

    _expected_unused_keys: ClassVar[list[str] | None] = None  # it uses the quantizer and projections

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__(config)
        self.wav2vec2 = Wav2Vec2Model(config)
        self.dropout_features = nn.Dropout(config.feat_quantizer_dropout)
        self.quantizer = Wav2Vec2GumbelVectorQuantizer(config)
        self.project_hid = nn.Linear(config.hidden_size, config.proj_codevector_dim)
        self.project_q = nn.Linear(config.codevector_dim, config.proj_codevector_dim)
        self.post_init()

    def set_gumbel_temperature(self, temperature: float) -> None:
        """The Gumbel-softmax temperature of the quantizer (annealed during pre-training)."""
        self.quantizer.temperature = temperature

    @staticmethod
    def compute_contrastive_logits(
        target_features: torch.Tensor,
        negative_features: torch.Tensor,
        predicted_features: torch.Tensor,
        temperature: float = 0.1,
    ) -> torch.Tensor:
        """Cosine similarity of the predictions with [positive, negatives...], divided by ``temperature``:
        (1 + negatives, batch, frames)."""
        targets = torch.cat([target_features, negative_features], dim=0)
        logits = torch.cosine_similarity(predicted_features.float(), targets.float(), dim=-1).type_as(targets)
        return logits / temperature

    def forward(
        self,
        input_values: torch.Tensor | None,
        attention_mask: torch.Tensor | None = None,
        mask_time_indices: torch.Tensor | None = None,
        sampled_negative_indices: torch.Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> Wav2Vec2ForPreTrainingOutput | tuple[Any, ...]:
        return_dict = kwargs.pop("return_dict", None)
        if mask_time_indices is not None:
            mask_time_indices = mask_time_indices.to(torch.bool)
        outputs = self.wav2vec2(input_values, attention_mask, mask_time_indices, return_dict=True, **kwargs)
        projected = self.project_hid(outputs.last_hidden_state)  # (batch, frames, proj)
        features = self.dropout_features(outputs.extract_features)
        quantized, perplexity = self.quantizer(features, mask_time_indices=mask_time_indices)
        quantized = self.project_q(quantized.to(self.project_q.weight.dtype))  # (batch, frames, proj)
        loss = contrastive_loss = diversity_loss = None
        if sampled_negative_indices is not None:
            if mask_time_indices is None:
                raise ValueError(
                    "sampled_negative_indices need mask_time_indices (the frames the loss scores); pass both, e.g. "
                    "from _compute_mask_indices and _sample_negative_indices."
                )
            contrastive_loss = self._contrastive_loss(projected, quantized, mask_time_indices, sampled_negative_indices)
            num_codevectors = self.config.num_codevectors_per_group * self.config.num_codevector_groups
            diversity_loss = (num_codevectors - perplexity) / num_codevectors * mask_time_indices.sum()
            loss = contrastive_loss + self.config.diversity_loss_weight * diversity_loss
        output = Wav2Vec2ForPreTrainingOutput(
            loss=loss, projected_states=projected, projected_quantized_states=quantized,
            codevector_perplexity=perplexity, hidden_states=outputs.hidden_states, attentions=outputs.attentions,
            contrastive_loss=contrastive_loss, diversity_loss=diversity_loss,
        )
        return finish_output(output, return_dict, self.config)

    def _contrastive_loss(self, projected: torch.Tensor, quantized: torch.Tensor, mask_time_indices: torch.Tensor,
                          sampled_negative_indices: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (summed over masked frames) of picking the own frame's quantized vector (index 0)."""
        batch, frames, size = quantized.shape
        # (batch * frames * negatives, size) -> (negatives, batch, frames, size)
        negatives = quantized.view(-1, size)[sampled_negative_indices.long().view(-1)]
        negatives = negatives.view(batch, frames, -1, size).permute(2, 0, 1, 3)
        logits = self.compute_contrastive_logits(quantized[None, :], negatives, projected,
                                                 self.config.contrastive_logits_temperature)
        # a distractor equal to the positive (a little-used codebook) must not count against it
        same = (quantized == negatives).all(-1)
        if same.any():
            logits[1:][same] = float("-inf")
        # (1 + negatives, batch, frames) -> (frames * batch, 1 + negatives); unmasked frames are ignored (-100)
        logits = logits.transpose(0, 2).reshape(-1, logits.size(0))
        target = ((1 - mask_time_indices.long()) * -100).transpose(0, 1).flatten()
        return F.cross_entropy(logits.float(), target, reduction="sum")


class Wav2Vec2ForMaskedLM(_AudioHead[MaskedLMOutput]):
    """Deprecated (use :class:`Wav2Vec2ForCTC`): per-frame vocabulary logits from ``lm_head``, no loss. As in
    the reference, ``attention_mask`` and ``labels`` are accepted but not used."""

    def __init__(self, config: Wav2Vec2Config) -> None:
        super().__init__(config)
        warnings.warn("Wav2Vec2ForMaskedLM is deprecated; use Wav2Vec2ForCTC instead.", FutureWarning, stacklevel=2)
        self.wav2vec2 = Wav2Vec2Model(config)
        self.dropout = nn.Dropout(config.final_dropout)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size)
        self.post_init()

    def task_output(self, inputs: _AudioInputs) -> MaskedLMOutput:
        # as in the reference, the padding mask is not used
        outputs = self.wav2vec2(inputs.input_values, output_attentions=inputs.output_attentions,
                                output_hidden_states=inputs.output_hidden_states, return_dict=True)
        logits = self.lm_head(self.dropout(outputs.last_hidden_state))
        return MaskedLMOutput(logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions)


__all__ = [
    "WAV2VEC2_ADAPTER_PT_FILE",
    "WAV2VEC2_ADAPTER_SAFE_FILE",
    "AMSoftmaxLoss",
    "TDNNLayer",
    "Wav2Vec2ForAudioFrameClassification",
    "Wav2Vec2ForCTC",
    "Wav2Vec2ForMaskedLM",
    "Wav2Vec2ForPreTraining",
    "Wav2Vec2ForPreTrainingOutput",
    "Wav2Vec2ForSequenceClassification",
    "Wav2Vec2ForXVector",
    "Wav2Vec2GumbelVectorQuantizer",
    "Wav2Vec2Model",
    "Wav2Vec2PreTrainedModel",
]
