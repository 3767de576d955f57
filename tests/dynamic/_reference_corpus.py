"""A corpus of custom-code repositories written the way the reference library's users write them.

Every repository imports ``transformers`` (never modelyard): configs subclassing ``PretrainedConfig``,
``PreTrainedModel`` subclasses with ``config_class``, ``base_model_prefix``, ``_init_weights`` and ``post_init``,
``ModelOutput`` dataclasses, ``ACT2FN``, heads returning ``SequenceClassifierOutput`` and friends, relative
imports between files and subpackages, a tokenizer registered through ``auto_map``, ``transformers.utils``
logging and docstring decorators, ``pytorch_utils`` helpers, optional imports of accelerations, and
extensions of a model family (BERT) at its reference module paths.

Each entry says which Auto class loads it, the inputs of ``forward`` and which output fields to compare.
The tests write the files into temporary folders and make the weights themselves.
"""

from __future__ import annotations

import json
from typing import Any

from corpus import package_entries
from corpus.repo import CorpusRepo, config_json

# ---------------------------------------------------------------------------------------------------------
# shared pieces of code (as separate files of one repository)

CONFIG = '''
from transformers import PretrainedConfig


class {name}Config(PretrainedConfig):
    model_type = "{model_type}"

    def __init__(
        self,
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        layer_norm_eps=1e-12,
        initializer_range=0.02,
        max_position_embeddings=32,
        pad_token_id=0,
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        self.max_position_embeddings = max_position_embeddings
        super().__init__(pad_token_id=pad_token_id, **kwargs)
'''

# A small encoder in the style of the reference's own BERT code: embeddings, attention, feed-forward.
BLOCKS = '''
import math

import torch
from torch import nn
from transformers.activations import ACT2FN


class Embeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False)

    def forward(self, input_ids):
        positions = self.position_ids[:, : input_ids.shape[1]]
        return self.dropout(self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(positions)))


class SelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.output = nn.Linear(config.hidden_size, config.hidden_size)

    def split(self, x):
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_size).transpose(1, 2)  # (batch, heads, seq, head)

    def forward(self, hidden, additive_mask=None):
        q, k, v = self.split(self.query(hidden)), self.split(self.key(hidden)), self.split(self.value(hidden))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_size)
        if additive_mask is not None:
            scores = scores + additive_mask
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(hidden.shape)
        return self.output(context)


class Layer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = SelfAttention(config)
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.intermediate = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = ACT2FN[config.hidden_act]
        self.out = nn.Linear(config.intermediate_size, config.hidden_size)
        self.output_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden, additive_mask=None):
        hidden = self.attention_norm(hidden + self.attention(hidden, additive_mask))
        return self.output_norm(hidden + self.out(self.act(self.intermediate(hidden))))
'''

PRETRAINED = '''
from torch import nn
from transformers import PreTrainedModel

from .configuration_{lower} import {name}Config


class {name}PreTrainedModel(PreTrainedModel):
    config_class = {name}Config
    base_model_prefix = "{prefix}"
    supports_gradient_checkpointing = True

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
'''

ENCODER = '''
from torch import nn
from transformers.modeling_outputs import BaseModelOutput

from .blocks import Embeddings, Layer
from .pretrained import {name}PreTrainedModel


class {name}Model({name}PreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.embeddings = Embeddings(config)
        self.layers = nn.ModuleList([Layer(config) for _ in range(config.num_hidden_layers)])
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.embeddings.word_embeddings = value

    def forward(self, input_ids, attention_mask=None, return_dict=None):
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        hidden = self.embeddings(input_ids)
        additive = None
        if attention_mask is not None:
            additive = self.get_extended_attention_mask(attention_mask, input_ids.shape)
        states = (hidden,)
        for layer in self.layers:
            hidden = layer(hidden, additive)
            states = states + (hidden,)
        if not return_dict:
            return (hidden, states)
        return BaseModelOutput(last_hidden_state=hidden, hidden_states=states)
'''


def _config_json(model_type: str, auto_map: dict[str, Any], **extra: Any) -> str:
    return config_json(model_type, auto_map, **extra)


def _encoder_files(name: str, model_type: str, prefix: str) -> dict[str, str]:
    lower = name.lower()
    return {
        f"configuration_{lower}.py": CONFIG.format(name=name, model_type=model_type),
        "blocks.py": BLOCKS,
        "pretrained.py": PRETRAINED.format(name=name, lower=lower, prefix=prefix),
        f"modeling_{lower}.py": ENCODER.format(name=name),
    }


IDS = [[2, 5, 7, 9, 11, 3], [2, 6, 8, 3, 0, 0]]
MASK = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]


# ---------------------------------------------------------------------------------------------------------
# 1. config + model, split over files with relative imports, BaseModelOutput
def plain_encoder() -> CorpusRepo:
    files = _encoder_files("Plain", "plain-encoder", "plain")
    files["config.json"] = _config_json(
        "plain-encoder", {"AutoConfig": "configuration_plain.PlainConfig", "AutoModel": "modeling_plain.PlainModel"}
    )
    return CorpusRepo("plain_encoder", files, "AutoModel", "PlainModel", {"input_ids": IDS, "attention_mask": MASK},
                      ("last_hidden_state",))


