"""Loading details beyond weights: model constructor arguments, and buffers missing from a checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from modelyard import AutoModel, ResNetConfig, ResNetModel, ViTConfig, ViTModel
from modelyard.errors import UnexpectedArgumentError


def _tiny_vit() -> ViTConfig:
    return ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
                     image_size=32, patch_size=16)


def test_model_constructor_arguments_pass_through_from_pretrained(tmp_path: Path) -> None:
    ViTModel(_tiny_vit()).save_pretrained(tmp_path)
    model, report = ViTModel.from_pretrained(tmp_path, add_pooling_layer=False, output_loading_info=True)
    assert model.pooler is None
    assert report.unexpected_keys == ["pooler.dense.bias", "pooler.dense.weight"]
    assert AutoModel.from_pretrained(tmp_path, add_pooling_layer=False).pooler is None
    assert AutoModel.from_pretrained(tmp_path).pooler is not None
    with pytest.raises(UnexpectedArgumentError, match="add_poling_layer.*did you mean 'add_pooling_layer'"):
        AutoModel.from_pretrained(tmp_path, add_poling_layer=False)


def test_missing_buffers_are_reported_not_silently_defaulted(tmp_path: Path) -> None:
    config = ResNetConfig(hidden_sizes=[8, 16], depths=[1, 1], embedding_size=8)
    ResNetModel(config).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    state = {k: v for k, v in load_file(weights).items() if not k.endswith("running_var")}
    save_file(state, weights, metadata={"format": "pt"})
    _, report = ResNetModel.from_pretrained(tmp_path, output_loading_info=True)
    assert report.missing_keys and all(k.endswith("running_var") for k in report.missing_keys)
    assert report.verdict == "partial"
    assert report.newly_initialized_fraction == 0.0  # buffers are not parameters


def test_the_references_ignore_patterns_leave_keys_out_and_expected_leftovers_stay_listed(tmp_path) -> None:
    """``_keys_to_ignore_on_load_unexpected`` (custom code written for the reference declares it) leaves the
    keys out of the report, as the reference does; modelyard's ``_expected_unused_keys`` lists them quietly."""
    import torch
    from safetensors.torch import load_file, save_file
    from torch import nn

    from modelyard import PretrainedConfig, PreTrainedModel

    class LeftoverConfig(PretrainedConfig):
        model_type = "leftover-probe"

    class Ignoring(PreTrainedModel):
        config_class = LeftoverConfig
        _keys_to_ignore_on_load_unexpected = [r"^extra\."]

        def __init__(self, config):
            super().__init__(config)
            self.lin = nn.Linear(2, 2)
            self.post_init()

    class Expecting(Ignoring):
        _keys_to_ignore_on_load_unexpected = None
        _expected_unused_keys = [r"^extra\."]

    Ignoring(LeftoverConfig()).save_pretrained(tmp_path)
    weights = load_file(str(tmp_path / "model.safetensors"))
    save_file({**weights, "extra.bias": torch.zeros(1)}, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    _, ignored = Ignoring.from_pretrained(tmp_path, output_loading_info=True)
    assert dict(ignored.items())["unexpected_keys"] == [] and ignored.verdict == "complete"
    _, expected = Expecting.from_pretrained(tmp_path, output_loading_info=True)
    assert expected["unexpected_keys"] == ["extra.bias"] and expected.expected_leftovers == ["extra.bias"]


def test_set_attn_implementation_and_text_config() -> None:
    import pytest

    from modelyard import BertConfig, BertModel
    from modelyard.errors import ConfigurationError

    config = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    model = BertModel(config)
    assert model.config._attn_implementation == "sdpa"
    model.set_attn_implementation("eager")
    assert model.config._attn_implementation == "eager"
    with pytest.raises(ConfigurationError, match="'eager' or 'sdpa'"):
        model.set_attn_implementation("flash_attention_2")
    assert config.get_text_config() is config and BertConfig.sub_configs == {}


@pytest.mark.parametrize("tied_keys", [["head.weight"], {"head.weight": "emb.weight"}], ids=["4.x-list", "5.x-dict"])
def test_code_written_for_the_reference_loads_with_its_semantics(tmp_path, caplog, tied_keys) -> None:
    """Loaded parameters are never re-initialised; ``_init_weights`` runs for missing keys only; tied keys as a
    list (4.x) or a dict (5.x) tie; a partly random model is reported, naming the keys."""
    import logging

    import torch
    from safetensors.torch import save_file
    from torch import nn

    from modelyard import PretrainedConfig, PreTrainedModel

    class SemanticsConfig(PretrainedConfig):
        model_type = "semantics-probe"

    class SemanticsModel(PreTrainedModel):
        config_class = SemanticsConfig
        _no_split_modules = ["Linear"]
        supports_gradient_checkpointing = True
        _tied_weights_keys = tied_keys

        def __init__(self, config):
            super().__init__(config)
            self.emb = nn.Embedding(10, 4)
            self.lin = nn.Linear(4, 4)
            self.extra = nn.Linear(4, 4)
            self.head = nn.Linear(4, 10, bias=False)
            self.post_init()

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                module.weight.data.fill_(7.0)
                if module.bias is not None:
                    module.bias.data.zero_()

        def get_input_embeddings(self):
            return self.emb

        def get_output_embeddings(self):
            return self.head

    model = SemanticsModel(SemanticsConfig())
    saved = {k: (v + 1).contiguous() for k, v in model.state_dict().items()
             if not k.startswith("extra.") and k != "head.weight"}
    model.config.save_pretrained(tmp_path)
    save_file(saved, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    with caplog.at_level(logging.WARNING):
        loaded, report = SemanticsModel.from_pretrained(tmp_path, output_loading_info=True)
    assert torch.equal(loaded.lin.weight, saved["lin.weight"]) and torch.equal(loaded.emb.weight, saved["emb.weight"])
    assert bool((loaded.extra.weight == 7).all()) and bool((loaded.extra.bias == 0).all())
    assert loaded.head.weight.data_ptr() == loaded.emb.weight.data_ptr()
    assert sorted(report["missing_keys"]) == ["extra.bias", "extra.weight"] and report.verdict == "partial"
    assert "extra.weight" in caplog.text
