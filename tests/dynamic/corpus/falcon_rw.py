"""Falcon-RW style (the ``RefinedWebModel`` repositories): ``RWConfig`` with ``n_layer`` / ``n_head`` behind an
``attribute_map`` and ``head_dim`` / ``rotary`` properties, the British ``modelling_RW.py`` file name, ALiBi built
from the attention mask (positions counted over real tokens, so left padding shifts nothing), a
``parallel_attn`` option, a fused ``query_key_value``, the cache kept in BLOOM's fused layout (keys
``(batch * heads, head_dim, seq)``, values ``(batch * heads, seq, head_dim)``) converted from and to the standard
tuple layout (``_convert_to_rw_cache`` / ``_convert_to_standard_cache``), boolean causal and padding masks of its
own, and ``_reorder_cache`` over the fused layout.
"""

from __future__ import annotations

from corpus.repo import CorpusRepo, config_json

CONFIGURATION = '''
from transformers.configuration_utils import PretrainedConfig
from transformers.utils import logging

logger = logging.get_logger(__name__)


class RWConfig(PretrainedConfig):
    model_type = "RefinedWebModel"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"num_hidden_layers": "n_layer", "num_attention_heads": "n_head"}

    def __init__(self, vocab_size=250880, hidden_size=64, n_layer=2, n_head=8, layer_norm_epsilon=1e-5,
                 initializer_range=0.02, use_cache=True, bos_token_id=1, eos_token_id=2,
                 apply_residual_connection_post_layernorm=False, hidden_dropout=0.0, attention_dropout=0.0,
                 multi_query=False, alibi=False, bias=False, parallel_attn=False, **kwargs):
        self.vocab_size = vocab_size
        n_embed = kwargs.pop("n_embed", None)  # the older name of hidden_size
        self.hidden_size = hidden_size if n_embed is None else n_embed
        self.n_layer = n_layer
        self.n_head = n_head
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.use_cache = use_cache
        self.apply_residual_connection_post_layernorm = apply_residual_connection_post_layernorm
        self.hidden_dropout = hidden_dropout
        self.attention_dropout = attention_dropout
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        self.multi_query = multi_query
        self.alibi = alibi
        self.bias = bias
        self.parallel_attn = parallel_attn
        super().__init__(bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)

    @property
    def head_dim(self):
        return self.hidden_size // self.n_head

    @property
    def rotary(self):
        return not self.alibi
'''