# 2. ACT2FN in one file, a ModelOutput subclass in another (from transformers.utils), imported relatively
OUTPUTS_FILE = '''
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from transformers.utils import ModelOutput


@dataclass
class GatedOutput(ModelOutput):
    last_hidden_state: Optional[torch.FloatTensor] = None
    gate: Optional[torch.FloatTensor] = None
    hidden_states: Optional[Tuple[torch.FloatTensor, ...]] = None
'''
GATED_MODEL = '''
import torch
from torch import nn
from transformers.activations import ACT2FN, get_activation

from .blocks import Layer as _Layer  # noqa: F401  (the reference copies only the entry file's own relative imports of a folder)
from .outputs import GatedOutput
from .modeling_gated_base import GatedModel as _Encoder
from .pretrained import GatedPreTrainedModel


class GatedEncoder(GatedPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.encoder = _Encoder(config)
        self.gate_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.gate_act = ACT2FN["gelu_new"]
        self.extra_act = get_activation("quick_gelu")
        self.post_init()

    def forward(self, input_ids, attention_mask=None):
        hidden = self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state
        gate = torch.sigmoid(self.gate_act(self.gate_proj(hidden)))
        return GatedOutput(last_hidden_state=self.extra_act(hidden * gate), gate=gate)
'''


def act2fn_and_model_output() -> CorpusRepo:
    files = _encoder_files("Gated", "gated-encoder", "gated")
    files["modeling_gated_base.py"] = files.pop("modeling_gated.py")
    files["outputs.py"] = OUTPUTS_FILE
    files["modeling_gated.py"] = GATED_MODEL
    files["config.json"] = _config_json(
        "gated-encoder",
        {"AutoConfig": "configuration_gated.GatedConfig", "AutoModel": "modeling_gated.GatedEncoder"},
        hidden_act="gelu_new",
    )
    return CorpusRepo("act2fn_and_model_output", files, "AutoModel", "GatedEncoder",
                      {"input_ids": IDS, "attention_mask": MASK}, ("last_hidden_state", "gate"))


# 3. a sequence-classification head with the reference's problem_type logic and SequenceClassifierOutput
SEQ_HEAD = '''
import torch
from torch import nn
from torch.nn import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from transformers.modeling_outputs import SequenceClassifierOutput

from .blocks import Layer as _Layer  # noqa: F401  (the reference copies only the entry file's own relative imports of a folder)
from .modeling_cls_base import ClsModel
from .pretrained import ClsPreTrainedModel


class ClsForSequenceClassification(ClsPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.cls = ClsModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, labels=None, return_dict=None):
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        hidden = self.cls(input_ids, attention_mask=attention_mask).last_hidden_state
        logits = self.classifier(self.dropout(hidden[:, 0]))
        loss = None
        if labels is not None:
            if self.config.problem_type is None:
                if self.num_labels == 1:
                    self.config.problem_type = "regression"
                elif self.num_labels > 1 and (labels.dtype == torch.long or labels.dtype == torch.int):
                    self.config.problem_type = "single_label_classification"
                else:
                    self.config.problem_type = "multi_label_classification"
            if self.config.problem_type == "regression":
                loss = MSELoss()(logits.squeeze(), labels.squeeze())
            elif self.config.problem_type == "single_label_classification":
                loss = CrossEntropyLoss()(logits.view(-1, self.num_labels), labels.view(-1))
            else:
                loss = BCEWithLogitsLoss()(logits, labels)
        if not return_dict:
            return (loss, logits) if loss is not None else (logits,)
        return SequenceClassifierOutput(loss=loss, logits=logits)
'''


def sequence_classification() -> CorpusRepo:
    files = _encoder_files("Cls", "cls-encoder", "cls")
    files["modeling_cls_base.py"] = files.pop("modeling_cls.py")
    files["modeling_cls.py"] = SEQ_HEAD
    files["config.json"] = _config_json(
        "cls-encoder",
        {"AutoConfig": "configuration_cls.ClsConfig",
         "AutoModelForSequenceClassification": "modeling_cls.ClsForSequenceClassification"},
        id2label={"0": "neg", "1": "neutral", "2": "pos"}, label2id={"neg": 0, "neutral": 1, "pos": 2},
    )
    return CorpusRepo("sequence_classification", files, "AutoModelForSequenceClassification",
                      "ClsForSequenceClassification", {"input_ids": IDS, "attention_mask": MASK, "labels": [2, 0]},
                      ("loss", "logits"))


# 4. token classification, the head in its own file importing the base model's file
TOKEN_HEAD = '''
from torch import nn
from transformers.modeling_outputs import TokenClassifierOutput

from .blocks import Layer as _Layer  # noqa: F401  (the reference copies only the entry file's own relative imports of a folder)
from .modeling_tok_base import TokModel
from .pretrained import TokPreTrainedModel


class TokForTokenClassification(TokPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.tok = TokModel(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, labels=None):
        logits = self.classifier(self.tok(input_ids, attention_mask=attention_mask).last_hidden_state)
        loss = None
        if labels is not None:
            loss = nn.CrossEntropyLoss()(logits.view(-1, self.num_labels), labels.view(-1))
        return TokenClassifierOutput(loss=loss, logits=logits)
'''


