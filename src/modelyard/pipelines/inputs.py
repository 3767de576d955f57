"""Reading what users pass to a pipeline: images, audio, and the ways several inputs arrive.

Images: a ``PIL.Image``, a NumPy array or a local file path. Audio: a 1-D NumPy array (or torch tensor) at the
feature extractor's sampling rate, a dict ``{"array"|"raw": ..., "sampling_rate": ...}``, ``bytes`` of a WAV
file, or a local ``.wav`` path (read with the standard library's ``wave``: there is no ffmpeg here to decode
other formats). Nothing is fetched from the network.
"""

from __future__ import annotations

import io
import os
import types
import wave
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.errors import PipelineError


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def load_image(image: Any) -> Any:
    """A PIL image (or an array the image processor reads) from what the user passed."""
    if isinstance(image, (str, os.PathLike)):
        text = str(image)
        if _is_url(text):
            raise PipelineError(
                f"Image {text!r} is a URL; modelyard's pipelines read local files only. Download it first and pass "
                "the path, or pass a PIL.Image."
            )
        path = Path(text).expanduser()
        if not path.is_file():
            raise PipelineError(f"Image file {text!r} does not exist; pass an existing image path or a PIL.Image.")
        from PIL import Image

        with Image.open(path) as opened:
            opened.load()
            return opened.convert("RGB") if opened.mode not in ("RGB", "L") else opened.copy()
    if type(image).__module__.startswith("PIL.") or isinstance(image, np.ndarray):
        return image
    if type(image).__module__.startswith("torch"):
        return image
    raise PipelineError(
        f"Cannot read an image from a {type(image).__name__}; pass a PIL.Image, a NumPy array or a local file path."
    )


