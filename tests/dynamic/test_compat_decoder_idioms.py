"""What the remote decoders of the corpus (``corpus/``) rely on beyond the documented API, each as the reference
4.57 does it: configs that still answer the 4.x generation settings, ``_prepare_special_tokens`` before a decoding
loop of the model's own, a ``generation_config.json`` with keys of the repository's own, a tokenizer whose ``_pad``
fills ``position_ids`` on batches, the input type aliases custom tokenizers annotate with, and a config class taking
``attn_implementation`` in ``__init__``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

import modelyard
from modelyard import GenerationConfig, PretrainedConfig
from modelyard.errors import UnexpectedArgumentError
from modelyard.generation.logits_process import LogitsProcessorList, MinLengthLogitsProcessor
from modelyard.generation.stopping_criteria import EosTokenCriteria, StoppingCriteriaList


class _Owned(PretrainedConfig):
    model_type = "owned-attn"

    def __init__(self, attn_implementation=None, **kwargs):  # InternLM2's config keeps its own copy
        self.attn_implementation = attn_implementation or "eager"
        super().__init__(**kwargs)


def test_configs_answer_the_4x_generation_settings_with_their_defaults() -> None:
    config = PretrainedConfig()
    # the reference 4.57's values (PretrainedConfig._get_global_generation_defaults)
    assert (config.max_length, config.num_beams, config.do_sample, config.top_k, config.temperature) == (20, 1, False, 50, 1.0)
    assert config.bad_words_ids is None and config.num_return_sequences == 1
    assert "max_length" not in config.to_diff_dict()  # a default is never written to config.json
    given = PretrainedConfig(max_length=7)
    assert given.max_length == 7 and given.to_diff_dict()["max_length"] == 7
    with pytest.raises(AttributeError, match="no_such_setting"):
        _ = config.no_such_setting


def test_a_dicts_attn_implementation_gives_way_to_the_callers_choice() -> None:
    # The reference's from_dict passes the caller's attn_implementation (None unless given) in place of the file's.
    assert _Owned.from_dict({"attn_implementation": "sdpa"}).attn_implementation == "eager"
    assert _Owned.from_dict({"attn_implementation": "sdpa"}, attn_implementation="sdpa").attn_implementation == "sdpa"
    assert PretrainedConfig.from_dict({}, attn_implementation="eager")._attn_implementation == "eager"


def test_generation_config_file_keeps_the_repositorys_own_keys() -> None:
    config = GenerationConfig.from_dict({"user_token_id": 195, "assistant_token_id": 196, "max_new_tokens": 8,
                                         "chat_format": "chatml"})
    assert (config.user_token_id, config.assistant_token_id, config.chat_format) == (195, 196, "chatml")
    assert config.max_new_tokens == 8
    with pytest.raises(UnexpectedArgumentError, match="user_token_id"):  # typed in code, it may be a misspelt setting
        GenerationConfig(user_token_id=195)


class _TinyLM(modelyard.PreTrainedModel, modelyard.GenerationMixin):
    config_class = PretrainedConfig

    def __init__(self, config):
        super().__init__(config)
        self.embed = torch.nn.Embedding(8, 4)


def test_prepare_special_tokens_sets_the_tensors_processors_and_criteria_read() -> None:
    model = _TinyLM(PretrainedConfig())
    config = GenerationConfig(eos_token_id=[2, 5], bos_token_id=1, min_new_tokens=2)
    model._prepare_special_tokens(config, True, device="cpu")
    assert config._eos_token_tensor.tolist() == [2, 5] and config._bos_token_tensor.item() == 1
    assert config._pad_token_tensor.item() == 2  # no pad token: the first eos, as the reference
    single = GenerationConfig(eos_token_id=3, pad_token_id=0)
    model._prepare_special_tokens(single, True)
    assert single._eos_token_tensor.tolist() == [3] and single._pad_token_tensor.item() == 0
    processors = model._get_logits_processor(generation_config=config, input_ids_seq_length=4,
                                             logits_processor=LogitsProcessorList())
    criteria = model._get_stopping_criteria(generation_config=config, stopping_criteria=StoppingCriteriaList())
    assert any(type(p).__name__ == "MinNewTokensLengthLogitsProcessor" for p in processors)
    eos = [c for c in criteria if isinstance(c, EosTokenCriteria)]
    assert len(eos) == 1 and eos[0](torch.tensor([[1, 5], [1, 4]]), None).tolist() == [True, False]
    assert not isinstance(processors[0], MinLengthLogitsProcessor)


PADDED_TOKENIZER = '''
from transformers import PreTrainedTokenizer
from transformers.tokenization_utils_base import BatchEncoding, EncodedInput, PreTokenizedInput, TextInput
from transformers.utils import PaddingStrategy


class PositionsTokenizer(PreTrainedTokenizer):
    """Words of a fixed vocabulary; pads on the left and fills position_ids itself (ChatGLM's way)."""

    model_input_names = ["input_ids", "attention_mask", "position_ids"]
    WORDS = ["<pad>", "a", "b", "c", "d"]

    def __init__(self, **kwargs):
        super().__init__(pad_token="<pad>", padding_side="left", **kwargs)

    @property
    def vocab_size(self):
        return len(self.WORDS)

    def get_vocab(self):
        return {w: i for i, w in enumerate(self.WORDS)}

    def _tokenize(self, text: TextInput, **kwargs) -> PreTokenizedInput:
        return text.split()

    def _convert_token_to_id(self, token):
        return self.WORDS.index(token)

    def _convert_id_to_token(self, index):
        return self.WORDS[index]

    def _pad(self, encoded_inputs, max_length=None, padding_strategy=PaddingStrategy.DO_NOT_PAD,
             pad_to_multiple_of=None, padding_side=None, return_attention_mask=None) -> dict:
        ids: EncodedInput = encoded_inputs["input_ids"]
        encoded_inputs.setdefault("attention_mask", [1] * len(ids))
        encoded_inputs.setdefault("position_ids", list(range(len(ids))))
        if padding_strategy == PaddingStrategy.LONGEST:
            max_length = len(ids)
        if padding_strategy != PaddingStrategy.DO_NOT_PAD and len(ids) < max_length:
            gap = max_length - len(ids)
            encoded_inputs["input_ids"] = [0] * gap + ids
            encoded_inputs["attention_mask"] = [0] * gap + encoded_inputs["attention_mask"]
            encoded_inputs["position_ids"] = [0] * gap + encoded_inputs["position_ids"]
        return encoded_inputs
'''


def test_a_tokenizers_own_pad_runs_on_every_batch(tmp_path: Path) -> None:
    (tmp_path / "tokenization_positions.py").write_text(PADDED_TOKENIZER)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(
        {"auto_map": {"AutoTokenizer": ["tokenization_positions.PositionsTokenizer", None]}}))
    tokenizer = modelyard.AutoTokenizer.from_pretrained(tmp_path, trust_remote_code=True)
    batch = tokenizer(["a b c", "d"], padding=True)
    assert batch["input_ids"] == [[1, 2, 3], [0, 0, 4]]
    assert batch["position_ids"] == [[0, 1, 2], [0, 0, 0]]
    assert batch["attention_mask"] == [[1, 1, 1], [0, 0, 1]]
    # unpadded too (the reference pads every batch, with padding off as well): ids given as words of ids
    assert tokenizer.batch_encode_plus([[1, 2]], is_split_into_words=True)["position_ids"] == [[0, 1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tokenizer("a b")["position_ids"] == [0, 1]


@pytest.mark.parametrize("module, name", [
    ("tokenization_utils_base", "EncodedInput"), ("tokenization_utils_base", "TextInput"),
    ("tokenization_utils_base", "PreTokenizedInput"), ("tokenization_utils_base", "TextInputPair"),
    ("tokenization_utils_base", "PreTokenizedInputPair"), ("tokenization_utils_base", "EncodedInputPair"),
    ("tokenization_utils", "EncodedInput"), ("tokenization_utils", "TextInput"),
])
def test_the_input_type_aliases_custom_tokenizers_annotate_with_resolve(module: str, name: str) -> None:
    import importlib

    compat = importlib.import_module(f"modelyard.compat.transformers.{module}")
    assert name in dir(compat)
    assert getattr(compat, name) in (str, list[str], list[int], tuple[str, str], tuple[list[str], list[str]],
                                     tuple[list[int], list[int]])
