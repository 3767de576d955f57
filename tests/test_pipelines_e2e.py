"""End to end: preprocessor + model + decoding, as the documents use them.

1. Speech recognition: ``Wav2Vec2Processor`` (feature extractor + CTC tokenizer) and ``Wav2Vec2ForCTC`` on
   synthetic audio. A tiny model is fitted to two tone sequences in a few CTC steps, then the processor turns
   its predictions back into text; the processor and model survive save / Auto reload.
2. Image classification: ``ViTFeatureExtractor`` and ``ViTForImageClassification`` with ``id2label`` names:
   a tiny ViT is fitted to tell solid colours apart and predictions are read as label names, also after
   saving and reloading through the Auto classes.

The models are trained briefly (seeded, single thread) so the assertions are about real predictions, not
about random weights.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import modelyard


def _available(*names: str) -> bool:
    for name in names:
        try:
            getattr(modelyard, name)
        except (AttributeError, ImportError):
            return False
    return True


needs_speech = pytest.mark.skipif(
    not _available("Wav2Vec2Processor", "Wav2Vec2FeatureExtractor", "Wav2Vec2CTCTokenizer"),
    reason="Wav2Vec2Processor / Wav2Vec2FeatureExtractor / Wav2Vec2CTCTokenizer are not available yet",
)
needs_vision = pytest.mark.skipif(
    not _available("ViTFeatureExtractor") or importlib.util.find_spec("PIL") is None,
    reason="ViTFeatureExtractor (and Pillow) are not available",
)

SAMPLING_RATE = 16000
VOCAB = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "A": 5, "B": 6, "C": 7}


@pytest.fixture
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same reduction order everywhere: the short training is reproducible
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------- speech
def _tones(letters: str, seconds_per_letter: float = 0.06) -> np.ndarray:
    """One sine burst per letter (A 500 Hz, B 1800 Hz, C 5000 Hz) separated by short silences."""
    frequency = {"A": 500.0, "B": 1800.0, "C": 5000.0}
    t = np.arange(int(SAMPLING_RATE * seconds_per_letter)) / SAMPLING_RATE
    gap = np.zeros(int(SAMPLING_RATE * 0.02), dtype=np.float32)
    parts = [gap]
    for letter in letters:
        parts += [np.sin(2 * np.pi * frequency[letter] * t).astype(np.float32), gap]
    return np.concatenate(parts)


def transcribe(processor, model, clips: list[np.ndarray]) -> list[str]:
    """Greedy CTC decoding of a padded batch; each row is decoded over its own frames only (the frames of
    the padding carry no information, and nothing trained them to be blank)."""
    batch = processor(clips, sampling_rate=SAMPLING_RATE, padding=True, return_tensors="pt")
    with torch.no_grad():
        ids = model(**batch).logits.argmax(-1)
    frames = model._get_feat_extract_output_lengths(batch["attention_mask"].sum(-1)).tolist()
    return processor.batch_decode([row[:n] for row, n in zip(ids.tolist(), frames)])


@needs_speech
def test_speech_recognition_pipeline(tmp_path: Path, single_thread: None) -> None:
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB), encoding="utf-8")
    tokenizer = modelyard.Wav2Vec2CTCTokenizer(str(tmp_path / "vocab.json"))
    feature_extractor = modelyard.Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=SAMPLING_RATE, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )
    processor = modelyard.Wav2Vec2Processor(feature_extractor=feature_extractor, tokenizer=tokenizer)

    texts = ["AB", "CAB", "BC A"]
    clips = [_tones(text.replace(" ", "")) for text in texts]
    batch = processor(clips, sampling_rate=SAMPLING_RATE, padding=True, return_tensors="pt")
    assert batch["input_values"].shape == (3, max(len(c) for c in clips))
    assert batch["attention_mask"].sum(-1).tolist() == [len(c) for c in clips]
    labels = processor(text=texts, padding=True, return_tensors="pt")["input_ids"]
    labels = labels.masked_fill(labels == tokenizer.pad_token_id, -100)  # CTC ignores -100 padding

    torch.manual_seed(0)
    config = modelyard.Wav2Vec2Config(
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=64, conv_dim=(32, 32, 32), conv_stride=(5, 8, 8),
        conv_kernel=(10, 8, 8), num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4,
        feat_extract_norm="layer", do_stable_layer_norm=True, ctc_loss_reduction="mean",
        hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, final_dropout=0.0, layerdrop=0.0,
        mask_time_prob=0.0,
    )
    model = modelyard.Wav2Vec2ForCTC(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    first = None
    for _ in range(120):
        loss = model(**batch, labels=labels).loss
        first = float(loss.detach()) if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < first / 4

    model.eval()
    assert transcribe(processor, model, clips) == texts

    # both halves of the pipeline survive a save and an Auto reload
    model.save_pretrained(tmp_path / "asr")
    processor.save_pretrained(tmp_path / "asr")
    processor2 = modelyard.AutoProcessor.from_pretrained(tmp_path / "asr")
    model2 = modelyard.AutoModelForCTC.from_pretrained(tmp_path / "asr")
    assert type(processor2).__name__ == "Wav2Vec2Processor" and isinstance(model2, modelyard.Wav2Vec2ForCTC)
    assert transcribe(processor2, model2, clips) == texts


# ---------------------------------------------------------------------------------------------- vision
COLOURS = {"cat": (220, 30, 30), "dog": (30, 30, 220), "bird": (30, 200, 30)}


def _image(rgb: tuple[int, int, int], size: tuple[int, int], seed: int):
    import PIL.Image

    noise = np.random.default_rng(seed).integers(-25, 25, (size[1], size[0], 3))
    pixels = np.clip(np.array(rgb)[None, None, :] + noise, 0, 255).astype(np.uint8)
    return PIL.Image.fromarray(pixels)


@needs_vision
def test_image_classification_pipeline(tmp_path: Path, single_thread: None) -> None:
    import PIL.Image

    id2label = dict(enumerate(COLOURS))
    feature_extractor = modelyard.ViTFeatureExtractor(size=32, resample=PIL.Image.BOX,
                                                      image_mean=[0.5] * 3, image_std=[0.5] * 3)
    # images of various sizes: the feature extractor resizes them to the model's 32x32
    train = [(_image(rgb, (40 + 7 * i, 36 + 5 * i), seed=i), label)
             for i in range(3) for label, rgb in enumerate(COLOURS.values())]
    inputs = feature_extractor([image for image, _ in train], return_tensors="pt")
    assert inputs["pixel_values"].shape == (len(train), 3, 32, 32)
    labels = torch.tensor([label for _, label in train])

    torch.manual_seed(0)
    config = modelyard.ViTConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, image_size=32,
        patch_size=8, id2label=id2label, label2id={v: k for k, v in id2label.items()},
    )
    model = modelyard.ViTForImageClassification(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(30):
        loss = model(**inputs, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def predict(extractor, net, images) -> list[str]:
        with torch.no_grad():
            logits = net.eval()(**extractor(images, return_tensors="pt")).logits
        return [net.config.id2label[int(i)] for i in logits.argmax(-1)]

    unseen = [_image(rgb, (64, 48), seed=100 + i) for i, rgb in enumerate(COLOURS.values())]
    assert predict(feature_extractor, model, unseen) == ["cat", "dog", "bird"]

    model.save_pretrained(tmp_path / "vit")
    feature_extractor.save_pretrained(tmp_path / "vit")
    extractor2 = modelyard.AutoFeatureExtractor.from_pretrained(tmp_path / "vit")
    model2 = modelyard.AutoModelForImageClassification.from_pretrained(tmp_path / "vit")
    assert type(extractor2).__name__ == "ViTFeatureExtractor" and isinstance(model2, modelyard.ViTForImageClassification)
    assert model2.config.id2label == id2label and model2.config.label2id["bird"] == 2
    assert predict(extractor2, model2, unseen) == ["cat", "dog", "bird"]
