"""MPT style: ``MPTConfig`` with ``attn_config`` / ``init_config`` dicts merged over defaults and validated, ``d_model``
/ ``n_heads`` / ``n_layers`` naming (an ``attribute_map`` for the reference's cache sizing), a repository of many
files imported by the modeling file (``attention.py`` with ALiBi biases and an attention-class registry,
``blocks.py``, ``norm.py`` with a low-precision LayerNorm registry, ``custom_embedding.py`` with a shared
embedding that also unembeds, ``param_init_fns.py`` with an init registry, ``flash_attn_triton.py`` imported in a ``try``), ``no_bias`` removing every bias after
construction, ``logit_scale``, an optional flash-attention import, legacy tuple caches with ``_reorder_cache``,
and generation refusing right padding.
"""

from __future__ import annotations

from corpus.repo import CorpusRepo, config_json

CONFIGURATION = '''
"""A HuggingFace-style model configuration."""
import warnings
from typing import Any, Dict, Optional, Union

from transformers import PretrainedConfig

attn_config_defaults: Dict = {
    "attn_type": "multihead_attention",
    "attn_pdrop": 0.0,
    "attn_impl": "torch",
    "qk_ln": False,
    "clip_qkv": None,
    "softmax_scale": None,
    "prefix_lm": False,
    "attn_uses_sequence_id": False,
    "alibi": False,
    "alibi_bias_max": 8,
}
init_config_defaults: Dict = {
    "name": "kaiming_normal_",
    "fan_mode": "fan_in",
    "init_nonlinearity": "relu",
    "init_div_is_residual": True,
    "emb_init_std": None,
    "emb_init_uniform_lim": None,
    "init_std": None,
    "init_gain": 0.0,
}


class MPTConfig(PretrainedConfig):
    model_type = "mpt"
    attribute_map = {"num_attention_heads": "n_heads", "hidden_size": "d_model", "num_hidden_layers": "n_layers"}

    def __init__(self, d_model: int = 2048, n_heads: int = 16, n_layers: int = 24, expansion_ratio: int = 4,
                 max_seq_len: int = 2048, vocab_size: int = 50368, resid_pdrop: float = 0.0, emb_pdrop: float = 0.0,
                 learned_pos_emb: bool = True, attn_config: Dict = attn_config_defaults, init_device: str = "cpu",
                 logit_scale: Optional[Union[float, str]] = None, no_bias: bool = False, verbose: int = 0,
                 embedding_fraction: float = 1.0, norm_type: str = "low_precision_layernorm", use_cache: bool = False,
                 init_config: Dict = init_config_defaults, **kwargs: Any):
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.expansion_ratio = expansion_ratio
        self.max_seq_len = max_seq_len
        self.vocab_size = vocab_size
        self.resid_pdrop = resid_pdrop
        self.emb_pdrop = emb_pdrop
        self.learned_pos_emb = learned_pos_emb
        self.attn_config = attn_config
        self.init_device = init_device
        self.logit_scale = logit_scale
        self.no_bias = no_bias
        self.verbose = verbose
        self.embedding_fraction = embedding_fraction
        self.norm_type = norm_type
        self.use_cache = use_cache
        self.init_config = init_config
        if "name" in kwargs:
            del kwargs["name"]
        if "loss_fn" in kwargs:
            del kwargs["loss_fn"]
        super().__init__(**kwargs)
        self._validate_config()

    def _set_config_defaults(self, config, config_defaults):
        for k, v in config_defaults.items():
            if k not in config:
                config[k] = v
        return config

    def _validate_config(self):
        self.attn_config = self._set_config_defaults(self.attn_config, attn_config_defaults)
        self.init_config = self._set_config_defaults(self.init_config, init_config_defaults)
        if self.d_model % self.n_heads != 0:
            raise ValueError("d_model must be divisible by n_heads")
        if any(prob < 0 or prob > 1 for prob in [self.attn_config["attn_pdrop"], self.resid_pdrop, self.emb_pdrop]):
            raise ValueError("self.attn_config['attn_pdrop'], resid_pdrop, emb_pdrop are probabilities")
        if self.attn_config["attn_impl"] not in ["torch", "flash", "triton"]:
            raise ValueError(f"Unknown attn_impl={self.attn_config['attn_impl']}")
        if self.attn_config["alibi"] and self.attn_config["attn_impl"] not in ["torch", "triton"]:
            raise NotImplementedError("alibi only implemented with torch and triton attention.")
        if self.embedding_fraction > 1 or self.embedding_fraction <= 0:
            raise ValueError("model.embedding_fraction must be between 0 (exclusive) and 1 (inclusive)!")
        if isinstance(self.logit_scale, str) and self.logit_scale != "inv_sqrt_d_model":
            raise ValueError(f"self.logit_scale={self.logit_scale!r} is not recognized as an option")
        if self.init_config.get("name", None) is None:
            raise ValueError(f"self.init_config={self.init_config!r} 'name' needs to be set.")
        if not self.learned_pos_emb and not self.attn_config["alibi"]:
            warnings.warn("Positional information not being provided to the model.")
'''

