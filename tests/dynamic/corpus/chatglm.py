"""ChatGLM2/3 style: ``ChatGLMConfig`` with ``padded_vocab_size`` and ``multi_query_group_num``, the
``transformer.encoder.layers`` naming with a fused ``query_key_value``, sequence-first hidden states and a
sequence-first legacy tuple cache (its own ``_reorder_cache``), rotary embeddings on half of each head,
``torch.nn.utils.skip_init``, its own ``_update_model_kwargs_for_generation`` carrying ``position_ids``,
``chat()`` through ``generate()`` with an ``InvalidScoreLogitsProcessor``, and ``stream_chat()`` over a
``stream_generate()`` loop of its own on the generation mixin's helpers (``_get_logits_processor``,
``_get_stopping_criteria``). The tokenizer, ``ChatGLMTokenizer``, wraps a SentencePiece model (trained in the
test) with its own special tokens numbered after the SentencePiece vocabulary, pads on the left with its own
``_pad`` (``position_ids`` too) and builds chat inputs from ids with ``is_split_into_words=True``.
"""

from __future__ import annotations

import json

from corpus import spm
from corpus.repo import CorpusRepo, config_json

CONFIGURATION = '''
from transformers import PretrainedConfig


class ChatGLMConfig(PretrainedConfig):
    model_type = "chatglm"
    # newer releases of the reference size their caches by num_hidden_layers
    attribute_map = {"num_hidden_layers": "num_layers"}

    def __init__(
        self,
        num_layers=2,
        padded_vocab_size=80,
        hidden_size=32,
        ffn_hidden_size=48,
        kv_channels=8,
        num_attention_heads=4,
        seq_length=64,
        hidden_dropout=0.0,
        classifier_dropout=None,
        attention_dropout=0.0,
        layernorm_epsilon=1e-5,
        rmsnorm=True,
        apply_residual_connection_post_layernorm=False,
        post_layer_norm=True,
        add_bias_linear=False,
        add_qkv_bias=False,
        bias_dropout_fusion=True,
        multi_query_attention=False,
        multi_query_group_num=1,
        rope_ratio=1,
        apply_query_key_layer_scaling=True,
        attention_softmax_in_fp32=True,
        fp32_residual_connection=False,
        pre_seq_len=None,
        prefix_projection=False,
        **kwargs
    ):
        self.num_layers = num_layers
        self.vocab_size = padded_vocab_size
        self.padded_vocab_size = padded_vocab_size
        self.hidden_size = hidden_size
        self.ffn_hidden_size = ffn_hidden_size
        self.kv_channels = kv_channels
        self.num_attention_heads = num_attention_heads
        self.seq_length = seq_length
        self.hidden_dropout = hidden_dropout
        self.classifier_dropout = classifier_dropout
        self.attention_dropout = attention_dropout
        self.layernorm_epsilon = layernorm_epsilon
        self.rmsnorm = rmsnorm
        self.apply_residual_connection_post_layernorm = apply_residual_connection_post_layernorm
        self.post_layer_norm = post_layer_norm
        self.add_bias_linear = add_bias_linear
        self.add_qkv_bias = add_qkv_bias
        self.bias_dropout_fusion = bias_dropout_fusion
        self.multi_query_attention = multi_query_attention
        self.multi_query_group_num = multi_query_group_num
        self.rope_ratio = rope_ratio
        self.apply_query_key_layer_scaling = apply_query_key_layer_scaling
        self.attention_softmax_in_fp32 = attention_softmax_in_fp32
        self.fp32_residual_connection = fp32_residual_connection
        self.pre_seq_len = pre_seq_len
        self.prefix_projection = prefix_projection
        super().__init__(**kwargs)
'''

