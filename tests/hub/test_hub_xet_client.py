"""modelyard's own uploads (push_to_hub, ``modelyard upload``) use Xet where the hub takes it, Git LFS elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from _hub_server import HubServer
from common.tolerance import assert_same_weights

from modelyard import BertConfig, BertModel
from modelyard.cli.main import main
from modelyard.hub.xet import hub_speaks_xet

MiB = 1024 * 1024


def large_model() -> BertModel:
    """About 16 MB of weights: above the 10 MiB that preupload keeps regular."""
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30000, hidden_size=128, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64)
    return BertModel(config).eval()


def _storage(hub: HubServer, repo: str, path: str) -> str:
    entry = hub.api().get_paths_info(repo, [path])[0]
    return "xet" if entry.xet_hash and not entry.xet_hash.startswith("sha256:") else "lfs"


def test_push_to_hub_of_a_large_model_goes_through_xet(hub_env: HubServer) -> None:
    repo = hub_env.repo_id("xet-push")
    model = large_model()
    model.push_to_hub(repo)
    assert _storage(hub_env, repo, "model.safetensors") == "xet"
    assert_same_weights(BertModel.from_pretrained(repo), model)


@pytest.fixture
def lfs_only_hub(tmp_path: Path) -> Iterator[HubServer]:
    server = HubServer(tmp_path / "hub", xet_uploads=False).start()
    with server.env():
        yield server
    server.stop()


def test_push_to_hub_uses_lfs_on_a_hub_that_takes_no_xet_uploads(lfs_only_hub: HubServer) -> None:
    from huggingface_hub import constants

    repo = lfs_only_hub.repo_id("lfs-push")
    model = large_model()
    model.push_to_hub(repo)
    assert _storage(lfs_only_hub, repo, "model.safetensors") == "lfs"
    assert constants.HF_HUB_DISABLE_XET is False  # switched off for that upload only
    assert_same_weights(BertModel.from_pretrained(repo), model)
    # The stock client, which cannot fall back by itself, is told the fix.
    with pytest.raises(Exception, match="HF_HUB_DISABLE_XET=1"):
        lfs_only_hub.api().upload_file(path_or_fileobj=os.urandom(11 * MiB), path_in_repo="x.bin", repo_id=repo)


def test_the_probe_asks_the_hub_for_the_token_the_upload_needs(hub_env: HubServer, lfs_only_hub: HubServer) -> None:
    repo = hub_env.repo_id("probe")
    hub_env.api().create_repo(repo)
    assert hub_speaks_xet(hub_env.url, repo, token=hub_env.token)
    assert hub_speaks_xet(hub_env.url, repo, token=hub_env.token, create_pr=True)
    assert not hub_speaks_xet(hub_env.url, repo, token=hub_env.token, revision="no-such-branch")
    assert not hub_speaks_xet(hub_env.url, "alice/does-not-exist", token=hub_env.token)
    assert not hub_speaks_xet("http://127.0.0.1:9", repo, token=hub_env.token)
    other = lfs_only_hub.repo_id("probe")
    lfs_only_hub.api().create_repo(other)
    assert not hub_speaks_xet(lfs_only_hub.url, other, token=lfs_only_hub.token)


def test_cli_upload_goes_through_xet(hub_env: HubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = hub_env.repo_id("xet-cli")
    data = os.urandom(11 * MiB)
    (tmp_path / "w.safetensors").write_bytes(data)
    assert main(["upload", repo, str(tmp_path / "w.safetensors")]) == 0
    assert "/commit/" in capsys.readouterr().out
    assert _storage(hub_env, repo, "w.safetensors") == "xet"
    assert main(["download", repo, "w.safetensors", "--cache-dir", str(tmp_path / "c")]) == 0
    assert Path(capsys.readouterr().out.strip()).read_bytes() == data