NORM = '''
import torch


def _cast_if_autocast_enabled(tensor):
    if torch.is_autocast_enabled():
        if tensor.device.type == "cuda":
            dtype = torch.get_autocast_gpu_dtype()
        else:
            dtype = torch.get_autocast_cpu_dtype()
        return tensor.to(dtype=dtype)
    return tensor


class LPLayerNorm(torch.nn.LayerNorm):
    """A LayerNorm that runs in the autocast dtype (as is, without autocast)."""

    def __init__(self, normalized_shape, eps=1e-05, elementwise_affine=True, device=None, dtype=None):
        super().__init__(normalized_shape=normalized_shape, eps=eps, elementwise_affine=elementwise_affine,
                         device=device, dtype=dtype)

    def forward(self, x):
        module_device = x.device
        downcast_x = _cast_if_autocast_enabled(x)
        downcast_weight = _cast_if_autocast_enabled(self.weight) if self.weight is not None else self.weight
        downcast_bias = _cast_if_autocast_enabled(self.bias) if self.bias is not None else self.bias
        with torch.autocast(enabled=False, device_type=module_device.type):
            return torch.nn.functional.layer_norm(downcast_x, self.normalized_shape, downcast_weight, downcast_bias,
                                                  self.eps)


NORM_CLASS_REGISTRY = {"layernorm": torch.nn.LayerNorm, "low_precision_layernorm": LPLayerNorm}
'''

