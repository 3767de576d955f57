"""SigLIP NaViT style (HuggingFaceM4/siglip-so400m-14-980-flash-attn2-navit, the vision tower Idefics2-era models
load): a ``SiglipVisionConfig`` whose ``from_pretrained`` reads the dict itself (``_set_token_in_kwargs``,
``get_config_dict``, taking ``vision_config`` out of a full SigLIP config), a patch embedding over images of
different sizes padded into one batch with a ``patch_attention_mask``, position ids bucketed from each image's
fractional patch coordinates onto the trained grid (``torch.bucketize``), the reference's
``_prepare_4d_attention_mask`` over the patch mask, flash-attention imports behind ``is_flash_attn_2_available()``,
and a multi-head attention pooling head (``SiglipMultiheadAttentionPoolingHead`` around ``nn.MultiheadAttention``).
"""

from __future__ import annotations

import json

from corpus.repo import CorpusRepo

CONFIGURATION = '''
import os
from typing import Union

from transformers.configuration_utils import PretrainedConfig
from transformers.utils import logging

logger = logging.get_logger(__name__)


class SiglipVisionConfig(PretrainedConfig):
    model_type = "siglip_vision_model"

    def __init__(
        self,
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        num_channels=3,
        image_size=224,
        patch_size=16,
        hidden_act="gelu_pytorch_tanh",
        layer_norm_eps=1e-6,
        attention_dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_channels = num_channels
        self.patch_size = patch_size
        self.image_size = image_size
        self.attention_dropout = attention_dropout
        self.layer_norm_eps = layer_norm_eps
        self.hidden_act = hidden_act

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Union[str, os.PathLike], **kwargs) -> "PretrainedConfig":
        cls._set_token_in_kwargs(kwargs)
        config_dict, kwargs = cls.get_config_dict(pretrained_model_name_or_path, **kwargs)
        # a full SigLIP config: the vision tower's part of it
        if config_dict.get("model_type") == "siglip":
            config_dict = config_dict["vision_config"]
        if "model_type" in config_dict and hasattr(cls, "model_type") and config_dict["model_type"] != cls.model_type:
            logger.warning(f"Loading a {config_dict['model_type']} config into {cls.model_type}.")
        return cls.from_dict(config_dict, **kwargs)
'''

