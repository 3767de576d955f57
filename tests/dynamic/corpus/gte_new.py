"""gte v1.5 "new-impl" style (Alibaba-NLP/new-impl, which gte-base/large-en-v1.5 load): a ``NewConfig`` in a file
named ``configuration.py`` (``rope_theta``, ``rope_scaling`` with an NTK ``factor`` and ``mixed_b``,
``unpad_inputs``, ``use_memory_efficient_attention``, ``pack_qkv``, ``layer_norm_type``, ``logn_attention_scale``),
xformers imported inside ``try``/``except ImportError`` (so optional), rotary caches built at construction and
stretched by NTK scaling, a packed ``qkv_proj``, a gated MLP ``up_gate_proj``/``down_proj``, an attention class
picked from ``config._attn_implementation`` (eager or SDPA), unpadding helpers written as
``torch.autograd.Function`` subclasses, and a ``NewModel`` whose forward takes ``unpad_inputs``. The unpadded path
(tokens of all sequences packed into one row) must give the padded path's values at real tokens.
"""

from __future__ import annotations

import json

from corpus.repo import CorpusRepo

CONFIGURATION = '''
from transformers.configuration_utils import PretrainedConfig
from transformers.utils import logging

logger = logging.get_logger(__name__)


class NewConfig(PretrainedConfig):
    model_type = "new"

    def __init__(
        self,
        vocab_size=30528,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=2048,
        type_vocab_size=1,
        initializer_range=0.02,
        layer_norm_type="layer_norm",
        layer_norm_eps=1e-12,
        position_embedding_type="rope",
        rope_theta=10000.0,
        rope_scaling=None,
        classifier_dropout=None,
        pack_qkv=True,
        unpad_inputs=False,
        use_memory_efficient_attention=False,
        logn_attention_scale=False,
        logn_attention_clip1=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.hidden_act = hidden_act
        self.intermediate_size = intermediate_size
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_type = layer_norm_type
        self.layer_norm_eps = layer_norm_eps
        self.position_embedding_type = position_embedding_type
        self.rope_theta = rope_theta
        self.rope_scaling = rope_scaling
        self.classifier_dropout = classifier_dropout
        self.pack_qkv = pack_qkv
        self.unpad_inputs = unpad_inputs
        self.use_memory_efficient_attention = use_memory_efficient_attention
        self.logn_attention_scale = logn_attention_scale
        self.logn_attention_clip1 = logn_attention_clip1
'''