def token_classification() -> CorpusRepo:
    files = _encoder_files("Tok", "tok-encoder", "tok")
    files["modeling_tok_base.py"] = files.pop("modeling_tok.py")
    files["modeling_tok.py"] = TOKEN_HEAD
    files["config.json"] = _config_json(
        "tok-encoder",
        {"AutoConfig": "configuration_tok.TokConfig",
         "AutoModelForTokenClassification": "modeling_tok.TokForTokenClassification"},
        num_labels=4,
    )
    labels = [[0, 1, 2, 3, 1, 0], [1, 2, 0, 1, -100, -100]]
    return CorpusRepo("token_classification", files, "AutoModelForTokenClassification", "TokForTokenClassification",
                      {"input_ids": IDS, "attention_mask": MASK, "labels": labels}, ("loss", "logits"))


# 5. masked LM with the decoder tied to the input embeddings (_tied_weights_keys, get/set_output_embeddings)
MLM_HEAD = '''
import torch
from torch import nn
from transformers.activations import ACT2FN
from transformers.modeling_outputs import MaskedLMOutput

from .blocks import Layer as _Layer  # noqa: F401  (the reference copies only the entry file's own relative imports of a folder)
from .modeling_mlm_base import MlmModel
from .pretrained import MlmPreTrainedModel


class MlmHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = ACT2FN[config.hidden_act]
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def forward(self, hidden):
        return self.decoder(self.norm(self.act(self.dense(hidden))))


class MlmForMaskedLM(MlmPreTrainedModel):
    _tied_weights_keys = ["lm_head.decoder.weight", "lm_head.decoder.bias"]

    def __init__(self, config):
        super().__init__(config)
        self.mlm = MlmModel(config)
        self.lm_head = MlmHead(config)
        self.post_init()

    def get_output_embeddings(self):
        return self.lm_head.decoder

    def set_output_embeddings(self, new_embeddings):
        self.lm_head.decoder = new_embeddings
        self.lm_head.bias = new_embeddings.bias

    def forward(self, input_ids, attention_mask=None, labels=None):
        logits = self.lm_head(self.mlm(input_ids, attention_mask=attention_mask).last_hidden_state)
        loss = None
        if labels is not None:
            loss = nn.CrossEntropyLoss()(logits.view(-1, self.config.vocab_size), labels.view(-1))
        return MaskedLMOutput(loss=loss, logits=logits)
'''


def masked_lm_tied() -> CorpusRepo:
    files = _encoder_files("Mlm", "mlm-encoder", "mlm")
    files["modeling_mlm_base.py"] = files.pop("modeling_mlm.py")
    files["modeling_mlm.py"] = MLM_HEAD
    files["config.json"] = _config_json(
        "mlm-encoder",
        {"AutoConfig": "configuration_mlm.MlmConfig", "AutoModelForMaskedLM": "modeling_mlm.MlmForMaskedLM"},
    )
    labels = [[-100, 5, -100, -100, 11, -100], [-100, -100, 8, -100, -100, -100]]
    return CorpusRepo("masked_lm_tied", files, "AutoModelForMaskedLM", "MlmForMaskedLM",
                      {"input_ids": IDS, "attention_mask": MASK, "labels": labels}, ("loss", "logits"),
                      extra={"tied": ("lm_head.decoder.weight", "mlm.embeddings.word_embeddings.weight")})


# 6. extending a family modelyard has, at the reference's module paths (BERT)
BERT_EXTENSION_CONFIG = '''
from transformers.models.bert.configuration_bert import BertConfig


class MeanPoolBertConfig(BertConfig):
    model_type = "meanpool-bert"

    def __init__(self, projection_dim=8, **kwargs):
        self.projection_dim = projection_dim
        super().__init__(**kwargs)
'''
BERT_EXTENSION_MODEL = '''
import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPooling
from transformers.models.bert.modeling_bert import BertModel, BertPreTrainedModel

from .configuration_meanpool import MeanPoolBertConfig


class MeanPoolBertModel(BertPreTrainedModel):
    config_class = MeanPoolBertConfig

    def __init__(self, config):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.projection = nn.Linear(config.hidden_size, config.projection_dim)
        self.post_init()

    def forward(self, input_ids, attention_mask=None):
        hidden = self.bert(input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=self.projection(pooled))
'''


def bert_family_extension() -> CorpusRepo:
    files = {
        "configuration_meanpool.py": BERT_EXTENSION_CONFIG,
        "modeling_meanpool.py": BERT_EXTENSION_MODEL,
        "config.json": _config_json(
            "meanpool-bert",
            {"AutoConfig": "configuration_meanpool.MeanPoolBertConfig", "AutoModel": "modeling_meanpool.MeanPoolBertModel"},
            vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=32, projection_dim=8,
        ),
    }
    return CorpusRepo("bert_family_extension", files, "AutoModel", "MeanPoolBertModel",
                      {"input_ids": IDS, "attention_mask": MASK}, ("last_hidden_state", "pooler_output"))


