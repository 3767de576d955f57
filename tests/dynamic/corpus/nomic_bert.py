"""nomic-bert style (nomic-embed-text v1.5 loads its code from nomic-bert-2048): a config subclassing
``GPT2Config`` (``n_embd``, ``n_head``, ``n_layer``, ``n_inner``), rotary embeddings over a fraction of each
head, a fused ``Wqkv`` projection, a SwiGLU MLP (``fc11``/``fc12``/``fc2``), post-norm blocks, and a
``from_pretrained`` of its own that reads the weights itself (``safetensors`` directly for a folder,
``transformers.utils.hub.cached_file`` and the weight-file name constants for a repository id) and calls
``load_state_dict``. Its users mean-pool ``last_hidden_state`` and can cut it to a Matryoshka width.

The real embedding repository names the code repository in its ``auto_map``
(``"<code repo>--configuration_hf_nomic_bert.NomicBertConfig"``): :func:`cross_repository_config` writes that
config.json for a code repository pushed elsewhere.
"""

from __future__ import annotations

import json
from typing import Any

from corpus.repo import CorpusRepo

CONFIGURATION = '''
from transformers import GPT2Config


class NomicBertConfig(GPT2Config):
    model_type = "nomic_bert"

    def __init__(
        self,
        prenorm=False,
        parallel_block=False,
        rotary_emb_fraction=0.0,
        rotary_emb_base=10000,
        rotary_emb_interleaved=False,
        rotary_scaling_factor=None,
        max_trained_positions=2048,
        qkv_proj_bias=True,
        mlp_fc1_bias=True,
        mlp_fc2_bias=True,
        use_flash_attn=False,
        fused_bias_fc=False,
        fused_dropout_add_ln=False,
        type_vocab_size=2,
        pad_vocab_size_multiple=1,
        causal=False,
        **kwargs,
    ):
        self.prenorm = prenorm
        self.parallel_block = parallel_block
        self.rotary_emb_fraction = rotary_emb_fraction
        self.rotary_emb_base = rotary_emb_base
        self.rotary_emb_interleaved = rotary_emb_interleaved
        self.rotary_scaling_factor = rotary_scaling_factor
        self.max_trained_positions = max_trained_positions
        self.qkv_proj_bias = qkv_proj_bias
        self.mlp_fc1_bias = mlp_fc1_bias
        self.mlp_fc2_bias = mlp_fc2_bias
        self.use_flash_attn = use_flash_attn
        self.fused_bias_fc = fused_bias_fc
        self.fused_dropout_add_ln = fused_dropout_add_ln
        self.type_vocab_size = type_vocab_size
        self.pad_vocab_size_multiple = pad_vocab_size_multiple
        self.causal = causal
        super().__init__(**kwargs)
'''