MODELING = '''
""" A small GLM decoder in the ChatGLM2/3 layout. """

import copy
import math
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn
from torch.nn import CrossEntropyLoss, LayerNorm
from torch.nn.utils import skip_init
from transformers.generation.logits_process import LogitsProcessor
from transformers.generation.utils import GenerationConfig, LogitsProcessorList, ModelOutput, StoppingCriteriaList
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import logging

from .configuration_chatglm import ChatGLMConfig

logger = logging.get_logger(__name__)

_CHECKPOINT_FOR_DOC = "corpus/chatglm-tiny"
_CONFIG_FOR_DOC = "ChatGLMConfig"


def default_init(cls, *args, **kwargs):
    return cls(*args, **kwargs)


class InvalidScoreLogitsProcessor(LogitsProcessor):
    """Scores gone non-finite would stop sampling: make token 5 the only choice instead."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if not torch.isfinite(scores).all():
            scores.zero_()
            scores[..., 5] = 5e4
        return scores


def _config_to_kwargs(args):
    return {"dtype": args.torch_dtype}


def as_legacy(past_key_values):
    """Releases from 4.4x hand an empty cache object to every model: this one keeps tuples."""
    if past_key_values is None or isinstance(past_key_values, (tuple, list)):
        return past_key_values
    if past_key_values.get_seq_length() == 0:
        return None
    raise ValueError("ChatGLM keeps its cache as (key, value) tuples, sequence first")


class RotaryEmbedding(nn.Module):
    def __init__(self, dim, rope_ratio=1, device=None, dtype=None):
        super().__init__()
        exponents = torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim
        self.register_buffer("inv_freq", 1.0 / ((10000 * rope_ratio) ** exponents), persistent=False)
        self.dim = dim

    def forward(self, max_seq_len, offset=0):
        positions = torch.arange(offset, offset + max_seq_len, dtype=torch.float32, device=self.inv_freq.device)
        angles = positions[:, None] * self.inv_freq[None, :]  # (seq, dim / 2)
        return torch.stack((angles.cos(), angles.sin()), dim=-1)  # (seq, dim / 2, 2)


def apply_rotary_pos_emb(x: torch.Tensor, rope_cache: torch.Tensor) -> torch.Tensor:
    """Rotate the first ``2 * rope_cache.shape[-2]`` channels of each head, as neighbouring pairs."""
    seq, batch, heads, _ = x.shape  # (seq, batch, heads, head_dim)
    rot_dim = rope_cache.shape[-2] * 2
    rotated, passed = x[..., :rot_dim], x[..., rot_dim:]
    pairs = rotated.reshape(seq, batch, heads, rot_dim // 2, 2)
    cos = rope_cache[:seq, :, None, :, 0]
    sin = rope_cache[:seq, :, None, :, 1]
    even, odd = pairs[..., 0], pairs[..., 1]
    out = torch.stack((even * cos - odd * sin, odd * cos + even * sin), dim=-1).flatten(3)
    return torch.cat((out, passed), dim=-1)


class RMSNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5, device=None, dtype=None, **kwargs):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(normalized_shape, device=device, dtype=dtype))
        self.eps = eps

    def forward(self, hidden_states: torch.Tensor):
        input_dtype = hidden_states.dtype
        variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.eps)
        return (self.weight * hidden_states).to(input_dtype)


class CoreAttention(nn.Module):
    def __init__(self, config: ChatGLMConfig, layer_number):
        super().__init__()
        self.layer_number = max(1, layer_number)
        self.attention_dropout = nn.Dropout(config.attention_dropout)

    def forward(self, query_layer, key_layer, value_layer, attention_mask):
        # (seq, batch, heads, head_dim) -> (batch, heads, seq, head_dim)
        query_layer, key_layer, value_layer = (t.permute(1, 2, 0, 3) for t in (query_layer, key_layer, value_layer))
        if attention_mask is None and query_layer.shape[2] == key_layer.shape[2]:
            context = F.scaled_dot_product_attention(query_layer, key_layer, value_layer, is_causal=True)
        else:
            if attention_mask is not None:
                attention_mask = ~attention_mask
            context = F.scaled_dot_product_attention(query_layer, key_layer, value_layer, attention_mask)
        context = context.permute(2, 0, 1, 3)
        return context.reshape(*context.shape[:2], -1)


class SelfAttention(nn.Module):
    def __init__(self, config: ChatGLMConfig, layer_number, device=None):
        super().__init__()
        self.layer_number = max(1, layer_number)
        self.projection_size = config.kv_channels * config.num_attention_heads
        self.hidden_size_per_attention_head = self.projection_size // config.num_attention_heads
        self.num_attention_heads_per_partition = config.num_attention_heads
        self.multi_query_attention = config.multi_query_attention
        self.qkv_hidden_size = 3 * self.projection_size
        self.num_multi_query_groups_per_partition = config.num_attention_heads
        if self.multi_query_attention:
            self.num_multi_query_groups_per_partition = config.multi_query_group_num
            self.qkv_hidden_size = self.projection_size + 2 * self.hidden_size_per_attention_head * config.multi_query_group_num
        self.query_key_value = nn.Linear(config.hidden_size, self.qkv_hidden_size,
                                         bias=config.add_bias_linear or config.add_qkv_bias,
                                         device=device, **_config_to_kwargs(config))
        self.core_attention = CoreAttention(config, self.layer_number)
        self.dense = nn.Linear(self.projection_size, config.hidden_size, bias=config.add_bias_linear,
                               device=device, **_config_to_kwargs(config))

    def forward(self, hidden_states, attention_mask, rotary_pos_emb, kv_cache=None, use_cache=True):
        seq, batch, _ = hidden_states.shape
        head_dim = self.hidden_size_per_attention_head
        groups = self.num_multi_query_groups_per_partition
        mixed = self.query_key_value(hidden_states)
        query, key, value = mixed.split([self.projection_size, groups * head_dim, groups * head_dim], dim=-1)
        query = query.view(seq, batch, self.num_attention_heads_per_partition, head_dim)
        key = key.view(seq, batch, groups, head_dim)
        value = value.view(seq, batch, groups, head_dim)
        if rotary_pos_emb is not None:
            query = apply_rotary_pos_emb(query, rotary_pos_emb)
            key = apply_rotary_pos_emb(key, rotary_pos_emb)
        if kv_cache is not None:
            key = torch.cat((kv_cache[0], key), dim=0)
            value = torch.cat((kv_cache[1], value), dim=0)
        kv_cache = (key, value) if use_cache else None
        if self.multi_query_attention:
            repeat = self.num_attention_heads_per_partition // groups
            key = key.repeat_interleave(repeat, dim=2)
            value = value.repeat_interleave(repeat, dim=2)
        context = self.core_attention(query, key, value, attention_mask)
        return self.dense(context), kv_cache


class MLP(nn.Module):
    def __init__(self, config: ChatGLMConfig, device=None):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(config.hidden_size, config.ffn_hidden_size * 2, bias=config.add_bias_linear,
                                       device=device, **_config_to_kwargs(config))

        def swiglu(x):
            x = torch.chunk(x, 2, dim=-1)
            return F.silu(x[0]) * x[1]

        self.activation_func = swiglu
        self.dense_4h_to_h = nn.Linear(config.ffn_hidden_size, config.hidden_size, bias=config.add_bias_linear,
                                       device=device, **_config_to_kwargs(config))

    def forward(self, hidden_states):
        return self.dense_4h_to_h(self.activation_func(self.dense_h_to_4h(hidden_states)))


class GLMBlock(nn.Module):
    def __init__(self, config: ChatGLMConfig, layer_number, device=None):
        super().__init__()
        self.layer_number = layer_number
        self.apply_residual_connection_post_layernorm = config.apply_residual_connection_post_layernorm
        self.fp32_residual_connection = config.fp32_residual_connection
        LayerNormFunc = RMSNorm if config.rmsnorm else LayerNorm
        self.input_layernorm = LayerNormFunc(config.hidden_size, eps=config.layernorm_epsilon, device=device,
                                             dtype=config.torch_dtype)
        self.self_attention = SelfAttention(config, layer_number, device=device)
        self.hidden_dropout = config.hidden_dropout
        self.post_attention_layernorm = LayerNormFunc(config.hidden_size, eps=config.layernorm_epsilon, device=device,
                                                      dtype=config.torch_dtype)
        self.mlp = MLP(config, device=device)

    def forward(self, hidden_states, attention_mask, rotary_pos_emb, kv_cache=None, use_cache=True):
        layernorm_output = self.input_layernorm(hidden_states)
        attention_output, kv_cache = self.self_attention(layernorm_output, attention_mask, rotary_pos_emb,
                                                         kv_cache=kv_cache, use_cache=use_cache)
        residual = layernorm_output if self.apply_residual_connection_post_layernorm else hidden_states
        layernorm_input = residual + F.dropout(attention_output, p=self.hidden_dropout, training=self.training)
        layernorm_output = self.post_attention_layernorm(layernorm_input)
        residual = layernorm_output if self.apply_residual_connection_post_layernorm else layernorm_input
        output = residual + F.dropout(self.mlp(layernorm_output), p=self.hidden_dropout, training=self.training)
        return output, kv_cache


class GLMTransformer(nn.Module):
    def __init__(self, config: ChatGLMConfig, device=None):
        super().__init__()
        self.fp32_residual_connection = config.fp32_residual_connection
        self.post_layer_norm = config.post_layer_norm
        self.num_layers = config.num_layers
        self.layers = nn.ModuleList([GLMBlock(config, i + 1, device=device) for i in range(self.num_layers)])
        if self.post_layer_norm:
            LayerNormFunc = RMSNorm if config.rmsnorm else LayerNorm
            self.final_layernorm = LayerNormFunc(config.hidden_size, eps=config.layernorm_epsilon, device=device,
                                                 dtype=config.torch_dtype)
        self.gradient_checkpointing = False

    def forward(self, hidden_states, attention_mask, rotary_pos_emb, kv_caches=None, use_cache=True,
                output_hidden_states=False):
        if not kv_caches:
            kv_caches = [None] * self.num_layers
        presents = () if use_cache else None
        all_hidden_states = () if output_hidden_states else None
        for index, layer in enumerate(self.layers):
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden_states,)
            hidden_states, kv_cache = layer(hidden_states, attention_mask, rotary_pos_emb,
                                            kv_cache=kv_caches[index], use_cache=use_cache)
            if use_cache:
                presents = presents + (kv_cache,)
        if output_hidden_states:
            all_hidden_states = all_hidden_states + (hidden_states,)
        if self.post_layer_norm:
            hidden_states = self.final_layernorm(hidden_states)
        return hidden_states, presents, all_hidden_states, None


class ChatGLMPreTrainedModel(PreTrainedModel):
    is_parallelizable = False
    supports_gradient_checkpointing = True
    config_class = ChatGLMConfig
    base_model_prefix = "transformer"
    _no_split_modules = ["GLMBlock"]

    def _init_weights(self, module: nn.Module):
        """Initialize the weights."""
        return

    def get_masks(self, input_ids, past_key_values, padding_mask=None):
        """True where a query may not look: the future, padded keys; padded queries look everywhere."""
        batch_size, seq_length = input_ids.shape
        past_length = past_key_values[0][0].shape[0] if past_key_values else 0
        allowed = torch.ones(seq_length, past_length + seq_length, dtype=torch.bool, device=input_ids.device)
        allowed = allowed.tril(diagonal=past_length)[None].repeat(batch_size, 1, 1)
        if padding_mask is not None:
            allowed = allowed & padding_mask.bool()[:, None, :]
            if not past_length:
                allowed = allowed | ~padding_mask.bool()[:, :, None]
        return (~allowed).unsqueeze(1)

    def get_position_ids(self, input_ids, device):
        batch_size, seq_length = input_ids.shape
        return torch.arange(seq_length, dtype=torch.long, device=device).unsqueeze(0).repeat(batch_size, 1)


class Embedding(torch.nn.Module):
    def __init__(self, config: ChatGLMConfig, device=None):
        super().__init__()
        self.hidden_size = config.hidden_size
        self.word_embeddings = nn.Embedding(config.padded_vocab_size, self.hidden_size, dtype=config.torch_dtype,
                                            device=device)
        self.fp32_residual_connection = config.fp32_residual_connection

    def forward(self, input_ids):
        embeddings = self.word_embeddings(input_ids).transpose(0, 1).contiguous()  # (seq, batch, hidden)
        if self.fp32_residual_connection:
            embeddings = embeddings.float()
        return embeddings


class ChatGLMModel(ChatGLMPreTrainedModel):
    def __init__(self, config: ChatGLMConfig, device=None, empty_init=True):
        super().__init__(config)
        init_method = skip_init if empty_init else default_init
        init_kwargs = {}
        if device is not None:
            init_kwargs["device"] = device
        self.embedding = init_method(Embedding, config, **init_kwargs)
        self.num_layers = config.num_layers
        self.multi_query_group_num = config.multi_query_group_num
        self.kv_channels = config.kv_channels
        self.seq_length = config.seq_length
        rotary_dim = config.hidden_size // config.num_attention_heads if config.kv_channels is None else config.kv_channels
        self.rotary_pos_emb = RotaryEmbedding(rotary_dim // 2, rope_ratio=config.rope_ratio, device=device,
                                              dtype=config.torch_dtype)
        self.encoder = init_method(GLMTransformer, config, **init_kwargs)
        self.output_layer = init_method(nn.Linear, config.hidden_size, config.padded_vocab_size, bias=False,
                                        dtype=config.torch_dtype, **init_kwargs)
        self.post_init()

    def get_input_embeddings(self):
        return self.embedding.word_embeddings

    def set_input_embeddings(self, value):
        self.embedding.word_embeddings = value

    def forward(self, input_ids, position_ids: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.BoolTensor] = None, full_attention_mask: Optional[torch.BoolTensor] = None,
                past_key_values: Optional[Tuple[Tuple[torch.Tensor, torch.Tensor], ...]] = None,
                inputs_embeds: Optional[torch.Tensor] = None, use_cache: Optional[bool] = None,
                output_hidden_states: Optional[bool] = None, return_dict: Optional[bool] = None):
        output_hidden_states = (output_hidden_states if output_hidden_states is not None
                                else self.config.output_hidden_states)
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        past_key_values = as_legacy(past_key_values)
        batch_size, seq_length = input_ids.shape
        if inputs_embeds is None:
            inputs_embeds = self.embedding(input_ids)
        if full_attention_mask is None:
            if (attention_mask is not None and not attention_mask.all()) or (past_key_values and seq_length != 1):
                full_attention_mask = self.get_masks(input_ids, past_key_values, padding_mask=attention_mask)
        rotary_pos_emb = self.rotary_pos_emb(self.seq_length)
        if position_ids is not None:
            rotary_pos_emb = rotary_pos_emb[position_ids]
        else:
            rotary_pos_emb = rotary_pos_emb[None, :seq_length]
        rotary_pos_emb = rotary_pos_emb.transpose(0, 1).contiguous()  # (seq, batch, dim / 2, 2)
        hidden_states, presents, all_hidden_states, all_self_attentions = self.encoder(
            inputs_embeds, full_attention_mask, rotary_pos_emb=rotary_pos_emb, kv_caches=past_key_values,
            use_cache=use_cache, output_hidden_states=output_hidden_states,
        )
        if not return_dict:
            return tuple(v for v in [hidden_states, presents, all_hidden_states, all_self_attentions] if v is not None)
        return BaseModelOutputWithPast(last_hidden_state=hidden_states, past_key_values=presents,
                                       hidden_states=all_hidden_states, attentions=all_self_attentions)


class ChatGLMForConditionalGeneration(ChatGLMPreTrainedModel):
    def __init__(self, config: ChatGLMConfig, empty_init=True, device=None):
        super().__init__(config)
        self.max_sequence_length = config.max_length
        self.transformer = ChatGLMModel(config, empty_init=empty_init, device=device)
        self.config = config
        self.quantized = False
        self.post_init()

    def _update_model_kwargs_for_generation(self, outputs: ModelOutput, model_kwargs: Dict[str, Any],
                                            is_encoder_decoder: bool = False, **kwargs) -> Dict[str, Any]:
        model_kwargs["past_key_values"] = outputs.past_key_values
        if "attention_mask" in model_kwargs:
            attention_mask = model_kwargs["attention_mask"]
            model_kwargs["attention_mask"] = torch.cat(
                [attention_mask, attention_mask.new_ones((attention_mask.shape[0], 1))], dim=-1)
        if "position_ids" in model_kwargs:
            position_ids = model_kwargs["position_ids"]
            model_kwargs["position_ids"] = torch.cat([position_ids, position_ids[..., -1:] + 1], dim=-1)
        model_kwargs["is_first_forward"] = False
        return model_kwargs

    def prepare_inputs_for_generation(self, input_ids: torch.LongTensor, past_key_values: Optional[torch.Tensor] = None,
                                      attention_mask: Optional[torch.Tensor] = None,
                                      position_ids: Optional[torch.Tensor] = None, use_cache: Optional[bool] = None,
                                      is_first_forward: bool = True, **kwargs) -> dict:
        if position_ids is None:
            position_ids = self.get_position_ids(input_ids, device=input_ids.device)
        if not is_first_forward and past_key_values is not None:
            position_ids = position_ids[..., -1:]
            input_ids = input_ids[:, -1:]
        return {"input_ids": input_ids, "past_key_values": past_key_values, "position_ids": position_ids,
                "attention_mask": attention_mask, "return_last_logit": True, "use_cache": use_cache}

    def forward(self, input_ids: Optional[torch.Tensor] = None, position_ids: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None, past_key_values: Optional[Tuple[torch.FloatTensor]] = None,
                inputs_embeds: Optional[torch.Tensor] = None, labels: Optional[torch.Tensor] = None,
                use_cache: Optional[bool] = None, output_attentions: Optional[bool] = None,
                output_hidden_states: Optional[bool] = None, return_dict: Optional[bool] = None,
                return_last_logit: Optional[bool] = False):
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        transformer_outputs = self.transformer(
            input_ids=input_ids, position_ids=position_ids, attention_mask=attention_mask,
            past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=use_cache,
            output_hidden_states=output_hidden_states, return_dict=return_dict,
        )
        hidden_states = transformer_outputs[0]
        if return_last_logit:
            hidden_states = hidden_states[-1:]
        lm_logits = self.transformer.output_layer(hidden_states)
        lm_logits = lm_logits.transpose(0, 1).contiguous()  # (batch, seq, vocab)
        loss = None
        if labels is not None:
            lm_logits = lm_logits.to(torch.float32)
            shift_logits = lm_logits[..., :-1, :].contiguous()
            shift_labels = labels[..., 1:].contiguous()
            loss = CrossEntropyLoss(ignore_index=-100)(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))
            lm_logits = lm_logits.to(hidden_states.dtype)
        if not return_dict:
            output = (lm_logits,) + transformer_outputs[1:]
            return ((loss,) + output) if loss is not None else output
        return CausalLMOutputWithPast(loss=loss, logits=lm_logits, past_key_values=transformer_outputs.past_key_values,
                                      hidden_states=transformer_outputs.hidden_states,
                                      attentions=transformer_outputs.attentions)

    @staticmethod
    def _reorder_cache(past: Tuple[Tuple[torch.Tensor, torch.Tensor], ...], beam_idx: torch.LongTensor):
        """The cache is sequence first: beams are its second dimension."""
        return tuple((k.index_select(1, beam_idx.to(k.device)), v.index_select(1, beam_idx.to(v.device)))
                     for k, v in past)

    def process_response(self, output, history):
        response = output.strip()
        history.append({"role": "assistant", "metadata": "", "content": response})
        return response, history

    @torch.inference_mode()
    def chat(self, tokenizer, query: str, history: List[Dict] = None, role: str = "user", max_length: int = 8192,
             num_beams=1, do_sample=True, top_p=0.8, temperature=0.8, logits_processor=None, **kwargs):
        if history is None:
            history = []
        if logits_processor is None:
            logits_processor = LogitsProcessorList()
        logits_processor.append(InvalidScoreLogitsProcessor())
        gen_kwargs = {"max_length": max_length, "num_beams": num_beams, "do_sample": do_sample, "top_p": top_p,
                      "temperature": temperature, "logits_processor": logits_processor, **kwargs}
        inputs = tokenizer.build_chat_input(query, history=history, role=role)
        inputs = inputs.to(self.device)
        eos_token_id = [tokenizer.eos_token_id, tokenizer.get_command("<|user|>"), tokenizer.get_command("<|observation|>")]
        outputs = self.generate(**inputs, **gen_kwargs, eos_token_id=eos_token_id)
        outputs = outputs.tolist()[0][len(inputs["input_ids"][0]):-1]
        response = tokenizer.decode(outputs)
        history.append({"role": role, "content": query})
        return self.process_response(response, history)

    @torch.inference_mode()
    def stream_chat(self, tokenizer, query: str, history: List[Dict] = None, role: str = "user",
                    past_key_values=None, max_length: int = 8192, do_sample=True, top_p=0.8, temperature=0.8,
                    logits_processor=None, return_past_key_values=False, **kwargs):
        if history is None:
            history = []
        if logits_processor is None:
            logits_processor = LogitsProcessorList()
        logits_processor.append(InvalidScoreLogitsProcessor())
        eos_token_id = [tokenizer.eos_token_id, tokenizer.get_command("<|user|>"), tokenizer.get_command("<|observation|>")]
        gen_kwargs = {"max_length": max_length, "do_sample": do_sample, "top_p": top_p, "temperature": temperature,
                      "logits_processor": logits_processor, **kwargs}
        inputs = tokenizer.build_chat_input(query, history=history, role=role).to(self.device)
        history.append({"role": role, "content": query})
        prompt_length = len(inputs["input_ids"][0])
        for outputs in self.stream_generate(**inputs, eos_token_id=eos_token_id, **gen_kwargs):
            outputs = outputs.tolist()[0][prompt_length:]
            if outputs and outputs[-1] in eos_token_id:
                outputs = outputs[:-1]
            response = tokenizer.decode(outputs)
            if response and response[-1] != "\\ufffd":
                response, new_history = self.process_response(response, copy.deepcopy(history))
                yield response, new_history

    @torch.inference_mode()
    def stream_generate(self, input_ids, generation_config: Optional[GenerationConfig] = None,
                        logits_processor: Optional[LogitsProcessorList] = None,
                        stopping_criteria: Optional[StoppingCriteriaList] = None, **kwargs):
        batch_size, input_ids_seq_length = input_ids.shape[0], input_ids.shape[-1]
        if generation_config is None:
            generation_config = self.generation_config
        generation_config = copy.deepcopy(generation_config)
        model_kwargs = generation_config.update(**kwargs)
        model_kwargs["use_cache"] = generation_config.use_cache
        eos_token_id = generation_config.eos_token_id
        if isinstance(eos_token_id, int):
            eos_token_id = [eos_token_id]
        eos_token_id_tensor = torch.tensor(eos_token_id, device=input_ids.device)
        if generation_config.max_new_tokens is not None:
            generation_config.max_length = generation_config.max_new_tokens + input_ids_seq_length
        self._prepare_special_tokens(generation_config, "attention_mask" in model_kwargs, device=input_ids.device)
        logits_processor = self._get_logits_processor(
            generation_config=generation_config, input_ids_seq_length=input_ids_seq_length,
            encoder_input_ids=input_ids, prefix_allowed_tokens_fn=None,
            logits_processor=logits_processor if logits_processor is not None else LogitsProcessorList(),
        )
        stopping_criteria = self._get_stopping_criteria(
            generation_config=generation_config,
            stopping_criteria=stopping_criteria if stopping_criteria is not None else StoppingCriteriaList(),
        )
        unfinished_sequences = input_ids.new_ones(batch_size)
        while True:
            model_inputs = self.prepare_inputs_for_generation(input_ids, **model_kwargs)
            outputs = self(**model_inputs, return_dict=True, output_attentions=False, output_hidden_states=False)
            next_token_scores = logits_processor(input_ids, outputs.logits[:, -1, :])
            if generation_config.do_sample:
                next_tokens = torch.multinomial(nn.functional.softmax(next_token_scores, dim=-1), num_samples=1).squeeze(1)
            else:
                next_tokens = torch.argmax(next_token_scores, dim=-1)
            input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
            model_kwargs = self._update_model_kwargs_for_generation(outputs, model_kwargs,
                                                                    is_encoder_decoder=self.config.is_encoder_decoder)
            is_eos = (next_tokens[None, :] == eos_token_id_tensor[:, None]).any(dim=0)
            unfinished_sequences = unfinished_sequences.mul((~is_eos).long())
            yield input_ids
            if unfinished_sequences.max() == 0 or stopping_criteria(input_ids, None).all():
                break
'''