# 7. `import transformers` then attribute access only; a chain of relative imports (model -> mixer -> helpers)
NESTED_MODEL = '''
import transformers

from .scale_helpers import scaled as _scaled  # noqa: F401  (the reference copies only the entry file's own relative imports of a folder)
from .configuration_nest import NestConfig
from .mixer import Mixer

logger = transformers.utils.logging.get_logger(__name__)


class NestModel(transformers.PreTrainedModel):
    config_class = NestConfig
    base_model_prefix = "nest"

    def __init__(self, config):
        super().__init__(config)
        self.embed = transformers.activations.ACT2FN["linear"]
        self.table = __import__("torch").nn.Embedding(config.vocab_size, config.hidden_size)
        self.mixer = Mixer(config)
        self.post_init()

    def _init_weights(self, module):
        if hasattr(module, "weight") and module.weight is not None and module.weight.dim() > 1:
            module.weight.data.normal_(0.0, 0.02)

    def forward(self, input_ids):
        logger.info("nest forward on %s", tuple(input_ids.shape))
        hidden = self.mixer(self.embed(self.table(input_ids)))
        return transformers.modeling_outputs.BaseModelOutputWithPooling(
            last_hidden_state=hidden, pooler_output=hidden.mean(1)
        )
'''
NESTED_MIXER = '''
import torch
from torch import nn

from .scale_helpers import scaled


class Mixer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.mix = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden):
        return scaled(torch.tanh(self.mix(hidden)))
'''


def import_transformers_and_attribute_access() -> CorpusRepo:
    files = {
        "configuration_nest.py": CONFIG.format(name="Nest", model_type="nest"),
        "modeling_nest.py": NESTED_MODEL,
        "mixer.py": NESTED_MIXER,
        "scale_helpers.py": "def scaled(x):\n    return 0.5 * x\n",
        "config.json": _config_json(
            "nest", {"AutoConfig": "configuration_nest.NestConfig", "AutoModel": "modeling_nest.NestModel"}
        ),
    }
    return CorpusRepo("import_transformers_and_attribute_access", files, "AutoModel", "NestModel",
                      {"input_ids": IDS}, ("last_hidden_state", "pooler_output"))


# 8. transformers.utils (logging, docstring decorators, availability checks), pytorch_utils, head masks,
#    chunked feed-forward, optional imports of accelerations, return_dict=False
UTILS_MODEL = '''
import math
from typing import Optional

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndCrossAttentions
from transformers.modeling_utils import PreTrainedModel
from transformers.pytorch_utils import apply_chunking_to_forward, find_pruneable_heads_and_indices, prune_linear_layer
from transformers.utils import (
    add_start_docstrings,
    add_start_docstrings_to_model_forward,
    is_flash_attn_2_available,
    logging,
    replace_return_docstrings,
)

from .configuration_util import UtilConfig

if is_flash_attn_2_available():
    from flash_attn import flash_attn_func  # noqa: F401

try:
    import xformers.ops as xops
except ImportError:
    xops = None

logger = logging.get_logger(__name__)
START = "A model that uses the reference's helpers."


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_size = config.hidden_size // config.num_attention_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.pruned_heads = set()

    def forward(self, hidden, additive_mask, head_mask=None):
        batch, length, _ = hidden.shape
        q, k, v = self.qkv(hidden).view(batch, length, 3, self.num_heads, self.head_size).permute(2, 0, 3, 1, 4)
        probs = (q @ k.transpose(-1, -2) / math.sqrt(self.head_size) + additive_mask).softmax(-1)
        if head_mask is not None:
            probs = probs * head_mask
        return self.proj((probs @ v).transpose(1, 2).reshape(batch, length, -1))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.chunk_size_feed_forward = config.chunk_size_feed_forward
        self.attention = Attention(config)
        self.norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.ff_in = nn.Linear(config.hidden_size, config.intermediate_size)
        self.ff_out = nn.Linear(config.intermediate_size, config.hidden_size)
        self.norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def feed_forward(self, hidden):
        return self.ff_out(nn.functional.gelu(self.ff_in(hidden)))

    def forward(self, hidden, additive_mask, head_mask=None):
        hidden = self.norm1(hidden + self.attention(hidden, additive_mask, head_mask))
        ff = apply_chunking_to_forward(self.feed_forward, self.chunk_size_feed_forward, 1, hidden)
        return self.norm2(hidden + ff)


@add_start_docstrings(START)
class UtilModel(PreTrainedModel):
    config_class = UtilConfig
    base_model_prefix = "util"

    def __init__(self, config):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.num_hidden_layers)])
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size)
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(0.0, self.config.initializer_range)

    def _prune_heads(self, heads_to_prune):
        for layer, heads in heads_to_prune.items():
            attention = self.blocks[layer].attention
            heads, index = find_pruneable_heads_and_indices(heads, attention.num_heads, attention.head_size, attention.pruned_heads)
            attention.proj = prune_linear_layer(attention.proj, index, dim=1)
            attention.num_heads -= len(heads)
            attention.pruned_heads |= heads

    @add_start_docstrings_to_model_forward("inputs")
    @replace_return_docstrings(output_type=BaseModelOutputWithPoolingAndCrossAttentions, config_class="UtilConfig")
    def forward(self, input_ids, attention_mask=None, head_mask=None, return_dict: Optional[bool] = None):
        r"""
        Returns:
        """
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        self.warn_if_padding_and_no_attention_mask(input_ids, attention_mask)
        additive = self.get_extended_attention_mask(attention_mask, input_ids.shape)
        head_mask = self.get_head_mask(head_mask, self.config.num_hidden_layers)
        hidden = self.embed(input_ids)
        for block, layer_head_mask in zip(self.blocks, head_mask):
            hidden = block(hidden, additive, layer_head_mask)
        pooled = torch.tanh(self.pooler(hidden[:, 0]))
        if not return_dict:
            return (hidden, pooled)
        return BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=hidden, pooler_output=pooled)
'''


