"""Wav2Vec2: config compatibility, both feature-encoder norms and layer-norm orders, padding masks, weight-norm
key names, CTC, audio classification, frame classification and x-vector heads, the output and attention adapters
(load_adapter, target_lang), SpecAugment, reference parity both ways."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch
from common.model_tester import ModelTesterMixin
from common.parity import assert_outputs_close, load_model_case, model_case_names
from common.tolerance import assert_close_kernels
from safetensors.torch import load_file, save_file

import modelyard
from modelyard import (
    AutoConfig,
    AutoModel,
    AutoModelForAudioClassification,
    AutoModelForAudioFrameClassification,
    AutoModelForAudioXVector,
    AutoModelForCTC,
)
from modelyard.errors import ConfigurationError, MissingFileError, WeightsError
from modelyard.layers.spec_augment import compute_mask_indices
from modelyard.models.wav2vec2.configuration_wav2vec2 import Wav2Vec2Config
from modelyard.models.wav2vec2.modeling_wav2vec2 import (
    WAV2VEC2_ADAPTER_PT_FILE,
    WAV2VEC2_ADAPTER_SAFE_FILE,
    AMSoftmaxLoss,
    Wav2Vec2ForAudioFrameClassification,
    Wav2Vec2ForCTC,
    Wav2Vec2ForSequenceClassification,
    Wav2Vec2ForXVector,
    Wav2Vec2Model,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
REF_PY = REPO_ROOT / ".venv-ref" / "bin" / "python"
VARIANTS = {
    "group": dict(feat_extract_norm="group", do_stable_layer_norm=False),
    "layer": dict(feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True),
}


def tiny_config(variant: str = "group", **overrides: object) -> Wav2Vec2Config:
    values: dict[str, object] = dict(
        vocab_size=12, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        conv_dim=(16, 16, 16), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3), num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2, classifier_proj_size=16, num_labels=3, layerdrop=0.0,
        **VARIANTS[variant],
    )
    values.update(overrides)
    return Wav2Vec2Config(**values)


def audio(batch: int = 2, samples: int = 320, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, samples, generator=torch.Generator().manual_seed(seed))


def _perturb(model: torch.nn.Module) -> None:
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=g) * 0.05)


# ---------------------------------------------------------------------------------------------- config
def test_config_defaults_and_keys_match_the_reference() -> None:
    data = json.loads(Wav2Vec2Config().to_json_string())
    expected = {
        "vocab_size": 32, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout": 0.1, "activation_dropout": 0.1,
        "attention_dropout": 0.1, "feat_proj_dropout": 0.0, "feat_quantizer_dropout": 0.0, "final_dropout": 0.1,
        "layerdrop": 0.1, "initializer_range": 0.02, "layer_norm_eps": 1e-05, "feat_extract_norm": "group",
        "feat_extract_activation": "gelu", "conv_dim": [512] * 7, "conv_stride": [5, 2, 2, 2, 2, 2, 2],
        "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_bias": False, "num_conv_pos_embeddings": 128,
        "num_conv_pos_embedding_groups": 16, "num_feat_extract_layers": 7, "do_stable_layer_norm": False,
        "apply_spec_augment": True, "mask_time_prob": 0.05, "mask_time_length": 10, "mask_time_min_masks": 2,
        "mask_feature_prob": 0.0, "mask_feature_length": 10, "mask_feature_min_masks": 0,
        "num_codevectors_per_group": 320, "num_codevector_groups": 2, "contrastive_logits_temperature": 0.1,
        "num_negatives": 100, "codevector_dim": 256, "proj_codevector_dim": 256, "diversity_loss_weight": 0.1,
        "ctc_loss_reduction": "sum", "ctc_zero_infinity": False, "use_weighted_layer_sum": False,
        "classifier_proj_size": 256, "tdnn_dim": [512, 512, 512, 512, 1500], "tdnn_kernel": [5, 3, 3, 1, 1],
        "tdnn_dilation": [1, 2, 3, 1, 1], "xvector_output_dim": 512, "pad_token_id": 0, "bos_token_id": 1,
        "eos_token_id": 2, "add_adapter": False, "adapter_kernel_size": 3, "adapter_stride": 2,
        "num_adapter_layers": 3, "output_hidden_size": 768, "adapter_attn_dim": None, "model_type": "wav2vec2",
    }
    assert {k: data.get(k, "<absent>") for k in expected} == expected
    assert Wav2Vec2Config().inputs_to_logits_ratio == 320


def test_config_round_trip_and_validation(tmp_path: Path) -> None:
    config = tiny_config("layer")
    config.save_pretrained(tmp_path)
    again = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(again, Wav2Vec2Config) and again.to_dict() == config.to_dict()
    with pytest.raises(ValueError, match="lengths 2, 3 and 3"):
        Wav2Vec2Config(conv_dim=(8, 8), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3))
    with pytest.raises(ValueError, match="feat_extract_norm must be 'group' or 'layer', got 'batch'"):
        Wav2Vec2Config(feat_extract_norm="batch")


# ---------------------------------------------------------------------------------------------- base model
@pytest.mark.parametrize("variant", ["group", "layer"])
def test_shapes_and_outputs(variant: str) -> None:
    model = Wav2Vec2Model(tiny_config(variant)).eval()
    with torch.no_grad():
        out = model(audio(), output_hidden_states=True, output_attentions=True)
    frames = model._get_feat_extract_output_lengths(320)
    assert frames == 15
    assert out.last_hidden_state.shape == (2, 15, 32)
    assert out.extract_features.shape == (2, 15, 16)
    assert len(out.hidden_states) == 3 and len(out.attentions) == 2
    assert out.attentions[0].shape == (2, 4, 15, 15)
    if variant == "layer":  # the stable (pre-norm) encoder normalises after the layers
        torch.testing.assert_close(out.hidden_states[-1], out.last_hidden_state)
    names = {n for n, _ in model.named_modules()}
    assert ("feature_extractor.conv_layers.1.layer_norm" in names) == (variant == "layer")


def test_weight_norm_uses_parametrization_names() -> None:
    keys = set(Wav2Vec2Model(tiny_config()).state_dict())
    assert "encoder.pos_conv_embed.conv.parametrizations.weight.original0" in keys
    assert "encoder.pos_conv_embed.conv.parametrizations.weight.original1" in keys
    assert "encoder.pos_conv_embed.conv.weight_g" not in keys


def test_legacy_weight_norm_keys_load(tmp_path: Path) -> None:
    model = Wav2Vec2ForCTC(tiny_config())
    _perturb(model)
    model.eval().save_pretrained(tmp_path)
    tensors = load_file(str(tmp_path / "model.safetensors"))
    renamed = {
        k.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1", "weight_v"): v
        for k, v in tensors.items()
    }
    assert "wav2vec2.encoder.pos_conv_embed.conv.weight_g" in renamed
    save_file(renamed, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    loaded, report = Wav2Vec2ForCTC.from_pretrained(tmp_path, output_loading_info=True)
    assert report.verdict == "complete" and not report.unexpected_keys
    with torch.no_grad():
        assert_close_kernels(loaded(audio()).logits, model(audio()).logits, depth=6, width=128)


def test_padding_mask_over_frames() -> None:
    model = Wav2Vec2Model(tiny_config("layer")).eval()
    mask = torch.ones(3, 320, dtype=torch.long)
    mask[1, 250:] = 0
    mask[2, 180:] = 0
    frames = model._get_feature_vector_attention_mask(15, mask)
    assert frames.dtype == torch.bool
    assert frames.sum(-1).tolist() == [15, 11, 8]
    assert frames[1, :11].all() and not frames[1, 11:].any()


def test_padded_batch_matches_unpadded_rows() -> None:
    """With LayerNorm feature encoding (no statistics over time), padding must not change the valid frames."""
    model = Wav2Vec2Model(tiny_config("layer")).eval()
    _perturb(model)
    short = audio(1, 250, seed=3)
    batch = torch.cat([audio(1, 320, seed=4), torch.nn.functional.pad(short, (0, 70))])
    mask = torch.ones(2, 320, dtype=torch.long)
    mask[1, 250:] = 0
    with torch.no_grad():
        padded = model(batch, attention_mask=mask).last_hidden_state
        alone = model(short).last_hidden_state
    assert alone.shape[1] == 11
    torch.testing.assert_close(padded[1, :11], alone[0], rtol=1e-4, atol=1e-5)


def test_freeze_feature_encoder() -> None:
    model = Wav2Vec2ForCTC(tiny_config()).train()
    model.freeze_feature_encoder()
    labels = torch.tensor([[1, 2, 3], [4, 5, -100]])
    model(audio(), labels=labels).loss.backward()
    for name, param in model.named_parameters():
        frozen = name.startswith("wav2vec2.feature_extractor.")
        assert param.requires_grad is not frozen, name
        assert (param.grad is None) is frozen, name
    with pytest.warns(FutureWarning, match="freeze_feature_encoder"):
        model.freeze_feature_extractor()
    model.freeze_base_model()
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["lm_head.weight", "lm_head.bias"]


def test_spec_augment_masks_in_training_only() -> None:
    torch.manual_seed(0)
    model = Wav2Vec2Model(tiny_config(mask_time_prob=0.5, mask_time_length=2, mask_feature_prob=0.3,
                                      mask_feature_length=2, hidden_dropout=0.0, attention_dropout=0.0,
                                      activation_dropout=0.0))
    assert model.masked_spec_embed is not None and model.masked_spec_embed.shape == (32,)
    hidden = torch.randn(2, 15, 32)
    model.eval()
    assert torch.equal(model._mask_hidden_states(hidden.clone()), hidden)
    given = torch.zeros(2, 15, dtype=torch.bool)
    given[:, 3:5] = True
    masked = model._mask_hidden_states(hidden.clone(), mask_time_indices=given)
    torch.testing.assert_close(masked[:, 3], model.masked_spec_embed.detach().expand(2, 32))
    torch.testing.assert_close(masked[:, 6], hidden[:, 6])
    model.train()
    trained = model._mask_hidden_states(hidden.clone())
    assert not torch.equal(trained, hidden)
    assert Wav2Vec2Model(tiny_config(mask_time_prob=0.0)).masked_spec_embed is None


def test_compute_mask_indices_respects_lengths_and_spans() -> None:
    torch.manual_seed(0)
    valid = torch.zeros(2, 40, dtype=torch.long)
    valid[0, :40] = 1
    valid[1, :20] = 1
    mask = compute_mask_indices((2, 40), mask_prob=0.5, mask_length=4, attention_mask=valid, min_masks=1)
    assert mask.shape == (2, 40) and mask.dtype == torch.bool
    assert not mask[1, 20:].any()  # spans never start in the padding and end inside [start, start + 4)
    assert 4 <= int(mask[0].sum()) <= 20
    with pytest.raises(ValueError, match="mask_length must be between 1 and the sequence length 3"):
        compute_mask_indices((1, 3), 0.5, 4)


def test_gradient_checkpointing_gives_the_same_gradients() -> None:
    model = Wav2Vec2ForCTC(tiny_config("layer", hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                                       final_dropout=0.0, mask_time_prob=0.0)).train()
    labels = torch.tensor([[1, 2, 3], [4, 5, -100]])
    model(audio(), labels=labels).loss.backward()
    plain = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model.gradient_checkpointing_enable()
    model(audio(), labels=labels).loss.backward()
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.grad, plain[name], rtol=1e-4, atol=1e-5, msg=name)


# ---------------------------------------------------------------------------------------------- CTC head
def _ctc_reference(model: Wav2Vec2ForCTC, logits: torch.Tensor, labels: torch.Tensor, lengths: list[int],
                   reduction: str, zero_infinity: bool = False) -> torch.Tensor:
    log_probs = logits.log_softmax(-1).transpose(0, 1)
    targets = [row[row >= 0] for row in labels]
    return torch.nn.functional.ctc_loss(
        log_probs, torch.cat(targets), torch.tensor(lengths), torch.tensor([len(t) for t in targets]),
        blank=0, reduction=reduction, zero_infinity=zero_infinity,
    )


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_ctc_loss_with_padded_audio_and_labels(reduction: str) -> None:
    model = Wav2Vec2ForCTC(tiny_config("layer", ctc_loss_reduction=reduction)).eval()
    mask = torch.ones(2, 320, dtype=torch.long)
    mask[1, 250:] = 0
    labels = torch.tensor([[1, 2, 3, 4], [5, 6, -100, -100]])
    out = model(audio(), attention_mask=mask, labels=labels)
    assert out.logits.shape == (2, 15, 12)
    expected = _ctc_reference(model, out.logits, labels, [15, 11], reduction)
    torch.testing.assert_close(out.loss, expected)


def test_ctc_zero_infinity_and_label_range() -> None:
    model = Wav2Vec2ForCTC(tiny_config()).eval()
    labels = torch.randint(1, 12, (2, 20))  # 20 labels cannot fit in 15 frames
    assert torch.isinf(model(audio(), labels=labels).loss)
    model.config.ctc_zero_infinity = True
    assert float(model(audio(), labels=labels).loss.detach()) == 0.0
    with pytest.raises(ValueError, match="below vocab_size=12, got 12"):
        model(audio(), labels=torch.tensor([[12, 1]]).expand(2, 2))


def test_ctc_tuple_output() -> None:
    model = Wav2Vec2ForCTC(tiny_config()).eval()
    loss, logits = model(audio(), labels=torch.tensor([[1, 2], [3, -100]]), return_dict=False)
    assert loss.ndim == 0 and logits.shape == (2, 15, 12)


# ---------------------------------------------------------------------------------------------- classification head
@pytest.mark.parametrize("weighted", [False, True])
def test_sequence_classification_pools_valid_frames(weighted: bool) -> None:
    model = Wav2Vec2ForSequenceClassification(tiny_config("layer", use_weighted_layer_sum=weighted)).eval()
    _perturb(model)
    assert (model.layer_weights is not None) == weighted
    short = audio(1, 250, seed=3)
    batch = torch.cat([audio(1, 320, seed=4), torch.nn.functional.pad(short, (0, 70))])
    mask = torch.ones(2, 320, dtype=torch.long)
    mask[1, 250:] = 0
    labels = torch.tensor([0, 2])
    with torch.no_grad():
        out = model(batch, attention_mask=mask, labels=labels)
        alone = model(short).logits
    torch.testing.assert_close(out.logits[1], alone[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(out.logits, labels))


def test_auto_classes_and_base_head_loading(tmp_path: Path) -> None:
    base = AutoModel.from_config(tiny_config())
    assert isinstance(base, Wav2Vec2Model)
    _perturb(base)
    base.save_pretrained(tmp_path / "base")
    ctc, report = AutoModelForCTC.from_pretrained(tmp_path / "base", output_loading_info=True)
    assert isinstance(ctc, Wav2Vec2ForCTC)
    assert report.verdict == "new_head" and report.missing_keys == ["lm_head.bias", "lm_head.weight"]
    cls, report = AutoModelForAudioClassification.from_pretrained(tmp_path / "base", output_loading_info=True)
    assert isinstance(cls, Wav2Vec2ForSequenceClassification)
    assert report.missing_keys == ["classifier.bias", "classifier.weight", "projector.bias", "projector.weight"]
    g = "encoder.pos_conv_embed.conv.parametrizations.weight.original0"
    torch.testing.assert_close(ctc.wav2vec2.state_dict()[g], base.state_dict()[g])


# ---------------------------------------------------------------------------------------------- adapters
def test_output_adapter_shortens_and_projects() -> None:
    config = tiny_config("layer", add_adapter=True, output_hidden_size=8, num_adapter_layers=2, adapter_stride=2)
    model = Wav2Vec2ForCTC(config).eval()
    mask = torch.ones(2, 320, dtype=torch.long)
    mask[1, 200:] = 0
    with torch.no_grad():
        out = model(audio(), attention_mask=mask, output_hidden_states=True,
                    labels=torch.tensor([[1, 2, 3], [4, 5, -100]]))
    # 15 encoder frames -> 8 -> 4 after two stride-2 convolutions; the hidden states stay the encoder's
    assert out.logits.shape == (2, 4, 12) and out.hidden_states[-1].shape == (2, 15, 32)
    assert model.lm_head.in_features == 8 and torch.isfinite(out.loss)
    assert model._get_feat_extract_output_lengths(320) == 4
    assert model._get_feat_extract_output_lengths(320, add_adapter=False) == 15
    assert {n for n, _ in model.named_parameters() if ".adapter." in n} >= {
        "wav2vec2.adapter.proj.weight", "wav2vec2.adapter.proj_layer_norm.weight", "wav2vec2.adapter.layers.1.conv.weight"
    }
    same_width = Wav2Vec2Model(tiny_config(add_adapter=True, num_adapter_layers=1))
    assert same_width.adapter is not None and same_width.adapter.proj is None  # no projection when widths agree
    with pytest.raises(ConfigurationError, match="add_adapter=False"):
        Wav2Vec2ForSequenceClassification(tiny_config(add_adapter=True))
    with pytest.raises(ConfigurationError, match="add_adapter=False"):
        Wav2Vec2ForAudioFrameClassification(tiny_config(add_adapter=True))


def _adapter_model(**overrides: object) -> Wav2Vec2ForCTC:
    return Wav2Vec2ForCTC(tiny_config("layer", adapter_attn_dim=4, **overrides))


def test_attention_adapters_only_in_pre_norm_layers() -> None:
    keys = set(_adapter_model()._get_adapters())
    assert "wav2vec2.encoder.layers.1.adapter_layer.linear_2.weight" in keys and "lm_head.weight" in keys
    post_norm = Wav2Vec2ForCTC(tiny_config("group", adapter_attn_dim=4))  # the reference adds none there either
    assert set(post_norm._get_adapters()) == {"lm_head.weight", "lm_head.bias"}
    with pytest.raises(ConfigurationError, match="adapter_attn_dim"):
        Wav2Vec2ForCTC(tiny_config("layer"))._get_adapters()


def test_load_adapter_swaps_languages(tmp_path: Path) -> None:
    model = _adapter_model().eval()
    _perturb(model)
    model.save_pretrained(tmp_path)
    inputs = {"input_values": audio()}
    g = torch.Generator().manual_seed(3)
    french = {k: torch.randn(v.shape, generator=g) for k, v in model._get_adapters().items()}
    french["lm_head.weight"] = torch.randn(7, 32, generator=g)  # another vocabulary size
    french["lm_head.bias"] = torch.randn(7, generator=g)
    save_file(french, str(tmp_path / WAV2VEC2_ADAPTER_SAFE_FILE.format("fra")))
    english = {k: v.detach().clone() for k, v in model._get_adapters().items()}
    torch.save(english, tmp_path / WAV2VEC2_ADAPTER_PT_FILE.format("eng"))

    loaded = Wav2Vec2ForCTC.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        before = loaded(**inputs).logits
        loaded.load_adapter("fra")
        after_fr = loaded(**inputs).logits
    assert loaded.target_lang == "fra" and loaded.config.vocab_size == 7 and after_fr.shape[-1] == 7
    for key, value in french.items():
        assert torch.equal(loaded.state_dict()[key], value), key  # weights: bit for bit
    with torch.no_grad():
        loaded.load_adapter("eng")  # no safetensors file: the .bin one
        assert_close_kernels(loaded(**inputs).logits, before, depth=4)
    with pytest.raises(MissingFileError):
        loaded.load_adapter("eng", use_safetensors=True)
    with pytest.raises(MissingFileError):
        loaded.load_adapter("fra", use_safetensors=False)
    with pytest.raises(MissingFileError):
        loaded.load_adapter("ita")

    chosen = Wav2Vec2ForCTC.from_pretrained(tmp_path, target_lang="fra").eval()
    with torch.no_grad():
        assert_close_kernels(chosen(**inputs).logits, after_fr, depth=4)
    assert chosen.target_lang == "fra"


def test_load_adapter_refusals(tmp_path: Path) -> None:
    model = _adapter_model()
    model.save_pretrained(tmp_path)
    wrong = {k: v.detach() for k, v in model._get_adapters().items() if "layers.0" not in k}
    save_file(wrong, str(tmp_path / WAV2VEC2_ADAPTER_SAFE_FILE.format("deu")))
    loaded = Wav2Vec2ForCTC.from_pretrained(tmp_path)
    with pytest.raises(WeightsError, match="missing keys .*layers.0.adapter_layer"):
        loaded.load_adapter("deu")
    with pytest.raises(ConfigurationError, match="adapter_attn_dim is None"):
        Wav2Vec2ForCTC(tiny_config("layer"), target_lang="fra")
    with pytest.raises(ConfigurationError, match="not loaded from a folder"):
        _adapter_model().load_adapter("fra")
    with pytest.raises(ConfigurationError, match="no attention adapters"):
        Wav2Vec2ForCTC(tiny_config("layer")).load_adapter("fra")
    before = {k: v.clone() for k, v in loaded.state_dict().items()}
    loaded.init_adapter_layers()
    changed = {k for k, v in loaded.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all("adapter_layer" in k or k.startswith("lm_head") for k in changed)


# ---------------------------------------------------------------------------------------------- more heads
def test_frame_classification_head() -> None:
    config = tiny_config("layer", num_labels=3, use_weighted_layer_sum=True)
    model = Wav2Vec2ForAudioFrameClassification(config).eval()
    labels = torch.nn.functional.one_hot(torch.tensor([[0, 1, 2] * 5, [2, 2, 1] * 5]), 3)
    with torch.no_grad():
        out = model(audio(), labels=labels)
    assert out.logits.shape == (2, 15, 3)
    expected = torch.nn.functional.cross_entropy(out.logits.reshape(-1, 3), labels.reshape(-1, 3).argmax(1))
    torch.testing.assert_close(out.loss, expected)
    assert model.layer_weights is not None and model.layer_weights.shape == (3,)
    assert type(AutoModelForAudioFrameClassification.from_config(config)) is Wav2Vec2ForAudioFrameClassification


def test_xvector_head_pools_only_real_frames() -> None:
    config = tiny_config(tdnn_dim=(8, 8, 12), tdnn_kernel=(3, 3, 1), tdnn_dilation=(1, 2, 1), xvector_output_dim=6)
    model = Wav2Vec2ForXVector(config).eval()
    mask = torch.ones(2, 320, dtype=torch.long)
    mask[1, 200:] = 0
    values = audio().masked_fill(mask == 0, 0.0)
    with torch.no_grad():
        out = model(values, attention_mask=mask, labels=torch.tensor([0, 2]))
        alone = model(values[1:, :200])
    assert out.logits.shape == (2, 6) and out.embeddings.shape == (2, 6) and torch.isfinite(out.loss)
    # the padded row's embedding is pooled over its own frames (9 encoder frames -> 5 after the TDNN count)
    assert model._get_tdnn_output_lengths(model._get_feat_extract_output_lengths(200)) == 5
    assert type(AutoModelForAudioXVector.from_config(config)) is Wav2Vec2ForXVector
    assert alone.embeddings.shape == (1, 6)


def test_am_softmax_loss() -> None:
    loss_fn = AMSoftmaxLoss(4, 3, scale=2.0, margin=0.5)
    with torch.no_grad():
        loss_fn.weight.copy_(torch.eye(4, 3))
    x = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 3.0, 4.0]])
    labels = torch.tensor([0, 2])
    # cosines with the class directions (columns): row 0 -> (1, 0, 0); row 1 -> (0, 0, 0.6); margin off the true class
    logits = 2.0 * torch.tensor([[1.0 - 0.5, 0.0, 0.0], [0.0, 0.0, 0.6 - 0.5]])
    torch.testing.assert_close(loss_fn(x, labels), torch.nn.functional.cross_entropy(logits, labels))


# ---------------------------------------------------------------------------------------------- reference parity
def _case_names() -> list[str]:
    try:
        return model_case_names("wav2vec2")
    except FileNotFoundError:
        return []


@pytest.mark.parametrize("name", _case_names() or [pytest.param("none", marks=pytest.mark.skip("no parity fixtures"))])
def test_parity_with_reference_fixtures(name: str) -> None:
    case = load_model_case(name)
    model, report = getattr(modelyard, case.class_name).from_pretrained(
        case.folder, output_loading_info=True, **case.config_overrides
    )
    assert report.verdict == "complete" and not report.unexpected_keys, report
    with torch.no_grad():
        out = model.eval()(**case.inputs, **case.forward_options)
    assert_outputs_close(case, out)


REFERENCE_LOAD = """
import json, sys, torch, transformers
from safetensors.torch import load_file
results = {}
for folder in sys.argv[1:]:
    io = load_file(folder + "/io.safetensors")
    cls = getattr(transformers, json.load(open(folder + "/config.json"))["architectures"][0])
    model, info = cls.from_pretrained(folder, output_loading_info=True)
    inputs = {k[6:]: v for k, v in io.items() if k.startswith("input.")}
    with torch.no_grad():
        out = model.eval()(**inputs)
    got = out.logits if hasattr(out, "logits") else out.last_hidden_state
    results[folder] = {"info": {k: [str(x) for x in v] for k, v in info.items() if v},
                       "diff": (got - io["expected"]).abs().max().item()}
