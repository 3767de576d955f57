"""Baichuan 2 (13B) style: ``BaichuanConfig`` with ``model_max_length``, a fused ``W_pack`` query/key/value
projection, ALiBi biases instead of positions (slopes interleaved for head counts that are not powers of two),
``NormHead`` (the output layer's rows normalised), an optional ``xformers`` import, ``ContextManagers`` from
``transformers.utils``, legacy tuple caches, and ``chat(tokenizer, messages, stream=False,
generation_config=None)`` from a ``generation_utils.py`` of its own: ``build_chat_input`` with the
``user_token_id`` / ``assistant_token_id`` of ``generation_config.json``, and a ``TextIterStreamer`` fed by
``generate()`` running in a thread. The tokenizer is a SentencePiece ``BaichuanTokenizer`` whose chat markers are
user-defined pieces of the SentencePiece model.
"""

from __future__ import annotations

import json

from corpus import spm
from corpus.repo import CorpusRepo, config_json
from corpus.sp_tokenizer import tokenizer_file

CONFIGURATION = '''
from transformers.configuration_utils import PretrainedConfig
from transformers.utils import logging

logger = logging.get_logger(__name__)


class BaichuanConfig(PretrainedConfig):
    model_type = "baichuan"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(
        self,
        vocab_size=64000,
        hidden_size=5120,
        intermediate_size=13696,
        num_hidden_layers=40,
        num_attention_heads=40,
        hidden_act="silu",
        model_max_length=4096,
        initializer_range=0.02,
        rms_norm_eps=1e-6,
        use_cache=True,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
        gradient_checkpointing=False,
        z_loss_weight=0,
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.model_max_length = model_max_length
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        self.use_cache = use_cache
        self.z_loss_weight = z_loss_weight
        self.gradient_checkpointing = (gradient_checkpointing,)
        super().__init__(
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            tie_word_embeddings=tie_word_embeddings,
            **kwargs,
        )
'''

GENERATION_UTILS = '''
from queue import Queue
from typing import List

import torch
from transformers.generation.streamers import BaseStreamer


def build_chat_input(model, tokenizer, messages: List[dict], max_new_tokens: int = 0):
    """The prompt ids: the system text, then as many of the latest rounds as fit (each message after its role's
    marker token), then the assistant marker."""
    config = model.generation_config
    max_new_tokens = max_new_tokens or config.max_new_tokens
    max_input_tokens = model.config.model_max_length - max_new_tokens
    system = ""
    rounds, current = [], []
    for index, message in enumerate(messages):
        if message["role"] == "system":
            if index != 0:
                raise ValueError("the system message comes first")
            system = message["content"]
            continue
        if message["role"] == "user" and current:
            rounds.append(current)
            current = []
        current.append(message)
    if current:
        rounds.append(current)
    system_tokens = tokenizer.encode(system)
    budget = max_input_tokens - len(system_tokens)
    history_tokens = []
    for round_messages in reversed(rounds):
        round_tokens = []
        for message in round_messages:
            marker = config.user_token_id if message["role"] == "user" else config.assistant_token_id
            round_tokens.append(marker)
            round_tokens.extend(tokenizer.encode(message["content"]))
        if history_tokens and len(history_tokens) + len(round_tokens) > budget:
            break
        history_tokens = round_tokens + history_tokens
        if len(history_tokens) >= budget:
            break
    input_tokens = system_tokens + history_tokens
    if messages[-1]["role"] != "assistant":
        input_tokens.append(config.assistant_token_id)
    input_tokens = input_tokens[-max_input_tokens:]
    return torch.LongTensor([input_tokens]).to(model.device)


class TextIterStreamer(BaseStreamer):
    """The text so far, each time generate() hands a new token over."""

    def __init__(self, tokenizer, skip_prompt=False, skip_special_tokens=False):
        self.tokenizer = tokenizer
        self.skip_prompt = skip_prompt
        self.skip_special_tokens = skip_special_tokens
        self.tokens = []
        self.text_queue = Queue()
        self.next_tokens_are_prompt = True

    def put(self, value):
        if self.skip_prompt and self.next_tokens_are_prompt:
            self.next_tokens_are_prompt = False
            return
        if len(value.shape) > 1:
            value = value[0]
        self.tokens.extend(value.tolist())
        self.text_queue.put(self.tokenizer.decode(self.tokens, skip_special_tokens=self.skip_special_tokens))

    def end(self):
        self.text_queue.put(None)

    def __iter__(self):
        return self

    def __next__(self):
        value = self.text_queue.get()
        if value is None:
            raise StopIteration()
        return value
'''

