"""Fixtures for the custom-code tests: isolation of registrations, trusted publishers and imported modules."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator

import huggingface_hub.constants as hf_constants  # imported now, while HF_HUB_OFFLINE is unset
import pytest
from _dynamic_helpers import NetworkGuard

from modelyard import registry
from modelyard.dynamic_modules import cache, set_remote_transformers, set_trusted_publishers


@pytest.fixture(autouse=True)
def isolated_custom_code(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no remote module imported, no trusted publisher, the registrations it found."""
    monkeypatch.delenv("MODELYARD_TRUST_PROMPT_TIMEOUT", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    before = registry.registrations_snapshot()
    yield
    registry.restore_registrations(before)
    set_trusted_publishers(None)
    set_remote_transformers(None)
    for name in cache.loaded_module_names():
        sys.modules.pop(name, None)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
    """Any outgoing connection raises (and is recorded): proof that a load stayed offline."""
    guard = NetworkGuard()
    monkeypatch.setattr(socket.socket, "connect", guard.refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", guard.refuse)
    return guard


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_HUB_OFFLINE=1 for modelyard (read at call time) and for the client (which copied it at import)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
