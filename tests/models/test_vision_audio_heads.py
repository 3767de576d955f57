"""The further vision and audio heads: ViT masked image modelling, the ResNet backbone contract (stage names,
aligned out_features / out_indices, channels), Wav2Vec2 pre-training (its mask and negative-sampling helpers,
the training-mode Gumbel quantizer) and the deprecated Wav2Vec2ForMaskedLM."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch

from modelyard import (
    AutoBackbone,
    AutoModelForMaskedImageModeling,
    AutoModelForMaskedLM,
    AutoModelForPreTraining,
    ResNetBackbone,
    ResNetConfig,
    ViTConfig,
    ViTForMaskedImageModeling,
    ViTModel,
    Wav2Vec2Config,
    Wav2Vec2ForMaskedLM,
    Wav2Vec2ForPreTraining,
)
from modelyard.errors import ConfigurationError
from modelyard.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices, _sample_negative_indices


# ------------------------------------------------------------------------------------------------ ViT
def _vit(**overrides: object) -> ViTConfig:
    values: dict[str, object] = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                                     image_size=16, patch_size=4, encoder_stride=4)
    values.update(overrides)
    return ViTConfig(**values)


def test_masked_image_modeling_reconstructs_the_image_and_scores_masked_pixels_only() -> None:
    torch.manual_seed(0)
    model = ViTForMaskedImageModeling(_vit()).eval()
    pixels = torch.randn(2, 3, 16, 16)
    masked = torch.zeros(2, 16, dtype=torch.bool)
    masked[:, :4] = True  # the top row of patches
    out = model(pixels, bool_masked_pos=masked)
    assert out.reconstruction.shape == pixels.shape
    pixel_mask = torch.zeros(2, 1, 16, 16)
    pixel_mask[:, :, :4, :] = 1
    error = (pixels - out.reconstruction).abs()
    torch.testing.assert_close(out.loss, (error * pixel_mask).sum() / (pixel_mask.sum() + 1e-5) / 3)
    assert model(pixels).loss is None
    # the mask token replaces masked patches: unmasking changes the reconstruction
    assert not torch.allclose(model(pixels).reconstruction, out.reconstruction)
    assert type(AutoModelForMaskedImageModeling.from_config(_vit())) is ViTForMaskedImageModeling


def test_masked_positions_need_patch_size_equal_to_the_stride_and_a_mask_token() -> None:
    model = ViTForMaskedImageModeling(_vit(encoder_stride=2))
    with pytest.raises(ValueError, match="patch_size == encoder_stride"):
        model(torch.randn(1, 3, 16, 16), bool_masked_pos=torch.zeros(1, 16, dtype=torch.bool))
    with pytest.raises(ValueError, match="use_mask_token=True"):
        ViTModel(_vit())(torch.randn(1, 3, 16, 16), bool_masked_pos=torch.zeros(1, 16, dtype=torch.bool))
    assert "embeddings.mask_token" in ViTModel(_vit(), use_mask_token=True).state_dict()


# ------------------------------------------------------------------------------------------------ ResNet
def _resnet(**overrides: object) -> ResNetConfig:
    values: dict[str, object] = dict(embedding_size=8, hidden_sizes=[8, 16, 16, 32], depths=[1, 1, 1, 1],
                                     layer_type="basic")
    values.update(overrides)
    return ResNetConfig(**values)


def test_backbone_returns_the_chosen_stages_with_their_channels() -> None:
    torch.manual_seed(0)
    model = ResNetBackbone(_resnet(out_features=["stem", "stage2", "stage4"])).eval()
    assert model.stage_names == ["stem", "stage1", "stage2", "stage3", "stage4"]
    assert model.out_indices == [0, 2, 4] and model.channels == [8, 16, 32]
    out = model(torch.randn(2, 3, 32, 32), output_hidden_states=True)
    assert [tuple(f.shape) for f in out.feature_maps] == [(2, 8, 8, 8), (2, 16, 4, 4), (2, 32, 1, 1)]
    assert len(out.hidden_states) == 5 and torch.equal(out.hidden_states[2], out.feature_maps[1])
    assert out.attentions is None and model(torch.randn(1, 3, 32, 32), return_dict=False)[0][0].shape[1] == 8
    model.out_indices = [-1]  # setting one side sets the other
    assert model.out_features == ["stage4"] and model.channels == [32]
    assert model.forward_with_filtered_kwargs(torch.randn(1, 3, 32, 32), output_attentions=True).feature_maps


def test_backbone_loads_a_resnet_checkpoint_and_auto_backbone_takes_out_features(tmp_path: Path) -> None:
    from modelyard import ResNetModel

    ResNetModel(_resnet()).save_pretrained(tmp_path)
    model, report = AutoBackbone.from_pretrained(tmp_path, out_features=["stage1", "stage3"],
                                                 output_loading_info=True)
    assert type(model) is ResNetBackbone and report.verdict == "complete" and not report.missing_keys
    assert model.out_indices == [1, 3] and model.config.out_indices == [1, 3]


def test_backbone_config_keeps_features_and_indices_aligned_and_checks_them() -> None:
    config = _resnet(out_indices=[1, -1])
    assert config.out_features == ["stage1", "stage4"]
    data = config.to_dict()
    assert data["out_features"] == ["stage1", "stage4"] and data["out_indices"] == [1, -1]
    assert "_out_features" not in data and ResNetConfig.from_dict(data).out_features == ["stage1", "stage4"]
    config.out_features = ["stage2"]
    assert config.out_indices == [2]
    for bad in ({"out_features": ["stage3", "stage1"]}, {"out_indices": [1, 1]},
                {"out_features": ["stage1"], "out_indices": [2]}, {"out_features": ["stage9"]}):
        with pytest.raises(ConfigurationError):
            _resnet(**bad)


# ------------------------------------------------------------------------------------------------ Wav2Vec2
W2V = dict(vocab_size=12, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
           conv_dim=(16, 16, 16), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3), num_conv_pos_embeddings=8,
           num_conv_pos_embedding_groups=2, num_codevectors_per_group=5, num_codevector_groups=2, codevector_dim=8,
           proj_codevector_dim=8, num_negatives=3)


def test_mask_helper_gives_spans_within_the_real_part() -> None:
    np.random.seed(0)
    mask = _compute_mask_indices((4, 60), mask_prob=0.5, mask_length=1)
    assert mask.dtype == bool and mask.shape == (4, 60) and (mask.sum(-1) == 30).all()
    attention = torch.ones(2, 60, dtype=torch.long)
    attention[0, 20:] = 0
    for _ in range(20):
        spans = _compute_mask_indices((2, 60), mask_prob=0.5, mask_length=4, attention_mask=attention)
        assert not spans[0, 20:].any() and spans.sum(-1).max() <= 30
    counts = {int(_compute_mask_indices((1, 100), 0.05, 2).sum()) for _ in range(100)}
    # 2.5 spans of 2 frames, rounded either way at random (spans may overlap): 2 spans give at most 4 frames
    assert 6 in counts and min(counts) <= 4 and counts <= {3, 4, 5, 6}
    with pytest.raises(ValueError, match="must not exceed"):
        _compute_mask_indices((1, 5), 0.5, 6)


def test_negative_sampler_picks_other_masked_frames_of_the_same_row() -> None:
    np.random.seed(0)
    mask = np.zeros((2, 10), dtype=bool)
    mask[0, [1, 3, 4, 8]] = True
    mask[1, 2:9] = True
    negatives = _sample_negative_indices((2, 10), 6, mask)
    assert negatives.shape == (2, 10, 6) and negatives.dtype == np.int32
    for row in range(2):
        frames = np.flatnonzero(mask[row])
        for frame in frames:
            picks = negatives[row, frame] - row * 10
            assert set(picks) <= set(frames) - {frame}
        assert (negatives[row, ~mask[row]] == row * 10).all()
    everything = _sample_negative_indices((1, 5), 2)
    assert all(frame not in everything[0, frame] for frame in range(5))


def test_pretraining_in_training_mode_samples_codevectors_and_learns() -> None:
    torch.manual_seed(0)
    np.random.seed(0)
    model = Wav2Vec2ForPreTraining(Wav2Vec2Config(**W2V)).train()
    frames = int(model._get_feat_extract_output_lengths(320))
    mask = _compute_mask_indices((2, frames), mask_prob=0.5, mask_length=2)
    negatives = _sample_negative_indices((2, frames), 3, mask)
    out = model(torch.randn(2, 320), mask_time_indices=torch.from_numpy(mask),
                sampled_negative_indices=torch.from_numpy(negatives))
    assert out.projected_states.shape == out.projected_quantized_states.shape == (2, frames, 8)
    torch.testing.assert_close(out.loss, out.contrastive_loss + 0.1 * out.diversity_loss)
    assert 1.0 <= float(out.codevector_perplexity.detach()) <= 10.0  # 2 groups of at most 5 entries
    out.loss.backward()
    assert model.quantizer.codevectors.grad is not None and model.project_q.weight.grad is not None
    model.set_gumbel_temperature(0.5)
    assert model.quantizer.temperature == 0.5
    with pytest.raises(ValueError, match="need mask_time_indices"):
        model(torch.randn(2, 320), sampled_negative_indices=torch.from_numpy(negatives))
    assert type(AutoModelForPreTraining.from_config(Wav2Vec2Config(**W2V))) is Wav2Vec2ForPreTraining


def test_quantizer_rejects_a_codevector_size_the_groups_do_not_divide() -> None:
    with pytest.raises(ConfigurationError, match="multiple of num_codevector_groups"):
        Wav2Vec2ForPreTraining(Wav2Vec2Config(**dict(W2V, codevector_dim=7)))


def test_masked_lm_is_deprecated_and_gives_frame_logits() -> None:
    with pytest.warns(FutureWarning, match="Wav2Vec2ForCTC"):
        model = Wav2Vec2ForMaskedLM(Wav2Vec2Config(**W2V)).eval()
    out = model(torch.randn(2, 320), labels=torch.zeros(2, 3, dtype=torch.long))
    assert out.logits.shape == (2, 15, 12) and out.loss is None  # the reference computes no loss either
    with pytest.warns(FutureWarning):
        assert type(AutoModelForMaskedLM.from_config(Wav2Vec2Config(**W2V))) is Wav2Vec2ForMaskedLM


def test_the_reference_module_paths_serve_the_helpers() -> None:
    module = importlib.import_module("modelyard.compat.transformers.models.wav2vec2.modeling_wav2vec2")
    assert module._compute_mask_indices is _compute_mask_indices
    assert module._sample_negative_indices is _sample_negative_indices
    backbone = importlib.import_module("modelyard.compat.transformers.utils.backbone_utils")
    assert backbone.BackboneMixin in ResNetBackbone.__mro__
    auto = importlib.import_module("modelyard.compat.transformers.models.auto.modeling_auto")
    assert auto.MODEL_FOR_BACKBONE_MAPPING_NAMES["resnet"] == "ResNetBackbone"
    assert auto.MODEL_FOR_PRETRAINING_MAPPING_NAMES["wav2vec2"] == "Wav2Vec2ForPreTraining"
    assert auto.MODEL_FOR_MASKED_IMAGE_MODELING_MAPPING_NAMES["vit"] == "ViTForMaskedImageModeling"
    assert auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES["bert"] == "BertLMHeadModel"
    assert auto.MODEL_FOR_NEXT_SENTENCE_PREDICTION_MAPPING_NAMES["bert"] == "BertForNextSentencePrediction"
    assert auto.AutoBackbone is AutoBackbone