MODELING = '''
import math
from threading import Thread
from typing import List, Optional, Tuple, Union

import torch
import torch.utils.checkpoint
from torch import nn
from torch.nn import CrossEntropyLoss
from torch.nn import functional as F
from transformers import PreTrainedModel
from transformers.activations import ACT2FN
from transformers.generation.utils import GenerationConfig
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.utils import ContextManagers, logging

from .configuration_baichuan import BaichuanConfig
from .generation_utils import TextIterStreamer, build_chat_input

logger = logging.get_logger(__name__)

try:
    from xformers import ops as xops
except ImportError:
    xops = None
    logger.warning("Xformers is not installed correctly. Attention runs without it.")


def _alibi_slopes(n_heads):
    """Geometric slopes for a power of two; otherwise those of the power below, then every other slope of the
    power above."""
    def power_of_two(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]

    if math.log2(n_heads).is_integer():
        return power_of_two(n_heads)
    below = 2 ** math.floor(math.log2(n_heads))
    return power_of_two(below) + _alibi_slopes(2 * below)[0::2][: n_heads - below]


def as_legacy(past_key_values):
    """Releases from 4.4x hand an empty cache object to every model: this one keeps (key, value) tuples."""
    if past_key_values is None or isinstance(past_key_values, (tuple, list)):
        return past_key_values
    return past_key_values.to_legacy_cache() if past_key_values.get_seq_length() else None


class RMSNorm(torch.nn.Module):
    def __init__(self, hidden_size, epsilon=1e-6):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(hidden_size))
        self.epsilon = epsilon

    def forward(self, hidden_states):
        variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.epsilon)
        if self.weight.dtype in [torch.float16, torch.bfloat16]:
            hidden_states = hidden_states.to(self.weight.dtype)
        return self.weight * hidden_states


class MLP(torch.nn.Module):
    def __init__(self, hidden_size: int, intermediate_size: int, hidden_act: str):
        super().__init__()
        self.gate_proj = torch.nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = torch.nn.Linear(intermediate_size, hidden_size, bias=False)
        self.up_proj = torch.nn.Linear(hidden_size, intermediate_size, bias=False)
        self.act_fn = ACT2FN[hidden_act]

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class BaichuanAttention(torch.nn.Module):
    def __init__(self, config: BaichuanConfig):
        super().__init__()
        self.config = config
        self.hidden_size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = self.hidden_size // self.num_heads
        self.max_position_embeddings = config.model_max_length
        if (self.head_dim * self.num_heads) != self.hidden_size:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        self.W_pack = torch.nn.Linear(self.hidden_size, 3 * self.hidden_size, bias=False)
        self.o_proj = torch.nn.Linear(self.num_heads * self.head_dim, self.hidden_size, bias=False)

    def forward(self, hidden_states, attention_mask=None, past_key_value=None, output_attentions=False,
                use_cache=False):
        bsz, q_len, _ = hidden_states.size()
        proj = self.W_pack(hidden_states)
        proj = proj.unflatten(-1, (3, self.hidden_size)).unsqueeze(0).transpose(0, -2).squeeze(-2)
        # three (batch, heads, seq, head_dim)
        query_states, key_states, value_states = (
            p.view(bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2) for p in proj
        )
        if past_key_value is not None:
            key_states = torch.cat([past_key_value[0], key_states], dim=2)
            value_states = torch.cat([past_key_value[1], value_states], dim=2)
        past_key_value = (key_states, value_states) if use_cache else None
        attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) / math.sqrt(self.head_dim)
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask[:, :, -q_len:, :]
        attn_weights = torch.nn.functional.softmax(attn_weights, dim=-1)
        attn_output = torch.matmul(attn_weights, value_states).transpose(1, 2).reshape(bsz, q_len, self.hidden_size)
        attn_output = self.o_proj(attn_output)
        return attn_output, attn_weights if output_attentions else None, past_key_value


class BaichuanLayer(torch.nn.Module):
    def __init__(self, config: BaichuanConfig):
        super().__init__()
        self.hidden_size = config.hidden_size
        self.self_attn = BaichuanAttention(config=config)
        self.mlp = MLP(hidden_size=self.hidden_size, intermediate_size=config.intermediate_size,
                       hidden_act=config.hidden_act)
        self.input_layernorm = RMSNorm(config.hidden_size, epsilon=config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, epsilon=config.rms_norm_eps)

    def forward(self, hidden_states, attention_mask=None, past_key_value=None, output_attentions=False,
                use_cache=False):
        residual = hidden_states
        hidden_states, self_attn_weights, present_key_value = self.self_attn(
            self.input_layernorm(hidden_states), attention_mask=attention_mask, past_key_value=past_key_value,
            output_attentions=output_attentions, use_cache=use_cache,
        )
        hidden_states = residual + hidden_states
        hidden_states = hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))
        outputs = (hidden_states,)
        if use_cache:
            outputs += (present_key_value,)
        return outputs


class BaichuanPreTrainedModel(PreTrainedModel):
    config_class = BaichuanConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["BaichuanLayer"]
    _keys_to_ignore_on_load_unexpected = [r"decoder\\.version"]

    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, torch.nn.Linear):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, torch.nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, RMSNorm):
            module.weight.data.fill_(1.0)


class BaichuanModel(BaichuanPreTrainedModel):
    def __init__(self, config: BaichuanConfig):
        super().__init__(config)
        self.padding_idx = config.pad_token_id
        self.vocab_size = config.vocab_size
        self.n_head = config.num_attention_heads
        self.embed_tokens = torch.nn.Embedding(config.vocab_size, config.hidden_size, self.padding_idx)
        self.layers = torch.nn.ModuleList([BaichuanLayer(config) for _ in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, epsilon=config.rms_norm_eps)
        self.gradient_checkpointing = config.gradient_checkpointing
        self.post_init()
        self.max_cache_pos = config.model_max_length
        self.register_buffer("slopes", torch.tensor(_alibi_slopes(self.n_head)), persistent=False)

    def get_input_embeddings(self):
        return self.embed_tokens

    def set_input_embeddings(self, value):
        self.embed_tokens = value

    def get_alibi_mask(self, attention_mask, batch_size, seq_length, past_length, dtype, device):
        """(batch, heads, seq, past + seq): each head's linear bias by key distance, where a query may look;
        the dtype's minimum elsewhere (a padded query looks at itself only)."""
        total = past_length + seq_length
        keys = torch.arange(total, device=device)
        queries = keys[past_length:]
        distance = (keys[None, :] - queries[:, None]).to(dtype)  # (seq, total), <= 0 where allowed
        bias = self.slopes.to(device=device, dtype=dtype)[:, None, None] * distance  # (heads, seq, total)
        allowed = (keys[None, :] <= queries[:, None])[None].expand(batch_size, -1, -1)
        if attention_mask is not None:
            valid = attention_mask.bool()
            allowed = allowed & valid[:, None, :]
            allowed = allowed | ((keys[None, :] == queries[:, None])[None] & ~valid[:, past_length:, None])
        blocked = torch.full((), torch.finfo(dtype).min, dtype=dtype, device=device)
        return torch.where(allowed[:, None], bias[None], blocked)

    def forward(self, input_ids: torch.LongTensor = None, attention_mask: Optional[torch.Tensor] = None,
                past_key_values: Optional[List[torch.FloatTensor]] = None,
                inputs_embeds: Optional[torch.FloatTensor] = None, use_cache: Optional[bool] = False,
                output_attentions: Optional[bool] = False, output_hidden_states: Optional[bool] = False,
                return_dict: Optional[bool] = True) -> Union[Tuple, BaseModelOutputWithPast]:
        if input_ids is not None and inputs_embeds is not None:
            raise ValueError("You cannot provide both input_ids and inputs_embeds simultaneously")
        if input_ids is not None:
            batch_size, seq_length = input_ids.shape
        elif inputs_embeds is not None:
            batch_size, seq_length, _ = inputs_embeds.shape
        else:
            raise ValueError("You need to provide input_ids or inputs_embeds")
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        past_key_values = as_legacy(past_key_values)
        past_length = past_key_values[0][0].shape[2] if past_key_values is not None else 0
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids)
        alibi_mask = self.get_alibi_mask(attention_mask, batch_size, seq_length, past_length, inputs_embeds.dtype,
                                         inputs_embeds.device)
        hidden_states = inputs_embeds
        all_hidden_states = () if output_hidden_states else None
        all_self_attns = () if output_attentions else None
        next_decoder_cache = () if use_cache else None
        for idx, decoder_layer in enumerate(self.layers):
            if output_hidden_states:
                all_hidden_states += (hidden_states,)
            past_key_value = past_key_values[idx] if past_key_values is not None else None
            layer_outputs = decoder_layer(hidden_states, attention_mask=alibi_mask, past_key_value=past_key_value,
                                          output_attentions=output_attentions, use_cache=use_cache)
            hidden_states = layer_outputs[0]
            if use_cache:
                next_decoder_cache += (layer_outputs[1],)
        hidden_states = self.norm(hidden_states)
        if output_hidden_states:
            all_hidden_states += (hidden_states,)
        next_cache = next_decoder_cache if use_cache else None
        if not return_dict:
            return tuple(v for v in [hidden_states, next_cache, all_hidden_states, all_self_attns] if v is not None)
        return BaseModelOutputWithPast(last_hidden_state=hidden_states, past_key_values=next_cache,
                                       hidden_states=all_hidden_states, attentions=all_self_attns)


class NormHead(nn.Module):
    """The output layer of unit-length rows: logits are cosines scaled by the hidden state's norm."""

    def __init__(self, hidden_size, vocab_size, bias=False):
        super().__init__()
        self.weight = nn.Parameter(torch.empty((vocab_size, hidden_size)))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, hidden_states):
        return nn.functional.linear(hidden_states, nn.functional.normalize(self.weight))


class BaichuanForCausalLM(BaichuanPreTrainedModel):
    def __init__(self, config, *model_args, **model_kwargs):
        super().__init__(config, *model_args, **model_kwargs)
        self.model = BaichuanModel(config)
        self.lm_head = NormHead(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def set_input_embeddings(self, value):
        self.model.embed_tokens = value

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, new_embeddings):
        self.lm_head = new_embeddings

    def get_decoder(self):
        return self.model

    def forward(self, input_ids: torch.LongTensor = None, attention_mask: Optional[torch.Tensor] = None,
                past_key_values: Optional[List[torch.FloatTensor]] = None,
                inputs_embeds: Optional[torch.FloatTensor] = None, labels: Optional[torch.LongTensor] = None,
                use_cache: Optional[bool] = None, output_attentions: Optional[bool] = False,
                output_hidden_states: Optional[bool] = False, return_dict: Optional[bool] = True,
                **kwargs) -> Union[Tuple, CausalLMOutputWithPast]:
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        outputs = self.model(input_ids=input_ids, attention_mask=attention_mask, past_key_values=past_key_values,
                             inputs_embeds=inputs_embeds, use_cache=use_cache, output_attentions=output_attentions,
                             output_hidden_states=output_hidden_states, return_dict=return_dict)
        hidden_states = outputs[0]
        logits = self.lm_head(hidden_states)
        loss = None
        if labels is not None:
            shift_logits = logits[..., :-1, :].contiguous()
            shift_labels = labels[..., 1:].contiguous()
            loss_fct = CrossEntropyLoss()
            shift_logits = shift_logits.view(-1, self.config.vocab_size)
            shift_labels = shift_labels.view(-1).to(shift_logits.device)
            softmax_normalizer = shift_logits.max(-1).values ** 2
            z_loss = self.config.z_loss_weight * softmax_normalizer.mean()
            loss = loss_fct(shift_logits, shift_labels) + z_loss
        if not return_dict:
            output = (logits,) + outputs[1:]
            return (loss,) + output if loss is not None else output
        return CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=outputs.past_key_values,
                                      hidden_states=outputs.hidden_states, attentions=outputs.attentions)

    def prepare_inputs_for_generation(self, input_ids: torch.LongTensor, past_key_values: Optional[torch.Tensor] = None,
                                      attention_mask: Optional[torch.Tensor] = None,
                                      inputs_embeds: Optional[torch.Tensor] = None, **kwargs):
        past_key_values = as_legacy(past_key_values)
        if past_key_values:
            input_ids = input_ids[:, -1:]
        if inputs_embeds is not None and past_key_values is None:
            model_inputs = {"inputs_embeds": inputs_embeds}
        else:
            model_inputs = {"input_ids": input_ids}
        model_inputs.update({"past_key_values": past_key_values, "use_cache": kwargs.get("use_cache"),
                             "attention_mask": attention_mask})
        return model_inputs

    @staticmethod
    def _reorder_cache(past_key_values, beam_idx):
        return tuple(tuple(past_state.index_select(0, beam_idx) for past_state in layer_past)
                     for layer_past in past_key_values)

    def chat(self, tokenizer, messages: List[dict], stream=False, generation_config: Optional[GenerationConfig] = None):
        generation_config = generation_config or self.generation_config
        input_ids = build_chat_input(self, tokenizer, messages, generation_config.max_new_tokens)
        if stream:
            streamer = TextIterStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
            Thread(target=self.generate, kwargs=dict(inputs=input_ids, streamer=streamer,
                                                     generation_config=generation_config)).start()
            return streamer
        outputs = self.generate(input_ids, generation_config=generation_config)
        return tokenizer.decode(outputs[0][len(input_ids[0]):], skip_special_tokens=True)
'''

