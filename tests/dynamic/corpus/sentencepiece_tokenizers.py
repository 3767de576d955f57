"""Custom SentencePiece tokenizers on their own (the kind Baichuan, InternLM and ChatGLM ship), each in front of a
tiny encoder so the ids also go through ``forward``: the tokenizer sources are the decoder corpus's own
(:mod:`corpus.sp_tokenizer` for the Baichuan/InternLM kind, :data:`corpus.chatglm.TOKENIZATION`), here set up
the other ways their users configure them and fed harder text. The Baichuan kind gets its special tokens as
``{"__type": "AddedToken", ...}`` dicts in tokenizer_config.json, a BOS added to every sequence, a unigram model
(not BPE), an EOS written in the text and characters the model has never seen; the ChatGLM kind gets
``encode_special_tokens`` (role markers in the text become their command ids) and its left-padding ``_pad``
filling ``position_ids``. Pieces and decodings are compared as well as ids.

The ``tokenizer.model`` is trained for the test by the sentencepiece package (:func:`corpus.spm.train`); both
libraries read the same file.
"""

from __future__ import annotations

import json

from corpus import spm
from corpus.chatglm import TOKENIZATION as CHATGLM_TOKENIZER
from corpus.repo import CorpusRepo, config_json
from corpus.sp_tokenizer import tokenizer_file

CONFIG = '''
from transformers import PretrainedConfig


class {name}Config(PretrainedConfig):
    model_type = "{model_type}"

    def __init__(self, vocab_size=96, hidden_size=16, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        super().__init__(**kwargs)
'''

MODEL = '''
import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from .configuration_{lower} import {name}Config


class {name}Model(PreTrainedModel):
    config_class = {name}Config

    def __init__(self, config):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size)
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, position_ids=None):
        hidden = self.norm(self.embed_tokens(input_ids))
        if attention_mask is not None:
            hidden = hidden * attention_mask.unsqueeze(-1).to(hidden.dtype)
        return BaseModelOutput(last_hidden_state=torch.tanh(self.proj(hidden)))
'''

TEXTS = ["the quick brown fox jumps over the lazy dog</s>", "hello WORLD, pieces of text ~ x"]
# role markers inside the text: the ChatGLM tokenizer with encode_special_tokens maps them to its commands
CHAT_TEXTS = ["<|user|>\nhello how are you<|assistant|>", "tell me a story ~ about the WEATHER"]


def _model() -> dict[str, bytes]:
    return {"tokenizer.model": spm.train(72, "unigram")}


def _added(content: str) -> dict[str, object]:
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": True, "rstrip": False,
            "single_word": False}


def _repository(name: str, model_type: str, tokenizer_file: str, tokenizer_code: str, tokenizer_class: str,
                tokenizer_config: dict[str, object]) -> dict[str, str]:
    lower = name.lower()
    return {
        f"configuration_{lower}.py": CONFIG.format(name=name, model_type=model_type),
        f"modeling_{lower}.py": MODEL.format(name=name, lower=lower),
        tokenizer_file: tokenizer_code,
        "tokenizer_config.json": json.dumps({
            "auto_map": {"AutoTokenizer": [f"{tokenizer_file[:-3]}.{tokenizer_class}", None]},
            "tokenizer_class": tokenizer_class, **tokenizer_config,
        }, indent=2),
        "config.json": config_json(model_type, {"AutoConfig": f"configuration_{lower}.{name}Config",
                                                "AutoModel": f"modeling_{lower}.{name}Model"}, vocab_size=96),
    }


def baichuan_style() -> CorpusRepo:
    files = _repository("Baichuan", "baichuan-enc", "tokenization_baichuan.py", tokenizer_file("Baichuan"),
                        "BaichuanTokenizer",
                        {"bos_token": _added("<s>"), "eos_token": _added("</s>"), "unk_token": _added("<unk>"),
                         "pad_token": _added("<unk>"), "add_bos_token": True, "add_eos_token": False,
                         "model_max_length": 64, "sp_model_kwargs": {}, "clean_up_tokenization_spaces": False})
    return CorpusRepo("sentencepiece_baichuan_style", files, "AutoModel", "BaichuanModel", {}, ("last_hidden_state",),
                      tokenizer_text=TEXTS, assets=_model,
                      extra={"decode": {"skip_special_tokens": False}})


def chatglm_style() -> CorpusRepo:
    files = _repository("ChatGlm", "chatglm-enc", "tokenization_chatglm.py", CHATGLM_TOKENIZER, "ChatGLMTokenizer",
                        {"padding_side": "left", "model_max_length": 64, "clean_up_tokenization_spaces": False,
                         "encode_special_tokens": True})
    return CorpusRepo("sentencepiece_chatglm_style", files, "AutoModel", "ChatGlmModel", {}, ("last_hidden_state",),
                      tokenizer_text=CHAT_TEXTS, assets=_model,
                      extra={"decode": {"skip_special_tokens": True}})


def repos() -> list[CorpusRepo]:
    return [baichuan_style(), chatglm_style()]
