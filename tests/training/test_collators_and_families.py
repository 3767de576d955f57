"""Collators, and the loss going down on a learnable toy task for each model family (text with our
tokenizers, images and audio with our feature extractors)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from modelyard import (
    BertConfig,
    BertForSequenceClassification,
    BertTokenizer,
    DataCollatorForLanguageModeling,
    DataCollatorWithPadding,
    DistilBertConfig,
    DistilBertForMaskedLM,
    DistilBertTokenizer,
    ResNetConfig,
    ResNetForImageClassification,
    Trainer,
    TrainingArguments,
    ViTConfig,
    ViTForImageClassification,
    ViTImageProcessor,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForSequenceClassification,
    default_data_collator,
)
from modelyard.training import TrainerError

WORDS = [f"w{i}" for i in range(30)]


@pytest.fixture
def vocab(tmp_path: Path) -> Path:
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ collators
def test_default_collator_stacks_and_renames_labels() -> None:
    features = [
        {"input_ids": [1, 2, 3], "label": 1, "pixel_values": np.ones((3, 2, 2), np.float32), "text": "skip me"},
        {"input_ids": [4, 5, 6], "label": 0, "pixel_values": np.zeros((3, 2, 2), np.float32), "text": "and me"},
    ]
    batch = default_data_collator(features)
    assert set(batch) == {"input_ids", "labels", "pixel_values"}
    assert batch["labels"].dtype == torch.long and batch["labels"].tolist() == [1, 0]
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert batch["pixel_values"].shape == (2, 3, 2, 2)
    assert default_data_collator([{"x": torch.ones(2), "label": 0.5}])["labels"].dtype == torch.float


def test_default_collator_on_ragged_inputs_says_how_to_pad() -> None:
    with pytest.raises(TrainerError, match="DataCollatorWithPadding"):
        default_data_collator([{"input_ids": [1, 2, 3]}, {"input_ids": [1]}])


def test_padding_collator_pads_text(vocab: Path) -> None:
    tokenizer = BertTokenizer(str(vocab))
    features = [dict(tokenizer("w1 w2 w3"), label=1), dict(tokenizer("w4"), label=0)]
    batch = DataCollatorWithPadding(tokenizer)(features)
    assert batch["input_ids"].shape == (2, 5) and batch["labels"].tolist() == [1, 0]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert batch["input_ids"][1, 3:].tolist() == [tokenizer.pad_token_id] * 2


def test_padding_collator_pads_audio() -> None:
    extractor = Wav2Vec2FeatureExtractor(return_attention_mask=True)
    clips = [np.ones(800, np.float32), np.ones(1200, np.float32)]
    features = [{"input_values": extractor(c, sampling_rate=16000)["input_values"][0], "label": i}
                for i, c in enumerate(clips)]
    batch = DataCollatorWithPadding(extractor)(features)
    assert batch["input_values"].shape == (2, 1200)
    assert batch["attention_mask"].sum(-1).tolist() == [800, 1200]


def test_mlm_collator_masks_only_real_tokens(vocab: Path) -> None:
    tokenizer = BertTokenizer(str(vocab))
    torch.manual_seed(0)
    features = [tokenizer(" ".join(random.Random(i).choices(WORDS, k=12))) for i in range(64)]
    features.append(tokenizer("w1"))  # forces padding
    batch = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.25)(features)
    labels, inputs = batch["labels"], batch["input_ids"]
    chosen = labels != -100
    special = torch.isin(labels.where(chosen, 0), torch.tensor(tokenizer.all_special_ids))
    assert not (special & chosen).any()  # never a special token or padding
    assert 0.18 < chosen.float().sum() / (batch["attention_mask"].sum() - 2 * 65) < 0.32
    masked = (inputs == tokenizer.mask_token_id) & chosen
    assert 0.7 < masked.sum() / chosen.sum() < 0.9  # 80% of the chosen become [MASK]
    original = DataCollatorWithPadding(tokenizer)(features)["input_ids"]
    assert torch.equal(inputs[~chosen], original[~chosen])


def test_mlm_collator_needs_a_mask_token() -> None:
    class NoMask:
        mask_token = None

    with pytest.raises(TrainerError, match="no mask token"):
        DataCollatorForLanguageModeling(NoMask())


# ------------------------------------------------------------------ families
def fit(model: torch.nn.Module, train: list[dict], tmp_path: Path, *, collator: Any = None, epochs: int = 4,
        lr: float = 3e-3, batch: int = 8) -> tuple[float, float]:
    args = TrainingArguments(str(tmp_path / "out"), num_train_epochs=epochs, per_device_train_batch_size=batch,
                             per_device_eval_batch_size=16, learning_rate=lr, save_strategy="no", disable_tqdm=True,
                             logging_steps=1000)
    trainer = Trainer(model, args, data_collator=collator, train_dataset=train, eval_dataset=train)
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    return before, trainer.evaluate()["eval_loss"]


def test_bert_sequence_classification_learns(tmp_path: Path, vocab: Path) -> None:
    tokenizer = BertTokenizer(str(vocab))
    rng = random.Random(0)
    rows = []
    for _ in range(32):
        words = rng.choices(WORDS, k=rng.randint(3, 8))
        rows.append(dict(tokenizer(" ".join(words)), label=int("w0" in words or "w1" in words)))
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=37, max_position_embeddings=16, num_labels=2)
    before, after = fit(BertForSequenceClassification(config), rows, tmp_path,
                        collator=DataCollatorWithPadding(tokenizer), epochs=8, lr=1e-2)
    assert after < before * 0.8


def test_distilbert_masked_lm_learns(tmp_path: Path, vocab: Path) -> None:
    tokenizer = DistilBertTokenizer(str(vocab))
    rows = [tokenizer(" ".join(WORDS[i % 6 : i % 6 + 6])) for i in range(32)]  # few repeated sentences
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=4, hidden_dim=37,
                              max_position_embeddings=16)
    before, after = fit(DistilBertForMaskedLM(config), rows, tmp_path,
                        collator=DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3), epochs=8, lr=1e-2)
    assert after < before * 0.8


def colour_images(count: int, processor: ViTImageProcessor) -> list[dict]:
    """Red, green or blue noisy images; the label is the colour (pixel_values from our image processor)."""
    rng = np.random.default_rng(0)
    rows = []
    for index in range(count):
        label = index % 3
        pixels = rng.integers(0, 80, (40, 40, 3), dtype=np.uint8)
        pixels[..., label] += 150
        values = processor(Image.fromarray(pixels), return_tensors="pt")["pixel_values"][0]
        rows.append({"pixel_values": values, "labels": label})
    return rows


def test_vit_image_classification_learns(tmp_path: Path) -> None:
    processor = ViTImageProcessor(size={"height": 32, "width": 32})
    config = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                       image_size=32, patch_size=8, num_labels=3)
    before, after = fit(ViTForImageClassification(config), colour_images(24, processor), tmp_path)
    assert after < before * 0.8


def test_resnet_image_classification_learns(tmp_path: Path) -> None:
    processor = ViTImageProcessor(size={"height": 32, "width": 32})
    config = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic", num_labels=3)
    before, after = fit(ResNetForImageClassification(config), colour_images(24, processor), tmp_path)
    assert after < before * 0.8


def test_wav2vec2_audio_classification_learns(tmp_path: Path) -> None:
    extractor = Wav2Vec2FeatureExtractor(return_attention_mask=True)
    rng = np.random.default_rng(0)
    rows = []
    for index in range(24):
        label = index % 2
        length = int(rng.integers(1200, 2000))  # clips of different lengths: padded per batch
        t = np.arange(length) / 16000
        clip = np.sin(2 * np.pi * (300 if label else 2500) * t).astype(np.float32)
        rows.append({"input_values": extractor(clip, sampling_rate=16000)["input_values"][0], "label": label})
    config = Wav2Vec2Config(vocab_size=12, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=37, conv_dim=(16, 16, 16), conv_stride=(5, 2, 2),
                            conv_kernel=(10, 3, 3), num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2,
                            classifier_proj_size=16, num_labels=2, layerdrop=0.0, mask_time_prob=0.0)
    before, after = fit(Wav2Vec2ForSequenceClassification(config), rows, tmp_path,
                        collator=DataCollatorWithPadding(extractor), epochs=6)
    assert after < before * 0.8
