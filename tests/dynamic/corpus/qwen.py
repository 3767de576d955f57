"""Qwen(-1) style: ``QWenConfig`` (``kv_channels``, ``rotary_pct``, ``use_dynamic_ntk``, ``use_logn_attn``,
``no_bias``, the precision flags), ``QWenLMHeadModel`` with ``transformer.wte`` / ``transformer.h.N.attn.c_attn``
/ ``c_proj`` / ``mlp.w1,w2`` naming, a batch-major legacy cache concatenated on the sequence axis, rotary with
dynamic NTK scaling, log-n attention scaling beyond ``seq_length``, its own ``generate()`` over
``super().generate()`` adding a ``StopWordsLogitsProcessor`` (the class does not derive from
``GenerationMixin``: that resolves only once the Auto class adds the mixin), and ``chat()`` from a
``qwen_generation_utils.py`` (``make_context`` in the chatml format, ``decode_tokens``) with ``chat_format`` and
``max_window_size`` read from ``generation_config.json``. The tokenizer stands in for Qwen's tiktoken one (a
dependency too far for these tests) with the same surface: a ``qwen.tiktoken`` file of base64 byte tokens and
ranks, tokens as ``bytes``, special tokens numbered after them, ``tokenize(allowed_special=...)`` and
``_decode(errors=...)`` overridden, ``_add_tokens`` refusing all but its own special tokens.
"""

from __future__ import annotations

import base64
import json

from corpus.repo import CorpusRepo, config_json

CONFIGURATION = '''
from transformers import PretrainedConfig


class QWenConfig(PretrainedConfig):
    model_type = "qwen"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(
        self,
        vocab_size=151936,
        hidden_size=4096,
        num_hidden_layers=32,
        num_attention_heads=32,
        emb_dropout_prob=0.0,
        attn_dropout_prob=0.0,
        layer_norm_epsilon=1e-6,
        initializer_range=0.02,
        max_position_embeddings=8192,
        scale_attn_weights=True,
        use_cache=True,
        bf16=False,
        fp16=False,
        fp32=False,
        kv_channels=128,
        rotary_pct=1.0,
        rotary_emb_base=10000,
        use_dynamic_ntk=True,
        use_logn_attn=True,
        use_flash_attn="auto",
        intermediate_size=22016,
        no_bias=True,
        tie_word_embeddings=False,
        use_cache_quantization=False,
        use_cache_kernel=False,
        softmax_in_fp32=False,
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.emb_dropout_prob = emb_dropout_prob
        self.attn_dropout_prob = attn_dropout_prob
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.scale_attn_weights = scale_attn_weights
        self.use_cache = use_cache
        self.max_position_embeddings = max_position_embeddings
        self.bf16 = bf16
        self.fp16 = fp16
        self.fp32 = fp32
        self.kv_channels = kv_channels
        self.rotary_pct = rotary_pct
        self.rotary_emb_base = rotary_emb_base
        self.use_dynamic_ntk = use_dynamic_ntk
        self.use_logn_attn = use_logn_attn
        self.use_flash_attn = use_flash_attn
        self.no_bias = no_bias
        self.use_cache_quantization = use_cache_quantization
        self.use_cache_kernel = use_cache_kernel
        self.softmax_in_fp32 = softmax_in_fp32
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
'''