def transformers_utils_and_pytorch_utils() -> CorpusRepo:
    files = {
        "configuration_util.py": CONFIG.format(name="Util", model_type="util-model"),
        "modeling_util.py": UTILS_MODEL,
        "config.json": _config_json(
            "util-model", {"AutoConfig": "configuration_util.UtilConfig", "AutoModel": "modeling_util.UtilModel"},
            chunk_size_feed_forward=2,
        ),
    }
    return CorpusRepo("transformers_utils_and_pytorch_utils", files, "AutoModel", "UtilModel",
                      {"input_ids": IDS, "attention_mask": MASK, "head_mask": [1.0, 0.0]},
                      ("last_hidden_state", "pooler_output"), float_inputs=("head_mask",))


# 9. a slow tokenizer registered through auto_map (tokenizer_config.json), with the model
TOKENIZER_CODE = '''
import os
from typing import Dict, List, Optional, Tuple

from transformers import PreTrainedTokenizer
from transformers.utils import logging

logger = logging.get_logger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "vocab.txt"}


def load_vocab(vocab_file):
    with open(vocab_file, encoding="utf-8") as reader:
        return {line.rstrip("\\n"): index for index, line in enumerate(reader)}


class WordTokenizer(PreTrainedTokenizer):
    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab_file, do_lower_case=True, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                 sep_token="[SEP]", **kwargs):
        self.vocab = load_vocab(vocab_file)
        self.ids_to_tokens = {index: token for token, index in self.vocab.items()}
        self.do_lower_case = do_lower_case
        super().__init__(unk_token=unk_token, pad_token=pad_token, cls_token=cls_token, sep_token=sep_token,
                         do_lower_case=do_lower_case, **kwargs)

    @property
    def vocab_size(self):
        return len(self.vocab)

    def get_vocab(self):
        return dict(self.vocab, **self.added_tokens_encoder)

    def _tokenize(self, text):
        if self.do_lower_case:
            text = text.lower()
        return text.split()

    def _convert_token_to_id(self, token):
        return self.vocab.get(token, self.vocab.get(self.unk_token))

    def _convert_id_to_token(self, index):
        return self.ids_to_tokens.get(index, self.unk_token)

    def convert_tokens_to_string(self, tokens):
        return " ".join(tokens)

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        if token_ids_1 is None:
            return [self.cls_token_id] + token_ids_0 + [self.sep_token_id]
        return [self.cls_token_id] + token_ids_0 + [self.sep_token_id] + token_ids_1 + [self.sep_token_id]

    def save_vocabulary(self, save_directory: str, filename_prefix: Optional[str] = None) -> Tuple[str]:
        name = (filename_prefix + "-" if filename_prefix else "") + VOCAB_FILES_NAMES["vocab_file"]
        path = os.path.join(save_directory, name)
        with open(path, "w", encoding="utf-8") as writer:
            for token, _ in sorted(self.vocab.items(), key=lambda item: item[1]):
                writer.write(token + "\\n")
        return (path,)
'''
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away",
         "quick", "brown", "fox", "jumps", "over", "lazy"]


def tokenizer_with_auto_map() -> CorpusRepo:
    files = _encoder_files("Word", "word-encoder", "word")
    files["tokenization_word.py"] = TOKENIZER_CODE
    files["vocab.txt"] = "\n".join(VOCAB) + "\n"
    files["tokenizer_config.json"] = json.dumps(
        {"auto_map": {"AutoTokenizer": ["tokenization_word.WordTokenizer", None]}, "do_lower_case": True,
         "model_max_length": 32, "tokenizer_class": "WordTokenizer"}
    )
    files["config.json"] = _config_json(
        "word-encoder", {"AutoConfig": "configuration_word.WordConfig", "AutoModel": "modeling_word.WordModel"},
        vocab_size=len(VOCAB),
    )
    return CorpusRepo("tokenizer_with_auto_map", files, "AutoModel", "WordModel", {}, ("last_hidden_state",),
                      tokenizer_text=["The cat sat on a mat", "the QUICK fox jumps far away xyzzy"])


# 10. question answering (start/end logits)
QA_HEAD = '''
from torch import nn
from transformers.modeling_outputs import QuestionAnsweringModelOutput

from .blocks import Layer as _Layer  # noqa: F401  (the reference copies only the entry file's own relative imports of a folder)
from .modeling_qa_base import QaModel
from .pretrained import QaPreTrainedModel


class QaForQuestionAnswering(QaPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.qa = QaModel(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, start_positions=None, end_positions=None):
        logits = self.qa_outputs(self.qa(input_ids, attention_mask=attention_mask).last_hidden_state)
        start_logits, end_logits = logits.split(1, dim=-1)
        start_logits, end_logits = start_logits.squeeze(-1).contiguous(), end_logits.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            ignored = start_logits.size(1)
            loss_fct = nn.CrossEntropyLoss(ignore_index=ignored)
            loss = (loss_fct(start_logits, start_positions.clamp(0, ignored))
                    + loss_fct(end_logits, end_positions.clamp(0, ignored))) / 2
        return QuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits)
'''