ATTENTION = '''
"""Attention layers."""
import math
import warnings
from typing import Optional

import torch
import torch.nn as nn
from torch import nn

from .norm import NORM_CLASS_REGISTRY


def scaled_multihead_dot_product_attention(query, key, value, n_heads, past_key_value=None, softmax_scale=None,
                                           attn_bias=None, key_padding_mask=None, is_causal=False, dropout_p=0.0,
                                           training=False, needs_weights=False, multiquery=False):
    batch, s_q, _ = query.shape
    q = query.view(batch, s_q, n_heads, -1).permute(0, 2, 1, 3)  # (batch, heads, seq, head_dim)
    kv_n_heads = 1 if multiquery else n_heads
    k = key.view(batch, key.shape[1], kv_n_heads, -1).permute(0, 2, 3, 1)  # (batch, heads, head_dim, seq)
    v = value.view(batch, value.shape[1], kv_n_heads, -1).permute(0, 2, 1, 3)
    if past_key_value is not None:
        if len(past_key_value) != 0:
            k = torch.cat([past_key_value[0], k], dim=3)
            v = torch.cat([past_key_value[1], v], dim=2)
        past_key_value = (k, v)
    s_k = k.size(-1)
    if softmax_scale is None:
        softmax_scale = 1 / math.sqrt(q.size(-1))
    attn_weight = q.matmul(k) * softmax_scale
    if attn_bias is not None:
        _s_q = max(0, attn_bias.size(2) - s_q)
        _s_k = max(0, attn_bias.size(3) - s_k)
        attn_bias = attn_bias[:, :, _s_q:, _s_k:]
        attn_weight = attn_weight + attn_bias
    min_val = torch.finfo(q.dtype).min
    if key_padding_mask is not None:
        attn_weight = attn_weight.masked_fill(~key_padding_mask.view((batch, 1, 1, s_k)), min_val)
    if is_causal and (not q.size(2) == 1):
        s = max(s_q, s_k)
        causal_mask = attn_weight.new_ones(s, s, dtype=torch.float32).tril().to(torch.bool)
        causal_mask = causal_mask[-s_q:, -s_k:]
        attn_weight = attn_weight.masked_fill(~causal_mask.view(1, 1, s_q, s_k), min_val)
    attn_weight = torch.softmax(attn_weight, dim=-1)
    if dropout_p:
        attn_weight = torch.nn.functional.dropout(attn_weight, p=dropout_p, training=training, inplace=True)
    out = attn_weight.to(v.dtype).matmul(v).permute(0, 2, 1, 3).reshape(batch, s_q, -1)
    if needs_weights:
        return out, attn_weight, past_key_value
    return out, None, past_key_value


def check_valid_inputs(*tensors, valid_dtypes=[torch.float16, torch.bfloat16, torch.float32]):
    for tensor in tensors:
        if tensor.dtype not in valid_dtypes:
            raise TypeError(f"tensor.dtype={tensor.dtype!r} must be in valid_dtypes={valid_dtypes!r}.")


class MultiheadAttention(nn.Module):
    """Multi-head self attention with a fused Wqkv projection."""

    def __init__(self, d_model: int, n_heads: int, attn_impl: str = "triton", clip_qkv: Optional[float] = None,
                 qk_ln: bool = False, softmax_scale: Optional[float] = None, attn_pdrop: float = 0.0,
                 norm_type: str = "low_precision_layernorm", verbose: int = 0, device: Optional[str] = None):
        super().__init__()
        self.attn_impl = attn_impl
        self.clip_qkv = clip_qkv
        self.qk_ln = qk_ln
        self.d_model = d_model
        self.n_heads = n_heads
        self.softmax_scale = softmax_scale
        if self.softmax_scale is None:
            self.softmax_scale = 1 / math.sqrt(self.d_model / self.n_heads)
        self.attn_dropout_p = attn_pdrop
        self.Wqkv = nn.Linear(self.d_model, 3 * self.d_model, device=device)
        fuse_splits = (d_model, 2 * d_model)
        self.Wqkv._fused = (0, fuse_splits)
        if self.qk_ln:
            norm_class = NORM_CLASS_REGISTRY[norm_type.lower()]
            self.q_ln = norm_class(self.d_model, device=device)
            self.k_ln = norm_class(self.d_model, device=device)
        if self.attn_impl != "torch":
            raise NotImplementedError(f"attn_impl={attn_impl!r} needs kernels this model does not ship")
        self.attn_fn = scaled_multihead_dot_product_attention
        self.out_proj = nn.Linear(self.d_model, self.d_model, device=device)
        self.out_proj._is_residual = True

    def forward(self, x, past_key_value=None, attn_bias=None, attention_mask=None, is_causal=True,
                needs_weights=False):
        qkv = self.Wqkv(x)
        if self.clip_qkv:
            qkv = qkv.clamp(min=-self.clip_qkv, max=self.clip_qkv)
        query, key, value = qkv.chunk(3, dim=2)
        key_padding_mask = attention_mask
        if self.qk_ln:
            dtype = query.dtype
            query = self.q_ln(query).to(dtype)
            key = self.k_ln(key).to(dtype)
        context, attn_weights, past_key_value = self.attn_fn(
            query, key, value, self.n_heads, past_key_value=past_key_value, softmax_scale=self.softmax_scale,
            attn_bias=attn_bias, key_padding_mask=key_padding_mask, is_causal=is_causal,
            dropout_p=self.attn_dropout_p, training=self.training, needs_weights=needs_weights,
        )
        return self.out_proj(context), attn_weights, past_key_value


def attn_bias_shape(attn_impl, n_heads, seq_len, alibi, prefix_lm, causal, use_sequence_id):
    if attn_impl == "torch":
        if alibi:
            if (prefix_lm or not causal) or use_sequence_id:
                return (1, n_heads, seq_len, seq_len)
            return (1, n_heads, 1, seq_len)
        if prefix_lm or use_sequence_id:
            return (1, 1, seq_len, seq_len)
        return None
    raise ValueError(f"attn_impl={attn_impl!r} is an invalid setting.")


def build_attn_bias(attn_impl, attn_bias, n_heads, seq_len, causal=False, alibi=False, alibi_bias_max=8):
    if attn_impl != "torch":
        raise ValueError(f"attn_impl={attn_impl!r} is an invalid setting.")
    if alibi:
        device, dtype = attn_bias.device, attn_bias.dtype
        attn_bias = attn_bias.add(build_alibi_bias(n_heads, seq_len, full=not causal, alibi_bias_max=alibi_bias_max,
                                                   device=device, dtype=dtype))
    return attn_bias


def gen_slopes(n_heads, alibi_bias_max=8, device=None):
    """Geometric slopes, for the next power of two heads, every other one when there are fewer heads."""
    padded = 2 ** math.ceil(math.log2(n_heads))
    exponents = torch.arange(1, padded + 1, dtype=torch.float32, device=device) * (alibi_bias_max / padded)
    slopes = 1.0 / torch.pow(2, exponents)
    if padded != n_heads:
        slopes = torch.concat([slopes[1::2], slopes[::2]])[:n_heads]
    return slopes.view(1, n_heads, 1, 1)


def build_alibi_bias(n_heads, seq_len, full=False, alibi_bias_max=8, device=None, dtype=None):
    alibi_bias = torch.arange(1 - seq_len, 1, dtype=torch.int32, device=device).view(1, 1, 1, seq_len)
    if full:
        alibi_bias = alibi_bias - torch.arange(1 - seq_len, 1, dtype=torch.int32, device=device).view(1, 1, seq_len, 1)
        alibi_bias = alibi_bias.abs().mul(-1)
    alibi_bias = alibi_bias * gen_slopes(n_heads, alibi_bias_max, device=device)
    return alibi_bias.to(dtype=dtype)


ATTN_CLASS_REGISTRY = {"multihead_attention": MultiheadAttention}
'''

