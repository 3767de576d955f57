"""ViT: a pre-norm Transformer encoder over 16x16 image patches plus a CLS token.

What differs from the BERT-style encoders: the input is a patch projection (one strided ``Conv2d``) with a
learned CLS token and learned absolute position embeddings (bicubically interpolated for other image
sizes); each layer normalises *before* attention and MLP (``layernorm_before`` / ``layernorm_after``); a
final ``layernorm`` follows the encoder. Attention math is the shared SDPA path in ``layers/attention``.
"""

# No ``from __future__ import annotations``: the forwards' ``**kwargs: Unpack[...]`` annotations stay live objects,
# which is how tools that read a signature (the Trainer, the reference's tests) see the output switches.

import math
from typing import Any, Generic, NamedTuple, TypeVar

import torch
from torch import nn

from modelyard.layers.attention import QueryKeyValueAttention
from modelyard.layers.heads import SequenceClassificationHead
from modelyard.layers.mlp import Intermediate, OutputProjection
from modelyard.layers.pooling import FirstTokenPooler
from modelyard.layers.pruning import prune_linear
from modelyard.layers.returns import OutputSwitches, Unpack, base_switches, finish_output
from modelyard.layers.stack import LayerStack
from modelyard.modeling import PreTrainedModel
from modelyard.models.vit.configuration_vit import ViTConfig
from modelyard.outputs import (
    BaseModelOutputWithPooling,
    ImageClassifierOutput,
    MaskedImageModelingOutput,
    ModelOutput,
)

_OutputT = TypeVar("_OutputT", bound=ModelOutput)  # what a forward returns


