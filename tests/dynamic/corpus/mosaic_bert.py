"""MosaicBERT / DNABERT-2 style (zhihan1996/DNABERT-2-117M, mosaicml/mosaic-bert-base): files named as the
reference's own BERT (``configuration_bert.BertConfig`` subclassing the reference's ``BertConfig``, models named
``BertModel`` that subclass the reference's ``BertPreTrainedModel``, so ``config_class`` is the reference's class
of the same name), ``bert_layers.py`` importing unpadding helpers from ``bert_padding.py``, a Triton kernel
module imported relatively inside ``try``/``except ImportError`` (it needs ``triton``, absent on CPU machines),
ALiBi biases, a fused ``Wqkv``, a gated MLP (``gated_layers``/``wo``/``layernorm``), the whole encoder run on
unpadded tokens, and a ``BertModel.forward`` that returns a plain tuple (``model(ids)[0]`` is how its users
read hidden states).
"""

from __future__ import annotations

import json

from corpus.repo import CorpusRepo

CONFIGURATION = '''
from transformers import BertConfig as TransformersBertConfig


class BertConfig(TransformersBertConfig):
    def __init__(self, alibi_starting_size: int = 512, attention_probs_dropout_prob: float = 0.0, **kwargs):
        super().__init__(attention_probs_dropout_prob=attention_probs_dropout_prob, **kwargs)
        self.alibi_starting_size = alibi_starting_size
'''

PADDING = '''
"""Gathering the real tokens of a padded batch into one packed (tokens, ...) tensor, and back."""

import torch
import torch.nn.functional as F


class IndexFirstAxis(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values, indices):
        ctx.save_for_backward(indices)
        ctx.first_axis_dim = values.shape[0]
        return values[indices]

    @staticmethod
    def backward(ctx, grad_output):
        (indices,) = ctx.saved_tensors
        grad = grad_output.new_zeros((ctx.first_axis_dim,) + grad_output.shape[1:])
        grad[indices] = grad_output
        return grad, None


index_first_axis = IndexFirstAxis.apply


class IndexPutFirstAxis(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values, indices, first_axis_dim):
        ctx.save_for_backward(indices)
        output = values.new_zeros((first_axis_dim,) + values.shape[1:])
        output[indices] = values
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (indices,) = ctx.saved_tensors
        return grad_output[indices], None, None


index_put_first_axis = IndexPutFirstAxis.apply


def unpad_input(hidden_states, attention_mask):
    """(batch, seq, ...) -> (tokens, ...), the kept indices, cumulative lengths and the longest length."""
    seqlens = attention_mask.sum(dim=-1, dtype=torch.int32)
    indices = torch.nonzero(attention_mask.flatten(), as_tuple=False).flatten()
    max_seqlen_in_batch = int(seqlens.max().item())
    cu_seqlens = F.pad(torch.cumsum(seqlens, dim=0, dtype=torch.int32), (1, 0))
    flat = hidden_states.reshape(-1, *hidden_states.shape[2:])
    return index_first_axis(flat, indices), indices, cu_seqlens, max_seqlen_in_batch


def unpad_input_only(hidden_states, attention_mask):
    indices = torch.nonzero(attention_mask.flatten(), as_tuple=False).flatten()
    return index_first_axis(hidden_states.reshape(-1, *hidden_states.shape[2:]), indices)


def pad_input(hidden_states, indices, batch, seqlen):
    return index_put_first_axis(hidden_states, indices, batch * seqlen).view(batch, seqlen, *hidden_states.shape[1:])
'''

TRITON = '''
"""A fused attention kernel for GPUs (Triton). Importing this module fails where triton is not installed."""

import torch

try:
    import triton
    import triton.language as tl
except ImportError as error:
    raise ImportError("flash_attn_triton needs the triton package") from error


def flash_attn_qkvpacked_func(qkv, bias=None, causal=False, softmax_scale=None):
    raise NotImplementedError("the Triton kernel is not part of this test repository")
'''

