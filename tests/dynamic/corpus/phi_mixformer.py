"""Phi-1.5 of the mixformer era (``MixFormerSequentialForCausalLM``, before the library had Phi): a config whose
``attribute_map`` maps the reference's names to ``n_embd`` / ``n_head`` / ``n_layer`` / ``n_positions``, a vocabulary
padded to a multiple of 64, the whole network one ``nn.Sequential`` (``layers.0.wte``, ``layers.N.mixer.Wqkv``,
``layers.N.mlp.fc1``, ``layers.-1.linear``), parallel attention and MLP blocks sharing one LayerNorm, partial
rotary embeddings with a sequence offset, and a cache that is no tuple at all: an ``InferenceParams`` dataclass
holding preallocated key/value buffers per layer, passed through ``generate()`` as ``past_key_values`` and
advanced by ``prepare_inputs_for_generation``.
"""

from __future__ import annotations

from corpus.repo import CorpusRepo, config_json

CONFIGURATION = '''
import math
from typing import Any, Dict, List, Optional, Union

from transformers import PretrainedConfig


class MixFormerSequentialConfig(PretrainedConfig):
    """MixFormer (sequential for DeepSpeed) configuration."""

    model_type = "mixformer-sequential"

    attribute_map = {
        "max_position_embeddings": "n_positions",
        "hidden_size": "n_embd",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
        "input_emb_layer": "embd_layer",
        "blocks": "architecture",
    }

    def __init__(
        self,
        vocab_size: Optional[int] = 50304,
        n_positions: Optional[int] = 2048,
        n_embd: Optional[int] = 1024,
        n_layer: Optional[int] = 20,
        n_inner: Optional[int] = None,
        n_head: Optional[int] = 16,
        rotary_dim: Optional[int] = 32,
        activation_function: Optional[str] = "gelu_new",
        embd_layer: Optional[str] = "default",
        architecture: Union[Dict[str, Any], List[Dict[str, Any]]] = None,
        embd_pdrop: Optional[float] = 0.0,
        resid_pdrop: Optional[float] = 0.0,
        layer_norm_epsilon: Optional[float] = 1e-5,
        initializer_range: Optional[float] = 0.02,
        tie_word_embeddings: Optional[bool] = False,
        pad_vocab_size_multiple: Optional[int] = 64,
        **kwargs
    ) -> None:
        self.vocab_size = int(math.ceil(vocab_size / pad_vocab_size_multiple) * pad_vocab_size_multiple)
        self.n_positions = n_positions
        self.n_embd = n_embd
        self.n_layer = n_layer
        self.n_inner = n_inner
        self.n_head = n_head
        self.rotary_dim = min(rotary_dim, n_embd // n_head)
        self.activation_function = activation_function
        self.embd_layer = embd_layer
        self.architecture = architecture
        self.embd_pdrop = embd_pdrop
        self.resid_pdrop = resid_pdrop
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
'''

