"""What ``PreTrainedModel`` and the compatibility namespace's modeling helpers do the way the reference does:
weights files read by name, shared storage, embedding resizing, loading base and head checkpoints, the
warnings users see (their wording matters to code that matches it) and the decoder lookup."""

from __future__ import annotations

import io
import json
import logging
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from modelyard import PretrainedConfig, PreTrainedModel
from modelyard.backbone_utils import BackboneType
from modelyard.compat.transformers import modeling_utils, pytorch_utils
from modelyard.compat.transformers.integrations import deepspeed
from modelyard.compat.transformers.utils import logging as compat_logging
from modelyard.errors import UnsafeFileError, WeightsError
from modelyard.generation.utils import GenerationMixin
from modelyard.models.bert import BertConfig, BertForMaskedLM, BertModel
from modelyard.models.distilbert import DistilBertConfig, DistilBertForSequenceClassification, DistilBertModel
from modelyard.models.resnet import ResNetBackbone, ResNetConfig


class Base(PreTrainedModel):
    config_class = PretrainedConfig
    base_model_prefix = "base"

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)
        self.linear = nn.Linear(3, 3)
        self.linear_2 = nn.Linear(3, 3)
        self.post_init()


class WithHead(PreTrainedModel):
    config_class = PretrainedConfig
    base_model_prefix = "base"

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)
        self.base = Base(config)
        self.linear = nn.Linear(3, 3)  # a name the base model has too
        self.linear2 = nn.Linear(3, 3)
        self.post_init()


def _tiny_bert(**overrides: object) -> BertConfig:
    values: dict = dict(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)
    values.update(overrides)
    return BertConfig(**values)