MODELING = '''
import math
from dataclasses import dataclass
from typing import Optional, Tuple, Union

import torch
import torch.utils.checkpoint
from torch import nn
from transformers.activations import ACT2FN
from transformers.modeling_attn_mask_utils import _prepare_4d_attention_mask
from transformers.modeling_outputs import BaseModelOutput, BaseModelOutputWithPooling
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import (
    ModelOutput,
    add_start_docstrings,
    add_start_docstrings_to_model_forward,
    is_flash_attn_2_available,
    logging,
    replace_return_docstrings,
)

from .configuration_siglip import SiglipVisionConfig

if is_flash_attn_2_available():
    from flash_attn import flash_attn_func, flash_attn_varlen_func  # noqa: F401
    from flash_attn.bert_padding import index_first_axis, pad_input, unpad_input  # noqa: F401

logger = logging.get_logger(__name__)


class SiglipVisionEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embed_dim = config.hidden_size
        self.image_size = config.image_size
        self.patch_size = config.patch_size
        self.patch_embedding = nn.Conv2d(config.num_channels, self.embed_dim, kernel_size=self.patch_size,
                                         stride=self.patch_size, padding="valid")
        self.num_patches_per_side = self.image_size // self.patch_size
        self.num_patches = self.num_patches_per_side**2
        self.num_positions = self.num_patches
        self.position_embedding = nn.Embedding(self.num_positions, self.embed_dim)

    def forward(self, pixel_values, patch_attention_mask):
        batch_size, _, max_im_h, max_im_w = pixel_values.shape
        embeddings = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)  # (batch, patches, dim)
        max_nb_patches_h, max_nb_patches_w = max_im_h // self.patch_size, max_im_w // self.patch_size
        step = 1 / self.num_patches_per_side
        boundaries = torch.arange(step, 1.0, step)
        position_ids = torch.full((batch_size, max_nb_patches_h * max_nb_patches_w), fill_value=0)
        for batch_idx, p_attn_mask in enumerate(patch_attention_mask):
            nb_patches_h = p_attn_mask[:, 0].sum()
            nb_patches_w = p_attn_mask[0].sum()
            # each real patch's place in its own image, as a fraction, bucketed onto the trained grid
            fractional_coords_h = torch.arange(0, 1 - 1e-6, 1 / nb_patches_h)
            fractional_coords_w = torch.arange(0, 1 - 1e-6, 1 / nb_patches_w)
            bucket_coords_h = torch.bucketize(fractional_coords_h, boundaries, right=True)
            bucket_coords_w = torch.bucketize(fractional_coords_w, boundaries, right=True)
            pos_ids = (bucket_coords_h[:, None] * self.num_patches_per_side + bucket_coords_w).flatten()
            position_ids[batch_idx][p_attn_mask.view(-1).cpu()] = pos_ids
        position_ids = position_ids.to(self.position_embedding.weight.device)
        return embeddings + self.position_embedding(position_ids)


class SiglipAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embed_dim = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = self.embed_dim // self.num_heads
        self.scale = self.head_dim**-0.5
        self.dropout = config.attention_dropout
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)

    def forward(self, hidden_states, attention_mask=None, output_attentions=False):
        batch_size, q_len, _ = hidden_states.size()
        def heads(x):
            return x.view(batch_size, q_len, self.num_heads, self.head_dim).transpose(1, 2)  # (b, heads, seq, head)
        query, key, value = heads(self.q_proj(hidden_states)), heads(self.k_proj(hidden_states)), heads(self.v_proj(hidden_states))
        attn_weights = torch.matmul(query, key.transpose(2, 3)) * self.scale
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)
        attn_weights = nn.functional.dropout(attn_weights, p=self.dropout, training=self.training)
        attn_output = torch.matmul(attn_weights, value).transpose(1, 2).reshape(batch_size, q_len, self.embed_dim)
        return self.out_proj(attn_output), (attn_weights if output_attentions else None)


class SiglipMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.activation_fn = ACT2FN[config.hidden_act]
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, hidden_states):
        return self.fc2(self.activation_fn(self.fc1(hidden_states)))


class SiglipEncoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self_attn = SiglipAttention(config)
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = SiglipMLP(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states, attention_mask, output_attentions=False):
        attended, weights = self.self_attn(self.layer_norm1(hidden_states), attention_mask, output_attentions)
        hidden_states = hidden_states + attended
        hidden_states = hidden_states + self.mlp(self.layer_norm2(hidden_states))
        return (hidden_states, weights) if output_attentions else (hidden_states,)


class SiglipEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList([SiglipEncoderLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(self, inputs_embeds, attention_mask=None, output_hidden_states=False, return_dict=True):
        hidden_states = inputs_embeds
        encoder_states = (hidden_states,) if output_hidden_states else None
        for encoder_layer in self.layers:
            hidden_states = encoder_layer(hidden_states, attention_mask)[0]
            if output_hidden_states:
                encoder_states = encoder_states + (hidden_states,)
        if not return_dict:
            return tuple(v for v in [hidden_states, encoder_states] if v is not None)
        return BaseModelOutput(last_hidden_state=hidden_states, hidden_states=encoder_states)


class SiglipMultiheadAttentionPoolingHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.probe = nn.Parameter(torch.randn(1, 1, config.hidden_size))
        self.attention = torch.nn.MultiheadAttention(config.hidden_size, config.num_attention_heads, batch_first=True)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = SiglipMLP(config)

    def forward(self, hidden_state, key_padding_mask=None):
        probe = self.probe.repeat(hidden_state.shape[0], 1, 1)
        hidden_state = self.attention(probe, hidden_state, hidden_state, key_padding_mask=key_padding_mask)[0]
        hidden_state = hidden_state + self.mlp(self.layernorm(hidden_state))
        return hidden_state[:, 0]


class SiglipPreTrainedModel(PreTrainedModel):
    config_class = SiglipVisionConfig
    base_model_prefix = "siglip"
    supports_gradient_checkpointing = True
    _supports_flash_attn_2 = True

    def _init_weights(self, module):
        if isinstance(module, SiglipVisionEmbeddings):
            nn.init.normal_(module.position_embedding.weight, std=1 / math.sqrt(self.config.hidden_size))
        elif isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)


class SiglipVisionTransformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = SiglipVisionEmbeddings(config)
        self.encoder = SiglipEncoder(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.head = SiglipMultiheadAttentionPoolingHead(config)

    def forward(self, pixel_values, patch_attention_mask=None, output_hidden_states=None, return_dict=None):
        batch_size = pixel_values.size(0)
        if patch_attention_mask is None:
            patch_attention_mask = torch.ones(
                (batch_size, pixel_values.size(2) // self.config.patch_size, pixel_values.size(3) // self.config.patch_size),
                dtype=torch.bool, device=pixel_values.device,
            )
        hidden_states = self.embeddings(pixel_values=pixel_values, patch_attention_mask=patch_attention_mask)
        patch_attention_mask = patch_attention_mask.view(batch_size, -1)
        if not torch.any(~patch_attention_mask):
            attention_mask = None
        else:
            attention_mask = _prepare_4d_attention_mask(patch_attention_mask, hidden_states.dtype)
        encoder_outputs = self.encoder(hidden_states, attention_mask, output_hidden_states=bool(output_hidden_states))
        last_hidden_state = self.post_layernorm(encoder_outputs[0])
        pooled_output = self.head(last_hidden_state, key_padding_mask=~patch_attention_mask)
        if not return_dict:
            return (last_hidden_state, pooled_output) + encoder_outputs[1:]
        return BaseModelOutputWithPooling(last_hidden_state=last_hidden_state, pooler_output=pooled_output,
                                          hidden_states=encoder_outputs.hidden_states)


class SiglipVisionModel(SiglipPreTrainedModel):
    main_input_name = "pixel_values"
    _no_split_modules = ["SiglipEncoderLayer"]

    def __init__(self, config):
        super().__init__(config)
        self.vision_model = SiglipVisionTransformer(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.vision_model.embeddings.patch_embedding

    def forward(self, pixel_values, patch_attention_mask=None, output_hidden_states=None, return_dict=None):
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        return self.vision_model(pixel_values=pixel_values, patch_attention_mask=patch_attention_mask,
                                 output_hidden_states=output_hidden_states, return_dict=return_dict)
'''