GENERATION_UTILS = '''
"""Generation helpers: chatml prompts, stop words, decoding the reply."""

from typing import Iterable, List, Optional, Tuple

import torch
from transformers import PreTrainedTokenizer
from transformers.generation import LogitsProcessor

HistoryType = List[Tuple[str, str]]


def get_stop_words_ids(chat_format, tokenizer):
    if chat_format == "raw":
        return [tokenizer.encode("Human:"), [tokenizer.eod_id]]
    if chat_format == "chatml":
        return [[tokenizer.im_end_id], [tokenizer.im_start_id]]
    raise NotImplementedError(f"Unknown chat format {chat_format!r}")


def make_context(tokenizer: PreTrainedTokenizer, query: str, history: List[Tuple[str, str]] = None, system: str = "",
                 max_window_size: int = 6144, chat_format: str = "chatml"):
    """(the prompt as text, its ids): the system turn, then as many past turns as fit, latest last, then the query."""
    if history is None:
        history = []
    if chat_format != "chatml":
        raise NotImplementedError(f"Unknown chat format {chat_format!r}")
    im_start, im_end = "<|im_start|>", "<|im_end|>"
    nl_tokens = tokenizer.encode("\\n")

    def turn(role, content):
        text = f"{im_start}{role}\\n{content}{im_end}"
        ids = ([tokenizer.im_start_id] + tokenizer.encode(role, allowed_special=set()) + nl_tokens
               + tokenizer.encode(content, allowed_special=set()) + [tokenizer.im_end_id])
        return text, ids

    system_text, system_tokens = turn("system", system)
    raw_text, context_tokens = "", []
    for user, assistant in reversed(history):
        user_text, user_tokens = turn("user", user)
        bot_text, bot_tokens = turn("assistant", assistant)
        round_tokens = nl_tokens + user_tokens + nl_tokens + bot_tokens
        if len(system_tokens) + len(round_tokens) + len(context_tokens) >= max_window_size:
            break
        context_tokens = round_tokens + context_tokens
        raw_text = f"\\n{user_text}\\n{bot_text}" + raw_text
    query_text, query_tokens = turn("user", query)
    context_tokens = (system_tokens + context_tokens + nl_tokens + query_tokens + nl_tokens + [tokenizer.im_start_id]
                      + tokenizer.encode("assistant") + nl_tokens)
    raw_text = f"{system_text}{raw_text}\\n{query_text}\\n{im_start}assistant\\n"
    return raw_text, context_tokens


def decode_tokens(tokens, tokenizer: PreTrainedTokenizer, raw_text_len: int, context_length: int,
                  chat_format: str, verbose: bool = False, return_end_reason: bool = False, errors: str = "replace"):
    """The reply: the text after the prompt, up to the first chat marker."""
    if torch.is_tensor(tokens):
        tokens = tokens.cpu().numpy().tolist()
    if chat_format != "chatml":
        raise NotImplementedError(f"Unknown chat format {chat_format!r}")
    end = len(tokens)
    for index in range(context_length, len(tokens)):
        if tokens[index] in (tokenizer.im_start_id, tokenizer.im_end_id):
            end = index
            break
    reply = tokenizer.decode(tokens[:end], errors=errors)[raw_text_len:].strip()
    if return_end_reason:
        return reply, "stop" if end < len(tokens) else "length"
    return reply


class StopWordsLogitsProcessor(LogitsProcessor):
    """Once the sequence ends with a stop word, eos is the only reasonable next token."""

    def __init__(self, stop_words_ids: Iterable[Iterable[int]], eos_token_id: int):
        if not isinstance(stop_words_ids, list) or not stop_words_ids:
            raise ValueError(f"`stop_words_ids` has to be a non-empty list, got {stop_words_ids}")
        self.stop_words_ids = [list(ids) for ids in stop_words_ids if list(ids) != [eos_token_id]]
        self.eos_token_id = eos_token_id

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for row, ids in enumerate(input_ids.tolist()):
            if any(words and ids[-len(words):] == words for words in self.stop_words_ids):
                scores[row, self.eos_token_id] = float(2**15)
        return scores
'''