MODELING = '''
import math
import warnings
from typing import Optional, Tuple, Union

import torch
import torch.utils.checkpoint
from torch import nn
from torch.nn import CrossEntropyLoss, LayerNorm
from torch.nn import functional as F
from transformers.modeling_outputs import BaseModelOutputWithPastAndCrossAttentions, CausalLMOutputWithCrossAttentions
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import logging

from .configuration_RW import RWConfig

logger = logging.get_logger(__name__)


class Linear(nn.Linear):
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        ret = input @ self.weight.T
        if self.bias is None:
            return ret
        return ret + self.bias


def as_legacy(past_key_values):
    """Releases from 4.4x hand an empty cache object to every model: this one keeps (key, value) tuples."""
    if past_key_values is None or isinstance(past_key_values, (tuple, list)):
        return past_key_values
    return None if past_key_values.get_seq_length() == 0 else past_key_values.to_legacy_cache()


def _make_causal_mask(input_ids_shape: torch.Size, device: torch.device, past_key_values_length: int) -> torch.BoolTensor:
    """True where a query may NOT look: keys after it."""
    batch_size, target_length = input_ids_shape
    keys = torch.arange(past_key_values_length + target_length, device=device)
    queries = torch.arange(target_length, device=device) + past_key_values_length
    mask = keys[None, :] > queries[:, None]
    return mask[None, None].expand(batch_size, 1, target_length, past_key_values_length + target_length)


def _expand_mask(mask: torch.Tensor, tgt_length: int) -> torch.BoolTensor:
    batch_size, src_length = mask.shape
    return (~(mask.bool()))[:, None, None, :].expand(batch_size, 1, tgt_length, src_length)


def build_alibi_tensor(attention_mask: torch.Tensor, num_heads: int, dtype: torch.dtype) -> torch.Tensor:
    """(batch * heads, 1, seq): each head's slope times the key's position among the real tokens."""
    batch_size, seq_length = attention_mask.shape
    closest_power_of_2 = 2 ** math.floor(math.log2(num_heads))
    base = 2 ** (-(2 ** -(math.log2(closest_power_of_2) - 3)))
    slopes = [base ** (i + 1) for i in range(closest_power_of_2)]
    if closest_power_of_2 != num_heads:
        extra_base = 2 ** (-(2 ** -(math.log2(2 * closest_power_of_2) - 3)))
        remaining = min(closest_power_of_2, num_heads - closest_power_of_2)
        slopes += [extra_base ** (2 * i + 1) for i in range(remaining)]
    slopes = torch.tensor(slopes, device=attention_mask.device, dtype=torch.float32)
    arange_tensor = ((attention_mask.cumsum(dim=-1) - 1) * attention_mask)[:, None, :]
    alibi = slopes[..., None].bfloat16() * arange_tensor
    return alibi.reshape(batch_size * num_heads, 1, seq_length).to(dtype)


def dropout_add(x: torch.Tensor, residual: torch.Tensor, prob: float, training: bool) -> torch.Tensor:
    return residual + F.dropout(x, p=prob, training=training)


class Attention(nn.Module):
    def __init__(self, config: RWConfig):
        super().__init__()
        self.hidden_size = config.hidden_size
        self.num_heads = config.n_head
        self.head_dim = self.hidden_size // self.num_heads
        self.split_size = self.hidden_size
        self.hidden_dropout = config.hidden_dropout
        if self.head_dim * self.num_heads != self.hidden_size:
            raise ValueError(f"`hidden_size` must be divisible by num_heads (got `hidden_size`: {self.hidden_size} "
                             f"and `num_heads`: {self.num_heads}).")
        self.inv_norm_factor = 1.0 / math.sqrt(self.head_dim)
        self.beta = self.inv_norm_factor
        self.query_key_value = Linear(self.hidden_size, 3 * self.hidden_size, bias=config.bias)
        self.multi_query = config.multi_query
        self.dense = Linear(self.hidden_size, self.hidden_size, bias=config.bias)
        self.attention_dropout = nn.Dropout(config.attention_dropout)
        self.num_kv = config.n_head if not self.multi_query else 1

    def _split_heads(self, fused_qkv: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch_size, seq_length, _ = fused_qkv.shape
        fused_qkv = fused_qkv.view(batch_size, seq_length, self.num_heads, 3, self.head_dim)
        return fused_qkv[..., 0, :], fused_qkv[..., 1, :], fused_qkv[..., 2, :]

    def _merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch_size_and_num_heads, seq_length, _ = x.shape
        batch_size = batch_size_and_num_heads // self.num_heads
        x = x.view(batch_size, self.num_heads, seq_length, self.head_dim).permute(0, 2, 1, 3)
        return x.reshape(batch_size, seq_length, self.num_heads * self.head_dim)

    def forward(self, hidden_states: torch.Tensor, alibi: torch.Tensor, attention_mask: torch.Tensor,
                layer_past: Optional[Tuple[torch.Tensor, torch.Tensor]] = None, head_mask=None, use_cache=False,
                output_attentions=False):
        fused_qkv = self.query_key_value(hidden_states)
        (query_layer, key_layer, value_layer) = self._split_heads(fused_qkv)
        batch_size, q_length, _, _ = query_layer.shape
        query_layer = query_layer.transpose(1, 2).reshape(batch_size * self.num_heads, q_length, self.head_dim)
        key_layer = key_layer.permute(0, 2, 3, 1).reshape(batch_size * self.num_heads, self.head_dim, q_length)
        value_layer = value_layer.transpose(1, 2).reshape(batch_size * self.num_heads, q_length, self.head_dim)
        if layer_past is not None:
            past_key, past_value = layer_past
            key_layer = torch.cat((past_key, key_layer), dim=2)  # (batch * heads, head_dim, kv_length)
            value_layer = torch.cat((past_value, value_layer), dim=1)  # (batch * heads, kv_length, head_dim)
        _, _, kv_length = key_layer.shape
        present = (key_layer, value_layer) if use_cache else None
        matmul_result = alibi.baddbmm(batch1=query_layer, batch2=key_layer, beta=self.beta, alpha=self.inv_norm_factor)
        attention_scores = matmul_result.view(batch_size, self.num_heads, q_length, kv_length)
        input_dtype = attention_scores.dtype
        if input_dtype == torch.float16:
            attention_scores = attention_scores.to(torch.float)
        attn_weights = torch.masked_fill(attention_scores, attention_mask, torch.finfo(attention_scores.dtype).min)
        attention_probs = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(input_dtype)
        attention_probs = self.attention_dropout(attention_probs)
        if head_mask is not None:
            attention_probs = attention_probs * head_mask
        attention_probs_reshaped = attention_probs.view(batch_size * self.num_heads, q_length, kv_length)
        context_layer = self._merge_heads(torch.bmm(attention_probs_reshaped, value_layer))
        output_tensor = self.dense(context_layer)
        outputs = (output_tensor, present)
        if output_attentions:
            outputs += (attention_probs,)
        return outputs


class MLP(nn.Module):
    def __init__(self, config: RWConfig):
        super().__init__()
        hidden_size = config.hidden_size
        self.dense_h_to_4h = Linear(hidden_size, 4 * hidden_size, bias=config.bias)
        self.act = nn.GELU()
        self.dense_4h_to_h = Linear(4 * hidden_size, hidden_size, bias=config.bias)
        self.hidden_dropout = config.hidden_dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense_4h_to_h(self.act(self.dense_h_to_4h(x)))


class DecoderLayer(nn.Module):
    def __init__(self, config: RWConfig):
        super().__init__()
        hidden_size = config.hidden_size
        self.input_layernorm = LayerNorm(hidden_size, eps=config.layer_norm_epsilon)
        self.num_heads = config.n_head
        self.self_attention = Attention(config)
        if not config.parallel_attn:
            self.post_attention_layernorm = LayerNorm(hidden_size, eps=config.layer_norm_epsilon)
        self.mlp = MLP(config)
        self.apply_residual_connection_post_layernorm = config.apply_residual_connection_post_layernorm
        self.hidden_dropout = config.hidden_dropout
        self.config = config

    def forward(self, hidden_states, alibi, attention_mask, layer_past=None, head_mask=None, use_cache=False,
                output_attentions=False):
        layernorm_output = self.input_layernorm(hidden_states)
        residual = hidden_states
        attn_outputs = self.self_attention(layernorm_output, layer_past=layer_past, attention_mask=attention_mask,
                                           alibi=alibi, head_mask=head_mask, use_cache=use_cache,
                                           output_attentions=output_attentions)
        attention_output = attn_outputs[0]
        if not self.config.parallel_attn:
            residual = dropout_add(attention_output, residual, self.config.attention_dropout, training=self.training)
            layernorm_output = self.post_attention_layernorm(residual)
        outputs = attn_outputs[1:]
        mlp_output = self.mlp(layernorm_output)
        if self.config.parallel_attn:
            mlp_output += attention_output
        output = dropout_add(mlp_output, residual, self.config.hidden_dropout, training=self.training)
        if use_cache:
            outputs = (output,) + outputs
        else:
            outputs = (output,) + outputs[1:]
        return outputs


class RWPreTrainedModel(PreTrainedModel):
    _keys_to_ignore_on_load_missing = [r"h.*.self_attention.scale_mask_softmax.causal_mask", r"lm_head.weight"]
    config_class = RWConfig
    base_model_prefix = "transformer"
    supports_gradient_checkpointing = True
    _no_split_modules = ["DecoderLayer"]

    def __init__(self, *inputs, **kwargs):
        super().__init__(*inputs, **kwargs)

    def _init_weights(self, module: nn.Module):
        if isinstance(module, nn.Linear) or isinstance(module, Linear):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)

    @staticmethod
    def _convert_to_standard_cache(past_key_value, batch_size: int):
        """BLOOM's fused layout -> (batch, heads, head_dim, seq) keys and (batch, heads, seq, head_dim) values."""
        batch_size_times_num_heads, head_dim, seq_length = past_key_value[0][0].shape
        num_heads = batch_size_times_num_heads // batch_size
        return tuple((layer_past[0].view(batch_size, num_heads, head_dim, seq_length),
                      layer_past[1].view(batch_size, num_heads, seq_length, head_dim)) for layer_past in past_key_value)

    @staticmethod
    def _convert_to_rw_cache(past_key_value):
        batch_size, num_heads, head_dim, seq_length = past_key_value[0][0].shape
        batch_size_times_num_heads = batch_size * num_heads
        return tuple((layer_past[0].view(batch_size_times_num_heads, head_dim, seq_length),
                      layer_past[1].view(batch_size_times_num_heads, seq_length, head_dim)) for layer_past in past_key_value)


class RWModel(RWPreTrainedModel):
    def __init__(self, config: RWConfig):
        super().__init__(config)
        self.embed_dim = config.hidden_size
        self.num_heads = config.n_head
        self.alibi = config.alibi
        self.word_embeddings = nn.Embedding(config.vocab_size, self.embed_dim)
        self.h = nn.ModuleList([DecoderLayer(config) for _ in range(config.num_hidden_layers)])
        self.ln_f = LayerNorm(self.embed_dim, eps=config.layer_norm_epsilon)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self):
        return self.word_embeddings

    def set_input_embeddings(self, new_embeddings: torch.Tensor):
        self.word_embeddings = new_embeddings

    def _prepare_attn_mask(self, attention_mask: torch.Tensor, input_shape: Tuple[int, int],
                           past_key_values_length: int) -> torch.BoolTensor:
        device = attention_mask.device
        _, src_length = input_shape
        combined_attention_mask = None
        if src_length > 1:
            combined_attention_mask = _make_causal_mask(input_shape, device=device,
                                                        past_key_values_length=past_key_values_length)
        expanded_attn_mask = _expand_mask(attention_mask, tgt_length=src_length)
        if combined_attention_mask is None:
            return expanded_attn_mask
        return expanded_attn_mask | combined_attention_mask

    def forward(self, input_ids=None, past_key_values=None, attention_mask=None, head_mask=None, inputs_embeds=None,
                use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None, **deprecated_arguments):
        if deprecated_arguments.pop("position_ids", False) is not False:
            warnings.warn("`position_ids` have no functionality in RW and will be removed.", FutureWarning)
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_hidden_states = (output_hidden_states if output_hidden_states is not None
                                else self.config.output_hidden_states)
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        if input_ids is not None:
            batch_size, seq_length = input_ids.shape
        else:
            batch_size, seq_length, _ = inputs_embeds.shape
        past_key_values = as_legacy(past_key_values)
        if past_key_values is None:
            past_key_values = tuple([None] * len(self.h))
        head_mask = self.get_head_mask(head_mask, self.config.n_layer)
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        hidden_states = inputs_embeds
        presents = () if use_cache else None
        all_self_attentions = () if output_attentions else None
        all_hidden_states = () if output_hidden_states else None
        seq_length_with_past = seq_length
        past_key_values_length = 0
        if past_key_values[0] is not None:
            past_key_values_length = past_key_values[0][0].shape[2]
            seq_length_with_past = seq_length_with_past + past_key_values_length
        if attention_mask is None:
            attention_mask = torch.ones((batch_size, seq_length_with_past), device=hidden_states.device)
        if self.alibi:
            alibi = build_alibi_tensor(attention_mask, self.num_heads, dtype=hidden_states.dtype)
        else:
            alibi = None
        causal_mask = self._prepare_attn_mask(attention_mask, input_shape=(batch_size, seq_length),
                                              past_key_values_length=past_key_values_length)
        for i, (block, layer_past) in enumerate(zip(self.h, past_key_values)):
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden_states,)
            outputs = block(hidden_states, layer_past=layer_past, attention_mask=causal_mask, head_mask=head_mask[i],
                            use_cache=use_cache, output_attentions=output_attentions, alibi=alibi)
            hidden_states = outputs[0]
            if use_cache is True:
                presents = presents + (outputs[1],)
            if output_attentions:
                all_self_attentions = all_self_attentions + (outputs[2 if use_cache else 1],)
        hidden_states = self.ln_f(hidden_states)
        if output_hidden_states:
            all_hidden_states = all_hidden_states + (hidden_states,)
        if not return_dict:
            return tuple(v for v in [hidden_states, presents, all_hidden_states, all_self_attentions] if v is not None)
        return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=hidden_states, past_key_values=presents,
                                                         hidden_states=all_hidden_states, attentions=all_self_attentions)


class RWForCausalLM(RWPreTrainedModel):
    _keys_to_ignore_on_load_missing = [r"h.*.self_attention.scale_mask_softmax.causal_mask", r"lm_head.weight"]
    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, config: RWConfig):
        super().__init__(config)
        self.transformer = RWModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, new_embeddings: torch.Tensor):
        self.lm_head = new_embeddings

    def prepare_inputs_for_generation(self, input_ids: torch.LongTensor, past: Optional[torch.Tensor] = None,
                                      attention_mask: Optional[torch.Tensor] = None, **kwargs) -> dict:
        past = as_legacy(kwargs.pop("past_key_values", past))
        if past:
            input_ids = input_ids[:, -1].unsqueeze(-1)
            if past[0][0].shape[0] == input_ids.shape[0]:  # the standard layout: back to the fused one
                past = self._convert_to_rw_cache(past)
        return {"input_ids": input_ids, "past_key_values": past, "use_cache": kwargs.get("use_cache"),
                "attention_mask": attention_mask}

    def forward(self, input_ids=None, past_key_values=None, attention_mask=None, head_mask=None, inputs_embeds=None,
                labels=None, use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **deprecated_arguments):
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        transformer_outputs = self.transformer(input_ids, past_key_values=past_key_values, attention_mask=attention_mask,
                                               head_mask=head_mask, inputs_embeds=inputs_embeds, use_cache=use_cache,
                                               output_attentions=output_attentions,
                                               output_hidden_states=output_hidden_states, return_dict=return_dict)
        hidden_states = transformer_outputs[0]
        lm_logits = self.lm_head(hidden_states)
        loss = None
        if labels is not None:
            shift_logits = lm_logits[..., :-1, :].contiguous()
            shift_labels = labels[..., 1:].contiguous()
            batch_size, seq_length, vocab_size = shift_logits.shape
            loss = CrossEntropyLoss()(shift_logits.view(batch_size * seq_length, vocab_size),
                                      shift_labels.view(batch_size * seq_length))
        if not return_dict:
            output = (lm_logits,) + transformer_outputs[1:]
            return ((loss,) + output) if loss is not None else output
        return CausalLMOutputWithCrossAttentions(loss=loss, logits=lm_logits,
                                                 past_key_values=transformer_outputs.past_key_values,
                                                 hidden_states=transformer_outputs.hidden_states,
                                                 attentions=transformer_outputs.attentions)

    def _reorder_cache(self, past: Tuple[Tuple[torch.Tensor, torch.Tensor], ...],
                       beam_idx: torch.LongTensor) -> Tuple[Tuple[torch.Tensor, torch.Tensor], ...]:
        """Keep the beams' rows: through the standard layout, where the batch is its own dimension."""
        standardized_past = self._convert_to_standard_cache(past, batch_size=len(beam_idx))
        device_to_beam_idx = {past_state.device: beam_idx.to(past_state.device)
                              for layer_past in past for past_state in layer_past}
        reordered_past = tuple((layer_past[0].index_select(0, device_to_beam_idx[layer_past[0].device]),
                                layer_past[1].index_select(0, device_to_beam_idx[layer_past[0].device]))
                               for layer_past in standardized_past)
        return self._convert_to_rw_cache(reordered_past)
'''