BLOCKS = '''
"""GPT Blocks used for the GPT Model."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from .attention import ATTN_CLASS_REGISTRY
from .norm import NORM_CLASS_REGISTRY


class MPTMLP(nn.Module):
    def __init__(self, d_model: int, expansion_ratio: int, device: Optional[str] = None):
        super().__init__()
        self.up_proj = nn.Linear(d_model, expansion_ratio * d_model, device=device)
        self.act = nn.GELU(approximate="none")
        self.down_proj = nn.Linear(expansion_ratio * d_model, d_model, device=device)
        self.down_proj._is_residual = True

    def forward(self, x):
        return self.down_proj(self.act(self.up_proj(x)))


class MPTBlock(nn.Module):
    def __init__(self, d_model: int, n_heads: int, expansion_ratio: int, attn_config: Dict, resid_pdrop: float = 0.0,
                 norm_type: str = "low_precision_layernorm", verbose: int = 0, device: Optional[str] = None, **kwargs):
        del kwargs
        super().__init__()
        norm_class = NORM_CLASS_REGISTRY[norm_type.lower()]
        attn_class = ATTN_CLASS_REGISTRY[attn_config["attn_type"]]
        self.norm_1 = norm_class(d_model, device=device)
        self.attn = attn_class(attn_impl=attn_config["attn_impl"], clip_qkv=attn_config["clip_qkv"],
                               qk_ln=attn_config["qk_ln"], softmax_scale=attn_config["softmax_scale"],
                               attn_pdrop=attn_config["attn_pdrop"], d_model=d_model, n_heads=n_heads,
                               verbose=verbose, device=device)
        self.norm_2 = norm_class(d_model, device=device)
        self.ffn = MPTMLP(d_model=d_model, expansion_ratio=expansion_ratio, device=device)
        self.resid_attn_dropout = nn.Dropout(resid_pdrop)
        self.resid_ffn_dropout = nn.Dropout(resid_pdrop)

    def forward(self, x: torch.Tensor, past_key_value: Optional[Tuple[torch.Tensor]] = None,
                attn_bias: Optional[torch.Tensor] = None, attention_mask: Optional[torch.ByteTensor] = None,
                is_causal: bool = True):
        a = self.norm_1(x)
        b, attn_weights, past_key_value = self.attn(a, past_key_value=past_key_value, attn_bias=attn_bias,
                                                    attention_mask=attention_mask, is_causal=is_causal)
        x = x + self.resid_attn_dropout(b)
        m = self.norm_2(x)
        n = self.ffn(m)
        x = x + self.resid_ffn_dropout(n)
        return x, attn_weights, past_key_value
'''