MODELING = '''
import copy
import math
from typing import Callable, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn
from torch.nn import CrossEntropyLoss
from transformers import GenerationConfig, PreTrainedTokenizer, StoppingCriteriaList
from transformers.generation.logits_process import LogitsProcessorList
from transformers.generation.streamers import BaseStreamer
from transformers.generation.utils import GenerateOutput
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import logging

from .configuration_qwen import QWenConfig
from .qwen_generation_utils import HistoryType, StopWordsLogitsProcessor, decode_tokens, get_stop_words_ids, make_context

logger = logging.get_logger(__name__)

_ERROR_BAD_CHAT_FORMAT = "We detect you are probably using the pretrained model (rather than chat model) for chatting."
_SENTINEL = object()
_ERROR_STREAM_IN_CHAT = "Pass stream=True to chat_stream(), not to chat()."


def as_legacy(past_key_values):
    """Releases from 4.4x hand an empty cache object to every model: this one keeps (key, value) tuples."""
    if past_key_values is None or isinstance(past_key_values, (tuple, list)):
        return past_key_values
    return None if past_key_values.get_seq_length() == 0 else past_key_values.to_legacy_cache()


class RMSNorm(torch.nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def _norm(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x):
        return self._norm(x.float()).type_as(x) * self.weight


class RotaryEmbedding(torch.nn.Module):
    def __init__(self, dim, base=10000):
        super().__init__()
        self.dim = dim
        self.base = base
        self.register_buffer("inv_freq", 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)), persistent=False)
        self._seq_len_cached = 0
        self._ntk_alpha_cached = 1.0
        self._ntk_alpha_cached_list = [1.0]

    def update_rotary_pos_emb_cache(self, seqlen, ntk_alpha=1.0):
        if seqlen > self._seq_len_cached or ntk_alpha != self._ntk_alpha_cached:
            base = self.base * ntk_alpha ** (self.dim / (self.dim - 2))
            self.inv_freq = 1.0 / (base ** (torch.arange(0, self.dim, 2, device=self.inv_freq.device).float() / self.dim))
            self._seq_len_cached = max(2 * seqlen, 16)
            self._ntk_alpha_cached = ntk_alpha
            positions = torch.arange(self._seq_len_cached, device=self.inv_freq.device)
            freqs = torch.outer(positions.type_as(self.inv_freq), self.inv_freq)
            emb = torch.cat((freqs, freqs), dim=-1)[None, :, None, :]  # (1, seq, 1, dim)
            self._rotary_pos_emb_cache = [emb.cos(), emb.sin()]

    def forward(self, max_seq_len, ntk_alpha=1.0):
        self.update_rotary_pos_emb_cache(max_seq_len, ntk_alpha)
        cos, sin = self._rotary_pos_emb_cache
        return [cos[:, :max_seq_len], sin[:, :max_seq_len]]


def _rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(t, freqs):
    """Rotate the first channels of each head (as many as the tables have), the rest pass."""
    cos, sin = freqs
    rot_dim = cos.shape[-1]
    t_, t_pass_ = t[..., :rot_dim], t[..., rot_dim:]
    t_ = (t_.float() * cos) + (_rotate_half(t_.float()) * sin)
    return torch.cat((t_, t_pass_), dim=-1).type_as(t)


class QWenAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.register_buffer("masked_bias", torch.tensor(-1e4), persistent=False)
        self.seq_length = config.seq_length
        self.hidden_size = config.hidden_size
        self.split_size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = self.hidden_size // self.num_heads
        self.scale_attn_weights = True
        self.projection_size = config.kv_channels * config.num_attention_heads
        self.hidden_size_per_attention_head = self.projection_size // config.num_attention_heads
        self.c_attn = nn.Linear(config.hidden_size, 3 * self.projection_size)
        self.c_proj = nn.Linear(config.hidden_size, self.projection_size, bias=not config.no_bias)
        self.is_fp32 = not (config.bf16 or config.fp16)
        self.use_dynamic_ntk = config.use_dynamic_ntk
        self.use_logn_attn = config.use_logn_attn
        logn_list = [math.log(i, self.seq_length) if i > self.seq_length else 1
                     for i in range(1, config.max_position_embeddings + 1)]
        self.register_buffer("logn_tensor", torch.tensor(logn_list)[None, :, None, None], persistent=False)
        self.attn_dropout = nn.Dropout(config.attn_dropout_prob)
        self.softmax_in_fp32 = config.softmax_in_fp32

    def _attn(self, query, key, value, allowed, head_mask=None):
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        if self.scale_attn_weights:
            attn_weights = attn_weights / torch.full([], value.size(-1) ** 0.5, dtype=attn_weights.dtype)
        mask_value = torch.finfo(attn_weights.dtype).min
        attn_weights = torch.where(allowed, attn_weights, torch.full([], mask_value, dtype=attn_weights.dtype))
        if self.softmax_in_fp32:
            attn_weights = nn.functional.softmax(attn_weights.float(), dim=-1)
        else:
            attn_weights = nn.functional.softmax(attn_weights, dim=-1)
        attn_weights = self.attn_dropout(attn_weights.type(query.dtype))
        if head_mask is not None:
            attn_weights = attn_weights * head_mask
        return torch.matmul(attn_weights, value).transpose(1, 2), attn_weights

    def _split_heads(self, tensor, num_heads, attn_head_size):
        return tensor.view(tensor.size()[:-1] + (num_heads, attn_head_size))  # (batch, seq, heads, head_dim)

    def _merge_heads(self, tensor, num_heads, attn_head_size):
        tensor = tensor.contiguous()
        return tensor.view(tensor.size()[:-2] + (num_heads * attn_head_size,))

    def forward(self, hidden_states, rotary_pos_emb_list=None, layer_past=None, attention_mask=None, head_mask=None,
                output_attentions=False, use_cache=False):
        query, key, value = self.c_attn(hidden_states).split(self.split_size, dim=2)
        query = self._split_heads(query, self.num_heads, self.head_dim)
        key = self._split_heads(key, self.num_heads, self.head_dim)
        value = self._split_heads(value, self.num_heads, self.head_dim)
        if rotary_pos_emb_list is not None:
            cur_len = query.shape[1]
            cos, sin = (t[:, -cur_len:] for t in rotary_pos_emb_list[0])
            query = apply_rotary_pos_emb(query, (cos, sin))
            key = apply_rotary_pos_emb(key, (cos, sin))
        if layer_past is not None:
            key = torch.cat((layer_past[0], key), dim=1)
            value = torch.cat((layer_past[1], value), dim=1)
        present = (key, value) if use_cache else None
        key_size = key.size(1)
        if key_size > self.seq_length and self.use_logn_attn and not self.training:
            seq_start = key_size - query.size(1)
            query = query * self.logn_tensor[:, seq_start:key_size].type_as(query).expand_as(query)
        query, key, value = (t.permute(0, 2, 1, 3) for t in (query, key, value))
        allowed = torch.ones(key_size, key_size, dtype=torch.bool, device=query.device).tril()
        allowed = allowed[key_size - query.size(2):][None, None]
        if attention_mask is not None:
            allowed = allowed & attention_mask
        attn_output, attn_weight = self._attn(query, key, value, allowed, head_mask)
        attn_output = self.c_proj(self._merge_heads(attn_output, self.num_heads, self.head_dim))
        outputs = (attn_output, present)
        if output_attentions:
            outputs += (attn_weight,)
        return outputs


class QWenMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.w1 = nn.Linear(config.hidden_size, config.intermediate_size // 2, bias=not config.no_bias)
        self.w2 = nn.Linear(config.hidden_size, config.intermediate_size // 2, bias=not config.no_bias)
        ff_dim_in = config.intermediate_size // 2
        self.c_proj = nn.Linear(ff_dim_in, config.hidden_size, bias=not config.no_bias)

    def forward(self, hidden_states):
        return self.c_proj(self.w1(hidden_states) * F.silu(self.w2(hidden_states)))


class QWenBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.bf16 = config.bf16
        self.ln_1 = RMSNorm(config.hidden_size, eps=config.layer_norm_epsilon)
        self.attn = QWenAttention(config)
        self.ln_2 = RMSNorm(config.hidden_size, eps=config.layer_norm_epsilon)
        self.mlp = QWenMLP(config)

    def forward(self, hidden_states, rotary_pos_emb_list=None, layer_past=None, attention_mask=None, head_mask=None,
                use_cache=False, output_attentions=False):
        attn_outputs = self.attn(self.ln_1(hidden_states), rotary_pos_emb_list, layer_past=layer_past,
                                 attention_mask=attention_mask, head_mask=head_mask, use_cache=use_cache,
                                 output_attentions=output_attentions)
        layernorm_input = attn_outputs[0] + hidden_states
        hidden_states = layernorm_input + self.mlp(self.ln_2(layernorm_input))
        return (hidden_states,) + attn_outputs[1:] if use_cache else (hidden_states,) + attn_outputs[2:]


class QWenPreTrainedModel(PreTrainedModel):
    config_class = QWenConfig
    base_model_prefix = "transformer"
    is_parallelizable = False
    supports_gradient_checkpointing = True
    _no_split_modules = ["QWenBlock"]
    _skip_keys_device_placement = "past_key_values"

    def __init__(self, *inputs, **kwargs):
        super().__init__(*inputs, **kwargs)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
        elif isinstance(module, RMSNorm):
            module.weight.data.fill_(1.0)
        for name, p in module.named_parameters():
            if name == "c_proj.weight":
                p.data.normal_(mean=0.0, std=(self.config.initializer_range / math.sqrt(2 * self.config.num_hidden_layers)))


class QWenModel(QWenPreTrainedModel):
    _keys_to_ignore_on_load_missing = ["attn.masked_bias"]

    def __init__(self, config):
        super().__init__(config)
        self.vocab_size = config.vocab_size
        self.num_hidden_layers = config.num_hidden_layers
        self.embed_dim = config.hidden_size
        self.gradient_checkpointing = False
        self.use_dynamic_ntk = config.use_dynamic_ntk
        self.seq_length = config.seq_length
        self.wte = nn.Embedding(self.vocab_size, self.embed_dim)
        self.drop = nn.Dropout(config.emb_dropout_prob)
        if config.rotary_pct == 1.0:
            self.rotary_ndims = None
        else:
            self.rotary_ndims = int(config.kv_channels * config.rotary_pct)
        dim = self.rotary_ndims if self.rotary_ndims is not None else config.kv_channels
        self.rotary_emb = RotaryEmbedding(dim, base=config.rotary_emb_base)
        self.h = nn.ModuleList([QWenBlock(config) for _ in range(config.num_hidden_layers)])
        self.ln_f = RMSNorm(self.embed_dim, eps=config.layer_norm_epsilon)
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def set_input_embeddings(self, new_embeddings):
        self.wte = new_embeddings

    def get_ntk_alpha(self, true_seq_len):
        context_value = math.log(true_seq_len / self.seq_length, 2) + 1
        return max(2 ** math.ceil(context_value) - 1, 1)

    def forward(self, input_ids=None, past_key_values=None, attention_mask=None, token_type_ids=None,
                position_ids=None, head_mask=None, inputs_embeds=None, use_cache=None, output_attentions=None,
                output_hidden_states=None, return_dict=None):
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_hidden_states = (output_hidden_states if output_hidden_states is not None
                                else self.config.output_hidden_states)
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        if inputs_embeds is None:
            inputs_embeds = self.wte(input_ids)
        batch_size = inputs_embeds.shape[0]
        past_key_values = as_legacy(past_key_values)
        if past_key_values is None:
            past_key_values = tuple([None] * len(self.h))
        if attention_mask is not None:
            if batch_size <= 0:
                raise ValueError("batch_size has to be defined and > 0")
            attention_mask = attention_mask.view(batch_size, -1).bool()[:, None, None, :]
        head_mask = self.get_head_mask(head_mask, self.config.num_hidden_layers)
        hidden_states = self.drop(inputs_embeds)
        kv_seq_len = hidden_states.size()[1]
        if past_key_values[0] is not None:
            kv_seq_len += past_key_values[0][0].shape[1]
        if self.training or not self.use_dynamic_ntk:
            ntk_alpha_list = [1.0]
        elif kv_seq_len != hidden_states.size()[1]:
            ntk_alpha_list = self.rotary_emb._ntk_alpha_cached_list
        else:
            ntk_alpha_list = [self.get_ntk_alpha(kv_seq_len)]
        self.rotary_emb._ntk_alpha_cached_list = ntk_alpha_list
        rotary_pos_emb_list = [self.rotary_emb(kv_seq_len, ntk_alpha=ntk_alpha) for ntk_alpha in ntk_alpha_list]
        presents = () if use_cache else None
        all_self_attentions = () if output_attentions else None
        all_hidden_states = () if output_hidden_states else None
        for i, (block, layer_past) in enumerate(zip(self.h, past_key_values)):
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden_states,)
            outputs = block(hidden_states, layer_past=layer_past, rotary_pos_emb_list=rotary_pos_emb_list,
                            attention_mask=attention_mask, head_mask=head_mask[i], use_cache=use_cache,
                            output_attentions=output_attentions)
            hidden_states = outputs[0]
            if use_cache:
                presents = presents + (outputs[1],)
            if output_attentions:
                all_self_attentions = all_self_attentions + (outputs[2 if use_cache else 1],)
        hidden_states = self.ln_f(hidden_states)
        if output_hidden_states:
            all_hidden_states = all_hidden_states + (hidden_states,)
        if not return_dict:
            return tuple(v for v in [hidden_states, presents, all_hidden_states] if v is not None)
        return BaseModelOutputWithPast(last_hidden_state=hidden_states, past_key_values=presents,
                                       hidden_states=all_hidden_states, attentions=all_self_attentions)


class QWenLMHeadModel(QWenPreTrainedModel):
    _keys_to_ignore_on_load_missing = [r"h\\.\\d+\\.attn\\.rotary_emb\\.inv_freq"]
    _keys_to_ignore_on_load_unexpected = [r"h\\.\\d+\\.attn\\.masked_bias"]

    def __init__(self, config):
        super().__init__(config)
        self.transformer = QWenModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, new_embeddings):
        self.lm_head = new_embeddings

    def prepare_inputs_for_generation(self, input_ids, past_key_values=None, inputs_embeds=None, **kwargs):
        past_key_values = as_legacy(past_key_values)
        if past_key_values:
            input_ids = input_ids[:, -1].unsqueeze(-1)
        if input_ids.size(0) == 1:
            attention_mask = None
        else:
            attention_mask = kwargs.get("attention_mask", None)
        if inputs_embeds is not None and past_key_values is None:
            model_inputs = {"inputs_embeds": inputs_embeds}
        else:
            model_inputs = {"input_ids": input_ids}
        model_inputs.update({"past_key_values": past_key_values, "use_cache": kwargs.get("use_cache"),
                             "attention_mask": attention_mask})
        return model_inputs

    def forward(self, input_ids=None, past_key_values=None, attention_mask=None, token_type_ids=None,
                position_ids=None, head_mask=None, inputs_embeds=None, labels=None, use_cache=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        transformer_outputs = self.transformer(
            input_ids, past_key_values=past_key_values, attention_mask=attention_mask, token_type_ids=token_type_ids,
            position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds, use_cache=use_cache,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=return_dict,
        )
        hidden_states = transformer_outputs[0]
        lm_logits = self.lm_head(hidden_states)
        loss = None
        if labels is not None:
            shift_logits = lm_logits[..., :-1, :].contiguous()
            shift_labels = labels[..., 1:].contiguous()
            loss = CrossEntropyLoss()(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))
        if not return_dict:
            output = (lm_logits,) + transformer_outputs[1:]
            return ((loss,) + output) if loss is not None else output
        return CausalLMOutputWithPast(loss=loss, logits=lm_logits, past_key_values=transformer_outputs.past_key_values,
                                      hidden_states=transformer_outputs.hidden_states,
                                      attentions=transformer_outputs.attentions)

    @staticmethod
    def _reorder_cache(past_key_values: Tuple[Tuple[torch.Tensor]], beam_idx: torch.Tensor) -> Tuple[Tuple[torch.Tensor]]:
        return tuple(tuple(past_state.index_select(0, beam_idx.to(past_state.device)) for past_state in layer_past)
                     for layer_past in past_key_values)

    def chat(self, tokenizer: PreTrainedTokenizer, query: str, history: Optional[HistoryType],
             system: str = "You are a helpful assistant.", stream: Optional[bool] = _SENTINEL,
             stop_words_ids: Optional[List[List[int]]] = None, generation_config: Optional[GenerationConfig] = None,
             **kwargs) -> Tuple[str, HistoryType]:
        generation_config = generation_config if generation_config is not None else self.generation_config
        if stream is not _SENTINEL:
            raise ValueError(_ERROR_STREAM_IN_CHAT)
        if generation_config.chat_format != "chatml":
            raise ValueError(_ERROR_BAD_CHAT_FORMAT)
        history = [] if history is None else copy.deepcopy(history)
        if stop_words_ids is None:
            stop_words_ids = []
        max_window_size = kwargs.get("max_window_size", None)
        if max_window_size is None:
            max_window_size = generation_config.max_window_size
        raw_text, context_tokens = make_context(tokenizer, query, history=history, system=system,
                                                max_window_size=max_window_size, chat_format=generation_config.chat_format)
        stop_words_ids.extend(get_stop_words_ids(generation_config.chat_format, tokenizer))
        input_ids = torch.tensor([context_tokens]).to(self.device)
        outputs = self.generate(input_ids, stop_words_ids=stop_words_ids, return_dict_in_generate=False,
                                generation_config=generation_config, **kwargs)
        response = decode_tokens(outputs[0], tokenizer, raw_text_len=len(raw_text), context_length=len(context_tokens),
                                 chat_format=generation_config.chat_format, verbose=False, errors="replace")
        history.append((query, response))
        return response, history

    def generate(self, inputs: Optional[torch.Tensor] = None, generation_config: Optional[GenerationConfig] = None,
                 logits_processor: Optional[LogitsProcessorList] = None,
                 stopping_criteria: Optional[StoppingCriteriaList] = None,
                 prefix_allowed_tokens_fn: Optional[Callable[[int, torch.Tensor], List[int]]] = None,
                 synced_gpus: Optional[bool] = None, assistant_model: Optional["PreTrainedModel"] = None,
                 streamer: Optional["BaseStreamer"] = None, **kwargs) -> Union[GenerateOutput, torch.LongTensor]:
        generation_config = generation_config if generation_config is not None else self.generation_config
        stop_words_ids = kwargs.pop("stop_words_ids", None)
        if stop_words_ids is None and generation_config is not None:
            stop_words_ids = getattr(generation_config, "stop_words_ids", None)
        if stop_words_ids is not None:
            stop_words_logits_processor = StopWordsLogitsProcessor(stop_words_ids=stop_words_ids,
                                                                   eos_token_id=generation_config.eos_token_id)
            if logits_processor is None:
                logits_processor = LogitsProcessorList([stop_words_logits_processor])
            else:
                logits_processor.append(stop_words_logits_processor)
        return super().generate(inputs, generation_config=generation_config, logits_processor=logits_processor,
                                stopping_criteria=stopping_criteria, prefix_allowed_tokens_fn=prefix_allowed_tokens_fn,
                                synced_gpus=synced_gpus, assistant_model=assistant_model, streamer=streamer, **kwargs)
'''