MODELING = '''
import math
from typing import List, Optional, Tuple, Union

import torch
import torch.utils.checkpoint
from torch import nn
from transformers.activations import ACT2FN
from transformers.modeling_outputs import BaseModelOutput, BaseModelOutputWithPooling
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import logging

try:
    import xformers.ops as xops
except ImportError:
    xops = None

from .configuration import NewConfig

logger = logging.get_logger(__name__)


class GatherRows(torch.autograd.Function):
    """rows[indices] of a (tokens, ...) tensor, with a scatter for the gradient."""

    @staticmethod
    def forward(ctx, rows, indices):
        ctx.save_for_backward(indices)
        ctx.first_dim = rows.shape[0]
        return rows[indices]

    @staticmethod
    def backward(ctx, grad_output):
        (indices,) = ctx.saved_tensors
        grad = grad_output.new_zeros((ctx.first_dim,) + grad_output.shape[1:])
        grad[indices] = grad_output
        return grad, None


class ScatterRows(torch.autograd.Function):
    """Puts packed rows back at their padded positions (zeros elsewhere)."""

    @staticmethod
    def forward(ctx, values, indices, first_dim):
        ctx.save_for_backward(indices)
        output = values.new_zeros((first_dim,) + values.shape[1:])
        output[indices] = values
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (indices,) = ctx.saved_tensors
        return grad_output[indices], None, None


def unpad_input(hidden_states, attention_mask=None, indices=None):
    if indices is None:
        indices = torch.nonzero(attention_mask.flatten(), as_tuple=False).flatten()
    return GatherRows.apply(hidden_states.reshape(-1, *hidden_states.shape[2:]), indices)


def pad_input(inputs, indices, batch, seqlen):
    return ScatterRows.apply(inputs, indices, batch * seqlen).view(batch, seqlen, *inputs.shape[1:])


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    cos, sin = cos.to(q.dtype), sin.to(q.dtype)
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


class RotaryEmbedding(nn.Module):
    def __init__(self, dim, max_position_embeddings=512, base=10000.0, device=None):
        super().__init__()
        self.dim = dim
        self.max_position_embeddings = max_position_embeddings
        self.base = base
        inv_freq = 1.0 / (self.base ** (torch.arange(0, self.dim, 2).float().to(device) / self.dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self._set_cos_sin_cache(max_position_embeddings, self.inv_freq.device, torch.get_default_dtype())

    def _set_cos_sin_cache(self, seq_len, device, dtype):
        self.max_seq_len_cached = seq_len
        positions = torch.arange(seq_len, device=device, dtype=torch.float32)
        freqs = torch.outer(positions, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", emb.cos().to(dtype), persistent=False)
        self.register_buffer("sin_cached", emb.sin().to(dtype), persistent=False)

    def forward(self, x, seq_len=None):
        if seq_len > self.max_seq_len_cached:
            self._set_cos_sin_cache(seq_len, x.device, x.dtype)
        return self.cos_cached[:seq_len].to(x.dtype), self.sin_cached[:seq_len].to(x.dtype)


class NTKScalingRotaryEmbedding(RotaryEmbedding):
    """Rotary embeddings whose frequencies are stretched past the trained length (fixed or mixed NTK)."""

    def __init__(self, dim, max_position_embeddings=512, base=10000, device=None, scaling_factor=1.0, mixed_b=None):
        self.scaling_factor = scaling_factor
        self.mixed_b = mixed_b
        super().__init__(dim, max_position_embeddings, base, device)
        self._set_cos_sin_cache(int(max_position_embeddings * scaling_factor), self.inv_freq.device,
                                torch.get_default_dtype())

    def _set_cos_sin_cache(self, seq_len, device, dtype):
        if seq_len > self.max_position_embeddings:
            steps = torch.arange(0, self.dim, 2).float().to(device) / self.dim
            if self.mixed_b is None:
                inv_freq = 1.0 / (self.base * self.scaling_factor) ** steps
                inv_freq = inv_freq / self.scaling_factor ** (2 / self.dim)
            else:
                a = math.log(self.scaling_factor) / (self.dim / 2) ** self.mixed_b
                lambdas = (a * torch.arange(1, self.dim // 2 + 1).float().to(device) ** self.mixed_b).exp()
                inv_freq = 1.0 / self.base ** steps / lambdas
            self.register_buffer("inv_freq", inv_freq, persistent=False)
        super()._set_cos_sin_cache(seq_len, device, dtype)


class RMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        variance = hidden_states.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (hidden_states.float() * torch.rsqrt(variance + self.variance_epsilon)).to(hidden_states.dtype)


LAYER_NORM = {"layer_norm": nn.LayerNorm, "rms_norm": RMSNorm}


class NewEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.type_vocab_size = config.type_vocab_size
        if self.type_vocab_size > 0:
            self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings), persistent=False)
        head_dim = config.hidden_size // config.num_attention_heads
        if config.rope_scaling is None:
            self.rotary_emb = RotaryEmbedding(head_dim, config.max_position_embeddings, config.rope_theta)
        elif config.rope_scaling["type"] == "ntk":
            self.rotary_emb = NTKScalingRotaryEmbedding(
                head_dim, config.max_position_embeddings, config.rope_theta,
                scaling_factor=config.rope_scaling["factor"], mixed_b=config.rope_scaling.get("mixed_b"),
            )
        else:
            raise ValueError(f"Unknown RoPE scaling type {config.rope_scaling['type']}")

    def forward(self, unpad_inputs, input_ids, attention_mask=None, token_type_ids=None):
        batch, seq_length = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        length = attention_mask.sum(-1).tolist()
        if seq_length > self.position_ids.size(0):
            self.register_buffer("position_ids", torch.arange(seq_length), persistent=False)
        if unpad_inputs:
            keep = attention_mask.bool()
            input_ids = input_ids[keep].unsqueeze(0)  # (1, tokens of all rows)
            position_ids = torch.cat([self.position_ids[:n] for n in length]).unsqueeze(0)
        else:
            position_ids = self.position_ids[:seq_length].expand(batch, -1)
        embeddings = self.word_embeddings(input_ids)
        cos, sin = self.rotary_emb(embeddings, seq_len=seq_length)
        rope_embeds = cos[position_ids].unsqueeze(2), sin[position_ids].unsqueeze(2)  # (b, seq, 1, dim)
        if self.type_vocab_size > 0:
            if token_type_ids is None:
                token_type_ids = position_ids.mul(0)
            elif unpad_inputs:
                token_type_ids = token_type_ids[attention_mask.bool()].unsqueeze(0)
            embeddings = embeddings + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(embeddings)), attention_mask, rope_embeds, length


class NewAttention(nn.Module):
    def __init__(self, config, pack_qkv=None, use_memory_efficient_attention=None):
        super().__init__()
        self.config = config
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.pack_qkv = config.pack_qkv if pack_qkv is None else pack_qkv
        if self.pack_qkv:
            self.qkv_proj = nn.Linear(config.hidden_size, self.all_head_size * 3, bias=True)
        else:
            self.q_proj = nn.Linear(config.hidden_size, self.all_head_size, bias=True)
            self.k_proj = nn.Linear(config.hidden_size, self.all_head_size, bias=True)
            self.v_proj = nn.Linear(config.hidden_size, self.all_head_size, bias=True)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.o_proj = nn.Linear(config.hidden_size, config.hidden_size, bias=True)
        if use_memory_efficient_attention is None:
            use_memory_efficient_attention = config.use_memory_efficient_attention
        self.use_memory_efficient_attention = use_memory_efficient_attention and xops is not None

    def forward(self, hidden_states, attention_bias, rope_embeds=None, padding_inputs=None):
        shape_hd = (self.num_attention_heads, self.attention_head_size)
        if self.pack_qkv:
            packed = self.qkv_proj(hidden_states).split(self.all_head_size, dim=-1)
        else:
            packed = [getattr(self, n + "_proj")(hidden_states) for n in "qkv"]
        query, key, value = (t.view(t.shape[:-1] + shape_hd) for t in packed)  # (b, seq, heads, head)
        query, key = apply_rotary_pos_emb(query, key, *rope_embeds)
        if padding_inputs is not None:  # attention itself runs padded; the rest of the layer packed
            query, key, value = (pad_input(t.squeeze(0), *padding_inputs) for t in (query, key, value))
        context = self._attention(query, key, value, attention_bias)
        if padding_inputs is not None:
            context = unpad_input(context, indices=padding_inputs[0]).unsqueeze(0)
        return self.o_proj(context.reshape(context.shape[:-2] + (self.all_head_size,)))

    def _attention(self, query, key, value, attention_bias):
        query, key, value = (t.transpose(1, 2) for t in (query, key, value))  # (b, heads, seq, head)
        scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        if attention_bias is not None:
            scores = scores + attention_bias
        probs = self.dropout(nn.functional.softmax(scores, dim=-1))
        return torch.matmul(probs, value).permute(0, 2, 1, 3).contiguous()


class NewSdpaAttention(NewAttention):
    def _attention(self, query, key, value, attention_bias):
        output = torch.nn.functional.scaled_dot_product_attention(
            query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2), attn_mask=attention_bias,
            dropout_p=self.dropout.p if self.training else 0.0,
        )
        return output.permute(0, 2, 1, 3).contiguous()


NEW_ATTENTION_CLASSES = {"eager": NewAttention, "sdpa": NewSdpaAttention}


class NewGatedMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.intermediate_size = config.intermediate_size
        self.up_gate_proj = nn.Linear(config.hidden_size, self.intermediate_size * 2, bias=False)
        self.down_proj = nn.Linear(self.intermediate_size, config.hidden_size, bias=True)
        self.act_fn = ACT2FN[config.hidden_act]

    def forward(self, hidden_states):
        up_states, gate = torch.split(self.up_gate_proj(hidden_states), self.intermediate_size, dim=-1)
        return self.down_proj(self.act_fn(gate) * up_states)


class NewLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = NEW_ATTENTION_CLASSES[config._attn_implementation](config)
        self.mlp = NewGatedMLP(config)
        norm = LAYER_NORM[config.layer_norm_type]
        self.attn_ln = norm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp_ln = norm(config.hidden_size, eps=config.layer_norm_eps)
        self.hidden_dropout = nn.Dropout(config.hidden_dropout_prob) if config.hidden_dropout_prob > 0 else None

    def forward(self, hidden_states, attention_bias, rope_embeds=None, padding_inputs=None):
        attended = self.attention(hidden_states, attention_bias, rope_embeds, padding_inputs)
        if self.hidden_dropout is not None:
            attended = self.hidden_dropout(attended)
        hidden_states = self.attn_ln(hidden_states + attended)
        return (self.mlp_ln(hidden_states + self.mlp(hidden_states)),)


class NewEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.layer = nn.ModuleList([NewLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(self, hidden_states, attention_bias=None, rope_embeds=None, padding_inputs=None,
                output_hidden_states=False, return_dict=True):
        all_hidden_states = () if output_hidden_states else None
        for layer_module in self.layer:
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden_states,)
            hidden_states = layer_module(hidden_states, attention_bias, rope_embeds, padding_inputs)[0]
        if output_hidden_states:
            all_hidden_states = all_hidden_states + (hidden_states,)
        if not return_dict:
            return tuple(v for v in [hidden_states, all_hidden_states] if v is not None)
        return BaseModelOutput(last_hidden_state=hidden_states, hidden_states=all_hidden_states)


class NewPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states):
        return self.activation(self.dense(hidden_states[:, 0]))


class NewPreTrainedModel(PreTrainedModel):
    config_class = NewConfig
    base_model_prefix = "new"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)


class NewModel(NewPreTrainedModel):
    def __init__(self, config, add_pooling_layer=False):
        super().__init__(config)
        self.config = config
        self.embeddings = NewEmbeddings(config)
        self.encoder = NewEncoder(config)
        self.pooler = NewPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.embeddings.word_embeddings = value

    def forward(
        self,
        input_ids: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        token_type_ids: Optional[torch.Tensor] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        unpad_inputs: Optional[bool] = None,
    ) -> Union[Tuple[torch.Tensor], BaseModelOutputWithPooling]:
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        unpad_inputs = unpad_inputs if unpad_inputs is not None else self.config.unpad_inputs
        batch, seq_length = input_ids.shape
        embeddings, attention_mask, rope_embeds, length = self.embeddings(
            unpad_inputs, input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        attention_bias = self.get_extended_attention_mask(attention_mask, input_ids.shape)
        padding_inputs = None
        if unpad_inputs:
            indices = torch.nonzero(attention_mask.flatten(), as_tuple=False).flatten()
            padding_inputs = (indices, batch, seq_length)  # rotary is applied packed, attention runs padded
        encoder_outputs = self.encoder(embeddings, attention_bias, rope_embeds, padding_inputs,
                                       output_hidden_states=output_hidden_states, return_dict=return_dict)
        sequence_output = encoder_outputs[0]
        if unpad_inputs:
            sequence_output = pad_input(sequence_output.squeeze(0), padding_inputs[0], batch, seq_length)
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not return_dict:
            return (sequence_output, pooled_output) + encoder_outputs[1:]
        return BaseModelOutputWithPooling(last_hidden_state=sequence_output, pooler_output=pooled_output,
                                          hidden_states=encoder_outputs.hidden_states)
'''

IDS = [[101, 7, 9, 11, 13, 102], [101, 8, 10, 102, 0, 0]]
MASK = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]


def config(**overrides: object) -> str:
    values = {
        "model_type": "new",
        "auto_map": {"AutoConfig": "configuration.NewConfig", "AutoModel": "modeling.NewModel"},
        "architectures": ["NewModel"], "vocab_size": 128, "hidden_size": 16, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 24, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "max_position_embeddings": 4, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "rope_theta": 500.0,
        "rope_scaling": {"type": "ntk", "factor": 2.0}, "pack_qkv": True, "unpad_inputs": False,
        "use_memory_efficient_attention": False, "pad_token_id": 0, **overrides,
    }
    return json.dumps(values, indent=2)


def repo() -> CorpusRepo:
    """Sequences of 6 past a trained length of 4: the NTK-stretched rotary frequencies are in use."""
    files = {"configuration.py": CONFIGURATION, "modeling.py": MODELING, "config.json": config()}
    return CorpusRepo("gte_new_impl", files, "AutoModel", "NewModel",
                      {"input_ids": IDS, "attention_mask": MASK}, ("last_hidden_state",))
