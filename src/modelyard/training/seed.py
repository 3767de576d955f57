"""Seeding and the random-number-generator states a checkpoint keeps.

The states are stored as tensors, ints and lists only, so reading them back goes through
``torch.load(weights_only=True)``: a checkpoint never needs unpickling arbitrary objects.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from modelyard.training.errors import CheckpointError


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every GPU); ``deterministic=True`` also asks torch
    for deterministic kernels (slower; errors on operations that have none)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)


def enable_full_determinism(seed: int, warn_only: bool = False) -> None:
    """:func:`set_seed` plus deterministic kernels everywhere, for runs that must repeat bit for bit (slower):
    torch's deterministic algorithms (``warn_only``: warn instead of failing on an operation that has none),
    cuDNN without benchmarking, and the cuBLAS workspace setting deterministic matrix products need."""
    set_seed(seed)
    os.environ["CUDA_LAUNCH_BLOCKING"] = "1"
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":16:8"
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def capture_rng_state() -> dict[str, Any]:
    """This process's generator states, as plain data (see the module docstring)."""
    version, internal, gauss = random.getstate()
    # numpy's stubs give get_state() a union of the legacy tuple and the dict form; the default is the tuple
    kind, keys, pos, has_gauss, cached = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())
    state: dict[str, Any] = {
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached),
        },
        "cpu": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    try:
        py = state["python"]
        random.setstate((py["version"], tuple(int(v) for v in py["internal"].tolist()), py["gauss"]))
        n = state["numpy"]
        np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
        torch.set_rng_state(state["cpu"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"The checkpoint's RNG state is malformed ({err}); it cannot be resumed exactly.") from err
    if "cuda" in state and torch.cuda.is_available():
        saved = state["cuda"]
        if len(saved) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(saved)


def save_rng_state(path: Path) -> None:
    torch.save(capture_rng_state(), path)


def load_rng_state(path: Path) -> None:
    restore_rng_state(torch.load(path, weights_only=True))
