"""Suite-wide fixtures: every test runs with its own empty caches and home, and never reaches a network hub."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Shared fixtures that live in their own modules (tests/ is on sys.path in pytest's default import mode).
pytest_plugins = ["_hub_server", "_backing_servers"]

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME, HF_HOME, the hub cache and modelyard's module cache at a fresh temp folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hf" / "hub"))
    monkeypatch.setenv("MODELYARD_HOME", str(home / "modelyard"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_UPDATE_CHECK", "1")
    # Nothing may reach huggingface.co from the tests: an unreachable endpoint fails fast.
    monkeypatch.setenv("HF_ENDPOINT", os.environ.get("MODELYARD_TEST_ENDPOINT", "http://127.0.0.1:9"))
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "MODELYARD_TRUSTED_PUBLISHERS",
                 "MODELYARD_REMOTE_TRANSFORMERS"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
