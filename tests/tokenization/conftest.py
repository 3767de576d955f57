"""Fixtures of the tokenizer tests: tokenizers loaded once from the real MiniLM vocabulary (read-only use)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tokenizer_helpers import IMPLS, SETTINGS, load_bert, minilm_dir


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return minilm_dir()


@pytest.fixture(scope="session")
def bert_tokenizers() -> dict[tuple[str, str], Any]:
    """(impl, setting) -> tokenizer, shared by tests that do not change them."""
    return {(impl, setting): load_bert(impl, setting) for impl in IMPLS for setting in SETTINGS}