LAYERS = '''
import copy
import logging
import math
import warnings
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
from transformers.activations import ACT2FN
from transformers.modeling_outputs import MaskedLMOutput, SequenceClassifierOutput
from transformers.models.bert.modeling_bert import BertPreTrainedModel

from .bert_padding import index_first_axis, index_put_first_axis, pad_input, unpad_input, unpad_input_only

try:
    from .flash_attn_triton import flash_attn_qkvpacked_func
except ImportError:
    flash_attn_qkvpacked_func = None

logger = logging.getLogger(__name__)


class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer("token_type_ids", torch.zeros(config.max_position_embeddings, dtype=torch.long),
                             persistent=False)

    def forward(self, input_ids, token_type_ids=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(embeddings))  # ALiBi: no position embeddings


class BertUnpadSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.p_dropout = config.attention_probs_dropout_prob
        self.Wqkv = nn.Linear(config.hidden_size, 3 * self.all_head_size)
        if flash_attn_qkvpacked_func is None:
            warnings.warn("Unable to import Triton; the attention runs in PyTorch.")

    def forward(self, hidden_states, cu_seqlens, max_seqlen_in_batch, indices, attn_mask, bias):
        qkv = pad_input(self.Wqkv(hidden_states), indices, cu_seqlens.shape[0] - 1, max_seqlen_in_batch)
        batch, seqlen, _ = qkv.shape
        qkv = qkv.view(batch, seqlen, 3, self.num_attention_heads, self.attention_head_size)
        q = qkv[:, :, 0].permute(0, 2, 1, 3)  # (batch, heads, seq, head)
        k = qkv[:, :, 1].permute(0, 2, 3, 1)  # (batch, heads, head, seq)
        v = qkv[:, :, 2].permute(0, 2, 1, 3)
        scores = torch.matmul(q, k) / math.sqrt(self.attention_head_size) + bias
        probs = self.dropout(nn.functional.softmax(scores, dim=-1))
        attention = torch.matmul(probs, v).permute(0, 2, 1, 3)  # (batch, seq, heads, head)
        attention = unpad_input_only(attention, torch.squeeze(attn_mask) == 1)
        return attention.reshape(attention.shape[0], self.all_head_size)


class BertSelfOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertUnpadAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = BertUnpadSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, input_tensor, cu_seqlens, max_s, indices=None, attn_mask=None, bias=None):
        return self.output(self.self(input_tensor, cu_seqlens, max_s, indices, attn_mask, bias), input_tensor)


class BertGatedLinearUnitMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.gated_layers = nn.Linear(config.hidden_size, config.intermediate_size * 2, bias=False)
        self.act = nn.GELU(approximate="none")
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states):
        residual = hidden_states
        gated = self.gated_layers(hidden_states)
        size = self.config.intermediate_size
        hidden_states = self.act(gated[:, :size]) * gated[:, size:]
        return self.layernorm(self.dropout(self.wo(hidden_states)) + residual)


class BertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = BertUnpadAttention(config)
        self.mlp = BertGatedLinearUnitMLP(config)

    def forward(self, hidden_states, cu_seqlens, seqlen, subset_idx=None, indices=None, attn_mask=None, bias=None):
        return self.mlp(self.attention(hidden_states, cu_seqlens, seqlen, indices, attn_mask, bias))


class BertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        layer = BertLayer(config)
        self.layer = nn.ModuleList([copy.deepcopy(layer) for _ in range(config.num_hidden_layers)])
        self.num_attention_heads = config.num_attention_heads
        self._current_alibi_size = int(config.alibi_starting_size)
        self.alibi = torch.zeros((1, self.num_attention_heads, self._current_alibi_size, self._current_alibi_size))
        self.rebuild_alibi_tensor(size=config.alibi_starting_size)

    def rebuild_alibi_tensor(self, size, device=None):
        heads = self.num_attention_heads
        positions = torch.arange(size, device=device)
        distance = (positions[:, None] - positions[None, :]).abs()
        slopes = torch.tensor([2.0 ** (-8.0 * (i + 1) / heads) for i in range(heads)], device=device)
        self._current_alibi_size = size
        self.alibi = (-distance[None] * slopes[:, None, None]).unsqueeze(0)  # (1, heads, size, size)

    def forward(self, hidden_states, attention_mask, output_all_encoded_layers=True, subset_mask=None):
        extended = attention_mask.unsqueeze(1).unsqueeze(2).to(dtype=next(self.parameters()).dtype)
        extended = (1.0 - extended) * -10000.0
        attention_mask_bool = attention_mask.bool()
        batch, seqlen = hidden_states.shape[:2]
        hidden_states, indices, cu_seqlens, _ = unpad_input(hidden_states, attention_mask_bool)
        if self._current_alibi_size < seqlen:
            warnings.warn(f"Increasing the ALiBi size from {self._current_alibi_size} to {seqlen}")
            self.rebuild_alibi_tensor(size=seqlen, device=hidden_states.device)
        elif self.alibi.device != hidden_states.device:
            self.alibi = self.alibi.to(hidden_states.device)
        alibi_bias = self.alibi[:, :, :seqlen, :seqlen]
        attn_bias = extended[:, :, :seqlen, :seqlen]
        alibi_attn_mask = attn_bias + alibi_bias
        all_encoder_layers = []
        for layer_module in self.layer:
            hidden_states = layer_module(hidden_states, cu_seqlens, seqlen, None, indices, attn_mask=attention_mask,
                                         bias=alibi_attn_mask)
            if output_all_encoded_layers:
                all_encoder_layers.append(pad_input(hidden_states, indices, batch, seqlen))
        if not output_all_encoded_layers:
            all_encoder_layers.append(pad_input(hidden_states, indices, batch, seqlen))
        return all_encoder_layers


class BertPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states, pool=True):
        return self.activation(self.dense(hidden_states[:, 0] if pool else hidden_states))


class BertModel(BertPreTrainedModel):
    def __init__(self, config, add_pooling_layer=True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.embeddings.word_embeddings = value

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, position_ids=None,
                output_all_encoded_layers=False, masked_tokens_mask=None, **kwargs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        embedding_output = self.embeddings(input_ids, token_type_ids)
        encoder_outputs = self.encoder(embedding_output, attention_mask,
                                       output_all_encoded_layers=output_all_encoded_layers)
        sequence_output = encoder_outputs[-1]
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not output_all_encoded_layers:
            encoder_outputs = sequence_output
        if self.pooler is not None:
            return encoder_outputs, pooled_output
        return encoder_outputs, None
'''

IDS = [[1, 7, 9, 11, 13, 15, 2], [1, 8, 10, 12, 2, 0, 0]]
MASK = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]]


def repo() -> CorpusRepo:
    """Sequences longer than the ALiBi tensor built at construction (rebuilt on the way, as the real code does)."""
    files = {
        "configuration_bert.py": CONFIGURATION,
        "bert_padding.py": PADDING,
        "flash_attn_triton.py": TRITON,
        "bert_layers.py": LAYERS,
        "config.json": json.dumps({
            "model_type": "bert", "architectures": ["BertForMaskedLM"],
            "auto_map": {"AutoConfig": "configuration_bert.BertConfig", "AutoModel": "bert_layers.BertModel"},
            "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 24, "max_position_embeddings": 32, "alibi_starting_size": 4,
            "attention_probs_dropout_prob": 0.0, "hidden_dropout_prob": 0.1, "type_vocab_size": 2, "pad_token_id": 0,
        }, indent=2),
    }
    return CorpusRepo("dnabert2", files, "AutoModel", "BertModel", {"input_ids": IDS, "attention_mask": MASK},
                      ("0", "1"))