EMBEDDING = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class SharedEmbedding(nn.Embedding):
    """The token embedding, also the output layer (``unembed=True``)."""

    def forward(self, input: Tensor, unembed: bool = False) -> Tensor:
        if unembed:
            return F.linear(input, self.weight)
        return super().forward(input)
'''

PARAM_INIT = '''
import math
from functools import partial

import torch
from torch import nn

from .norm import NORM_CLASS_REGISTRY


def torch_default_param_init_fn_(module: nn.Module, verbose: int = 0, **kwargs):
    del kwargs
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()


def kaiming_normal_param_init_fn_(module: nn.Module, n_layers: int, d_model: int, init_div_is_residual=True,
                                  fan_mode="fan_in", init_nonlinearity="leaky_relu", verbose: int = 0, **kwargs):
    """Kaiming-normal linear weights (residual outputs divided by sqrt(2 * n_layers)), zero biases, unit norms."""
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight, a=0, mode=fan_mode, nonlinearity=init_nonlinearity)
        if init_div_is_residual and getattr(module, "_is_residual", False):
            with torch.no_grad():
                module.weight.div_(math.sqrt(2 * n_layers))
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    elif isinstance(module, tuple(set(NORM_CLASS_REGISTRY.values()))):
        if module.weight is not None:
            nn.init.ones_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


MODEL_INIT_REGISTRY = {"default_": torch_default_param_init_fn_, "kaiming_normal_": kaiming_normal_param_init_fn_}
'''

FLASH_ATTN_TRITON = '''
"""Flash attention in triton, for attn_impl="triton" (GPU only)."""
try:
    import triton  # noqa: F401
except ImportError as err:
    raise ImportError("flash_attn_triton needs triton") from err


def flash_attn_func(*args, **kwargs):
    raise NotImplementedError("the triton kernel is not part of this small repository")
'''

MODELING = '''
"""A simple, flexible implementation of a GPT model."""
import math
import warnings
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast

from .attention import attn_bias_shape, build_attn_bias
from .blocks import MPTBlock
from .configuration_mpt import MPTConfig
from .custom_embedding import SharedEmbedding
from .norm import NORM_CLASS_REGISTRY
from .param_init_fns import MODEL_INIT_REGISTRY

try:
    from .flash_attn_triton import flash_attn_func
except Exception:
    pass

Tokenizer = PreTrainedTokenizerBase