MARKERS = ("<reserved_106>", "<reserved_107>")  # the user and assistant markers: ids 3 and 4


def repo() -> CorpusRepo:
    files = {
        "configuration_baichuan.py": CONFIGURATION,
        "generation_utils.py": GENERATION_UTILS,
        "modeling_baichuan.py": MODELING,
        "tokenization_baichuan.py": tokenizer_file("Baichuan"),
        "config.json": config_json(
            "baichuan",
            {"AutoConfig": "configuration_baichuan.BaichuanConfig",
             "AutoModelForCausalLM": "modeling_baichuan.BaichuanForCausalLM"},
            architectures=["BaichuanForCausalLM"], vocab_size=64, hidden_size=24, intermediate_size=40,
            num_hidden_layers=2, num_attention_heads=6, model_max_length=96, torch_dtype="float32",
        ),
        "generation_config.json": json.dumps({
            "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "user_token_id": 3, "assistant_token_id": 4,
            "max_new_tokens": 8, "do_sample": False, "repetition_penalty": 1.05,
        }),
        "tokenizer_config.json": json.dumps({
            "auto_map": {"AutoTokenizer": ["tokenization_baichuan.BaichuanTokenizer", None]},
            "tokenizer_class": "BaichuanTokenizer", "add_bos_token": False, "add_eos_token": False,
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>",
            "model_max_length": 96, "clean_up_tokenization_spaces": False, "padding_side": "left",
        }),
    }
    conversation = [{"role": "system", "content": "you are a helpful assistant"},
                    {"role": "user", "content": "hello how are you"},
                    {"role": "assistant", "content": "the weather"},
                    {"role": "user", "content": "tell me a story"}]
    return CorpusRepo(
        "baichuan2_style", files, "AutoModelForCausalLM", "BaichuanForCausalLM", {}, ("logits",),
        tokenizer_text=["hello how are you", "tell me a story about the weather in the city"],
        assets=lambda: {"tokenizer.model": spm.train(64, user_defined_symbols=MARKERS)},
        extra={
            "generate": {"max_new_tokens": 6, "do_sample": False, "pad_token_id": 0},
            "beam": {"max_new_tokens": 4, "num_beams": 2, "do_sample": False, "pad_token_id": 0},
            "text_chat": [
                {"method": "chat", "args": [conversation[1:2]]},
                {"method": "chat", "args": [conversation]},
                {"method": "chat", "args": [conversation], "kwargs": {"stream": True}, "stream": True},
            ],
        },
    )
