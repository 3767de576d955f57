"""Saving over the checkpoint a model was loaded from: the model's weights are views of those files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from modelyard import DistilBertConfig, DistilBertModel
from modelyard.atomic_write import replacing


def _tiny() -> DistilBertModel:
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=300, dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=40)
    return DistilBertModel(config)


@pytest.mark.parametrize(
    "save_kwargs",
    [{"safe_serialization": False}, {"safe_serialization": True}, {"max_shard_size": "60KB"}],
    ids=["bin", "safetensors", "sharded"],
)
def test_a_loaded_model_saved_into_its_own_folder_keeps_its_weights(tmp_path: Path, save_kwargs: dict) -> None:
    # In a child process: overwriting a mapped file in place ends in SIGBUS, which would take pytest down.
    code = textwrap.dedent(f"""
        import torch
        from modelyard import DistilBertModel
        model = DistilBertModel.from_pretrained({str(tmp_path)!r})
        before = {{k: v.clone() for k, v in model.state_dict().items()}}
        with torch.no_grad():
            model.embeddings.word_embeddings.weight[0] += 1.0  # a fine-tuning step
        before["embeddings.word_embeddings.weight"][0] += 1.0
        model.save_pretrained({str(tmp_path)!r}, **{save_kwargs!r})
        again = DistilBertModel.from_pretrained({str(tmp_path)!r})
        for state in (model.state_dict(), again.state_dict()):
            assert all(torch.equal(before[k], v) for k, v in state.items())
        print("intact")
    """)
    _tiny().save_pretrained(tmp_path, **save_kwargs)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "intact" in result.stdout, (result.returncode, result.stderr[-2000:])
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_save_leaves_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tiny().save_pretrained(tmp_path, safe_serialization=False)
    weights = tmp_path / "pytorch_model.bin"
    before = weights.read_bytes()

    def full_disk(obj: object, path: str, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        _tiny().save_pretrained(tmp_path, safe_serialization=False)
    assert weights.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "pytorch_model.bin"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_files_take_the_umask_or_the_mode_they_replace(tmp_path: Path) -> None:
    old_umask = os.umask(0o027)
    try:
        _tiny().save_pretrained(tmp_path)
    finally:
        os.umask(old_umask)
    weights = tmp_path / "model.safetensors"
    assert stat.S_IMODE(weights.stat().st_mode) == 0o640  # not the 0600 of a private temporary file
    weights.chmod(0o604)
    _tiny().save_pretrained(tmp_path)
    assert stat.S_IMODE(weights.stat().st_mode) == 0o604


def test_replacing_swaps_in_one_rename(tmp_path: Path) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with replacing(target) as temp:
        temp.write_bytes(b"new")
        assert target.read_bytes() == b"old" and temp.parent == tmp_path
    assert target.read_bytes() == b"new" and not temp.exists()