# ---------------------------------------------------------------- weights files and shared storage
def test_load_state_dict_reads_safetensors_and_weights_only_pickles(tmp_path: Path) -> None:
    tensors = {"a": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([1, 2], dtype=torch.int64)}
    save_file(tensors, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    torch.save(tensors, tmp_path / "pytorch_model.bin")
    for name in ("model.safetensors", "pytorch_model.bin"):
        loaded = modeling_utils.load_state_dict(str(tmp_path / name))
        assert set(loaded) == {"a", "b"} and all(torch.equal(loaded[k], tensors[k]) for k in tensors)
    meta = modeling_utils.load_state_dict(str(tmp_path / "model.safetensors"), map_location="meta")
    assert meta["a"].device.type == "meta" and meta["a"].shape == (2, 3) and meta["b"].dtype == torch.int64


class _Payload:
    def __reduce__(self) -> tuple:
        return (print, ("unpickled!",))


def test_load_state_dict_never_unpickles_code_even_when_asked(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    torch.save({"a": torch.zeros(1), "evil": _Payload()}, buffer, pickle_protocol=pickle.DEFAULT_PROTOCOL)
    (tmp_path / "pytorch_model.bin").write_bytes(buffer.getvalue())
    with pytest.raises(UnsafeFileError, match="refuses it"):
        modeling_utils.load_state_dict(str(tmp_path / "pytorch_model.bin"), weights_only=False)


def test_load_state_dict_refuses_a_foreign_safetensors_format(tmp_path: Path) -> None:
    save_file({"a": torch.zeros(1)}, str(tmp_path / "x.safetensors"), metadata={"format": "numpy-ish"})
    with pytest.raises(WeightsError, match="'numpy-ish'"):
        modeling_utils.load_state_dict(str(tmp_path / "x.safetensors"))


def test_tensor_storage_identity_and_isin() -> None:
    model = BertForMaskedLM(_tiny_bert())
    state = model.state_dict()
    word = pytorch_utils.id_tensor_storage(state["bert.embeddings.word_embeddings.weight"])
    assert word == pytorch_utils.id_tensor_storage(state["cls.predictions.decoder.weight"])  # tied
    assert word != pytorch_utils.id_tensor_storage(state["bert.embeddings.position_embeddings.weight"])
    assert "cls.predictions.decoder.weight" in modeling_utils._get_tied_weight_keys(model)
    ids = torch.tensor([3, 1, 4, 1, 5])
    assert pytorch_utils.isin_mps_friendly(ids, 1).tolist() == [False, True, False, True, False]
    assert pytorch_utils.isin_mps_friendly(ids, torch.tensor([4, 5])).tolist() == [False, False, True, False, True]


def test_disjoint_and_identical_views_of_one_storage() -> None:
    main = torch.zeros(10)
    halves = {"a": main[:5], "b": main[5:]}
    assert modeling_utils._find_disjoint([{"a", "b"}], halves) == ([], ["a", "b"]) or \
        modeling_utils._find_disjoint([{"a", "b"}], halves) == ([], ["b", "a"])
    interleaved = {"a": main[::2], "b": main[1::2]}
    assert modeling_utils._find_disjoint([{"a", "b"}], interleaved) == ([{"a", "b"}], [])
    assert modeling_utils._find_identical([{"a", "b"}], {"a": main, "b": main}) == ([], [{"a", "b"}])
    assert modeling_utils._find_identical([{"a", "b"}], {"a": main, "b": main[:5]}) == ([{"a", "b"}], [])


def test_deepspeed_questions_answer_for_modelyard() -> None:
    assert deepspeed.is_deepspeed_zero3_enabled() is False
    assert isinstance(deepspeed.is_deepspeed_available(), bool)


# ---------------------------------------------------------------- resizing
def test_new_token_rows_start_at_the_mean_of_the_old_ones() -> None:
    torch.manual_seed(0)
    model = BertForMaskedLM(_tiny_bert())
    old = model.get_input_embeddings().weight.detach().clone()
    grown = model.resize_token_embeddings(50)
    assert model.config.vocab_size == 50 and model.vocab_size == 50
    assert torch.equal(grown.weight[:40], old)
    torch.testing.assert_close(grown.weight[40:].mean(0), old.mean(0), rtol=1e-3, atol=1e-3)
    assert model.get_output_embeddings().weight is grown.weight  # still tied
    plain = BertForMaskedLM(_tiny_bert()).resize_token_embeddings(50, mean_resizing=False)
    assert (plain.weight[40:].mean(0) - old.mean(0)).abs().max() > 1e-3


def test_untied_output_rows_and_bias_start_at_their_means() -> None:
    model = BertForMaskedLM(_tiny_bert(tie_word_embeddings=False))
    head = model.get_output_embeddings()
    with torch.no_grad():
        head.bias.copy_(torch.linspace(-1, 1, 40))
    model.resize_token_embeddings(44)
    head = model.get_output_embeddings()
    assert head.weight.shape[0] == 44 and head.bias.shape[0] == 44
    torch.testing.assert_close(head.bias[40:], torch.full((4,), float(torch.linspace(-1, 1, 40).mean())))


def test_pad_to_multiple_of_must_be_an_integer() -> None:
    model = BertModel(_tiny_bert())
    assert model.resize_token_embeddings(41, pad_to_multiple_of=16).weight.shape[0] == 48
    with pytest.raises(ValueError, match="to a multiple of `1.3`, which is not and integer"):
        model.resize_token_embeddings(41, pad_to_multiple_of=1.3)  # type: ignore[arg-type]


@pytest.mark.parametrize("sinusoidal", [False, True])
def test_distilbert_position_table_resizes(sinusoidal: bool) -> None:
    config = DistilBertConfig(vocab_size=30, dim=16, hidden_dim=32, n_layers=1, n_heads=2,
                              max_position_embeddings=20, sinusoidal_pos_embds=sinusoidal)
    model = DistilBertForSequenceClassification(config)
    old = model.get_position_embeddings().weight.detach().clone()
    model.resize_position_embeddings(26)
    table = model.get_position_embeddings().weight
    assert model.config.max_position_embeddings == 26 and table.shape == (26, 16)
    assert torch.equal(table[:20], old)  # kept rows; a sinusoidal table is the same function of the position
    if sinusoidal:
        expected = torch.empty(26, 16)
        from modelyard.compat.transformers.models.distilbert.modeling_distilbert import (
            _create_sinusoidal_embeddings,
        )

        _create_sinusoidal_embeddings(26, 16, expected)
        assert torch.equal(table, expected) and not table.requires_grad
    model(torch.ones(2, 24, dtype=torch.long))  # longer inputs fit now
    model.resize_position_embeddings(10)
    assert model.get_position_embeddings().weight.shape[0] == 10
    assert torch.equal(model.get_position_embeddings().weight, old[:10])


# ---------------------------------------------------------------- configs and classes
def test_pruned_heads_of_any_layer_survive_a_round_trip(tmp_path: Path) -> None:
    model = BertModel(_tiny_bert(num_hidden_layers=2))
    model.prune_heads({0: [1], -1: [0]})
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["pruned_heads"] == {"0": [1], "-1": [0]}
    reloaded = BertModel.from_pretrained(tmp_path)
    assert reloaded.config.pruned_heads == {0: [1], -1: [0]}
    assert reloaded.encoder.layer[1].attention.self.query.out_features == 8


def test_resnet_config_keeps_what_it_is_given_and_backbones_say_their_kind() -> None:
    assert ResNetConfig(hidden_sizes=1).hidden_sizes == 1  # stored as given, as the reference does
    with pytest.raises(ValueError, match="one entry per stage"):
        ResNetConfig(hidden_sizes=[8, 16], depths=[1])
    backbone = ResNetBackbone(ResNetConfig(hidden_sizes=[8, 16], depths=[1, 1], embedding_size=8))
    assert backbone.backbone_type is BackboneType.TRANSFORMERS and backbone.backbone_type == "transformers"


class ConfigA(PretrainedConfig):
    pass


class ConfigB(PretrainedConfig):
    pass


class ModelA(PreTrainedModel):
    config_class = ConfigA


class ModelB(ModelA):
    config: ConfigB


class ModelC(ModelA):
    pass


def test_config_class_from_the_config_annotation() -> None:
    # own config_class, then own ``config:`` annotation (postponed here: resolved in the module), then the parent's
    assert ModelA.config_class is ConfigA and ModelB.config_class is ConfigB and ModelC.config_class is ConfigA


def test_can_generate_needs_generation_mixin(caplog: pytest.LogCaptureFixture) -> None:
    class Generative(BertModel, GenerationMixin):
        pass

    class OldStyle(BertModel):
        def prepare_inputs_for_generation(self) -> None:
            pass

    assert not BertModel.can_generate() and Generative.can_generate()
    with caplog.at_level(logging.WARNING, logger="modelyard.modeling"):
        assert not OldStyle.can_generate()
    assert "doesn't directly inherit from `GenerationMixin`" in caplog.text


def test_padding_without_attention_mask_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    model = BertModel(_tiny_bert(pad_token_id=0))
    padded = torch.tensor([[5, 6, 0, 0]])
    with caplog.at_level(logging.WARNING, logger="modelyard"):
        model.warn_if_padding_and_no_attention_mask(padded, torch.ones(1, 4))
        model.warn_if_padding_and_no_attention_mask(torch.tensor([[5, 6, 7, 8]]), None)
        assert caplog.text == ""
        model.warn_if_padding_and_no_attention_mask(padded, None)
        model.warn_if_padding_and_no_attention_mask(padded, None)
    assert caplog.text.count("We strongly recommend passing in an `attention_mask`") == 1
    caplog.clear()
    shared = BertModel(_tiny_bert(pad_token_id=0, bos_token_id=0))
    with caplog.at_level(logging.WARNING, logger="modelyard"):
        shared.warn_if_padding_and_no_attention_mask(padded, None)
    assert "You may ignore this warning if your `pad_token_id` (0) is also the `bos_token_id`" in caplog.text


# ---------------------------------------------------------------- loading
def test_base_model_from_a_head_checkpoint_uses_only_the_base_keys(tmp_path: Path) -> None:
    head = WithHead(PretrainedConfig())
    head.save_pretrained(tmp_path)
    base, info = Base.from_pretrained(tmp_path, output_loading_info=True)
    assert set(info["unexpected_keys"]) == {"linear.weight", "linear.bias", "linear2.weight", "linear2.bias"}
    assert torch.equal(base.linear.weight, head.base.linear.weight)  # not the head's own "linear"


def test_a_head_weight_in_a_base_checkpoint_is_refused(tmp_path: Path) -> None:
    base = Base(PretrainedConfig())
    base.save_pretrained(tmp_path)
    loaded = WithHead.from_pretrained(tmp_path)
    assert torch.equal(loaded.base.linear_2.weight, base.linear_2.weight)
    state = dict(base.state_dict())
    state["linear2.weight"] = torch.zeros(3, 3)
    save_file(state, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(ValueError, match="The state dictionary of the model you are trying to load is corrupted"):
        WithHead.from_pretrained(tmp_path)


def test_unused_keys_are_reported_by_their_current_names(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class GammaBeta(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(1))
            self.beta = nn.Parameter(torch.zeros(1))

    class Old(PreTrainedModel):
        config_class = PretrainedConfig

        def __init__(self, config: PretrainedConfig) -> None:
            super().__init__(config)
            self.LayerNorm = GammaBeta()
            self.post_init()

    Old(PretrainedConfig()).save_pretrained(tmp_path)
    with caplog.at_level(logging.INFO, logger="modelyard"):
        _, info = Old.from_pretrained(tmp_path, output_loading_info=True)
    assert set(info["unexpected_keys"]) == {"LayerNorm.weight", "LayerNorm.bias"}
    assert set(info["missing_keys"]) == {"LayerNorm.gamma", "LayerNorm.beta"}
    assert "A pretrained model of type `Old`" in caplog.text and "`LayerNorm.gamma` -> `LayerNorm.weight`" in caplog.text
    assert "were not used when initializing Old: ['LayerNorm.bias', 'LayerNorm.weight']" in caplog.text


def test_extra_state_is_saved_and_restored(tmp_path: Path) -> None:
    class Counter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0
            self.linear = nn.Linear(2, 2)

        def get_extra_state(self) -> torch.Tensor:
            return torch.tensor(self.count)

        def set_extra_state(self, state: torch.Tensor) -> None:
            self.count = int(state.item())

    class WithCounter(PreTrainedModel):
        config_class = PretrainedConfig

        def __init__(self, config: PretrainedConfig) -> None:
            super().__init__(config)
            self.layer = Counter()
            self.post_init()

    model = WithCounter(PretrainedConfig())
    model.layer.count = 42
    model.save_pretrained(tmp_path)
    assert WithCounter.from_pretrained(tmp_path).layer.count == 42


def test_unknown_quantization_method_is_ignored_with_a_warning(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    config = _tiny_bert()
    BertModel(config).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    saved["quantization_config"] = {"quant_method": "unknown"}
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with caplog.at_level(logging.WARNING, logger="modelyard"):
        BertModel.from_pretrained(tmp_path)
    assert [r.getMessage()[:38] for r in caplog.records] == ["Unknown quantization type, got unknown"]


def test_compat_verbosity_reaches_handlers_on_the_transformers_logger() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    import modelyard.logging as library_logging

    handler = Keep()
    logger = compat_logging.get_logger("transformers.modeling_utils")
    before = compat_logging.get_verbosity()
    had_stderr_handler = library_logging._default_handler is not None  # set_verbosity installs one, bound to
    # this test's captured stderr: leave the library as this test found it
    transformers_level = logging.getLogger("transformers").level
    logger.addHandler(handler)
    try:
        compat_logging.set_verbosity_info()
        assert logging.getLogger("transformers").level == logging.INFO
        logging.getLogger("modelyard.modeling").info("hello from the loader")
    finally:
        logger.removeHandler(handler)
        compat_logging.set_verbosity(before)
        logging.getLogger("transformers").setLevel(transformers_level)
        if not had_stderr_handler:
            library_logging.disable_default_handler()
    assert [r.getMessage() for r in records] == ["hello from the loader"]


# ---------------------------------------------------------------- decoder lookup
def test_get_decoder_follows_the_reference_lookup() -> None:
    from modelyard.models.gpt2 import GPT2Config, GPT2LMHeadModel
    from modelyard.models.llama import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=8)  # uneven groups: builds, as in the reference
    causal = LlamaForCausalLM(config)
    assert causal.get_decoder() is causal.model and causal.model.get_decoder() is causal.model
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=32, n_embd=16, n_layer=1, n_head=2, n_positions=16))
    assert gpt2.get_decoder() is gpt2
    replacement = type(causal.model)(config)
    causal.set_decoder(replacement)
    assert causal.get_decoder() is replacement


def test_distilbert_base_model_keeps_the_sinusoidal_flag() -> None:
    model = DistilBertModel(DistilBertConfig(vocab_size=30, dim=16, hidden_dim=32, n_layers=1, n_heads=2,
                                             sinusoidal_pos_embds=True))
    assert not model.get_position_embeddings().weight.requires_grad


def test_prompt_lookup_generator_with_the_reference_defaults_stops_before_an_end_token() -> None:
    from modelyard.compat.transformers.generation import PromptLookupCandidateGenerator

    ids = torch.tensor([[7, 8, 51, 0, 9, 10, 11, 12, 13, 51]])  # 51 recurs; after its first use comes the end token 0
    generator = PromptLookupCandidateGenerator(eos_token_id=torch.tensor([0]), num_output_tokens=4,
                                               max_matching_ngram_size=1)
    assert generator.max_length == 20 and generator.get_candidates(ids)[0].shape[-1] == 10
    default = PromptLookupCandidateGenerator(max_length=30)
    assert default.max_matching_ngram_size == 2 and default.num_output_tokens == 10
    drafted, _ = default.get_candidates(torch.tensor([[1, 2, 3, 4, 1, 2]]))
    assert drafted.tolist() == [[1, 2, 3, 4, 1, 2, 3, 4, 1, 2]]


def test_compat_logger_exposes_the_logger_attributes_code_reads() -> None:
    logger = compat_logging.get_logger("transformers.some_module_of_a_test")
    plain = logging.getLogger("transformers.some_module_of_a_test")
    plain.setLevel(logging.ERROR)
    try:
        assert logger.level == logging.ERROR and logger.filters is plain.filters and logger.propagate
        logger.propagate = False
        assert plain.propagate is False
    finally:
        plain.setLevel(logging.NOTSET)
        plain.propagate = True
