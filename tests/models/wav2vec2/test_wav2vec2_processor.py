"""Wav2Vec2Processor's call options as the reference takes them: typed (``Unpack[...]``), per part or common,
refused when given twice, the tokenizer's creation options as text defaults; and the nested save layout."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from modelyard import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2Processor
from modelyard.errors import FeatureExtractionError
from modelyard.models.wav2vec2.processing_wav2vec2 import Wav2Vec2ProcessorKwargs
from modelyard.processing import Unpack

VOCAB = "<pad> <s> </s> <unk> | E T A O N I H S R D L U M W C F G Y P B V K ' X J Q Z".split(" ")
TEXT = ["LOWER NEWER", "UPPER OLDER LONGER STRING", "AN"]


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(VOCAB)}))
    Wav2Vec2FeatureExtractor(return_attention_mask=False).save_pretrained(tmp_path)
    return tmp_path


def speech(lengths: tuple[int, ...] = (800, 1200, 400)) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(n).astype(np.float32) for n in lengths]


def make(folder: Path, **tokenizer_options: object) -> Wav2Vec2Processor:
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(folder, **tokenizer_options)
    return Wav2Vec2Processor(Wav2Vec2FeatureExtractor.from_pretrained(folder), tokenizer)


def test_call_options_are_typed() -> None:
    kwargs = inspect.signature(Wav2Vec2Processor.__call__).parameters["kwargs"]
    assert kwargs.annotation.__origin__ is Unpack
    assert kwargs.annotation.__args__ == (Wav2Vec2ProcessorKwargs,)
    assert {"text_kwargs", "audio_kwargs", "common_kwargs", "padding", "sampling_rate"} <= set(
        Wav2Vec2ProcessorKwargs.__annotations__
    )


def test_tokenizer_creation_options_are_text_defaults(folder: Path) -> None:
    processor = make(folder, max_length=40, padding="max_length")
    out = processor(text=TEXT, audio=speech((800, 800, 800)), sampling_rate=16000, return_tensors="np")
    assert out["labels"].shape == (3, 40)
    assert out["input_values"].shape == (3, 800)  # the tokenizer's defaults are not the feature extractor's
    again = processor(text=TEXT, audio=speech(), sampling_rate=16000, max_length=30, padding="max_length",
                      return_tensors="np")
    assert again["labels"].shape == (3, 30)  # an explicit option wins over the tokenizer's default
    plain = make(folder)(text=TEXT, padding=True)
    assert len(plain["input_ids"][0]) == len(plain["input_ids"][1]) == 25


def test_structured_and_common_options(folder: Path) -> None:
    processor = make(folder)
    out = processor(
        text=TEXT, audio=speech(), sampling_rate=16000,
        common_kwargs={"return_tensors": "np"},
        text_kwargs={"padding": "max_length", "max_length": 32},
        audio_kwargs={"padding": "max_length", "max_length": 1600},
    )
    assert out["labels"].shape == (3, 32) and out["input_values"].shape == (3, 1600)
    assert isinstance(out["labels"], np.ndarray)


def test_an_option_given_twice_is_refused(folder: Path) -> None:
    with pytest.raises(FeatureExtractionError, match="'padding' was passed two times, in text_kwargs"):
        make(folder)(text=TEXT, audio=speech(), text_kwargs={"padding": "max_length"}, padding="max_length")


def test_shared_option_reaches_both_parts(folder: Path) -> None:
    out = make(folder)(text=TEXT, audio=speech(), sampling_rate=16000, padding=True, return_tensors="np")
    assert out["input_values"].shape == (3, 1200) and out["labels"].shape == (3, 25)


def test_nested_save_layout(folder: Path, tmp_path: Path) -> None:
    processor = make(folder)
    target = tmp_path / "saved"
    written = processor.save_pretrained(target, legacy_serialization=False)
    assert Path(written[0]).name == "processor_config.json"
    assert not (target / "preprocessor_config.json").exists()  # the feature extractor lives in processor_config.json
    data = json.loads(Path(written[0]).read_text())
    assert data["processor_class"] == "Wav2Vec2Processor"
    assert data["feature_extractor"]["feature_extractor_type"] == "Wav2Vec2FeatureExtractor"
    again = Wav2Vec2Processor.from_pretrained(target)
    assert again.feature_extractor.to_dict() == processor.feature_extractor.to_dict()
    assert repr(Wav2Vec2FeatureExtractor.from_pretrained(target)) == repr(processor.feature_extractor)
    assert again.tokenizer.get_vocab() == processor.tokenizer.get_vocab()
    legacy = processor.save_pretrained(tmp_path / "legacy")  # the default: a file per part, as before
    assert (tmp_path / "legacy" / "preprocessor_config.json").exists()
    assert "processor_config.json" not in {Path(p).name for p in legacy}
