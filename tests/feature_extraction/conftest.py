"""Shared fixtures for the feature-extraction tests (subprocess helpers live in fe_subprocess.py)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240607)