TOKENIZATION = '''
"""A byte-level tokenizer read from a tiktoken-format file (base64 token, rank), with Qwen's special tokens."""

import base64
import os
import re
import unicodedata
from typing import Collection, Dict, List, Set, Tuple, Union

from transformers import AddedToken, PreTrainedTokenizer
from transformers.utils import logging

logger = logging.get_logger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "qwen.tiktoken"}
PAT_STR = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[a-zA-Z]+| ?[0-9]| ?[^\\sa-zA-Z0-9]+|\\s+"""
ENDOFTEXT = "<|endoftext|>"
IMSTART = "<|im_start|>"
IMEND = "<|im_end|>"
EXTRAS = tuple(f"<|extra_{i}|>" for i in range(4))
SPECIAL_TOKENS = (ENDOFTEXT, IMSTART, IMEND) + EXTRAS
SPECIAL_PATTERN = "(" + "|".join(re.escape(token) for token in SPECIAL_TOKENS) + ")"


def _load_tiktoken_bpe(tiktoken_bpe_file: str) -> Dict[bytes, int]:
    with open(tiktoken_bpe_file, "rb") as f:
        contents = f.read()
    return {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in contents.splitlines() if line)}


class QWenTokenizer(PreTrainedTokenizer):
    """Byte tokens, matched longest first within each pre-split word; special tokens after them."""

    vocab_files_names = VOCAB_FILES_NAMES

    def __init__(self, vocab_file, errors="replace", **kwargs):
        super().__init__(**kwargs)
        self.errors = errors
        self.vocab_file = vocab_file
        self.mergeable_ranks = _load_tiktoken_bpe(vocab_file)
        self.special_tokens = {token: index for index, token in enumerate(SPECIAL_TOKENS, start=len(self.mergeable_ranks))}
        self.decoder = {v: k for k, v in self.mergeable_ranks.items()}
        self.decoder.update({v: k for k, v in self.special_tokens.items()})
        self.longest = max(len(token) for token in self.mergeable_ranks)
        self.eod_id = self.special_tokens[ENDOFTEXT]
        self.im_start_id = self.special_tokens[IMSTART]
        self.im_end_id = self.special_tokens[IMEND]

    def __getstate__(self):
        return self.__dict__.copy()

    def __len__(self) -> int:
        return len(self.mergeable_ranks) + len(self.special_tokens)

    def get_vocab(self) -> Dict[bytes, int]:
        return self.mergeable_ranks

    def convert_tokens_to_ids(self, tokens: Union[bytes, str, List[Union[bytes, str]]]) -> List[int]:
        if isinstance(tokens, (str, bytes)):
            if tokens in self.special_tokens:
                return self.special_tokens[tokens]
            return self.mergeable_ranks.get(tokens)
        return [self.special_tokens[t] if t in self.special_tokens else self.mergeable_ranks.get(t) for t in tokens]

    def _add_tokens(self, new_tokens: Union[List[str], List[AddedToken]], special_tokens: bool = False) -> int:
        if not special_tokens and new_tokens:
            raise ValueError("Adding regular tokens is not supported")
        for token in new_tokens:
            surface_form = token.content if isinstance(token, AddedToken) else token
            if surface_form not in SPECIAL_TOKENS:
                raise ValueError("Adding unknown special tokens is not supported")
        return 0

    def save_vocabulary(self, save_directory: str, **kwargs) -> Tuple[str]:
        file_path = os.path.join(save_directory, "qwen.tiktoken")
        with open(file_path, "w", encoding="utf8") as w:
            for k, v in self.mergeable_ranks.items():
                w.write(base64.b64encode(k).decode("utf8") + " " + str(v) + "\\n")
        return (file_path,)

    def _encode_ordinary(self, text: str) -> List[bytes]:
        tokens = []
        for word in re.findall(PAT_STR, text):
            data = word.encode("utf-8")
            start = 0
            while start < len(data):
                for end in range(min(len(data), start + self.longest), start, -1):
                    if data[start:end] in self.mergeable_ranks:
                        tokens.append(data[start:end])
                        start = end
                        break
        return tokens

    def tokenize(self, text: str, allowed_special: Union[Set, str] = "all", disallowed_special: Union[Collection, str] = (),
                 **kwargs) -> List[Union[bytes, str]]:
        """Tokens as bytes, special tokens as their text (where allowed)."""
        text = unicodedata.normalize("NFC", text)
        allowed = set(SPECIAL_TOKENS) if allowed_special == "all" else set(allowed_special)
        tokens = []
        for part in re.split(SPECIAL_PATTERN, text):
            if part in allowed:
                tokens.append(part)
            elif part:
                tokens.extend(self._encode_ordinary(part))
        return tokens

    def convert_tokens_to_string(self, tokens: List[Union[bytes, str]]) -> str:
        text, temp = "", b""
        for t in tokens:
            if isinstance(t, str):
                if temp:
                    text += temp.decode("utf-8", errors=self.errors)
                    temp = b""
                text += t
            elif isinstance(t, bytes):
                temp += t
            else:
                raise TypeError("token should only be of type types or str")
        if temp:
            text += temp.decode("utf-8", errors=self.errors)
        return text

    @property
    def vocab_size(self):
        return len(self)

    def _convert_id_to_token(self, index: int) -> Union[bytes, str]:
        if index in self.decoder:
            return self.decoder[index]
        raise ValueError("unknown ids")

    def _convert_token_to_id(self, token: Union[bytes, str]) -> int:
        if token in self.special_tokens:
            return self.special_tokens[token]
        if token in self.mergeable_ranks:
            return self.mergeable_ranks[token]
        raise ValueError("unknown token")

    def _tokenize(self, text: str, **kwargs):
        raise NotImplementedError

    def _decode(self, token_ids: Union[int, List[int]], skip_special_tokens: bool = False, errors: str = None,
                **kwargs) -> str:
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        if skip_special_tokens:
            token_ids = [i for i in token_ids if i < self.eod_id]
        data, text = b"", ""
        for index in token_ids:
            token = self.decoder.get(index, b"")
            if isinstance(token, str):
                text += data.decode("utf-8", errors=errors or self.errors) + token
                data = b""
            else:
                data += token
        return text + data.decode("utf-8", errors=errors or self.errors)
'''