TOKENIZATION = '''
import os
import re
from typing import Dict, List, Optional, Union

from sentencepiece import SentencePieceProcessor
from transformers import PreTrainedTokenizer
from transformers.tokenization_utils_base import BatchEncoding, EncodedInput
from transformers.utils import PaddingStrategy, logging

logger = logging.get_logger(__name__)


class SPTokenizer:
    """The SentencePiece model, and the GLM commands numbered after its pieces."""

    def __init__(self, model_path: str):
        if not os.path.isfile(model_path):
            raise FileNotFoundError(model_path)
        self.sp_model = SentencePieceProcessor(model_file=model_path)
        self.n_words: int = self.sp_model.vocab_size()
        self.bos_id: int = self.sp_model.bos_id()
        self.eos_id: int = self.sp_model.eos_id()
        self.pad_id: int = self.sp_model.unk_id()
        role_special_tokens = ["<|system|>", "<|user|>", "<|assistant|>", "<|observation|>"]
        special_tokens = ["[MASK]", "[gMASK]", "[sMASK]", "sop", "eop"] + role_special_tokens
        self.special_tokens = {token: self.n_words + i for i, token in enumerate(special_tokens)}
        self.index_special_tokens = {index: token for token, index in self.special_tokens.items()}
        self.role_special_token_expression = "|".join(re.escape(token) for token in role_special_tokens)

    def tokenize(self, s: str, encode_special_tokens=False):
        if not encode_special_tokens:
            return self.sp_model.EncodeAsPieces(s)
        pieces, last = [], 0
        for match in re.finditer(self.role_special_token_expression, s):
            if last < match.start():
                pieces.extend(self.sp_model.EncodeAsPieces(s[last:match.start()]))
            pieces.append(s[match.start():match.end()])
            last = match.end()
        if last < len(s):
            pieces.extend(self.sp_model.EncodeAsPieces(s[last:]))
        return pieces

    def encode(self, s: str, bos: bool = False, eos: bool = False) -> List[int]:
        ids = self.sp_model.encode(s)
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, t: List[int]) -> str:
        text, buffer = "", []
        for token in t:
            if token in self.index_special_tokens:
                if buffer:
                    text += self.sp_model.decode(buffer)
                    buffer = []
                text += self.index_special_tokens[token]
            else:
                buffer.append(token)
        return text + (self.sp_model.decode(buffer) if buffer else "")

    def decode_tokens(self, tokens: List[str]) -> str:
        return self.sp_model.DecodePieces(tokens)

    def convert_token_to_id(self, token):
        if token in self.special_tokens:
            return self.special_tokens[token]
        return self.sp_model.PieceToId(token)

    def convert_id_to_token(self, index):
        if (index in self.index_special_tokens or index in (self.eos_id, self.bos_id, self.pad_id) or index < 0
                or index >= self.sp_model.vocab_size()):
            return ""
        return self.sp_model.IdToPiece(index)


class ChatGLMTokenizer(PreTrainedTokenizer):
    vocab_files_names = {"vocab_file": "tokenizer.model"}
    model_input_names = ["input_ids", "attention_mask", "position_ids"]

    def __init__(self, vocab_file, padding_side="left", clean_up_tokenization_spaces=False,
                 encode_special_tokens=False, **kwargs):
        self.name = "GLMTokenizer"
        self.vocab_file = vocab_file
        self.tokenizer = SPTokenizer(vocab_file)
        self.special_tokens = {"<bos>": self.tokenizer.bos_id, "<eos>": self.tokenizer.eos_id,
                               "<pad>": self.tokenizer.pad_id}
        self.encode_special_tokens = encode_special_tokens
        super().__init__(padding_side=padding_side, clean_up_tokenization_spaces=clean_up_tokenization_spaces,
                         encode_special_tokens=encode_special_tokens, **kwargs)

    def get_command(self, token):
        if token in self.special_tokens:
            return self.special_tokens[token]
        if token not in self.tokenizer.special_tokens:
            raise ValueError(f"{token} is not a special token for {self.name}")
        return self.tokenizer.special_tokens[token]

    @property
    def unk_token(self) -> str:
        return "<unk>"

    @property
    def pad_token(self) -> str:
        return "<unk>"

    @property
    def pad_token_id(self):
        return self.get_command("<pad>")

    @property
    def eos_token(self) -> str:
        return "</s>"

    @property
    def eos_token_id(self):
        return self.get_command("<eos>")

    @property
    def vocab_size(self):
        return self.tokenizer.n_words

    def get_vocab(self):
        vocab = {self._convert_id_to_token(i): i for i in range(self.vocab_size)}
        vocab.update(self.added_tokens_encoder)
        return vocab

    def _tokenize(self, text, **kwargs):
        return self.tokenizer.tokenize(text, encode_special_tokens=self.encode_special_tokens)

    def _convert_token_to_id(self, token):
        return self.tokenizer.convert_token_to_id(token)

    def _convert_id_to_token(self, index):
        return self.tokenizer.convert_id_to_token(index)

    def convert_tokens_to_string(self, tokens: List[str]) -> str:
        return self.tokenizer.decode_tokens(tokens)

    def save_vocabulary(self, save_directory, filename_prefix=None):
        if os.path.isdir(save_directory):
            vocab_file = os.path.join(save_directory, self.vocab_files_names["vocab_file"])
        else:
            vocab_file = save_directory
        with open(self.vocab_file, "rb") as fin:
            proto_str = fin.read()
        with open(vocab_file, "wb") as writer:
            writer.write(proto_str)
        return (vocab_file,)

    def get_prefix_tokens(self):
        return [self.get_command("[gMASK]"), self.get_command("sop")]

    def build_single_message(self, role, metadata, message):
        if role not in ("system", "user", "assistant", "observation"):
            raise ValueError(f"unknown role {role!r}")
        role_tokens = [self.get_command(f"<|{role}|>")] + self.tokenizer.encode(f"{metadata}\\n")
        return role_tokens + self.tokenizer.encode(message)

    def build_chat_input(self, query, history=None, role="user"):
        if history is None:
            history = []
        input_ids = []
        for item in history:
            input_ids.extend(self.build_single_message(item["role"], item.get("metadata", ""), item["content"]))
        input_ids.extend(self.build_single_message(role, "", query))
        input_ids.extend([self.get_command("<|assistant|>")])
        return self.batch_encode_plus([input_ids], return_tensors="pt", is_split_into_words=True)

    def build_inputs_with_special_tokens(self, token_ids_0: List[int], token_ids_1: Optional[List[int]] = None) -> List[int]:
        prefix_tokens = self.get_prefix_tokens()
        token_ids_0 = prefix_tokens + token_ids_0
        if token_ids_1 is not None:
            token_ids_0 = token_ids_0 + token_ids_1 + [self.get_command("<eos>")]
        return token_ids_0

    def _pad(
        self,
        encoded_inputs: Union[Dict[str, EncodedInput], BatchEncoding],
        max_length: Optional[int] = None,
        padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD,
        pad_to_multiple_of: Optional[int] = None,
        padding_side: Optional[str] = None,
        return_attention_mask: Optional[bool] = None,
    ) -> dict:
        """Left padding only, of the position ids too."""
        if (padding_side or self.padding_side) != "left":
            raise ValueError("ChatGLMTokenizer pads on the left")
        required_input = encoded_inputs[self.model_input_names[0]]
        seq_length = len(required_input)
        if padding_strategy == PaddingStrategy.LONGEST:
            max_length = len(required_input)
        if max_length is not None and pad_to_multiple_of is not None and (max_length % pad_to_multiple_of != 0):
            max_length = ((max_length // pad_to_multiple_of) + 1) * pad_to_multiple_of
        needs_to_be_padded = padding_strategy != PaddingStrategy.DO_NOT_PAD and len(required_input) != max_length
        if "attention_mask" not in encoded_inputs:
            encoded_inputs["attention_mask"] = [1] * seq_length
        if "position_ids" not in encoded_inputs:
            encoded_inputs["position_ids"] = list(range(seq_length))
        if needs_to_be_padded:
            difference = max_length - len(required_input)
            encoded_inputs["attention_mask"] = [0] * difference + encoded_inputs["attention_mask"]
            encoded_inputs["position_ids"] = [0] * difference + encoded_inputs["position_ids"]
            encoded_inputs[self.model_input_names[0]] = [self.pad_token_id] * difference + required_input
        return encoded_inputs
'''