def _read_wav(data: bytes | str | Path, *, what: str) -> tuple[np.ndarray, int]:
    """Samples in [-1, 1] (float32, channels averaged) and the rate of a PCM WAV file."""
    try:
        with wave.open(io.BytesIO(data) if isinstance(data, bytes) else str(data), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as err:
        raise PipelineError(
            f"Cannot read {what} as a PCM WAV file ({err}). modelyard reads .wav files with the standard library "
            "(there is no ffmpeg to decode other formats): convert it to PCM WAV, or pass the samples as a NumPy "
            "array with {'array': ..., 'sampling_rate': ...}."
        ) from err
    if width == 1:  # 8-bit WAV is unsigned
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:  # 24-bit: widen each little-endian sample to 32 bits
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3)
        wide = np.zeros((raw.shape[0], 4), dtype=np.uint8)
        wide[:, 1:] = raw
        samples = wide.view("<i4").reshape(-1).astype(np.float32) / 2.0**31
    elif width in (2, 4):
        kind = "<i2" if width == 2 else "<i4"
        samples = np.frombuffer(frames, dtype=kind).astype(np.float32) / float(2 ** (8 * width - 1))
    else:
        raise PipelineError(f"{what} has {8 * width}-bit samples; modelyard reads 8, 16, 24 and 32-bit PCM WAV.")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples.astype(np.float32), rate


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Band-limited resampling of a whole signal (its spectrum cut or zero-padded), no extra dependency."""
    if rate == target or samples.size == 0:
        return samples
    length = max(1, int(round(samples.shape[0] * target / rate)))
    spectrum = np.fft.rfft(samples.astype(np.float64))
    bins = length // 2 + 1
    if bins <= spectrum.shape[0]:
        spectrum = spectrum[:bins]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins - spectrum.shape[0], dtype=spectrum.dtype)])
    return (np.fft.irfft(spectrum, n=length) * (length / samples.shape[0])).astype(np.float32)


def load_audio(audio: Any, sampling_rate: int) -> np.ndarray:
    """A 1-D float array at ``sampling_rate`` from what the user passed (see the module doc)."""
    if isinstance(audio, (str, os.PathLike)):
        text = str(audio)
        if _is_url(text):
            raise PipelineError(
                f"Audio {text!r} is a URL; modelyard's pipelines read local files only. Download it first."
            )
        path = Path(text).expanduser()
        if not path.is_file():
            raise PipelineError(f"Audio file {text!r} does not exist; pass an existing .wav path or a NumPy array.")
        if path.suffix.lower() not in (".wav", ".wave"):
            raise PipelineError(
                f"Audio file {text!r} is not a .wav file. modelyard decodes WAV only (with the standard library; "
                "there is no ffmpeg here): convert it to WAV, or decode it yourself and pass "
                "{'array': samples, 'sampling_rate': rate}."
            )
        samples, rate = _read_wav(path, what=f"audio file {text!r}")
        return resample(samples, rate, sampling_rate)
    if isinstance(audio, (bytes, bytearray)):
        samples, rate = _read_wav(bytes(audio), what="the audio bytes")
        return resample(samples, rate, sampling_rate)
    if isinstance(audio, dict):
        array = audio.get("raw", audio.get("array"))
        if array is None or "sampling_rate" not in audio:
            raise PipelineError(
                f"An audio dict needs 'array' (or 'raw') and 'sampling_rate' keys; got keys {sorted(audio)}."
            )
        samples = _as_array(array)
        return resample(samples, int(audio["sampling_rate"]), sampling_rate)
    return _as_array(audio)


def _as_array(audio: Any) -> np.ndarray:
    if type(audio).__module__.startswith("torch"):
        audio = audio.detach().cpu().numpy()
    if not isinstance(audio, np.ndarray):
        raise PipelineError(
            f"Cannot read audio from a {type(audio).__name__}; pass a 1-D NumPy array, a dict with 'array' and "
            "'sampling_rate', or a local .wav path."
        )
    if audio.ndim == 2:  # (channels, samples): one channel, as the reference does
        audio = audio.mean(axis=0)
    if audio.ndim != 1:
        raise PipelineError(f"Audio must be 1-D (one channel); got an array of shape {audio.shape}.")
    return audio


class KeyDataset:
    """One column of a dataset as a sequence of inputs: ``pipe(KeyDataset(ds, "text"))``."""

    def __init__(self, dataset: Any, key: str) -> None:
        self.dataset = dataset
        self.key = key

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index][self.key]

    def __iter__(self) -> Iterator[Any]:
        return (self[index] for index in range(len(self)))


class KeyPairDataset:
    """Two columns as text pairs: ``{"text": row[key1], "text_pair": row[key2]}`` (text classification)."""

    def __init__(self, dataset: Any, key1: str, key2: str) -> None:
        self.dataset = dataset
        self.key1 = key1
        self.key2 = key2

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.dataset[index]
        return {"text": row[self.key1], "text_pair": row[self.key2]}


def _is_dataset(value: Any) -> bool:
    """A torch/``datasets`` style dataset or a column of one: sized and indexable, not a plain input."""
    module = type(value).__module__
    return (isinstance(value, (KeyDataset, KeyPairDataset))
            or (hasattr(value, "__len__") and hasattr(value, "__getitem__")
                and (module.startswith("datasets") or module.startswith("torch.utils.data"))))


def _is_column(value: Any) -> bool:
    """A ``datasets`` column (``ds["text"]``): its values, read as a list."""
    return type(value).__name__ == "Column" and type(value).__module__.startswith("datasets")


def input_kind(inputs: Any) -> str:
    """``"list"`` (a list back), ``"stream"`` (an iterator back) or ``"single"`` (one result back)."""
    if isinstance(inputs, list) or _is_column(inputs):
        return "list"
    if isinstance(inputs, (types.GeneratorType, Iterator)) or _is_dataset(inputs):
        return "stream"
    return "single"


def iterate(inputs: Iterable[Any] | Sequence[Any]) -> Iterator[Any]:
    """Items of a list, a generator or a dataset (indexed, so map-style datasets work without iter)."""
    if _is_dataset(inputs) and not isinstance(inputs, (types.GeneratorType, Iterator)):
        sized: Any = inputs
        return (sized[i] for i in range(len(sized)))
    return iter(inputs)