MODELING = '''
import logging
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file as safe_load_file
from transformers import GPT2Config, PreTrainedModel
from transformers.models.bert.modeling_bert import BaseModelOutputWithPoolingAndCrossAttentions
from transformers.utils import SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME
from transformers.utils.hub import cached_file, get_checkpoint_shard_files

from .configuration_hf_nomic_bert import NomicBertConfig

try:
    from torch.nn.functional import scaled_dot_product_attention
except ImportError:
    scaled_dot_product_attention = None

logger = logging.getLogger(__name__)


def read_state_dict(model_name, revision=None, cache_dir=None, token=None):
    """The checkpoint's tensors, from a folder or through the hub cache (one file or an index of shards)."""
    folder_file = os.path.join(model_name, SAFE_WEIGHTS_NAME)
    if os.path.isfile(folder_file):
        return safe_load_file(folder_file)
    options = dict(revision=revision, cache_dir=cache_dir, token=token)
    single = cached_file(model_name, SAFE_WEIGHTS_NAME, _raise_exceptions_for_missing_entries=False, **options)
    if single is not None:
        return safe_load_file(single)
    index = cached_file(model_name, SAFE_WEIGHTS_INDEX_NAME, **options)
    shards, _ = get_checkpoint_shard_files(model_name, index, **options)
    state_dict = {}
    for shard in shards:
        state_dict.update(safe_load_file(shard))
    return state_dict


def rotate_half(x):
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


class NomicBertRotaryEmbedding(nn.Module):
    def __init__(self, dim, base=10000.0, scaling_factor=None, max_trained_positions=2048):
        super().__init__()
        self.dim = dim
        self.base = base
        self.scaling_factor = scaling_factor
        self.max_trained_positions = max_trained_positions
        self.register_buffer("inv_freq", self._inv_freq(base), persistent=False)

    def _inv_freq(self, base):
        return 1.0 / (base ** (torch.arange(0, self.dim, 2, dtype=torch.float32) / self.dim))

    def forward(self, seqlen):
        inv_freq = self.inv_freq
        if self.scaling_factor is not None and seqlen > self.max_trained_positions:
            # dynamic NTK: stretch the base for lengths past the trained ones
            stretch = (self.scaling_factor * seqlen / self.max_trained_positions) - (self.scaling_factor - 1)
            inv_freq = self._inv_freq(self.base * stretch ** (self.dim / (self.dim - 2)))
        freqs = torch.outer(torch.arange(seqlen, dtype=torch.float32), inv_freq)
        return torch.cos(freqs), torch.sin(freqs)  # (seq, rotary_dim / 2)


def apply_rotary(x, cos, sin, rotary_dim):
    rotated, passed = x[..., :rotary_dim], x[..., rotary_dim:]
    cos = torch.cat((cos, cos), dim=-1)[None, :, None, :]
    sin = torch.cat((sin, sin), dim=-1)[None, :, None, :]
    return torch.cat((rotated * cos + rotate_half(rotated) * sin, passed), dim=-1)


class NomicBertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.n_embd, padding_idx=config.pad_token_id)
        self.type_vocab_size = config.type_vocab_size
        if self.type_vocab_size > 0:
            self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.n_embd)

    def forward(self, input_ids, token_type_ids=None):
        embeddings = self.word_embeddings(input_ids)
        if self.type_vocab_size > 0:
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            embeddings = embeddings + self.token_type_embeddings(token_type_ids)
        return embeddings


class NomicBertAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_heads = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.rotary_emb_dim = int(self.head_dim * config.rotary_emb_fraction)
        self.Wqkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.qkv_proj_bias)
        self.out_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.qkv_proj_bias)
        self.rotary_emb = NomicBertRotaryEmbedding(
            self.rotary_emb_dim, config.rotary_emb_base, config.rotary_scaling_factor, config.max_trained_positions
        )

    def forward(self, hidden_states, attention_mask=None):
        batch, seqlen, _ = hidden_states.shape
        qkv = self.Wqkv(hidden_states).view(batch, seqlen, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.unbind(dim=2)  # each (batch, seq, heads, head_dim)
        if self.rotary_emb_dim > 0:
            cos, sin = self.rotary_emb(seqlen)
            query = apply_rotary(query, cos, sin, self.rotary_emb_dim)
            key = apply_rotary(key, cos, sin, self.rotary_emb_dim)
        query, key, value = (t.transpose(1, 2) for t in (query, key, value))  # (batch, heads, seq, head_dim)
        context = scaled_dot_product_attention(query, key, value, attn_mask=attention_mask)
        return self.out_proj(context.transpose(1, 2).reshape(batch, seqlen, -1))


class NomicBertGatedMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        hidden = config.n_inner if config.n_inner is not None else 4 * config.n_embd
        self.fc11 = nn.Linear(config.n_embd, hidden, bias=config.mlp_fc1_bias)
        self.fc12 = nn.Linear(config.n_embd, hidden, bias=config.mlp_fc1_bias)
        self.fc2 = nn.Linear(hidden, config.n_embd, bias=config.mlp_fc2_bias)

    def forward(self, x):
        return self.fc2(self.fc11(x) * F.silu(self.fc12(x)))


class NomicBertBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attn = NomicBertAttention(config)
        self.mlp = NomicBertGatedMLP(config)
        self.dropout1 = nn.Dropout(config.resid_pdrop)
        self.norm1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.dropout2 = nn.Dropout(config.resid_pdrop)
        self.norm2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def forward(self, hidden_states, attention_mask=None):
        hidden_states = self.norm1(self.dropout1(self.attn(hidden_states, attention_mask)) + hidden_states)
        return self.norm2(self.dropout2(self.mlp(hidden_states)) + hidden_states)


class NomicBertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layers = nn.ModuleList([NomicBertBlock(config) for _ in range(config.n_layer)])
        self.gradient_checkpointing = False

    def forward(self, hidden_states, attention_mask=None):
        for layer in self.layers:
            hidden_states = layer(hidden_states, attention_mask)
        return hidden_states


class NomicBertPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.n_embd, config.n_embd)

    def forward(self, hidden_states):
        return torch.tanh(self.dense(hidden_states[:, 0]))


class NomicBertPreTrainedModel(PreTrainedModel):
    config_class = NomicBertConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["NomicBertBlock"]

    def __init__(self, config, *inputs, **kwargs):
        super().__init__(config)
        if not isinstance(config, GPT2Config):
            raise ValueError(f"{type(self).__name__} needs a GPT2Config subclass, got {type(config).__name__}")
        self.config = config

    @classmethod
    def from_pretrained(cls, model_name, config=None, *inputs, **kwargs):
        """Reads the weights itself, as the checkpoint format of the original training code requires."""
        if config is None:
            config = cls.config_class.from_pretrained(model_name)
        strict = kwargs.pop("strict", True)
        dtype = kwargs.pop("torch_dtype", None)
        scaling = kwargs.pop("rotary_scaling_factor", None)
        if scaling:
            config.rotary_scaling_factor = scaling
        if "add_pooling_layer" in kwargs:
            model = cls(config, *inputs, add_pooling_layer=kwargs.pop("add_pooling_layer"))
        else:
            model = cls(config, *inputs)
        state_dict = read_state_dict(
            model_name, revision=kwargs.get("revision"), cache_dir=kwargs.get("cache_dir"), token=kwargs.get("token")
        )
        outcome = model.load_state_dict(state_dict, strict=strict)
        logger.info("loaded %s: %s", model_name, outcome)
        if dtype is not None:
            model = model.to(dtype=dtype)
        return model.eval()

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=self.config.initializer_range)


class NomicBertModel(NomicBertPreTrainedModel):
    def __init__(self, config, add_pooling_layer=True):
        super().__init__(config)
        self.embeddings = NomicBertEmbeddings(config)
        self.emb_drop = nn.Dropout(config.resid_pdrop)
        self.emb_ln = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.encoder = NomicBertEncoder(config)
        self.pooler = NomicBertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, return_dict=None, matryoshka_dim=None):
        hidden_states = self.emb_ln(self.emb_drop(self.embeddings(input_ids, token_type_ids)))
        additive = None
        if attention_mask is not None:
            additive = self.get_extended_attention_mask(attention_mask, input_ids.shape)
        sequence_output = self.encoder(hidden_states, additive)
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if matryoshka_dim:
            sequence_output = sequence_output[:, :, :matryoshka_dim]
        return BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=sequence_output,
                                                            pooler_output=pooled_output)
'''

