"""GenerationConfig (the file, validation, model defaults), generation_config.json saved and loaded with models,
and generate() on remote code that predates GenerationMixin."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
from _tiny_lm import TINY, modelyard_classes

from modelyard import AutoConfig, AutoModel, GenerationConfig, PretrainedConfig, PreTrainedModel
from modelyard.errors import ConfigurationError, MissingFileError, UnexpectedArgumentError
from modelyard.generation import GenerationMixin
from modelyard.generation.utils import add_generation_mixin_to_remote_model


def test_defaults_and_diff_are_the_references() -> None:
    config = GenerationConfig()
    assert (config.max_length, config.top_k, config.top_p, config.temperature, config.num_beams) == (20, 50, 1.0, 1.0, 1)
    assert config.do_sample is False and config.use_cache is True
    assert set(GenerationConfig(max_new_tokens=5).to_diff_dict()) == {"max_new_tokens", "modelyard_version"}


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    config = GenerationConfig(max_new_tokens=7, do_sample=True, top_p=0.9, eos_token_id=[2, 3], my_setting="kept")
    config.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "generation_config.json").read_text())
    assert data["max_new_tokens"] == 7 and data["eos_token_id"] == [2, 3] and "top_k" not in data
    loaded = GenerationConfig.from_pretrained(tmp_path)
    assert loaded == config and loaded.my_setting == "kept"
    assert GenerationConfig.from_pretrained(tmp_path / "generation_config.json") == config
    overridden, unused = GenerationConfig.from_pretrained(tmp_path, top_p=0.5, foo=1, return_unused_kwargs=True)
    assert overridden.top_p == 0.5 and unused == {"foo": 1}
    config.save_pretrained(tmp_path / "other", config_file_name="gen.json")
    assert GenerationConfig.from_pretrained(tmp_path / "other", config_file_name="gen.json") == config
    with pytest.raises(MissingFileError, match="generation_config.json"):
        GenerationConfig.from_pretrained(tmp_path / "other")


def test_the_reference_file_loads() -> None:
    from common.parity import parity_dir

    config = GenerationConfig.from_pretrained(parity_dir() / "generation" / "tiny_lm")
    assert (config.bos_token_id, config.eos_token_id, config.pad_token_id) == (1, 21, 0)
    assert config.transformers_version == "4.57.6"


def test_saving_refuses_settings_that_would_be_ignored(tmp_path: Path) -> None:
    config = GenerationConfig(temperature=0.3)  # without do_sample: ignored, so not saved (as the reference)
    with pytest.raises(ConfigurationError, match="temperature"):
        config.save_pretrained(tmp_path)


@pytest.mark.parametrize(("settings", "match"), [
    ({"top_p": 1.5}, "top_p"),
    ({"num_beams": 0}, "num_beams"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"top_k": -1}, "top_k"),
    ({"typical_p": 0.0}, "typical_p"),
    ({"repetition_penalty": 0.0}, "repetition_penalty"),
    ({"no_repeat_ngram_size": -2}, "no_repeat_ngram_size"),
    ({"early_stopping": "sometimes"}, "early_stopping"),
    ({"eos_token_id": "</s>"}, "eos_token_id"),
    ({"min_p": 2.0}, "min_p"),
    ({"stop_strings": [""]}, "stop_strings"),
])
def test_bad_settings(settings: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        GenerationConfig(**settings)


def test_near_misses_and_generate_arguments_are_errors() -> None:
    with pytest.raises(UnexpectedArgumentError, match="did you mean 'repetition_penalty'"):
        GenerationConfig(repetiton_penalty=1.2)
    with pytest.raises(ConfigurationError, match="argument of generate"):
        GenerationConfig(streamer=object())


def test_ignored_settings_warn_as_the_reference(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="modelyard.generation"):
        GenerationConfig(top_k=5, length_penalty=2.0, output_scores=True)
    for name in ("top_k", "length_penalty", "output_scores"):
        assert name in caplog.text


def test_update_returns_what_is_not_a_setting() -> None:
    config = GenerationConfig()
    assert config.update(max_new_tokens=4, attention_mask=1) == {"attention_mask": 1}
    assert config.max_new_tokens == 4


def test_from_model_config_takes_the_generation_fields() -> None:
    model_config = PretrainedConfig(bos_token_id=1, eos_token_id=2, max_length=30, hidden_size=8, output_scores=True)
    config = GenerationConfig.from_model_config(model_config)
    assert (config.bos_token_id, config.eos_token_id, config.max_length) == (1, 2, 30)
    assert config.return_dict_in_generate is True and not hasattr(config, "hidden_size")
    assert config._from_model_config is True


# -- with models -----------------------------------------------------------------------------------------------
def test_models_that_generate_save_and_load_their_generation_config(tmp_path: Path) -> None:
    classes = modelyard_classes()
    model = classes.TinyForCausalLM(classes.TinyConfig(**TINY)).eval()
    assert model.can_generate() and model.generation_config.eos_token_id == 21
    model.generation_config.max_new_tokens = 3
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "generation_config.json").read_text())["max_new_tokens"] == 3
    loaded = classes.TinyForCausalLM.from_pretrained(tmp_path)
    assert loaded.generation_config.max_new_tokens == 3
    assert loaded.generate(torch.tensor([[1, 5, 7]])).shape == (1, 6)  # the loaded default: 3 new tokens
    # a checkpoint without the file builds the settings from config.json
    (tmp_path / "generation_config.json").unlink()
    assert classes.TinyForCausalLM.from_pretrained(tmp_path).generation_config.max_new_tokens is None


def test_models_that_cannot_generate_have_no_generation_config(tmp_path: Path) -> None:
    class Encoder(PreTrainedModel):
        config_class = PretrainedConfig

        def __init__(self, config: PretrainedConfig) -> None:
            super().__init__(config)
            self.linear = torch.nn.Linear(2, 2)
            self.post_init()

    model = Encoder(PretrainedConfig())
    assert not model.can_generate() and model.generation_config is None
    model.save_pretrained(tmp_path)
    assert not (tmp_path / "generation_config.json").exists()


OLD_STYLE_CODE = textwrap.dedent('''
    import torch
    from torch import nn

    from transformers import PretrainedConfig, PreTrainedModel
    from transformers.generation.utils import LogitsProcessorList  # noqa: F401 - what such code imports
    from transformers.modeling_outputs import CausalLMOutputWithPast


    class OldConfig(PretrainedConfig):
        model_type = "old-style-lm"

        def __init__(self, vocab_size=13, hidden_size=8, **kwargs):
            self.vocab_size = vocab_size
            self.hidden_size = hidden_size
            super().__init__(**kwargs)


    class OldLM(PreTrainedModel):
        """Written before GenerationMixin: defines prepare_inputs_for_generation, keeps a legacy tuple cache."""

        config_class = OldConfig

        def __init__(self, config):
            super().__init__(config)
            self.emb = nn.Embedding(config.vocab_size, config.hidden_size)
            self.head = nn.Linear(config.hidden_size, config.vocab_size)
            self.post_init()

        def _init_weights(self, module):
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.data.normal_(0.0, 1.0)

        def forward(self, input_ids, past_key_values=None, attention_mask=None, use_cache=None, return_dict=None):
            states = self.emb(input_ids)[:, None]  # (batch, 1, seq, hidden)
            if past_key_values is not None:
                states = torch.cat([past_key_values[0][0], states], dim=2)
            running = states.cumsum(dim=2) / torch.arange(1, states.shape[2] + 1)[None, None, :, None]
            logits = self.head(running[:, 0, -input_ids.shape[1]:])
            past = ((states, states),) if use_cache else None
            return CausalLMOutputWithPast(logits=logits, past_key_values=past)

        def prepare_inputs_for_generation(self, input_ids, past_key_values=None, **kwargs):
            if past_key_values is not None:
                input_ids = input_ids[:, -1:]
            return {"input_ids": input_ids, "past_key_values": past_key_values, "use_cache": kwargs.get("use_cache")}
''')


def test_remote_code_without_generation_mixin_generates(tmp_path: Path) -> None:
    """Code written for the reference (``import transformers`` gets modelyard's compatibility namespace)."""
    folder = tmp_path / "old-style"
    folder.mkdir()
    (folder / "modeling_old.py").write_text(OLD_STYLE_CODE)
    config = {"model_type": "old-style-lm", "vocab_size": 13, "hidden_size": 8, "eos_token_id": 12,
              "auto_map": {"AutoConfig": "modeling_old.OldConfig", "AutoModel": "modeling_old.OldLM"}}
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    built = AutoModel.from_config(AutoConfig.from_pretrained(folder, trust_remote_code=True))
    built.save_pretrained(tmp_path / "saved")

    model = AutoModel.from_pretrained(tmp_path / "saved", trust_remote_code=True)
    assert type(model).__name__ == "OldLM" and isinstance(model, GenerationMixin) and model.can_generate()
    prompt = torch.tensor([[1, 2, 3]])
    cached = model.generate(prompt, max_new_tokens=6, eos_token_id=None)
    assert torch.equal(cached, model.generate(prompt, max_new_tokens=6, eos_token_id=None, use_cache=False))
    beams = model.generate(prompt, max_new_tokens=4, num_beams=2, eos_token_id=None)  # legacy tuples reordered
    assert beams.shape == (1, 7)
    # the same class always gets the same generating subclass
    assert add_generation_mixin_to_remote_model(type(model).__mro__[1]) is type(model)