def question_answering() -> CorpusRepo:
    files = _encoder_files("Qa", "qa-encoder", "qa")
    files["modeling_qa_base.py"] = files.pop("modeling_qa.py")
    files["modeling_qa.py"] = QA_HEAD
    files["config.json"] = _config_json(
        "qa-encoder",
        {"AutoConfig": "configuration_qa.QaConfig", "AutoModelForQuestionAnswering": "modeling_qa.QaForQuestionAnswering"},
    )
    return CorpusRepo("question_answering", files, "AutoModelForQuestionAnswering", "QaForQuestionAnswering",
                      {"input_ids": IDS, "attention_mask": MASK, "start_positions": [1, 2], "end_positions": [3, 2]},
                      ("loss", "start_logits", "end_logits"))


# 11. an image classifier (pixel_values, ImageClassifierOutputWithNoAttention, a conv stem)
IMAGE_CONFIG = '''
from transformers.configuration_utils import PretrainedConfig


class TinyConvConfig(PretrainedConfig):
    model_type = "tiny-conv"

    def __init__(self, num_channels=3, hidden_sizes=(4, 8), num_labels=3, **kwargs):
        self.num_channels = num_channels
        self.hidden_sizes = list(hidden_sizes)
        super().__init__(num_labels=num_labels, **kwargs)
'''
IMAGE_MODEL = '''
import torch
from torch import nn
from transformers.modeling_outputs import ImageClassifierOutputWithNoAttention
from transformers.modeling_utils import PreTrainedModel

from .configuration_tinyconv import TinyConvConfig


class TinyConvForImageClassification(PreTrainedModel):
    config_class = TinyConvConfig
    base_model_prefix = "tinyconv"
    main_input_name = "pixel_values"

    def __init__(self, config):
        super().__init__(config)
        channels = [config.num_channels] + config.hidden_sizes
        self.stages = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1), nn.BatchNorm2d(b), nn.ReLU())
            for a, b in zip(channels[:-1], channels[1:])
        ])
        self.classifier = nn.Linear(channels[-1], config.num_labels)
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, pixel_values, labels=None):
        features = self.stages(pixel_values)
        logits = self.classifier(features.mean(dim=(2, 3)))
        loss = None if labels is None else nn.functional.cross_entropy(logits, labels)
        return ImageClassifierOutputWithNoAttention(loss=loss, logits=logits, hidden_states=(features,))
'''


def image_classification() -> CorpusRepo:
    files = {
        "configuration_tinyconv.py": IMAGE_CONFIG,
        "modeling_tinyconv.py": IMAGE_MODEL,
        "config.json": _config_json(
            "tiny-conv",
            {"AutoConfig": "configuration_tinyconv.TinyConvConfig",
             "AutoModelForImageClassification": "modeling_tinyconv.TinyConvForImageClassification"},
        ),
    }
    pixels = [[[[((b + c + y * 3 + x * 5) % 9 - 4) / 8 for x in range(8)] for y in range(8)] for c in range(3)]
              for b in range(2)]
    return CorpusRepo("image_classification", files, "AutoModelForImageClassification",
                      "TinyConvForImageClassification", {"pixel_values": pixels, "labels": [1, 2]}, ("loss", "logits"),
                      float_inputs=("pixel_values",))


# 12. code that picks its attention class by config._attn_implementation (the reference's newer idiom)
ATTN_IMPL_MODEL = '''
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from .configuration_impl import ImplConfig


class EagerMixer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.linear = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden):
        return self.linear(hidden)


MIXERS = {"eager": EagerMixer, "sdpa": EagerMixer}


class ImplModel(PreTrainedModel):
    config_class = ImplConfig
    _supports_sdpa = True

    def __init__(self, config):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.mixer = MIXERS[config._attn_implementation](config)
        self.post_init()

    def forward(self, input_ids):
        return BaseModelOutput(last_hidden_state=self.mixer(self.embed(input_ids)))
'''


def attn_implementation_from_config() -> CorpusRepo:
    files = {
        "configuration_impl.py": CONFIG.format(name="Impl", model_type="impl-model"),
        "modeling_impl.py": ATTN_IMPL_MODEL,
        "config.json": _config_json(
            "impl-model", {"AutoConfig": "configuration_impl.ImplConfig", "AutoModel": "modeling_impl.ImplModel"}
        ),
    }
    return CorpusRepo(
        "attn_implementation_from_config", files, "AutoModel", "ImplModel", {"input_ids": IDS}, ("last_hidden_state",),
    )


# 13. a decoder written the way 4.3x-era remote decoders are (Baichuan, InternLM, Qwen-1 styles): RMSNorm and
#     rotary embeddings of its own, the reference's 4-d mask helper, DynamicCache built from a legacy tuple and
#     given back as one, its own prepare_inputs_for_generation, and no GenerationMixin in its bases (the Auto
#     class adds it, as the reference's does); compared on logits and on greedy tokens from generate()
LEGACY_DECODER_CONFIG = """
from transformers import PretrainedConfig


class LegacyDecConfig(PretrainedConfig):
    model_type = "legacy-decoder"

    def __init__(self, vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=32, rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=64,
                 pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.rms_norm_eps = rms_norm_eps
        self.rope_theta = rope_theta
        self.max_position_embeddings = max_position_embeddings
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         tie_word_embeddings=tie_word_embeddings, **kwargs)
"""