def _pair(value: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


# ---------------------------------------------------------------------------------------------- embeddings
class ViTPatchEmbeddings(nn.Module):
    """(batch, channels, height, width) pixels -> (batch, num_patches, hidden) patch vectors."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.image_size = _pair(config.image_size)
        self.patch_size = _pair(config.patch_size)
        self.num_channels = config.num_channels
        self.num_patches = (self.image_size[0] // self.patch_size[0]) * (
            self.image_size[1] // self.patch_size[1]
        )
        self.projection = nn.Conv2d(
            config.num_channels, config.hidden_size, kernel_size=self.patch_size, stride=self.patch_size
        )

    def forward(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False) -> torch.Tensor:
        _, channels, height, width = pixel_values.shape
        if channels != self.num_channels:
            raise ValueError(
                f"pixel_values have {channels} channels but the config says num_channels={self.num_channels}; "
                "convert the images (e.g. to RGB) or set num_channels in the config."
            )
        if not interpolate_pos_encoding and (height, width) != self.image_size:
            raise ValueError(
                f"Input image size ({height}*{width}) doesn't match the model ({self.image_size[0]}*"
                f"{self.image_size[1]}); resize the images, or pass interpolate_pos_encoding=True to interpolate "
                "the position embeddings."
            )
        # (batch, hidden, rows, cols) -> (batch, rows * cols, hidden)
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    """CLS token + patch embeddings + position embeddings; with ``use_mask_token`` the patches marked in
    ``bool_masked_pos`` are replaced by the learned ``mask_token`` first (masked image modelling)."""

    def __init__(self, config: ViTConfig, use_mask_token: bool = False) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size)) if use_mask_token else None
        self.patch_embeddings = ViTPatchEmbeddings(config)
        self.position_embeddings = nn.Parameter(
            torch.zeros(1, self.patch_embeddings.num_patches + 1, config.hidden_size)
        )
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.patch_size = _pair(config.patch_size)

    def interpolate_pos_encoding(self, embeddings: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Position embeddings resized (bicubic) to the patch grid of a ``height`` x ``width`` image."""
        num_patches = embeddings.shape[1] - 1
        num_positions = self.position_embeddings.shape[1] - 1
        if num_patches == num_positions and height == width and not torch.jit.is_tracing():
            return self.position_embeddings
        dim = embeddings.shape[-1]
        side = int(math.sqrt(num_positions))  # the trained grid is square
        class_pos = self.position_embeddings[:, :1]
        # (1, side * side, dim) -> (1, dim, side, side): interpolate over the spatial grid
        grid = self.position_embeddings[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)
        grid = nn.functional.interpolate(
            grid,
            size=(height // self.patch_size[0], width // self.patch_size[1]),
            mode="bicubic",
            align_corners=False,
        )
        # (1, dim, rows, cols) -> (1, rows * cols, dim)
        grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
        return torch.cat((class_pos, grid), dim=1)

    def forward(
        self,
        pixel_values: torch.Tensor,
        bool_masked_pos: torch.Tensor | None = None,
        interpolate_pos_encoding: bool = False,
    ) -> torch.Tensor:
        batch, _, height, width = pixel_values.shape
        patches = self.patch_embeddings(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        if bool_masked_pos is not None:
            if self.mask_token is None:
                raise ValueError(
                    "bool_masked_pos was given, but this model has no mask token; use ViTForMaskedImageModeling "
                    "(or ViTModel(config, use_mask_token=True))."
                )
            # (batch, patches) -> (batch, patches, 1): 1 where the patch is replaced by the mask token
            mask = bool_masked_pos.unsqueeze(-1).type_as(patches)
            patches = patches * (1.0 - mask) + self.mask_token.expand_as(patches) * mask
        embeddings = torch.cat((self.cls_token.expand(batch, -1, -1), patches), dim=1)
        if interpolate_pos_encoding:
            embeddings = embeddings + self.interpolate_pos_encoding(embeddings, height, width)
        else:
            embeddings = embeddings + self.position_embeddings
        return self.dropout(embeddings)


# ---------------------------------------------------------------------------------------------- encoder
class ViTAttention(nn.Module):
    """Self-attention (``attention``: query/key/value, on SDPA) and its output projection; the residual is
    added in :class:`ViTLayer` (pre-norm)."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.attention = QueryKeyValueAttention(config, bias=config.qkv_bias)
        self.output = OutputProjection(config.hidden_size, config.hidden_size, config.hidden_dropout_prob)
        self.pruned_heads: set[int] = set()

    def prune_heads(self, heads: list[int] | set[int]) -> None:
        index = self.attention.prune(heads, self.pruned_heads)
        if index is not None:
            self.output.dense = prune_linear(self.output.dense, index, dim=1)

    def forward(
        self, hidden_states: torch.Tensor, head_mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        context, probs = self.attention(hidden_states, None, head_mask, output_attentions)
        return self.output(context), probs


class ViTLayer(nn.Module):
    """Pre-norm block: x + attn(LN(x)), then h + MLP(LN(h))."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.attention = ViTAttention(config)
        self.intermediate = Intermediate(config.hidden_size, config.intermediate_size, config.hidden_act)
        self.output = OutputProjection(config.intermediate_size, config.hidden_size, config.hidden_dropout_prob)
        self.layernorm_before = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(
        self,
        hidden_states: torch.Tensor,
        head_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attention, probs = self.attention(self.layernorm_before(hidden_states), head_mask, output_attentions)
        hidden_states = attention + hidden_states
        out = self.output(self.intermediate(self.layernorm_after(hidden_states)), hidden_states)
        return out, probs


class ViTEncoder(LayerStack):
    def __init__(self, config: ViTConfig) -> None:
        layers = (ViTLayer(config) for _ in range(config.num_hidden_layers))
        super().__init__(layers, name="layer", layers_take_head_mask=True)


# ---------------------------------------------------------------------------------------------- models
class ViTPreTrainedModel(PreTrainedModel):
    _inplace_activations = ("intermediate_act_fn", "activation")  # optimize_for_inference(): their input is always a temporary
    _supports_sdpa = True
    config_class = ViTConfig
    base_model_prefix = "vit"
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = True

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            # truncated normal in float32 (it is not implemented for half precision on every device)
            weight = nn.init.trunc_normal_(torch.empty_like(module.weight, dtype=torch.float32), std=std)
            with torch.no_grad():
                module.weight.copy_(weight)
                if module.bias is not None:
                    module.bias.zero_()
        elif isinstance(module, nn.LayerNorm):
            with torch.no_grad():
                module.weight.fill_(1.0)
                module.bias.zero_()
        elif isinstance(module, ViTEmbeddings):
            with torch.no_grad():
                for param in (module.position_embeddings, module.cls_token):
                    param.copy_(nn.init.trunc_normal_(torch.empty_like(param, dtype=torch.float32), std=std))
                if module.mask_token is not None:
                    module.mask_token.zero_()


class _MaskedImageInputs(NamedTuple):
    """What :class:`_MaskedImageModel`'s forward got (the config's output options already applied)."""

    pixel_values: torch.Tensor | None
    bool_masked_pos: torch.Tensor | None
    head_mask: torch.Tensor | None
    output_attentions: bool
    output_hidden_states: bool
    interpolate_pos_encoding: bool


class _MaskedImageModel(ViTPreTrainedModel, Generic[_OutputT]):
    """The forward of the models that take images with an optional patch mask (the bare model and the masked image
    model), written once: each gives its output in :meth:`image_output`."""

    def image_output(self, inputs: _MaskedImageInputs) -> _OutputT:
        raise NotImplementedError(f"{type(self).__name__} must define image_output(inputs).")

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        bool_masked_pos: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        interpolate_pos_encoding: bool | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> _OutputT | tuple[Any, ...]:
        output_attentions, output_hidden_states = base_switches(self, kwargs)
        inputs = _MaskedImageInputs(pixel_values, bool_masked_pos, head_mask, output_attentions, output_hidden_states,
                                    bool(interpolate_pos_encoding))
        return finish_output(self.image_output(inputs), kwargs.get("return_dict"), self.config)


class ViTModel(_MaskedImageModel[BaseModelOutputWithPooling]):
    """The bare ViT encoder; ``add_pooling_layer=False`` leaves out the CLS pooler (as the heads do),
    ``use_mask_token=True`` adds the mask token ``bool_masked_pos`` needs."""

    def __init__(self, config: ViTConfig, add_pooling_layer: bool = True, use_mask_token: bool = False) -> None:
        super().__init__(config)
        self.embeddings = ViTEmbeddings(config, use_mask_token=use_mask_token)
        self.encoder = ViTEncoder(config)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        # activation(dense(CLS token))
        self.pooler = (
            FirstTokenPooler(config.hidden_size, config.pooler_output_size, config.pooler_act) if add_pooling_layer else None
        )
        self.post_init()

    def get_input_embeddings(self) -> ViTPatchEmbeddings:
        return self.embeddings.patch_embeddings

    def _prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        for layer, heads in heads_to_prune.items():
            self.encoder.layer[layer].attention.prune_heads(heads)  # type: ignore[index,union-attr]  # set by name

    def image_output(self, inputs: _MaskedImageInputs) -> BaseModelOutputWithPooling:
        pixel_values = inputs.pixel_values
        if pixel_values is None:
            raise ValueError("ViTModel needs pixel_values (batch, channels, height, width); got None.")
        weight_dtype = self.embeddings.patch_embeddings.projection.weight.dtype
        if pixel_values.dtype != weight_dtype:  # e.g. float32 images into a half-precision model
            pixel_values = pixel_values.to(weight_dtype)
        embeddings = self.embeddings(pixel_values, inputs.bool_masked_pos,
                                     interpolate_pos_encoding=inputs.interpolate_pos_encoding)
        encoded = self.encoder(embeddings, head_mask=inputs.head_mask, output_attentions=inputs.output_attentions,
                               output_hidden_states=inputs.output_hidden_states)
        sequence_output = self.layernorm(encoded.last_hidden_state)
        pooled = self.pooler(sequence_output) if self.pooler is not None else None
        return BaseModelOutputWithPooling(
            last_hidden_state=sequence_output,
            pooler_output=pooled,
            hidden_states=encoded.hidden_states,
            attentions=encoded.attentions,
        )


class ViTForImageClassification(SequenceClassificationHead, ViTPreTrainedModel):
    """ViT with a linear classifier on the final CLS token (no pooler, as in the reference); ``labels`` as for
    sequence classification (``config.problem_type``)."""

    output_class = ImageClassifierOutput

    # a ViTModel checkpoint carries the pooler, which this head does not use
    _expected_unused_keys = [r"^vit\.pooler\.", r"^pooler\."]

    def __init__(self, config: ViTConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.vit = ViTModel(config, add_pooling_layer=False)
        self.classifier: nn.Module = (
            nn.Linear(config.hidden_size, config.num_labels) if config.num_labels > 0 else nn.Identity()
        )
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        interpolate_pos_encoding: bool | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> ImageClassifierOutput | tuple[Any, ...]:
        return_dict = kwargs.pop("return_dict", None)
        outputs = self.vit(pixel_values, head_mask=head_mask, interpolate_pos_encoding=interpolate_pos_encoding,
                           return_dict=True, **kwargs)
        return self.head_forward(outputs, labels, return_dict)

    def head_logits(self, encoded: BaseModelOutputWithPooling) -> torch.Tensor:
        return self.classifier(encoded.last_hidden_state[:, 0, :])  # type: ignore[index]  # (batch, num_labels); a base model's output always has it


class ViTForMaskedImageModeling(_MaskedImageModel[MaskedImageModelingOutput]):
    """ViT reconstructing the pixels of masked patches (SimMIM): the patch tokens, laid out on their grid, go
    through ``decoder`` (a 1x1 convolution to ``encoder_stride ** 2 * num_channels`` channels and a pixel
    shuffle back to the image size). ``bool_masked_pos`` (batch, num_patches) marks the masked patches; the loss
    is the L1 error over the masked pixels, divided by their count and by ``num_channels``."""

    _expected_unused_keys = [r"^vit\.pooler\.", r"^pooler\."]

    def __init__(self, config: ViTConfig) -> None:
        super().__init__(config)
        self.vit = ViTModel(config, add_pooling_layer=False, use_mask_token=True)
        self.decoder = nn.Sequential(
            nn.Conv2d(config.hidden_size, config.encoder_stride**2 * config.num_channels, kernel_size=1),
            nn.PixelShuffle(config.encoder_stride),
        )
        self.post_init()

    def image_output(self, inputs: _MaskedImageInputs) -> MaskedImageModelingOutput:
        config = self.config
        pixel_values, bool_masked_pos = inputs.pixel_values, inputs.bool_masked_pos
        if bool_masked_pos is not None and _pair(config.patch_size) != _pair(config.encoder_stride):
            raise ValueError(
                f"bool_masked_pos needs patch_size == encoder_stride so the reconstruction has the input's size; "
                f"got patch_size={config.patch_size} and encoder_stride={config.encoder_stride}. Set encoder_stride "
                "to the patch size in the config."
            )
        outputs = self.vit(pixel_values, bool_masked_pos, head_mask=inputs.head_mask,
                           output_attentions=inputs.output_attentions, output_hidden_states=inputs.output_hidden_states,
                           interpolate_pos_encoding=inputs.interpolate_pos_encoding, return_dict=True)
        patches = outputs.last_hidden_state[:, 1:]  # the CLS token is not a patch
        batch, count, hidden = patches.shape
        side = math.floor(count**0.5)
        # (batch, patches, hidden) -> (batch, hidden, rows, cols)
        grid = patches.permute(0, 2, 1).reshape(batch, hidden, side, side)
        reconstruction = self.decoder(grid)  # (batch, channels, height, width)
        loss = None
        if bool_masked_pos is not None:
            patch_rows, patch_cols = _pair(config.patch_size)
            rows = _pair(config.image_size)[0] // patch_rows
            # (batch, patches) -> (batch, 1, height, width): each patch's flag over its pixels
            mask = (bool_masked_pos.reshape(-1, rows, bool_masked_pos.shape[-1] // rows)
                    .repeat_interleave(patch_rows, 1).repeat_interleave(patch_cols, 2).unsqueeze(1).contiguous())
            error = nn.functional.l1_loss(pixel_values, reconstruction, reduction="none")  # type: ignore[arg-type]  # pixel_values is given (the model ran on it above)
            loss = (error * mask).sum() / (mask.sum() + 1e-5) / config.num_channels
        return MaskedImageModelingOutput(loss=loss, reconstruction=reconstruction,
                                         hidden_states=outputs.hidden_states, attentions=outputs.attentions)


__all__ = ["ViTForImageClassification", "ViTForMaskedImageModeling", "ViTModel", "ViTPreTrainedModel"]
