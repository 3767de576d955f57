"""jina-bert v2 style (jinaai/jina-bert-implementation, which jina-embeddings-v2 load): a ``JinaBertConfig`` whose
model_type is ``bert`` with ``feed_forward_type`` (a GLU MLP), ``emb_pooler`` and an ``attn_implementation``
attribute of its own, ALiBi attention (symmetric distance biases, slopes per head, a non-persistent ``alibi``
buffer rebuilt for longer inputs) instead of position embeddings, the reference's ``pytorch_utils`` and
docstring decorators, ``tqdm`` imported inside ``try``/``except ImportError``, and a ``JinaBertModel.encode()``
that loads the repository's tokenizer with ``AutoTokenizer`` from ``config._name_or_path``, sorts by length,
mean-pools and normalises (what sentence-transformers users call).
"""

from __future__ import annotations

import json

from corpus.repo import CorpusRepo

CONFIGURATION = '''
from transformers import PretrainedConfig


class JinaBertConfig(PretrainedConfig):
    model_type = "bert"

    def __init__(
        self,
        vocab_size=30528,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=512,
        type_vocab_size=2,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        pad_token_id=0,
        window_size=-1,
        position_embedding_type="alibi",
        use_cache=True,
        classifier_dropout=None,
        feed_forward_type="original",
        emb_pooler=None,
        attn_implementation="torch",
        **kwargs,
    ):
        super().__init__(pad_token_id=pad_token_id, **kwargs)
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
        self.layer_norm_eps = layer_norm_eps
        self.window_size = window_size
        self.position_embedding_type = position_embedding_type
        self.use_cache = use_cache
        self.classifier_dropout = classifier_dropout
        self.feed_forward_type = feed_forward_type
        self.emb_pooler = emb_pooler
        self.attn_implementation = attn_implementation
'''