LEGACY_DECODER_MODEL = """
import math

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache, DynamicCache
from transformers.modeling_attn_mask_utils import _prepare_4d_causal_attention_mask
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.utils import logging

from .configuration_legacydec import LegacyDecConfig

logger = logging.get_logger(__name__)


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        variance = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x.float() * torch.rsqrt(variance + self.eps)).to(x.dtype)


def rotate_half(x):
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


class Attention(nn.Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        self.layer_idx = layer_idx
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.W_pack = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=False)
        self.o_proj = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, hidden, mask, position_ids, cache):
        batch, seq, _ = hidden.shape
        q, k, v = self.W_pack(hidden).split(hidden.shape[-1], dim=-1)
        q, k, v = (t.view(batch, seq, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        freqs = position_ids[:, :, None].float() * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            k, v = cache.update(k, v, self.layer_idx)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores + mask
        probs = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(batch, seq, -1)
        return self.o_proj(out)


class DecoderLayer(nn.Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = Attention(config, layer_idx)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)
        self.act = ACT2FN["silu"]

    def forward(self, hidden, mask, position_ids, cache):
        hidden = hidden + self.self_attn(self.input_layernorm(hidden), mask, position_ids, cache)
        normed = self.post_attention_layernorm(hidden)
        return hidden + self.down_proj(self.act(self.gate_proj(normed)) * self.up_proj(normed))


class LegacyDecPreTrainedModel(PreTrainedModel):
    config_class = LegacyDecConfig
    base_model_prefix = "model"
    _no_split_modules = ["DecoderLayer"]

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=0.02)


class LegacyDecForCausalLM(LegacyDecPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        self.layers = nn.ModuleList(DecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                use_cache=None, labels=None, return_dict=None, **kwargs):
        batch, seq = input_ids.shape
        legacy = past_key_values is not None and not isinstance(past_key_values, Cache)
        if use_cache and not isinstance(past_key_values, Cache):
            past_key_values = DynamicCache.from_legacy_cache(past_key_values)
        past = past_key_values.get_seq_length() if past_key_values is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past, past + seq, device=input_ids.device).unsqueeze(0)
        hidden = self.embed_tokens(input_ids)
        mask = _prepare_4d_causal_attention_mask(attention_mask, (batch, seq), hidden, past)
        for layer in self.layers:
            hidden = layer(hidden, mask, position_ids, past_key_values if use_cache else None)
        logits = self.lm_head(self.norm(hidden)).float()
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))
        cache = None
        if use_cache:
            cache = past_key_values.to_legacy_cache() if legacy else past_key_values
        return CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=cache)

    def prepare_inputs_for_generation(self, input_ids, past_key_values=None, attention_mask=None, **kwargs):
        past = 0
        if past_key_values is not None:
            past = past_key_values.get_seq_length() if isinstance(past_key_values, Cache) else past_key_values[0][0].shape[2]
        if past > 0:
            input_ids = input_ids[:, past:]
        position_ids = None
        if attention_mask is not None:
            position_ids = attention_mask.long().cumsum(-1) - 1
            position_ids.masked_fill_(attention_mask == 0, 1)
            position_ids = position_ids[:, -input_ids.shape[1]:]
        return {"input_ids": input_ids, "past_key_values": past_key_values, "use_cache": kwargs.get("use_cache", True),
                "attention_mask": attention_mask, "position_ids": position_ids}
"""


def legacy_decoder() -> CorpusRepo:
    files = {
        "configuration_legacydec.py": LEGACY_DECODER_CONFIG,
        "modeling_legacydec.py": LEGACY_DECODER_MODEL,
        "config.json": _config_json(
            "legacy-decoder",
            {"AutoConfig": "configuration_legacydec.LegacyDecConfig",
             "AutoModelForCausalLM": "modeling_legacydec.LegacyDecForCausalLM"},
        ),
    }
    prompts = [[0, 0, 5, 7, 9, 11], [1, 4, 6, 8, 10, 12]]  # left-padded batch
    mask = [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]]
    return CorpusRepo("legacy_decoder", files, "AutoModelForCausalLM", "LegacyDecForCausalLM",
                      {"input_ids": prompts, "attention_mask": mask}, ("logits",),
                      extra={"generate": {"max_new_tokens": 6, "do_sample": False, "pad_token_id": 0}})