print(json.dumps(results))
"""


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs the reference library in .venv-ref (make reference)")
def test_our_save_loads_in_the_reference_library(tmp_path: Path) -> None:
    mask = torch.ones(2, 320, dtype=torch.long)
    mask[1, 200:] = 0
    models = {
        "model-group": (Wav2Vec2Model(tiny_config("group")), {"input_values": audio()}),
        "ctc-layer": (Wav2Vec2ForCTC(tiny_config("layer")), {"input_values": audio(), "attention_mask": mask}),
        "cls-layer-weighted": (
            Wav2Vec2ForSequenceClassification(tiny_config("layer", use_weighted_layer_sum=True)),
            {"input_values": audio(), "attention_mask": mask},
        ),
        "frames-layer-weighted": (
            Wav2Vec2ForAudioFrameClassification(tiny_config("layer", use_weighted_layer_sum=True)),
            {"input_values": audio(), "attention_mask": mask},
        ),
        "xvector-group": (
            Wav2Vec2ForXVector(tiny_config(tdnn_dim=(8, 8, 12), tdnn_kernel=(3, 3, 1), tdnn_dilation=(1, 2, 1),
                                           xvector_output_dim=6)),
            {"input_values": audio(), "attention_mask": mask},
        ),
        "ctc-adapters": (
            Wav2Vec2ForCTC(tiny_config("layer", add_adapter=True, output_hidden_size=8, num_adapter_layers=2,
                                       adapter_attn_dim=4)),
            {"input_values": audio(), "attention_mask": mask},
        ),
    }
    folders = []
    for name, (model, inputs) in models.items():
        _perturb(model)
        model.eval().save_pretrained(tmp_path / name)
        with torch.no_grad():
            out = model(**inputs)
        expected = out.logits if hasattr(out, "logits") else out.last_hidden_state
        tensors = {f"input.{k}": v for k, v in inputs.items()}
        save_file({**tensors, "expected": expected.contiguous()}, str(tmp_path / name / "io.safetensors"))
        folders.append(str(tmp_path / name))
    run = subprocess.run([str(REF_PY), "-c", REFERENCE_LOAD, *folders], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    for folder in folders:
        assert results[folder]["info"] == {}, (folder, results[folder])
        assert results[folder]["diff"] < 1e-5, (folder, results[folder])


# ---------------------------------------------------------------------------------------------- common tester
class _Wav2Vec2Common(ModelTesterMixin):
    all_model_classes = (Wav2Vec2Model, Wav2Vec2ForCTC, Wav2Vec2ForSequenceClassification,
                         Wav2Vec2ForAudioFrameClassification, Wav2Vec2ForXVector)
    variant = "group"

    def get_config(self) -> Wav2Vec2Config:
        # spans of 2 frames so SpecAugment always masks something in training (masked_spec_embed gets a gradient).
        # hidden_size 32, not 16: torch 2.13's CPU (oneDNN) bfloat16 conv1d is wrong for 8 input channels with
        # kernel 8, which is what the positional convolution would get with 16 channels in 2 groups.
        return tiny_config(self.variant, classifier_proj_size=8, mask_time_length=2, tdnn_dim=(8, 8, 12),
                           tdnn_kernel=(3, 3, 1), tdnn_dilation=(1, 2, 1), xvector_output_dim=6)

    def get_inputs(self, model_class: type, config: Wav2Vec2Config, with_labels: bool = False) -> dict[str, Any]:
        inputs: dict[str, Any] = {"input_values": audio(2, 320)}
        if self.variant == "layer":  # the padded-batch path (the reference feeds no mask to group-norm models)
            mask = torch.ones(2, 320, dtype=torch.long)
            mask[1, 250:] = 0
            inputs["input_values"] = inputs["input_values"].masked_fill(mask == 0, 0.0)
            inputs["attention_mask"] = mask
        if with_labels and model_class is Wav2Vec2ForCTC:
            inputs["labels"] = torch.tensor([[1, 2, 3, 4], [5, 6, -100, -100]])
        elif with_labels and model_class in (Wav2Vec2ForSequenceClassification, Wav2Vec2ForXVector):
            inputs["labels"] = torch.tensor([2, 0])
        elif with_labels and model_class is Wav2Vec2ForAudioFrameClassification:
            inputs["labels"] = torch.nn.functional.one_hot(torch.arange(30).view(2, 15) % config.num_labels,
                                                           config.num_labels)
        return inputs

    def expected_output_shapes(self, model_class: type, config: Wav2Vec2Config, inputs: dict[str, Any]
                               ) -> dict[str, tuple[int, ...]]:
        if model_class is Wav2Vec2Model:
            return {"last_hidden_state": (2, 15, 32), "extract_features": (2, 15, 16)}
        if model_class is Wav2Vec2ForCTC:
            return {"logits": (2, 15, config.vocab_size)}
        if model_class is Wav2Vec2ForAudioFrameClassification:
            return {"logits": (2, 15, config.num_labels)}
        if model_class is Wav2Vec2ForXVector:
            return {"logits": (2, 6), "embeddings": (2, 6)}
        return {"logits": (2, config.num_labels)}

    def hidden_state_shape(self, model_class: type, config: Wav2Vec2Config, inputs: dict[str, Any]
                           ) -> tuple[int, ...]:
        return (2, 15, 32)

    def attention_shape(self, model_class: type, config: Wav2Vec2Config, inputs: dict[str, Any]) -> tuple[int, ...]:
        return (2, 4, 15, 15)


class TestWav2Vec2GroupNormCommon(_Wav2Vec2Common):
    variant = "group"


class TestWav2Vec2StableLayerNormCommon(_Wav2Vec2Common):
    variant = "layer"


def test_layerdrop_is_read_when_called() -> None:
    model = Wav2Vec2Model(tiny_config(mask_time_prob=0.0)).train()  # built with layerdrop 0
    model.config.layerdrop = 1.0  # set afterwards, as scripts and the reference's tests do: every layer skipped
    out = model(audio(), output_attentions=True)
    assert all(a is None for a in out.attentions)
    model.config.layerdrop = 0.0
    assert all(a is not None for a in model(audio(), output_attentions=True).attentions)
