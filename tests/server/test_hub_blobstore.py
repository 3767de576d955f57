"""The blob store's writer: direct I/O where the filesystem takes it, buffered fallback, bytes always intact."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from modelyard.server.blobstore import DIRECT_ALIGN, BlobStore, aligned_buffer
from modelyard.server.config import HubSettings
from modelyard.server.errors import HubHTTPError

BLOCK = 64 * 1024


def _aligned(content: bytes):
    buf = aligned_buffer(len(content))
    buf[:] = content
    return buf


def _direct_store(tmp_path: Path) -> BlobStore:
    store = BlobStore(tmp_path, direct_io=True)
    with store.writer() as probe:
        if not probe.direct:
            pytest.skip(f"the filesystem under {tmp_path} refuses O_DIRECT (or the OS has none)")
    return store


def test_aligned_blocks_go_direct_and_an_odd_tail_falls_back(tmp_path: Path) -> None:
    store = _direct_store(tmp_path)
    blocks = [os.urandom(BLOCK) for _ in range(3)]
    tail = os.urandom(1234)
    content = b"".join(blocks) + tail
    with store.writer() as writer:
        for block in blocks:
            writer.write(memoryview(_aligned(block)))
        assert writer.direct, "aligned blocks at aligned offsets should stay on direct I/O"
        writer.write(tail)
        assert not writer.direct
        sha = writer.commit(expected_sha256=hashlib.sha256(content).hexdigest(), expected_size=len(content))
    assert store.path(sha).read_bytes() == content


def test_unaligned_buffer_of_aligned_length_is_written_buffered(tmp_path: Path) -> None:
    # A plain bytes object is not page-aligned: the kernel answers EINVAL and the writer retries buffered.
    store = _direct_store(tmp_path)
    content = os.urandom(DIRECT_ALIGN * 4)
    with store.writer() as writer:
        writer.write(_aligned(content[:DIRECT_ALIGN * 2]))
        writer.write(content[DIRECT_ALIGN * 2:])
        sha = writer.commit(expected_size=len(content))
    assert sha == hashlib.sha256(content).hexdigest()
    assert store.path(sha).read_bytes() == content


def test_rollback_to_an_odd_size_keeps_the_bytes_right(tmp_path: Path) -> None:
    store = _direct_store(tmp_path)
    first, lost, after = os.urandom(BLOCK), os.urandom(BLOCK), os.urandom(BLOCK)
    with store.writer() as writer:
        writer.write(_aligned(first))
        writer.write(b"xyz")
        point = writer.checkpoint()
        writer.write(_aligned(lost))
        writer.rollback(point)
        writer.write(_aligned(after))
        sha = writer.commit()
    assert store.path(sha).read_bytes() == first + b"xyz" + after


def test_mismatch_is_refused_and_leaves_no_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, direct_io=True)
    content = os.urandom(BLOCK)
    with store.writer() as writer:
        writer.write(_aligned(content))
        with pytest.raises(HubHTTPError, match="sha256"):
            writer.commit(expected_sha256="0" * 64, expected_size=len(content))
    assert [p for p in store.blobs.rglob("*") if p.is_file()] == []
    assert not any(store.tmp.iterdir())


def test_buffered_store_never_uses_direct_io(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, direct_io=False)
    with store.writer() as writer:
        writer.write(_aligned(os.urandom(BLOCK)))
        assert not writer.direct


def test_direct_io_setting_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert HubSettings(data_dir=tmp_path).direct_io is True
    monkeypatch.setenv("MODELYARD_HUB_DIRECT_IO", "off")
    assert HubSettings.from_env(data_dir=tmp_path).direct_io is False
    monkeypatch.setenv("MODELYARD_HUB_DIRECT_IO", "maybe")
    with pytest.raises(ValueError, match="MODELYARD_HUB_DIRECT_IO='maybe'.*write 1 or 0"):
        HubSettings.from_env(data_dir=tmp_path)
