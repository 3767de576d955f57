"""Wav2Vec2FeatureExtractor and SequenceFeatureExtractor.pad: strategies, input kinds, errors, warnings."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from modelyard import BatchFeature, Wav2Vec2FeatureExtractor
from modelyard.errors import ConfigurationError, FeatureExtractionError


@pytest.fixture
def clips(rng: np.random.Generator) -> list[np.ndarray]:
    return [(rng.standard_normal(n) * 0.2 + 0.1).astype(np.float32) for n in (300, 170, 233)]


def _normalized(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    return (x - x.mean()) / np.sqrt(x.var() + 1e-7)


def test_padding_with_attention_mask(clips: list[np.ndarray]) -> None:
    fe = Wav2Vec2FeatureExtractor(padding_value=1.0)
    out = fe(clips, padding=True, return_attention_mask=True, return_tensors="np", sampling_rate=16000)
    assert out["input_values"].shape == (3, 300) and out["input_values"].dtype == np.float32
    assert out["attention_mask"].dtype == np.int32
    np.testing.assert_array_equal(out["attention_mask"].sum(1), [300, 170, 233])
    np.testing.assert_allclose(out["input_values"][1, :170], _normalized(clips[1]), atol=1e-6)
    assert (out["input_values"][1, 170:] == 1.0).all()


def test_padding_without_mask_normalises_the_padded_row(clips: list[np.ndarray]) -> None:
    out = Wav2Vec2FeatureExtractor()(clips, padding=True, sampling_rate=16000)
    assert "attention_mask" not in out
    padded = np.concatenate([clips[1], np.zeros(130, np.float32)])
    np.testing.assert_allclose(out["input_values"][1], _normalized(padded), atol=1e-6)


def test_left_padding_uses_the_real_samples(clips: list[np.ndarray]) -> None:
    out = Wav2Vec2FeatureExtractor(padding_side="left", return_attention_mask=True)(
        clips, padding=True, return_tensors="np", sampling_rate=16000
    )
    np.testing.assert_array_equal(out["attention_mask"][1, :130], 0)
    np.testing.assert_allclose(out["input_values"][1, 130:], _normalized(clips[1]), atol=1e-6)
    assert (out["input_values"][1, :130] == 0).all()


@pytest.mark.parametrize(
    ("kwargs", "length"),
    [
        ({"padding": "max_length", "max_length": 320}, 320),
        ({"padding": True, "pad_to_multiple_of": 128}, 384),
        ({"padding": "max_length", "max_length": 200, "truncation": True}, 200),
        ({"padding": "longest", "max_length": 100, "truncation": True, "pad_to_multiple_of": 64}, 128),
    ],
)
def test_padding_strategies(clips: list[np.ndarray], kwargs: dict, length: int) -> None:
    out = Wav2Vec2FeatureExtractor(return_attention_mask=True)(clips, return_tensors="np", sampling_rate=16000, **kwargs)
    assert out["input_values"].shape == (3, length)
    assert out["attention_mask"].shape == (3, length)


def test_no_padding_returns_the_rows_and_torch_tensors_need_padding(clips: list[np.ndarray]) -> None:
    fe = Wav2Vec2FeatureExtractor()
    out = fe(clips, sampling_rate=16000)
    assert [len(v) for v in out["input_values"]] == [300, 170, 233]
    # Formerly refused: the reference gives numpy's object array of the unpadded rows, and code reads it row by row.
    rows = fe(clips, sampling_rate=16000, return_tensors="np")["input_values"]
    assert rows.dtype == object and rows.shape == (3,) and [r.shape for r in rows] == [(300,), (170,), (233,)]
    np.testing.assert_array_equal(rows[1], out["input_values"][1])
    with pytest.raises(FeatureExtractionError, match="different shapes.*padding=True"):
        fe(clips, sampling_rate=16000, return_tensors="pt")


def test_input_kinds_agree(clips: list[np.ndarray]) -> None:
    torch = pytest.importorskip("torch")
    fe = Wav2Vec2FeatureExtractor()
    single = fe(clips[0], sampling_rate=16000)["input_values"]
    assert len(single) == 1
    for variant in (clips[0].tolist(), clips[0].astype(np.float64), torch.from_numpy(clips[0]), [clips[0]],
                    np.stack([clips[0]]), [torch.from_numpy(clips[0])]):
        np.testing.assert_array_equal(fe(variant, sampling_rate=16000)["input_values"][0], single[0])
    pt = fe(clips, padding=True, return_tensors="pt", sampling_rate=16000)
    assert isinstance(pt["input_values"], torch.Tensor) and tuple(pt["input_values"].shape) == (3, 300)


def test_no_normalize_keeps_values(clips: list[np.ndarray]) -> None:
    out = Wav2Vec2FeatureExtractor(do_normalize=False)(clips, padding=True, return_tensors="np", sampling_rate=16000)
    np.testing.assert_array_equal(out["input_values"][0], clips[0])


def test_large_batch_uses_threads_and_matches_serial(rng: np.random.Generator) -> None:
    long = [rng.standard_normal(n).astype(np.float32) for n in (400_000, 350_000, 500_000)]
    fe = Wav2Vec2FeatureExtractor(return_attention_mask=True)
    out = fe(long, padding=True, return_tensors="np", sampling_rate=16000)
    for row, clip in zip(out["input_values"], long):
        np.testing.assert_allclose(row[: len(clip)], _normalized(clip), atol=1e-5)


# ---------------------------------------------------------------------------------------------- errors
def test_wrong_sampling_rate_names_both_rates(clips: list[np.ndarray]) -> None:
    with pytest.raises(FeatureExtractionError, match=r"16000 Hz.*sampling_rate=8000 Hz.*Resample"):
        Wav2Vec2FeatureExtractor()(clips, sampling_rate=8000)


def test_missing_sampling_rate_warns_once(clips: list[np.ndarray], caplog: pytest.LogCaptureFixture) -> None:
    fe = Wav2Vec2FeatureExtractor()
    with caplog.at_level(logging.WARNING):
        fe(clips)
        fe(clips)
    messages = [r.getMessage() for r in caplog.records if "sampling_rate" in r.getMessage()]
    assert len(messages) == 1 and "sampling_rate=16000" in messages[0]


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([], "empty batch"),
        (np.zeros((2, 3, 100), np.float32), r"mono audio.*\(2, 3, 100\)"),
        ([np.zeros((2, 100), np.float32)], r"Clip 0 has shape \(2, 100\).*stereo"),
        ([np.zeros(10, np.float32), np.zeros(0, np.float32)], "Clip 1 is empty"),
        ([np.array(["a", "b"])], "dtype <U1"),
        ("audio.wav", "takes audio as"),
    ],
)
def test_bad_audio(bad: object, match: str) -> None:
    with pytest.raises(FeatureExtractionError, match=match):
        Wav2Vec2FeatureExtractor()(bad, sampling_rate=16000)


@pytest.mark.parametrize("do_normalize", [True, False])
def test_nan_is_an_error_naming_the_clip(clips: list[np.ndarray], do_normalize: bool) -> None:
    clips[2][5] = np.nan
    with pytest.raises(FeatureExtractionError, match="Clip 2 contains NaN"):
        Wav2Vec2FeatureExtractor(do_normalize=do_normalize)(clips, padding=True, sampling_rate=16000)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"padding": "max_length"}, "needs max_length"),
        ({"padding": "longestt"}, "not a padding strategy"),
        ({"truncation": True}, "truncation=True needs max_length"),
        ({"padding": True, "pad_to_multiple_of": 0}, "positive integer"),
    ],
)
def test_bad_padding_arguments(clips: list[np.ndarray], kwargs: dict, match: str) -> None:
    with pytest.raises(FeatureExtractionError, match=match):
        Wav2Vec2FeatureExtractor()(clips, sampling_rate=16000, **kwargs)


def test_the_padding_options_are_one_group_with_each_methods_default(clips: list[np.ndarray]) -> None:
    """``__call__`` and ``pad`` take the same padding options (AudioPaddingKwargs); ``pad`` pads unless told not
    to, ``__call__`` only when asked; a misspelt option is refused with the name it misses, by both."""
    from modelyard.errors import UnexpectedArgumentError

    fe = Wav2Vec2FeatureExtractor(do_normalize=False)
    assert [len(row) for row in fe(clips, sampling_rate=16000)["input_values"]] == [300, 170, 233]
    assert fe.pad({"input_values": clips})["input_values"].shape == (3, 300)
    assert [len(row) for row in fe.pad({"input_values": clips}, padding=False)["input_values"]] == [300, 170, 233]
    for call in (lambda: fe(clips, sampling_rate=16000, paddding=True), lambda: fe.pad({"input_values": clips}, max_lenght=8)):
        with pytest.raises(UnexpectedArgumentError, match="did you mean 'padding'|did you mean 'max_length'"):
            call()
    with pytest.raises(TypeError):  # the options are keywords (as every caller passes them)
        fe(clips, True)


@pytest.mark.parametrize(
    "kwargs", [{"padding_side": "middle"}, {"sampling_rate": 0}, {"feature_size": "1"}]
)
def test_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        Wav2Vec2FeatureExtractor(**kwargs)


# ---------------------------------------------------------------------------------------------- pad()
def test_pad_collates_a_list_of_dicts(clips: list[np.ndarray]) -> None:
    fe = Wav2Vec2FeatureExtractor()
    batch = fe.pad([{"input_values": c} for c in clips], padding=True, return_attention_mask=True)
    assert isinstance(batch, BatchFeature)
    assert batch["input_values"].shape == (3, 300) and batch["attention_mask"].dtype == np.int32
    np.testing.assert_array_equal(batch["input_values"][1, :170], clips[1])
    assert fe.pad({"input_values": [c.tolist() for c in clips]}, padding="max_length", max_length=310)[
        "input_values"
    ].shape == (3, 310)
    with pytest.raises(FeatureExtractionError, match="needs the key 'input_values'"):
        fe.pad({"features": clips})


def test_pad_feature_vectors() -> None:
    from modelyard import SequenceFeatureExtractor

    class Vectors(SequenceFeatureExtractor):
        model_input_names = ["input_features", "attention_mask"]

    fe = Vectors(feature_size=4, sampling_rate=100, padding_value=-1.0, padding_side="left")
    batch = fe.pad({"input_features": [np.ones((3, 4)), np.ones((5, 4))]}, padding=True)
    assert batch["input_features"].shape == (2, 5, 4) and batch["input_features"].dtype == np.float32
    np.testing.assert_array_equal(batch["input_features"][0, :2], -1.0)
    np.testing.assert_array_equal(batch["attention_mask"][0], [0, 0, 1, 1, 1])