MODELING = '''
import math
from typing import List, Optional, Union

import numpy as np
import torch
import torch.utils.checkpoint
from torch import nn
from transformers.activations import ACT2FN
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndCrossAttentions
from transformers.modeling_utils import PreTrainedModel
from transformers.pytorch_utils import apply_chunking_to_forward, find_pruneable_heads_and_indices, prune_linear_layer
from transformers.utils import add_start_docstrings, add_start_docstrings_to_model_forward, logging

try:
    from tqdm.autonotebook import trange

    has_tqdm = True
except ImportError:
    trange = None
    has_tqdm = False

from .configuration_bert import JinaBertConfig

logger = logging.get_logger(__name__)

JINA_START_DOCSTRING = "A BERT encoder with ALiBi attention and a GLU feed-forward."


def alibi_slopes(n_heads: int) -> List[float]:
    """Geometric slopes 2^(-8/n), 2^(-16/n), ... (for a head count that is not a power of two: the nearest
    power's slopes, then every other slope of the next power)."""
    def powers(n):
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(n_heads).is_integer():
        return powers(n_heads)
    closest = 2 ** math.floor(math.log2(n_heads))
    return powers(closest) + powers(2 * closest)[0::2][: n_heads - closest]


class JinaBertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(embeddings))  # no position embeddings: ALiBi


class JinaBertSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        self.key = nn.Linear(config.hidden_size, self.all_head_size)
        self.value = nn.Linear(config.hidden_size, self.all_head_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.attn_implementation = config.attn_implementation

    def transpose_for_scores(self, x):
        x = x.view(x.size()[:-1] + (self.num_attention_heads, self.attention_head_size))
        return x.permute(0, 2, 1, 3)  # (batch, heads, seq, head)

    def forward(self, hidden_states, attention_mask, bias):
        query, key, value = (self.transpose_for_scores(f(hidden_states)) for f in (self.query, self.key, self.value))
        if self.attn_implementation == "torch":
            context = torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask + bias)
        else:
            scores = query @ key.transpose(-1, -2) / math.sqrt(self.attention_head_size)
            context = self.dropout((scores + attention_mask + bias).softmax(-1)) @ value
        context = context.permute(0, 2, 1, 3).contiguous()
        return context.view(context.size()[:-2] + (self.all_head_size,))


class JinaBertSelfOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class JinaBertAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = JinaBertSelfAttention(config)
        self.output = JinaBertSelfOutput(config)
        self.pruned_heads = set()

    def prune_heads(self, heads):
        heads, index = find_pruneable_heads_and_indices(
            heads, self.self.num_attention_heads, self.self.attention_head_size, self.pruned_heads
        )
        self.self.query = prune_linear_layer(self.self.query, index)
        self.self.key = prune_linear_layer(self.self.key, index)
        self.self.value = prune_linear_layer(self.self.value, index)
        self.output.dense = prune_linear_layer(self.output.dense, index, dim=1)
        self.self.num_attention_heads -= len(heads)
        self.self.all_head_size = self.self.attention_head_size * self.self.num_attention_heads
        self.pruned_heads = self.pruned_heads.union(heads)

    def forward(self, hidden_states, attention_mask, bias):
        return self.output(self.self(hidden_states, attention_mask, bias), hidden_states)


class JinaBertGLUMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.gated_layers = nn.Linear(config.hidden_size, config.intermediate_size * 2, bias=False)
        self.act = nn.GELU() if config.feed_forward_type == "geglu" else nn.ReLU()
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.intermediate_size = config.intermediate_size

    def forward(self, hidden_states):
        residual = hidden_states
        gated = self.gated_layers(hidden_states)
        hidden_states = self.act(gated[..., : self.intermediate_size]) * gated[..., self.intermediate_size :]
        return self.layernorm(self.dropout(self.wo(hidden_states)) + residual)


class JinaBertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.chunk_size_feed_forward = config.chunk_size_feed_forward
        self.seq_len_dim = 1
        self.attention = JinaBertAttention(config)
        self.mlp = JinaBertGLUMLP(config)

    def forward(self, hidden_states, attention_mask, bias):
        attended = self.attention(hidden_states, attention_mask, bias)
        return apply_chunking_to_forward(self.feed_forward_chunk, self.chunk_size_feed_forward, self.seq_len_dim,
                                         attended)

    def feed_forward_chunk(self, attention_output):
        return self.mlp(attention_output)


class JinaBertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.layer = nn.ModuleList([JinaBertLayer(config) for _ in range(config.num_hidden_layers)])
        self.num_attention_heads = config.num_attention_heads
        self.gradient_checkpointing = False
        self._current_alibi_size = config.max_position_embeddings
        self.register_buffer("alibi", self.rebuild_alibi_tensor(size=config.max_position_embeddings), persistent=False)

    def rebuild_alibi_tensor(self, size, device=None):
        positions = torch.arange(size, device=device)
        distance = (positions[None, :] - positions[:, None]).abs()  # (size, size), symmetric
        slopes = torch.tensor(alibi_slopes(self.num_attention_heads), device=device)
        return (-distance[None] * slopes[:, None, None]).unsqueeze(0)  # (1, heads, size, size)

    def forward(self, hidden_states, attention_mask=None, output_hidden_states=False):
        seqlen = hidden_states.shape[1]
        if seqlen > self._current_alibi_size:
            self._current_alibi_size = seqlen
            self.register_buffer("alibi", self.rebuild_alibi_tensor(seqlen, hidden_states.device), persistent=False)
        bias = self.alibi[:, :, :seqlen, :seqlen].to(hidden_states.dtype)
        all_hidden_states = (hidden_states,) if output_hidden_states else None
        for layer_module in self.layer:
            hidden_states = layer_module(hidden_states, attention_mask, bias)
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden_states,)
        return hidden_states, all_hidden_states


class JinaBertPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states):
        return self.activation(self.dense(hidden_states[:, 0]))


class JinaBertPreTrainedModel(PreTrainedModel):
    config_class = JinaBertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    _no_split_modules = ["JinaBertLayer"]

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


@add_start_docstrings("The bare JinaBert encoder.", JINA_START_DOCSTRING)
class JinaBertModel(JinaBertPreTrainedModel):
    def __init__(self, config, add_pooling_layer=True):
        super().__init__(config)
        self.config = config
        self.emb_pooler = config.emb_pooler
        self.embeddings = JinaBertEmbeddings(config)
        self.encoder = JinaBertEncoder(config)
        self.pooler = JinaBertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.embeddings.word_embeddings = value

    def _prune_heads(self, heads_to_prune):
        for layer, heads in heads_to_prune.items():
            self.encoder.layer[layer].attention.prune_heads(heads)

    @torch.inference_mode()
    def encode(
        self,
        sentences: Union[str, List[str]],
        batch_size: int = 32,
        show_progress_bar: Optional[bool] = None,
        convert_to_numpy: bool = True,
        normalize_embeddings: bool = False,
        **tokenizer_kwargs,
    ):
        """Sentence embeddings: the repository's tokenizer, mean pooling over real tokens, optional L2 norm."""
        from transformers import AutoTokenizer

        if not hasattr(self, "tokenizer"):
            self.tokenizer = AutoTokenizer.from_pretrained(self.config._name_or_path)
        was_training = self.training
        self.eval()
        single = isinstance(sentences, str)
        if single:
            sentences = [sentences]
        if show_progress_bar is None:
            show_progress_bar = False
        order = np.argsort([-len(sentence) for sentence in sentences], kind="stable")
        ranged = trange if has_tqdm and show_progress_bar else range
        embeddings = []
        for start in ranged(0, len(sentences), batch_size):
            batch = [sentences[i] for i in order[start : start + batch_size]]
            encoded = self.tokenizer(batch, return_tensors="pt", padding=True, truncation=True, **tokenizer_kwargs)
            hidden = self.forward(**encoded)[0]
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if normalize_embeddings:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            embeddings.extend(pooled)
        embeddings = [embeddings[i] for i in np.argsort(order, kind="stable")]
        self.train(was_training)
        if convert_to_numpy:
            result = np.asarray([e.cpu().float().numpy() for e in embeddings])
        else:
            result = torch.stack(embeddings)
        return result[0] if single else result

    @add_start_docstrings_to_model_forward("input_ids, attention_mask, token_type_ids")
    def forward(self, input_ids, attention_mask=None, token_type_ids=None, output_hidden_states=None, return_dict=None):
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        extended = self.get_extended_attention_mask(attention_mask, input_ids.shape)
        hidden_states = self.embeddings(input_ids, token_type_ids)
        sequence_output, all_hidden_states = self.encoder(hidden_states, extended, bool(output_hidden_states))
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not return_dict:
            return (sequence_output, pooled_output)
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output, pooler_output=pooled_output, hidden_states=all_hidden_states
        )
'''

