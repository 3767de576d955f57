"""Shared helpers for the hub server tests (the live server itself comes from ``tests/_hub_server.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from _hub_server import HubServer
from huggingface_hub import HfApi


@pytest.fixture
def api(hub_server: HubServer) -> HfApi:
    """An ``HfApi`` on the test hub with alice's write token."""
    return hub_server.api()


@pytest.fixture
def repo(hub_server: HubServer, api: HfApi) -> str:
    """A fresh public model repo of alice's."""
    repo_id = hub_server.repo_id("t")
    api.create_repo(repo_id)
    return repo_id


@pytest.fixture(autouse=True)
def _no_xet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server tests drive the LFS paths (basic, multipart, verify...) unless they opt in to Xet, as
    ``test_hub_xet.py`` does; ``hub_env`` runs the client as installed (Xet on)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)


@pytest.fixture
def make_folder(tmp_path: Path) -> Callable[[dict[str, bytes | int]], Path]:
    """Write a folder from ``{relative path: bytes or a size of random bytes}``."""
    counter = [0]

    def make(files: dict[str, bytes | int]) -> Path:
        counter[0] += 1
        root = tmp_path / f"folder{counter[0]}"
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(content) if isinstance(content, int) else content)
        return root

    return make