MODELING = '''
import copy
import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn
from transformers import PretrainedConfig, PreTrainedModel
from transformers.activations import ACT2FN
from transformers.modeling_outputs import CausalLMOutputWithPast

from .configuration_mixformer_sequential import MixFormerSequentialConfig


@dataclass
class InferenceParams:
    """Inference parameters passed to model to efficiently calculate and store the context during inference."""

    max_sequence_len: int
    max_batch_size: int
    sequence_len_offset: int = 0
    batch_size_offset: int = 0
    key_value_memory_dict: dict = field(default_factory=dict)
    fused_ft_kernel: bool = False
    lengths_per_sample: torch.Tensor = None


class Embedding(nn.Module):
    """Token embedding with dropout."""

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)

    def forward(self, input_ids: torch.LongTensor) -> torch.FloatTensor:
        input_shape = input_ids.size()
        input_ids = input_ids.view(-1, input_shape[-1])
        return self.drop(self.wte(input_ids))


class RotaryEmbedding(nn.Module):
    """Rotary embedding on the first ``dim`` channels of each head (two halves), from a sequence offset."""

    def __init__(self, dim: int, base: int = 10000, device: Optional[str] = None, **kwargs) -> None:
        super().__init__()
        self.dim = dim
        self.register_buffer("inv_freq", 1.0 / (base ** (torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim)),
                             persistent=False)

    def _cos_sin(self, seqlen_offset: int, seqlen: int, device, dtype):
        positions = torch.arange(seqlen_offset, seqlen_offset + seqlen, device=device, dtype=torch.float32)
        freqs = torch.outer(positions, self.inv_freq.to(device))
        return torch.cos(freqs).to(dtype), torch.sin(freqs).to(dtype)

    def forward(self, qkv: torch.Tensor, seqlen_offset: int = 0) -> torch.Tensor:
        # qkv: (batch, seq, 3, heads, head_dim)
        batch, seqlen, three, heads, head_dim = qkv.shape
        cos, sin = self._cos_sin(seqlen_offset, seqlen, qkv.device, qkv.dtype)
        cos, sin = cos[None, :, None, :], sin[None, :, None, :]  # (1, seq, 1, dim / 2)
        rotated = []
        for part in (qkv[:, :, 0], qkv[:, :, 1]):
            x1, x2 = part[..., : self.dim // 2], part[..., self.dim // 2 : self.dim]
            rotated.append(torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos, part[..., self.dim:]], dim=-1))
        return torch.stack([rotated[0], rotated[1], qkv[:, :, 2]], dim=2)


class MLP(nn.Module):
    def __init__(self, config: PretrainedConfig, n_inner: Optional[int] = None, act_fn: Optional[str] = None) -> None:
        super().__init__()
        act_fn = config.activation_function if act_fn is None else act_fn
        if act_fn not in ACT2FN.keys():
            raise ValueError(f"`act_fn` must be one of: {ACT2FN.keys()}.")
        n_inner = getattr(config, "n_inner", None) if n_inner is None else n_inner
        n_inner = n_inner if n_inner is not None else 4 * config.n_embd
        self.fc1 = nn.Linear(config.n_embd, n_inner)
        self.fc2 = nn.Linear(n_inner, config.n_embd)
        self.act = ACT2FN[act_fn]

    def forward(self, hidden_states: torch.FloatTensor) -> torch.FloatTensor:
        return self.fc2(self.act(self.fc1(hidden_states)))


def _update_kv_cache(kv: torch.FloatTensor, inference_params: InferenceParams, layer_idx: int) -> torch.FloatTensor:
    """Write this step's keys and values into the layer's buffer; everything cached so far comes back."""
    num_heads, head_dim = kv.shape[-2:]
    if layer_idx not in inference_params.key_value_memory_dict:
        inference_params.key_value_memory_dict[layer_idx] = torch.empty(
            inference_params.max_batch_size, inference_params.max_sequence_len, 2, num_heads, head_dim,
            dtype=kv.dtype, device=kv.device,
        )
    buffer = inference_params.key_value_memory_dict[layer_idx]
    batch_start = inference_params.batch_size_offset
    batch_end = batch_start + kv.shape[0]
    sequence_start = inference_params.sequence_len_offset
    sequence_end = sequence_start + kv.shape[1]
    if sequence_end > buffer.shape[1] or batch_end > buffer.shape[0]:
        raise ValueError("the inference buffer is too small for this sequence")
    buffer[batch_start:batch_end, sequence_start:sequence_end, ...] = kv
    return buffer[batch_start:batch_end, :sequence_end, ...]


class SelfAttention(nn.Module):
    def __init__(self, causal: bool = True, softmax_scale: Optional[float] = None, attention_dropout: float = 0.0) -> None:
        super().__init__()
        self.causal = causal
        self.softmax_scale = softmax_scale
        self.drop = nn.Dropout(attention_dropout)

    def forward(self, q, kv, key_padding_mask=None):
        # q: (batch, seq_q, heads, head_dim); kv: (batch, seq_k, 2, heads, head_dim)
        seqlen_q, seqlen_k = q.shape[1], kv.shape[1]
        k, v = kv.unbind(dim=2)
        softmax_scale = self.softmax_scale or 1.0 / math.sqrt(q.shape[-1])
        scores = torch.einsum("bthd,bshd->bhts", q, k * softmax_scale)
        if key_padding_mask is not None:
            padding_mask = torch.full((scores.shape[0], seqlen_k), -10000.0, dtype=scores.dtype, device=scores.device)
            padding_mask.masked_fill_(key_padding_mask, 0.0)
            scores = scores + padding_mask[:, None, None, :]
        if self.causal:
            causal_mask = torch.triu(torch.full((seqlen_q, seqlen_k), -10000.0, device=scores.device),
                                     seqlen_k - seqlen_q + 1)
            scores = scores + causal_mask.to(dtype=scores.dtype)
        attention = self.drop(torch.softmax(scores, dim=-1).to(v.dtype))
        return torch.einsum("bhts,bshd->bthd", attention, v)


class MHA(nn.Module):
    """Multi-head attention with a fused Wqkv and partial rotary embeddings."""

    def __init__(self, config: PretrainedConfig, rotary_dim: Optional[int] = None, softmax_scale: Optional[float] = None,
                 causal: bool = True, layer_idx: Optional[int] = None, return_residual: bool = False) -> None:
        super().__init__()
        self.rotary_emb_dim = rotary_dim if rotary_dim is not None else getattr(config, "rotary_dim", 0)
        if self.rotary_emb_dim > 0:
            self.rotary_emb = RotaryEmbedding(self.rotary_emb_dim)
        self.n_head = config.n_head
        self.head_dim = config.n_embd // self.n_head
        op_size = self.n_head * self.head_dim
        self.Wqkv = nn.Linear(config.n_embd, 3 * op_size)
        self.out_proj = nn.Linear(op_size, config.n_embd)
        self.inner_attn = SelfAttention(causal=causal, softmax_scale=softmax_scale)
        self.layer_idx = layer_idx
        self.return_residual = return_residual

    def forward(self, x: torch.FloatTensor, past_key_values: Optional[InferenceParams] = None,
                attention_mask: Optional[torch.BoolTensor] = None, **kwargs) -> Tuple[torch.FloatTensor, torch.FloatTensor]:
        qkv = self.Wqkv(x)
        qkv = qkv.view(*qkv.shape[:2], 3, self.n_head, self.head_dim)  # (batch, seq, 3, heads, head_dim)
        seqlen_offset = past_key_values.sequence_len_offset if past_key_values is not None else 0
        if self.rotary_emb_dim > 0:
            qkv = self.rotary_emb(qkv, seqlen_offset=seqlen_offset)
        q, kv = qkv[:, :, 0], qkv[:, :, 1:]
        if past_key_values is not None:
            kv = _update_kv_cache(kv, past_key_values, self.layer_idx)
        key_padding_mask = None
        if attention_mask is not None:
            key_padding_mask = attention_mask.bool()[:, : kv.shape[1]]
        context = self.inner_attn(q, kv, key_padding_mask=key_padding_mask)
        out = self.out_proj(context.reshape(*context.shape[:2], -1))
        return out if not self.return_residual else (out, x)


class ParallelBlock(nn.Module):
    """Attention and MLP side by side on one LayerNorm's output."""

    def __init__(self, config: PretrainedConfig, mixer: Optional[Dict[str, Any]] = None,
                 mlp: Optional[Dict[str, Any]] = None, block_idx: Optional[int] = None) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        self.block_idx = block_idx
        self.mixer = MHA(config, layer_idx=block_idx)
        self.mlp = MLP(config)

    def forward(self, hidden_states: torch.FloatTensor, past_key_values: Optional[InferenceParams] = None,
                attention_mask: Optional[torch.BoolTensor] = None) -> torch.FloatTensor:
        residual = hidden_states
        hidden_states = self.ln(hidden_states)
        attn_outputs = self.mixer(hidden_states, past_key_values=past_key_values, attention_mask=attention_mask)
        if isinstance(attn_outputs, tuple):
            attn_outputs = attn_outputs[0]
        attn_outputs = self.resid_dropout(attn_outputs)
        feed_forward_hidden_states = self.resid_dropout(self.mlp(hidden_states))
        return attn_outputs + feed_forward_hidden_states + residual


class CausalLMHead(nn.Module):
    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.linear = nn.Linear(config.n_embd, config.vocab_size)

    def forward(self, hidden_states: torch.FloatTensor) -> torch.FloatTensor:
        return self.linear(self.ln(hidden_states)).to(torch.float32)


class CausalLMLoss(nn.Module):
    def __init__(self, shift_labels: Optional[bool] = True) -> None:
        super().__init__()
        self.shift_labels = shift_labels
        self.loss_fct = nn.CrossEntropyLoss()

    def forward(self, logits: torch.FloatTensor, labels: torch.LongTensor) -> torch.FloatTensor:
        if self.shift_labels:
            logits = logits[..., :-1, :].contiguous()
            labels = labels[..., 1:].contiguous()
        return self.loss_fct(logits.view(-1, logits.size(-1)), labels.view(-1))


class MixFormerSequentialPreTrainedModel(PreTrainedModel):
    """Initialisation and generation inputs of the MixFormer models."""

    config_class = MixFormerSequentialConfig
    base_model_prefix = ""
    supports_gradient_checkpointing = False
    _no_split_modules = ["ParallelBlock"]

    def __init__(self, *inputs, **kwargs) -> None:
        super().__init__(*inputs, **kwargs)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear,)):
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

    def prepare_inputs_for_generation(self, input_ids: torch.LongTensor, past_key_values=None,
                                      attention_mask: Optional[torch.BoolTensor] = None, **kwargs) -> Dict[str, Any]:
        if past_key_values is None or not isinstance(past_key_values, InferenceParams):
            past_key_values = InferenceParams(max_batch_size=input_ids.shape[0],
                                              max_sequence_len=self.config.n_positions, sequence_len_offset=0,
                                              batch_size_offset=0, fused_ft_kernel=False, key_value_memory_dict={})
        else:
            # the cache holds all but the last token: feed that one
            past_key_values.sequence_len_offset = len(input_ids[0]) - 1
            input_ids = input_ids[:, -1].unsqueeze(-1)
        return {"input_ids": input_ids, "past_key_values": past_key_values, "attention_mask": attention_mask}


class MixFormerSequentialForCausalLM(MixFormerSequentialPreTrainedModel):
    """MixFormer (sequential for DeepSpeed) for Causal Language Modeling."""

    _keys_to_ignore_on_load_missing = [""]
    _keys_to_ignore_on_load_unexpected = [r"layers\\.\\d+\\.mlp.(fc_in|fc_out)\\.(weight|bias)"]
    _no_split_modules = ["ParallelBlock"]

    def __init__(self, config: MixFormerSequentialConfig) -> None:
        super().__init__(config)
        modules = [Embedding(config)]
        modules += [ParallelBlock(config, block_idx=i) for i in range(config.n_layer)]
        modules.append(CausalLMHead(config))
        self.layers = nn.Sequential(*modules)
        self.loss = CausalLMLoss()
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.layers[0].wte

    def set_input_embeddings(self, new_embeddings: nn.Embedding) -> None:
        self.layers[0].wte = new_embeddings

    def get_output_embeddings(self) -> nn.Linear:
        return self.layers[-1].linear

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.layers[-1].linear = new_embeddings

    def forward(self, input_ids: torch.LongTensor, past_key_values=None, attention_mask: Optional[torch.BoolTensor] = None,
                labels: Optional[torch.LongTensor] = None, **kwargs) -> CausalLMOutputWithPast:
        if not isinstance(past_key_values, InferenceParams):
            past_key_values = None  # a cache object of the reference's kind, still empty: this model keeps its own
        hidden_layer = self.layers[0](input_ids)
        for module in self.layers[1:-1]:
            hidden_layer = module(hidden_layer, past_key_values=past_key_values, attention_mask=attention_mask)
        lm_logits = self.layers[-1](hidden_layer)
        loss = None
        if labels is not None:
            loss = self.loss(lm_logits, labels)
        return CausalLMOutputWithPast(loss=loss, logits=lm_logits, past_key_values=past_key_values)
'''