# 14. a decoder keeping its cache as legacy tuples only (Phi-1.5 mixformer / Falcon-RW / MPT era): no Cache
#     class at all, `_reorder_cache` for beam search, a `chat()` helper of its own that calls generate() with
#     a LogitsProcessor subclass and a GenerationConfig (ChatGLM's pattern); compared on logits, on greedy and
#     beam-search tokens, and on what chat() returns
TUPLE_DECODER_MODEL = """
import torch
from torch import nn
from transformers import GenerationConfig, PreTrainedModel
from transformers.generation.logits_process import LogitsProcessor, LogitsProcessorList
from transformers.modeling_outputs import CausalLMOutputWithPast

from .configuration_tupledec import TupleDecConfig


def as_tuples(past):
    \"\"\"Newer releases hand a cache object even to tuple-cache models: read it back as tuples (or None).\"\"\"
    if hasattr(past, "get_seq_length"):
        return past.to_legacy_cache() if past.get_seq_length() else None
    return past


class NoTokenThree(LogitsProcessor):
    \"\"\"Never emit token 3 (ChatGLM's InvalidScoreLogitsProcessor does this kind of masking).\"\"\"

    def __call__(self, input_ids, scores):
        scores[:, 3] = -1e4
        return scores


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln = nn.LayerNorm(config.hidden_size)
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out = nn.Linear(config.hidden_size, config.hidden_size)
        self.fc = nn.Linear(config.hidden_size, config.intermediate_size)
        self.proj = nn.Linear(config.intermediate_size, config.hidden_size)
        self.heads = config.num_attention_heads

    def forward(self, x, past, attention_mask):
        batch, seq, width = x.shape
        q, k, v = self.qkv(self.ln(x)).split(width, dim=-1)
        q, k, v = (t.view(batch, seq, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        total = k.shape[2]
        causal = torch.ones(seq, total, dtype=torch.bool).tril(diagonal=total - seq)
        allowed = causal[None, None] & attention_mask[:, None, None, :total].bool()
        attended = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        h = self.out(attended.transpose(1, 2).reshape(batch, seq, width))
        return x + h + self.proj(nn.functional.gelu(self.fc(self.ln(x)))), (k, v)


class TupleDecForCausalLM(PreTrainedModel):
    config_class = TupleDecConfig

    def __init__(self, config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.hidden_size)
        self.wpe = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.h = nn.ModuleList(Block(config) for _ in range(config.num_hidden_layers))
        self.ln_f = nn.LayerNorm(config.hidden_size)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def forward(self, input_ids=None, past_key_values=None, attention_mask=None, position_ids=None, use_cache=None,
                labels=None, return_dict=None, **kwargs):
        past_key_values = as_tuples(past_key_values)
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        if attention_mask is None:
            attention_mask = torch.ones(input_ids.shape[0], past_length + input_ids.shape[1], dtype=torch.long)
        if position_ids is None:
            position_ids = torch.arange(past_length, past_length + input_ids.shape[1]).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(position_ids)
        presents = ()
        for i, block in enumerate(self.h):
            x, present = block(x, past_key_values[i] if past_key_values else None, attention_mask)
            presents += (present,)
        logits = self.lm_head(self.ln_f(x))
        return CausalLMOutputWithPast(logits=logits, past_key_values=presents if use_cache else None)

    def prepare_inputs_for_generation(self, input_ids, past_key_values=None, attention_mask=None, **kwargs):
        past_key_values = as_tuples(past_key_values)
        position_ids = attention_mask.long().cumsum(-1) - 1
        position_ids.masked_fill_(attention_mask == 0, 0)
        if past_key_values:
            input_ids = input_ids[:, -1:]
            position_ids = position_ids[:, -1:]
        return {"input_ids": input_ids, "past_key_values": past_key_values, "attention_mask": attention_mask,
                "position_ids": position_ids, "use_cache": True}

    @staticmethod
    def _reorder_cache(past_key_values, beam_idx):
        return tuple(tuple(t.index_select(0, beam_idx) for t in layer) for layer in past_key_values)

    @torch.no_grad()
    def chat(self, input_ids, attention_mask, max_new_tokens=5):
        config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=0)
        output = self.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config,
                               logits_processor=LogitsProcessorList([NoTokenThree()]))
        return output[:, input_ids.shape[1]:].tolist()
"""


def tuple_cache_decoder() -> CorpusRepo:
    files = {
        "configuration_tupledec.py": CONFIG.format(name="TupleDec", model_type="tuple-decoder"),
        "modeling_tupledec.py": TUPLE_DECODER_MODEL,
        "config.json": _config_json(
            "tuple-decoder",
            {"AutoConfig": "configuration_tupledec.TupleDecConfig",
             "AutoModelForCausalLM": "modeling_tupledec.TupleDecForCausalLM"},
        ),
    }
    prompts = [[0, 0, 5, 7, 9, 11], [1, 4, 6, 8, 10, 12]]  # left-padded batch
    mask = [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]]
    return CorpusRepo("tuple_cache_decoder", files, "AutoModelForCausalLM", "TupleDecForCausalLM",
                      {"input_ids": prompts, "attention_mask": mask}, ("logits",),
                      extra={"generate": {"max_new_tokens": 5, "do_sample": False, "pad_token_id": 0},
                             "beam": {"max_new_tokens": 4, "num_beams": 2, "do_sample": False, "pad_token_id": 0},
                             "chat": {"max_new_tokens": 5}})


CORPUS = [
    plain_encoder(),
    act2fn_and_model_output(),
    sequence_classification(),
    token_classification(),
    masked_lm_tied(),
    bert_family_extension(),
    import_transformers_and_attribute_access(),
    transformers_utils_and_pytorch_utils(),
    tokenizer_with_auto_map(),
    question_answering(),
    image_classification(),
    attn_implementation_from_config(),
    legacy_decoder(),
    tuple_cache_decoder(),
]
PACKAGE = package_entries()  # the entries of tests/dynamic/corpus/, one module per style of real repository
CORPUS += PACKAGE
BY_NAME = {repo.name: repo for repo in CORPUS}
# Loaded from the embedded hub pinned to a commit as well: the package's entries and every decoder of the corpus.
PINNED = PACKAGE + [repo for repo in CORPUS[: len(CORPUS) - len(PACKAGE)] if repo.auto_class == "AutoModelForCausalLM"]