def repo() -> CorpusRepo:
    files = {
        "configuration_chatglm.py": CONFIGURATION,
        "modeling_chatglm.py": MODELING,
        "tokenization_chatglm.py": TOKENIZATION,
        "config.json": config_json(
            "chatglm",
            {"AutoConfig": "configuration_chatglm.ChatGLMConfig",
             "AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration",
             "AutoModelForCausalLM": "modeling_chatglm.ChatGLMForConditionalGeneration"},
            architectures=["ChatGLMModel"], add_bias_linear=False, add_qkv_bias=True, multi_query_attention=True,
            multi_query_group_num=2, num_layers=2, padded_vocab_size=80, hidden_size=32, ffn_hidden_size=48,
            kv_channels=8, num_attention_heads=4, seq_length=128, torch_dtype="float32", use_cache=True,
            eos_token_id=2, pad_token_id=0,
        ),
        "generation_config.json": json.dumps({"eos_token_id": [2, 70, 72], "pad_token_id": 0}),
        "tokenizer_config.json": json.dumps({
            "auto_map": {"AutoTokenizer": ["tokenization_chatglm.ChatGLMTokenizer", None]},
            "tokenizer_class": "ChatGLMTokenizer", "padding_side": "left", "clean_up_tokenization_spaces": False,
            "model_max_length": 128,
        }),
    }
    chat = {"max_length": 24, "do_sample": False}
    return CorpusRepo(
        "chatglm3_style", files, "AutoModel", "ChatGLMForConditionalGeneration", {}, ("logits",),
        tokenizer_text=["hello how are you", "tell me a story about the weather in the city"],
        assets=lambda: {"tokenizer.model": spm.train(64)},
        extra={
            "generate": {"max_new_tokens": 6, "do_sample": False, "pad_token_id": 0},
            "beam": {"max_new_tokens": 4, "num_beams": 2, "do_sample": False, "pad_token_id": 0},
            "text_chat": [
                {"method": "chat", "args": ["hello how are you"], "kwargs": chat},
                {"method": "stream_chat", "args": ["what is the weather like"], "kwargs": {**chat, "max_length": 60}, "stream": True,
                 "continue": True},
            ],
        },
    )