MERGES = ("he", "th", "the", " the", "ll", "llo", "hello", " h", " how", " a", " are", " you", "in", " in", "at",
          "wh", "what", " is", "er", "ea", "eat", "weather", " weather", " w", " t", "ell", " tell", " me", " st", "or",
          "ory", " story", "ant", "ist", "user", "system", "assistant", "\n")


def vocabulary() -> str:
    """The tiktoken-format file: every byte, then some merged pieces, with their ranks."""
    tokens = [bytes([b]) for b in range(256)] + [piece.encode() for piece in MERGES if len(piece.encode()) > 1]
    return "".join(f"{base64.b64encode(token).decode()} {rank}\n" for rank, token in enumerate(tokens))


def repo() -> CorpusRepo:
    vocab_size = 256 + sum(len(piece.encode()) > 1 for piece in MERGES) + 7
    files = {
        "configuration_qwen.py": CONFIGURATION,
        "qwen_generation_utils.py": GENERATION_UTILS,
        "modeling_qwen.py": MODELING,
        "tokenization_qwen.py": TOKENIZATION,
        "qwen.tiktoken": vocabulary(),
        "config.json": config_json(
            "qwen",
            {"AutoConfig": "configuration_qwen.QWenConfig", "AutoModelForCausalLM": "modeling_qwen.QWenLMHeadModel"},
            architectures=["QWenLMHeadModel"], vocab_size=vocab_size + 9, hidden_size=32, intermediate_size=64,
            num_hidden_layers=2, num_attention_heads=4, kv_channels=8, rotary_pct=0.5, seq_length=12,
            max_position_embeddings=256, use_dynamic_ntk=True, use_logn_attn=True, fp32=True,
            tokenizer_class="QWenTokenizer",
        ),
        "generation_config.json": json.dumps({
            "chat_format": "chatml", "eos_token_id": vocab_size - 7, "pad_token_id": vocab_size - 7,
            "max_window_size": 200, "max_new_tokens": 8, "do_sample": False, "top_k": 0, "top_p": 0.8,
            "repetition_penalty": 1.1,
        }),
        "tokenizer_config.json": json.dumps({
            "auto_map": {"AutoTokenizer": ["tokenization_qwen.QWenTokenizer", None]},
            "tokenizer_class": "QWenTokenizer", "model_max_length": 256, "pad_token": "<|endoftext|>",
            "padding_side": "left",
        }),
    }
    return CorpusRepo(
        "qwen_style", files, "AutoModelForCausalLM", "QWenLMHeadModel", {}, ("logits",),
        tokenizer_text=["hello how are you", "tell me a story about the weather in the city"],
        extra={
            "generate": {"max_new_tokens": 6, "do_sample": False},
            "beam": {"max_new_tokens": 4, "num_beams": 2, "do_sample": False},
            "text_chat": [
                {"method": "chat", "args": ["hello how are you", None]},
                {"method": "chat", "args": ["what is the weather like"], "continue": True,
                 "kwargs": {"system": "you are a helpful assistant"}},
            ],
        },
    )