IDS = [[101, 7, 9, 11, 13, 102], [101, 8, 10, 102, 0, 0]]
MASK = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]

SHAPE: dict[str, Any] = {
    "vocab_size": 128, "n_embd": 16, "n_head": 2, "n_layer": 2, "n_inner": 24, "n_positions": 64,
    "rotary_emb_fraction": 0.5, "rotary_emb_base": 1000, "activation_function": "swiglu", "qkv_proj_bias": False,
    "mlp_fc1_bias": False, "mlp_fc2_bias": False, "type_vocab_size": 2, "layer_norm_epsilon": 1e-12,
    "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "pad_token_id": 0, "prenorm": False,
    "architectures": ["NomicBertModel"],
}


def config(auto_map: dict[str, str]) -> str:
    return json.dumps({"model_type": "nomic_bert", "auto_map": auto_map, **SHAPE}, indent=2)


def cross_repository_config(code_repo: str) -> str:
    """nomic-embed-text's config.json: the classes live in another repository (``<repo>--<module>.<class>``)."""
    return config({"AutoConfig": f"{code_repo}--configuration_hf_nomic_bert.NomicBertConfig",
                   "AutoModel": f"{code_repo}--modeling_hf_nomic_bert.NomicBertModel"})


def code_files() -> dict[str, str]:
    return {"configuration_hf_nomic_bert.py": CONFIGURATION, "modeling_hf_nomic_bert.py": MODELING}


def repo() -> CorpusRepo:
    files = code_files()
    files["config.json"] = config({"AutoConfig": "configuration_hf_nomic_bert.NomicBertConfig",
                                   "AutoModel": "modeling_hf_nomic_bert.NomicBertModel"})
    return CorpusRepo("nomic_bert", files, "AutoModel", "NomicBertModel", {"input_ids": IDS, "attention_mask": MASK},
                      ("last_hidden_state", "pooler_output"))