VISION = {"hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 2,
          "num_channels": 3, "image_size": 16, "patch_size": 4, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6}


def _pixels() -> tuple[list, list]:
    """A 16x16 image and a 12x8 one padded into the same 16x16 batch, with the patch mask of each."""
    pixels = [[[[((b * 5 + c * 3 + y * 7 + x * 11) % 17 - 8) / 16 if (b == 0 or (y < 12 and x < 8)) else 0.0
                 for x in range(16)] for y in range(16)] for c in range(3)] for b in range(2)]
    masks = [[[True] * 4 for _ in range(4)], [[y < 3 and x < 2 for x in range(4)] for y in range(4)]]
    return pixels, masks


def repo() -> CorpusRepo:
    pixels, masks = _pixels()
    files = {
        "configuration_siglip.py": CONFIGURATION,
        "modeling_siglip.py": MODELING,
        "config.json": json.dumps({
            "model_type": "siglip_vision_model", "architectures": ["SiglipVisionModel"],
            "auto_map": {"AutoConfig": "configuration_siglip.SiglipVisionConfig",
                         "AutoModel": "modeling_siglip.SiglipVisionModel"},
            **VISION,
        }, indent=2),
    }
    return CorpusRepo("siglip_navit", files, "AutoModel", "SiglipVisionModel",
                      {"pixel_values": pixels, "patch_attention_mask": masks}, ("last_hidden_state", "pooler_output"),
                      float_inputs=("pixel_values",), bool_inputs=("patch_attention_mask",))


def full_siglip_config() -> str:
    """A composite SigLIP config.json (``model_type`` siglip, the tower under ``vision_config``)."""
    return json.dumps({"model_type": "siglip", "text_config": {"hidden_size": 8},
                       "vision_config": {"model_type": "siglip_vision_model", **VISION}})
