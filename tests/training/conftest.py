"""Fixtures of the Trainer tests; the whole folder needs accelerate (the `train` extra)."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("accelerate")

from _toys import separable  # noqa: E402


@pytest.fixture
def toy_data() -> list[dict]:
    return separable()


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)
