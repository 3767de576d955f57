"""The document's "Extrator de features" and "Processor" sections, run as written (transformers -> modelyard)."""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import pytest

import modelyard
from modelyard import ViTFeatureExtractor, Wav2Vec2FeatureExtractor

VIT_DEFAULT = """ViTFeatureExtractor {
  "do_normalize": true,
  "do_resize": true,
  "feature_extractor_type": "ViTFeatureExtractor",
  "image_mean": [
    0.5,
    0.5,
    0.5
  ],
  "image_std": [
    0.5,
    0.5,
    0.5
  ],
  "resample": 2,
  "size": 224
}
"""

VIT_CUSTOM = """ViTFeatureExtractor {
  "do_normalize": false,
  "do_resize": true,
  "feature_extractor_type": "ViTFeatureExtractor",
  "image_mean": [
    0.3,
    0.3,
    0.3
  ],
  "image_std": [
    0.5,
    0.5,
    0.5
  ],
  "resample": "PIL.Image.BOX",
  "size": 224
}
"""

W2V2_DEFAULT = """Wav2Vec2FeatureExtractor {
  "do_normalize": true,
  "feature_extractor_type": "Wav2Vec2FeatureExtractor",
  "feature_size": 1,
  "padding_side": "right",
  "padding_value": 0.0,
  "return_attention_mask": false,
  "sampling_rate": 16000
}
"""


def printed(obj: object, capsys: pytest.CaptureFixture[str]) -> str:
    print(obj)
    return capsys.readouterr().out.rstrip("\n") + "\n"


def test_vit_feature_extractor_default_prints_as_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    vit_extractor = ViTFeatureExtractor()
    assert printed(vit_extractor, capsys) == VIT_DEFAULT


def test_vit_feature_extractor_custom_prints_as_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    my_vit_extractor = ViTFeatureExtractor(resample="PIL.Image.BOX", do_normalize=False, image_mean=[0.3, 0.3, 0.3])
    assert printed(my_vit_extractor, capsys) == VIT_CUSTOM


def test_wav2vec2_feature_extractor_default_prints_as_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    w2v2_extractor = Wav2Vec2FeatureExtractor()
    assert printed(w2v2_extractor, capsys) == W2V2_DEFAULT


@pytest.mark.parametrize("resample", ["PIL.Image.BOX", "box", "BOX", "Image.BOX", PIL.Image.BOX, 4,
                                      PIL.Image.Resampling.BOX])
def test_box_resample_really_resizes_with_the_box_filter(resample: object, rng: np.random.Generator) -> None:
    image = rng.integers(0, 256, (61, 83, 3), dtype=np.uint8)
    extractor = ViTFeatureExtractor(resample=resample, do_normalize=False, image_mean=[0.3, 0.3, 0.3])
    pixels = extractor(image, return_tensors="np")["pixel_values"][0]
    box = np.asarray(PIL.Image.fromarray(image).resize((224, 224), resample=PIL.Image.BOX)).transpose(2, 0, 1)
    bilinear = np.asarray(PIL.Image.fromarray(image).resize((224, 224), resample=PIL.Image.BILINEAR)).transpose(2, 0, 1)
    np.testing.assert_allclose(pixels, box / 255.0, atol=1e-6)
    assert not np.allclose(pixels, bilinear / 255.0, atol=1e-3)


def test_box_resample_file_holds_the_int_code(tmp_path) -> None:  # noqa: ANN001
    extractor = ViTFeatureExtractor(resample="PIL.Image.BOX", do_normalize=False, image_mean=[0.3, 0.3, 0.3])
    extractor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["resample"] == 4  # what the reference library's PILImageResampling(resample) accepts
    assert "transformers_version" not in saved
    reloaded = ViTFeatureExtractor.from_pretrained(tmp_path)
    assert reloaded.resample == 4 and reloaded.do_normalize is False and reloaded.image_mean == [0.3, 0.3, 0.3]


def test_processor_snippet(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    pytest.importorskip("modelyard.models.wav2vec2.tokenization_wav2vec2")
    monkeypatch.chdir(tmp_path)
    # The document's vocabulary file: a CTC vocabulary (JSON token -> id).
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "A": 5, "B": 6, "C": 7}
    (tmp_path / "my_vocab_file.txt").write_text(json.dumps(vocab))

    from modelyard import Wav2Vec2FeatureExtractor

    feature_extractor = Wav2Vec2FeatureExtractor(padding_value=1.0, do_normalize=True)

    from modelyard import Wav2Vec2CTCTokenizer

    tokenizer = Wav2Vec2CTCTokenizer(vocab_file="my_vocab_file.txt")

    from modelyard import Wav2Vec2Processor

    processor = Wav2Vec2Processor(feature_extractor=feature_extractor, tokenizer=tokenizer)

    assert processor.feature_extractor is feature_extractor and processor.tokenizer is tokenizer
    out = processor(audio=np.linspace(-1, 1, 50, dtype=np.float32), text="AB C", sampling_rate=16000)
    assert out["labels"] == [5, 6, 4, 7]
    assert processor.decode([5, 6, 4, 7]) == tokenizer.decode([5, 6, 4, 7])
    assert isinstance(processor, modelyard.ProcessorMixin)