def as_legacy(past_key_values):
    """Releases from 4.4x hand an empty cache object to every model: this one keeps (key, value) tuples."""
    if past_key_values is None or isinstance(past_key_values, (tuple, list)):
        return past_key_values
    return None if past_key_values.get_seq_length() == 0 else past_key_values.to_legacy_cache()


class MPTPreTrainedModel(PreTrainedModel):
    config_class = MPTConfig
    base_model_prefix = "model"
    _no_split_modules = ["MPTBlock"]


class MPTModel(MPTPreTrainedModel):
    def __init__(self, config: MPTConfig):
        config._validate_config()
        super().__init__(config)
        self.attn_impl = config.attn_config["attn_impl"]
        self.prefix_lm = config.attn_config["prefix_lm"]
        self.attn_uses_sequence_id = config.attn_config["attn_uses_sequence_id"]
        self.alibi = config.attn_config["alibi"]
        self.alibi_bias_max = config.attn_config["alibi_bias_max"]
        if config.norm_type.lower() not in NORM_CLASS_REGISTRY:
            norm_options = " | ".join(NORM_CLASS_REGISTRY.keys())
            raise NotImplementedError(f"Requested norm type ({config.norm_type}) is not implemented within this repo ({norm_options}).")
        norm_class = NORM_CLASS_REGISTRY[config.norm_type.lower()]
        self.embedding_fraction = config.embedding_fraction
        self.wte = SharedEmbedding(config.vocab_size, config.d_model, device=config.init_device)
        if not self.alibi:
            self.wpe = torch.nn.Embedding(config.max_seq_len, config.d_model, device=config.init_device)
        self.emb_drop = nn.Dropout(config.emb_pdrop)
        self.blocks = nn.ModuleList([MPTBlock(device=config.init_device, **config.to_dict())
                                     for _ in range(config.n_layers)])
        self.norm_f = norm_class(config.d_model, device=config.init_device)
        if config.no_bias:
            for module in self.modules():
                if hasattr(module, "bias") and isinstance(module.bias, nn.Parameter):
                    if config.verbose:
                        warnings.warn(f"Removing bias ({module.bias}) from {module}.")
                    module.register_parameter("bias", None)
        self.is_causal = not self.prefix_lm
        self._attn_bias_initialized = False
        self.attn_bias = None
        self.attn_bias_shape = attn_bias_shape(self.attn_impl, config.n_heads, config.max_seq_len, self.alibi,
                                               prefix_lm=self.prefix_lm, causal=self.is_causal,
                                               use_sequence_id=self.attn_uses_sequence_id)
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def set_input_embeddings(self, value):
        self.wte = value

    @torch.no_grad()
    def _attn_bias(self, device, dtype, attention_mask: Optional[torch.ByteTensor] = None):
        if not self._attn_bias_initialized:
            if self.attn_bias_shape:
                self.attn_bias = torch.zeros(self.attn_bias_shape, device=device, dtype=dtype)
                self.attn_bias = build_attn_bias(self.attn_impl, self.attn_bias, self.config.n_heads,
                                                 self.config.max_seq_len, causal=self.is_causal, alibi=self.alibi,
                                                 alibi_bias_max=self.alibi_bias_max)
            self._attn_bias_initialized = True
        if self.attn_bias is not None:
            self.attn_bias = self.attn_bias.to(dtype=dtype, device=device)
        return self.attn_bias, attention_mask

    def forward(self, input_ids: torch.LongTensor, past_key_values: Optional[List[Tuple[torch.FloatTensor]]] = None,
                attention_mask: Optional[torch.ByteTensor] = None, prefix_mask: Optional[torch.ByteTensor] = None,
                sequence_id: Optional[torch.LongTensor] = None, return_dict: Optional[bool] = None,
                output_attentions: Optional[bool] = None, output_hidden_states: Optional[bool] = None,
                use_cache: Optional[bool] = None, inputs_embeds: Optional[torch.Tensor] = None):
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        past_key_values = as_legacy(past_key_values)
        if attention_mask is not None:
            attention_mask = attention_mask.bool()
        if inputs_embeds is not None:
            raise NotImplementedError("inputs_embeds is not implemented for MPT.")
        S = input_ids.size(1)
        if S > self.config.max_seq_len:
            raise ValueError(f"Cannot forward input with seq_len={S}, this model only supports seq_len<={self.config.max_seq_len}")
        tok_emb = self.wte(input_ids)
        if self.alibi:
            x = tok_emb
        else:
            past_position = past_key_values[0][0].size(3) if past_key_values is not None else 0
            pos = torch.arange(past_position, S + past_position, dtype=torch.long, device=input_ids.device).unsqueeze(0)
            if attention_mask is not None:
                pos = torch.clamp(pos - torch.cumsum((~attention_mask).to(torch.int32), dim=1)[:, past_position:], min=0)
            x = tok_emb + self.wpe(pos)
        x = self.emb_drop(x)
        attn_bias, attention_mask = self._attn_bias(device=x.device, dtype=torch.float32, attention_mask=attention_mask)
        presents = () if use_cache else None
        if use_cache and past_key_values is None:
            past_key_values = [() for _ in range(self.config.n_layers)]
        all_hidden_states = () if output_hidden_states else None
        for b_idx, block in enumerate(self.blocks):
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (x,)
            past_key_value = past_key_values[b_idx] if past_key_values is not None else None
            x, attn_weights, present = block(x, past_key_value=past_key_value, attn_bias=attn_bias,
                                             attention_mask=attention_mask, is_causal=self.is_causal)
            if presents is not None:
                presents += (present,)
        x = self.norm_f(x)
        if output_hidden_states:
            all_hidden_states = all_hidden_states + (x,)
        return BaseModelOutputWithPast(last_hidden_state=x, past_key_values=presents, hidden_states=all_hidden_states)

    def param_init_fn(self, module):
        init_fn_name = self.config.init_config["name"]
        MODEL_INIT_REGISTRY[init_fn_name](module=module, n_layers=self.config.n_layers, d_model=self.config.d_model,
                                          **self.config.init_config)

    def _init_weights(self, module):
        self.param_init_fn(module)


