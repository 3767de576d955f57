"""Readahead hints for checkpoint files: in read order, within half the available memory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from modelyard.weights import prefetch as prefetch_module
from modelyard.weights.prefetch import available_memory, prefetch


def _files(tmp_path: Path, sizes: list[int]) -> list[Path]:
    paths = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"model-{i:05d}.safetensors"
        path.write_bytes(b"\0" * size)
        paths.append(path)
    return paths


@pytest.fixture
def advice(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []

    def record(fd: int, offset: int, length: int, advice_: int) -> None:
        calls.append((os.fstat(fd).st_size, advice_))

    monkeypatch.setattr(os, "posix_fadvise", record, raising=False)
    monkeypatch.setattr(os, "POSIX_FADV_WILLNEED", 3, raising=False)
    return calls


def test_files_are_advised_in_order_until_half_the_memory_is_spoken_for(
    tmp_path: Path, advice: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _files(tmp_path, [300, 400, 200, 10])
    monkeypatch.setattr(prefetch_module, "available_memory", lambda: 2 * 800)
    assert prefetch(paths) == paths[:2]  # the third would pass the budget: stop there, not skip ahead
    assert advice == [(300, 3), (400, 3)]


def test_unknown_memory_or_no_fadvise_means_no_hint(
    tmp_path: Path, advice: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _files(tmp_path, [10])
    monkeypatch.setattr(prefetch_module, "available_memory", lambda: 0)
    assert prefetch(paths) == [] and advice == []
    monkeypatch.setattr(prefetch_module, "available_memory", lambda: 10**9)
    monkeypatch.delattr(os, "posix_fadvise")
    assert prefetch(paths) == []


def test_a_missing_file_is_left_to_the_reader(tmp_path: Path, advice: list[tuple[int, int]]) -> None:
    assert prefetch([tmp_path / "gone.safetensors"]) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="posix_fadvise and /proc/meminfo")
def test_the_real_hint_is_accepted(tmp_path: Path) -> None:
    paths = _files(tmp_path, [4096, 8192])
    assert available_memory() > 0
    assert prefetch(paths) == paths


def test_from_pretrained_prefetches_every_shard_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard import DistilBertConfig, DistilBertModel
    from modelyard.weights import checkpoint

    config = DistilBertConfig(vocab_size=300, dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=40)
    DistilBertModel(config).save_pretrained(tmp_path, max_shard_size="60KB")
    seen: list[list[str]] = []
    monkeypatch.setattr(checkpoint, "prefetch", lambda paths: seen.append([p.name for p in paths]) or [])
    DistilBertModel.from_pretrained(tmp_path)
    shards = sorted(p.name for p in tmp_path.glob("model-*.safetensors"))
    assert len(shards) > 1 and seen == [shards]