WORDS = ["how", "is", "the", "weather", "today", "what", "current", "like", "sunny", "rain", "cold", "warm",
         "a", "day", "in", "city", "##s", "##ly", "##y", "?", ".", ","]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
SENTENCES = ["How is the weather today?", "What is the current weather like today?", "Sunny days in the city."]


def repo() -> CorpusRepo:
    """Three heads (slopes of a head count that is not a power of two), inputs longer than the ALiBi buffer
    built at construction, and encode() over sentences of different lengths in batches of two."""
    files = {
        "configuration_bert.py": CONFIGURATION,
        "modeling_bert.py": MODELING,
        "vocab.txt": "\n".join(VOCAB) + "\n",
        "tokenizer_config.json": json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": True,
                                             "model_max_length": 64}),
        "config.json": json.dumps({
            "model_type": "bert", "architectures": ["JinaBertForMaskedLM"],
            "auto_map": {"AutoConfig": "configuration_bert.JinaBertConfig", "AutoModel": "modeling_bert.JinaBertModel"},
            "vocab_size": len(VOCAB), "hidden_size": 24, "num_hidden_layers": 2, "num_attention_heads": 3,
            "intermediate_size": 32, "max_position_embeddings": 4, "type_vocab_size": 2, "feed_forward_type": "geglu",
            "emb_pooler": "mean", "attn_implementation": "torch", "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.0, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        }, indent=2),
    }
    return CorpusRepo("jina_bert_v2", files, "AutoModel", "JinaBertModel", {}, ("last_hidden_state", "pooler_output"),
                      tokenizer_text=SENTENCES[:2],
                      extra={"encode": {"sentences": SENTENCES, "batch_size": 2, "normalize_embeddings": True}})