def repo() -> CorpusRepo:
    files = {
        "configuration_RW.py": CONFIGURATION,
        "modelling_RW.py": MODELING,
        "config.json": config_json(
            "RefinedWebModel",
            {"AutoConfig": "configuration_RW.RWConfig", "AutoModel": "modelling_RW.RWModel",
             "AutoModelForCausalLM": "modelling_RW.RWForCausalLM"},
            architectures=["RWForCausalLM"], vocab_size=48, hidden_size=32, n_layer=2, n_head=4, alibi=True,
            bias=True, parallel_attn=False, apply_residual_connection_post_layernorm=False, multi_query=False,
            bos_token_id=1, eos_token_id=2, torch_dtype="float32",
        ),
    }
    prompts = [[0, 0, 5, 7, 9, 11, 13, 15], [1, 4, 6, 8, 10, 12, 14, 16]]  # left-padded batch
    mask = [[0, 0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]]
    return CorpusRepo(
        "falcon_rw_style", files, "AutoModelForCausalLM", "RWForCausalLM", {"input_ids": prompts, "attention_mask": mask},
        ("logits",),
        extra={
            "tied": ("lm_head.weight", "transformer.word_embeddings.weight"),
            "generate": {"max_new_tokens": 6, "do_sample": False, "pad_token_id": 0},
            "beam": {"max_new_tokens": 4, "num_beams": 2, "do_sample": False, "pad_token_id": 0},
        },
    )
