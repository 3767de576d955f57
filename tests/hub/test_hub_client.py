"""The library as a hub client: push_to_hub, loading by repo id and revision, offline, refusals.

Runs against a real modelyard hub on loopback (the ``hub_env`` fixture sets HF_ENDPOINT/HF_TOKEN).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest
import torch
from common.tolerance import assert_close_kernels, assert_same_weights

from modelyard import (
    AutoConfig,
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
)
from modelyard.errors import (
    HubError,
    OfflineModeError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    UnsafeFileError,
)


def tiny_config(**overrides: object) -> BertConfig:
    values = dict(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=24)
    values.update(overrides)
    return BertConfig(**values)  # type: ignore[arg-type]


def tiny_model(seed: int = 0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    return BertForSequenceClassification(tiny_config()).eval()


IDS = torch.tensor([[2, 5, 7, 9, 3]])


def test_push_then_load_by_repo_id(hub_env) -> None:
    repo = hub_env.repo_id("bert-push")
    model = tiny_model()
    info = model.push_to_hub(repo, commit_message="first weights")
    assert info.oid and len(info.oid) == 40
    files = {f for f in hub_env.api().list_repo_files(repo)}
    assert {"config.json", "model.safetensors"} <= files

    loaded = AutoModelForSequenceClassification.from_pretrained(repo)
    assert type(loaded) is BertForSequenceClassification
    assert_same_weights(loaded, model)
    assert_close_kernels(loaded(IDS).logits, model(IDS).logits, depth=4)
    assert loaded.config.name_or_path == repo


def test_bare_name_goes_to_the_users_namespace(hub_env) -> None:
    name = hub_env.repo_id("bare").split("/")[1]
    tiny_config().push_to_hub(name)
    config = AutoConfig.from_pretrained(f"{hub_env.user}/{name}")
    assert isinstance(config, BertConfig) and config.hidden_size == 16


def test_revision_pins_a_commit_while_main_moves(hub_env) -> None:
    repo = hub_env.repo_id("bert-revisions")
    first = tiny_model(seed=0)
    commit = first.push_to_hub(repo).oid
    second = tiny_model(seed=1)
    second.push_to_hub(repo, commit_message="retrained")

    pinned = BertForSequenceClassification.from_pretrained(repo, revision=commit)
    latest = BertForSequenceClassification.from_pretrained(repo)
    assert_same_weights(pinned, first)
    assert_close_kernels(pinned(IDS).logits, first(IDS).logits, depth=4)
    assert_same_weights(latest, second)

    hub_env.api().create_tag(repo, tag="v1", revision=commit)
    tagged = BertForSequenceClassification.from_pretrained(repo, revision="v1")
    assert_same_weights(tagged, first)


def test_push_to_a_branch_and_a_pull_request(hub_env) -> None:
    repo = hub_env.repo_id("bert-branches")
    tiny_config(hidden_size=16).push_to_hub(repo)
    tiny_config(hidden_size=32, intermediate_size=8).push_to_hub(repo, revision="dev")
    assert BertConfig.from_pretrained(repo, revision="dev").hidden_size == 32
    assert BertConfig.from_pretrained(repo).hidden_size == 16
    info = tiny_config(hidden_size=64).push_to_hub(repo, create_pr=True)
    assert info.pr_revision is not None and info.pr_revision.startswith("refs/pr/")
    assert BertConfig.from_pretrained(repo, revision=info.pr_revision).hidden_size == 64
    assert BertConfig.from_pretrained(repo).hidden_size == 16


def test_offline_loads_from_the_cache_without_network(hub_env, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = hub_env.repo_id("bert-offline")
    model = tiny_model()
    commit = model.push_to_hub(repo).oid
    BertForSequenceClassification.from_pretrained(repo)  # fills the cache and refs/main

    # No network: point the endpoint at a dead port, then go offline.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = BertForSequenceClassification.from_pretrained(repo)
    assert_same_weights(offline, model)
    assert_close_kernels(offline(IDS).logits, model(IDS).logits, depth=4)
    pinned = BertForSequenceClassification.from_pretrained(repo, revision=commit)
    assert_same_weights(pinned, model)
    with pytest.raises(OfflineModeError, match="not in the local cache"):
        BertForSequenceClassification.from_pretrained(repo, revision="never-fetched")


def test_local_files_only_is_offline_too(hub_env) -> None:
    repo = hub_env.repo_id("bert-lfo")
    tiny_config().push_to_hub(repo)
    with pytest.raises(OfflineModeError):
        BertConfig.from_pretrained(repo, local_files_only=True)
    BertConfig.from_pretrained(repo)
    assert BertConfig.from_pretrained(repo, local_files_only=True).hidden_size == 16


def test_missing_repo_and_revision_are_named(hub_env) -> None:
    with pytest.raises(RepositoryNotFoundError, match="alice/does-not-exist"):
        BertConfig.from_pretrained("alice/does-not-exist")
    repo = hub_env.repo_id("bert-rev")
    tiny_config().push_to_hub(repo)
    with pytest.raises(RevisionNotFoundError, match="no-such-branch"):
        BertConfig.from_pretrained(repo, revision="no-such-branch")


def test_private_repo_is_invisible_to_others(hub_env, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = hub_env.repo_id("bert-private")
    tiny_config().push_to_hub(repo, private=True)
    assert BertConfig.from_pretrained(repo).hidden_size == 16
    other = hub_env.add_user("mallory")
    with pytest.raises(RepositoryNotFoundError):
        BertConfig.from_pretrained(repo, token=other)
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(RepositoryNotFoundError):
        BertConfig.from_pretrained(repo, token=False)


class _Exploit:
    def __reduce__(self):  # would run a shell command if anyone unpickled it
        import os

        return (os.system, ("echo pwned > /tmp/modelyard-pwned",))


def test_file_flagged_unsafe_by_the_hub_is_refused(hub_env, unsafe_pickles_marked, tmp_path: Path) -> None:
    """A hub that accepts and marks such files (as the Hugging Face Hub does): modelyard refuses to load them."""
    repo = hub_env.repo_id("bert-pickle")
    api = hub_env.api()
    api.create_repo(repo)
    tiny_config().save_pretrained(tmp_path)
    buffer = io.BytesIO()
    pickle.dump({"weight": _Exploit()}, buffer)
    (tmp_path / "pytorch_model.bin").write_bytes(buffer.getvalue())
    api.upload_folder(repo_id=repo, folder_path=tmp_path)
    with pytest.raises(UnsafeFileError, match="pytorch_model.bin"):
        BertForSequenceClassification.from_pretrained(repo)
    assert not Path("/tmp/modelyard-pwned").exists()


def test_unreachable_hub_falls_back_to_the_cached_commit(hub_env, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = hub_env.repo_id("bert-unreachable")
    tiny_config().push_to_hub(repo)
    assert BertConfig.from_pretrained(repo).hidden_size == 16
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there; not offline mode
    assert BertConfig.from_pretrained(repo).hidden_size == 16
    with pytest.raises(HubError, match="Could not reach the hub"):
        BertConfig.from_pretrained(hub_env.repo_id("never-pushed"))