class MPTForCausalLM(MPTPreTrainedModel):
    def __init__(self, config: MPTConfig):
        super().__init__(config)
        if not config.tie_word_embeddings:
            raise ValueError("MPTForCausalLM only supports tied word embeddings")
        self.transformer = MPTModel(config)
        for child in self.transformer.children():
            if isinstance(child, torch.nn.ModuleList):
                continue
            if isinstance(child, torch.nn.Module):
                child._fsdp_wrap = True
        self.logit_scale = None
        if config.logit_scale is not None:
            logit_scale = config.logit_scale
            if isinstance(logit_scale, str):
                if logit_scale == "inv_sqrt_d_model":
                    logit_scale = 1 / math.sqrt(config.d_model)
                else:
                    raise ValueError(f"logit_scale={logit_scale!r} is not recognized as an option")
            self.logit_scale = logit_scale
        self.post_init()

    def get_input_embeddings(self):
        return self.transformer.wte

    def set_input_embeddings(self, value):
        self.transformer.wte = value

    def get_output_embeddings(self):
        return self.transformer.wte

    def set_output_embeddings(self, new_embeddings):
        self.transformer.wte = new_embeddings

    def forward(self, input_ids: torch.LongTensor, past_key_values=None, attention_mask=None, prefix_mask=None,
                sequence_id=None, labels=None, return_dict=None, output_attentions=None, output_hidden_states=None,
                use_cache=None, inputs_embeds=None):
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        outputs = self.transformer(input_ids=input_ids, past_key_values=past_key_values, attention_mask=attention_mask,
                                   prefix_mask=prefix_mask, sequence_id=sequence_id, return_dict=return_dict,
                                   output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                   use_cache=use_cache, inputs_embeds=inputs_embeds)
        logits = self.transformer.wte(outputs.last_hidden_state.to(self.transformer.wte.weight.device), True)
        if self.logit_scale is not None:
            if self.logit_scale == 0:
                warnings.warn(f"Multiplying logits by self.logit_scale={self.logit_scale!r}. All logits are 0.")
            logits *= self.logit_scale
        loss = None
        if labels is not None:
            _labels = torch.roll(labels, shifts=-1)
            _labels[:, -1] = -100
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), _labels.to(logits.device).view(-1))
        return CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=outputs.past_key_values,
                                      hidden_states=outputs.hidden_states)

    def param_init_fn(self, module):
        init_fn_name = self.config.init_config["name"]
        MODEL_INIT_REGISTRY[init_fn_name](module=module, n_layers=self.config.n_layers, d_model=self.config.d_model,
                                          **self.config.init_config)

    def _init_weights(self, module):
        self.param_init_fn(module)

    def prepare_inputs_for_generation(self, input_ids, past_key_values=None, inputs_embeds=None, **kwargs):
        if inputs_embeds is not None:
            raise NotImplementedError("inputs_embeds is not implemented for MPT yet")
        past_key_values = as_legacy(past_key_values)
        attention_mask = kwargs["attention_mask"].bool()
        if attention_mask[:, -1].sum() != attention_mask.shape[0]:
            raise NotImplementedError("MPT does not support generation with right padding.")
        if past_key_values is not None:
            input_ids = input_ids[:, -1].unsqueeze(-1)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "prefix_mask": None, "sequence_id": None,
                "past_key_values": past_key_values, "use_cache": kwargs.get("use_cache", True)}

    @staticmethod
    def _reorder_cache(past_key_values, beam_idx):
        """Beam search keeps the rows of the beams it follows."""
        reordered_past = []
        for layer_past in past_key_values:
            reordered_past += [tuple(past_state.index_select(0, beam_idx) for past_state in layer_past)]
        return reordered_past