def repo() -> CorpusRepo:
    files = {
        "configuration_mixformer_sequential.py": CONFIGURATION,
        "modeling_mixformer_sequential.py": MODELING,
        "config.json": config_json(
            "mixformer-sequential",
            {"AutoConfig": "configuration_mixformer_sequential.MixFormerSequentialConfig",
             "AutoModelForCausalLM": "modeling_mixformer_sequential.MixFormerSequentialForCausalLM"},
            architectures=["MixFormerSequentialForCausalLM"], vocab_size=50, n_positions=64, n_embd=32, n_layer=2,
            n_head=4, rotary_dim=4, activation_function="gelu_new", pad_vocab_size_multiple=64,
            tie_word_embeddings=False, torch_dtype="float32",
        ),
    }
    prompts = [[0, 0, 5, 7, 9, 11, 13, 15], [1, 4, 6, 8, 10, 12, 14, 16]]  # left-padded batch
    mask = [[0, 0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]]
    return CorpusRepo(
        "phi_mixformer_style", files, "AutoModelForCausalLM", "MixFormerSequentialForCausalLM",
        {"input_ids": prompts, "attention_mask": mask}, ("logits",),
        extra={"generate": {"max_new_tokens": 6, "do_sample": False, "pad_token_id": 0}},
    )
