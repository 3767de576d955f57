"""Subprocess helpers for the feature-extraction tests.

A module of its own (not conftest.py): `from conftest import ...` would pick whichever test folder's
conftest was imported first, so it breaks depending on which tests are collected.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_PYTHON = REPO_ROOT / ".venv-ref" / "bin" / "python"


def run_reference(code: str, *, cwd: Path, timeout: int = 120) -> str:
    """Run ``code`` with the reference library's interpreter; skip the test when it is not installed."""
    if not REFERENCE_PYTHON.exists():
        pytest.skip("the reference library environment (.venv-ref) is not installed")
    result = subprocess.run(
        [str(REFERENCE_PYTHON), "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"TRANSFORMERS_VERBOSITY": "error", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
             "HOME": str(cwd), "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def run_modelyard(code: str, *, cwd: Path, timeout: int = 120) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