'''


def repo() -> CorpusRepo:
    files = {
        "configuration_mpt.py": CONFIGURATION,
        "norm.py": NORM,
        "attention.py": ATTENTION,
        "blocks.py": BLOCKS,
        "custom_embedding.py": EMBEDDING,
        "param_init_fns.py": PARAM_INIT,
        "flash_attn_triton.py": FLASH_ATTN_TRITON,
        "modeling_mpt.py": MODELING,
        "config.json": config_json(
            "mpt",
            {"AutoConfig": "configuration_mpt.MPTConfig", "AutoModelForCausalLM": "modeling_mpt.MPTForCausalLM"},
            architectures=["MPTForCausalLM"], d_model=32, n_heads=4, n_layers=2, expansion_ratio=2, max_seq_len=32,
            vocab_size=48, no_bias=True, learned_pos_emb=False, logit_scale="inv_sqrt_d_model", use_cache=False,
            attn_config={"alibi": True, "attn_impl": "torch", "clip_qkv": 6, "qk_ln": False, "alibi_bias_max": 8},
            init_config={"name": "kaiming_normal_", "init_nonlinearity": "relu"}, eos_token_id=2, pad_token_id=0,
            torch_dtype="float32",
        ),
    }
    prompts = [[0, 0, 5, 7, 9, 11, 13, 15], [1, 4, 6, 8, 10, 12, 14, 16]]  # left-padded batch
    mask = [[0, 0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]]
    return CorpusRepo(
        "mpt_style", files, "AutoModelForCausalLM", "MPTForCausalLM", {"input_ids": prompts, "attention_mask": mask},
        ("logits",),
        extra={
            "generate": {"max_new_tokens": 6, "do_sample": False, "pad_token_id": 0, "use_cache": True},
            "beam": {"max_new_tokens": 4, "num_beams": 2, "do_sample": False, "pad_token_id": 0, "use_cache": True},
        },
    )
