"""The trust gate probed from outside (issue 11, section 5): each test reproduces one way past the gate.

- a cross-repository ``auto_map`` reference that is a path, not a repo id, passing as a trusted publisher's;
- a trusted publisher's namespace vouching for an outsider's unmerged pull-request code;
- a built-in class standing in for refused custom code while part of the model would be random;
- a trusted namespace on one hub vouching for whoever owns the same name on another hub.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
from _dynamic_helpers import (
    NetworkGuard,
    hub_cache_repo,
    marker_code,
    toy_config_json,
    toy_files,
    toy_repo,
    write_files,
)
from safetensors.torch import load_file, save_file

from modelyard import AutoConfig, AutoModel, AutoModelForSequenceClassification, BertConfig
from modelyard.dynamic_modules import cache, set_trusted_publishers, trusted_publishers
from modelyard.errors import ConfigurationError, TrustRemoteCodeError

COMMIT = "c0ffee" + "0" * 34
HF = "https://huggingface.co"


def _marked_toy_files(marker: Path, *, version: str = "1") -> dict[str, str]:
    files = toy_files(version=version)
    files["configuration_toy.py"] = marker_code(marker) + files["configuration_toy.py"]
    return files


def _version(config: Any) -> str:
    return sys.modules[type(config).__module__].VERSION


# ------------------------------------------------------------------ 1. paths in cross-repository references
@pytest.mark.parametrize(
    "repo_part",
    ["acme/../evil", "acme/../../evil", "acme/x/../../evil", "/{tmp}/evil", "acme/..", "./evil", "~/evil", "acme/evil.git"],
)
def test_a_path_in_a_cross_repo_reference_is_refused_before_any_trust_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: NetworkGuard, repo_part: str
) -> None:
    """``acme/../evil--module.Class`` once counted as code of the trusted publisher ``acme`` and ran the
    local folder ``evil`` without consent."""
    monkeypatch.setenv("HF_ENDPOINT", HF)  # bare "acme" trusts acme on huggingface.co
    set_trusted_publishers(["acme"])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "acme" / "x").mkdir(parents=True)
    marker = tmp_path / "marker"
    write_files(tmp_path / "evil", _marked_toy_files(marker))
    reference = repo_part.replace("/{tmp}", str(tmp_path)) + "--configuration_toy.ToyConfig"
    weights = write_files(tmp_path / "weights", {"config.json": toy_config_json(auto_map={"AutoConfig": reference})})
    with pytest.raises(ConfigurationError) as info:
        AutoConfig.from_pretrained(weights)
    message = str(info.value)
    assert "not a valid repository id" in message and repr(reference) in message
    assert not marker.exists(), "code from a local folder ran without consent"
    assert cache.loaded_module_names() == []
    assert no_network.attempts == []


def test_a_cross_repo_reference_always_means_the_hub_never_a_same_named_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None
) -> None:
    """A valid repo id that is also a folder under the current directory still names the hub repository."""
    monkeypatch.setenv("HF_ENDPOINT", HF)
    set_trusted_publishers(["acme"])
    hub_cache_repo("acme/toy-code", COMMIT, toy_files(version="from-the-hub"))
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "marker"
    write_files(tmp_path / "acme" / "toy-code", _marked_toy_files(marker, version="local"))
    weights = write_files(
        tmp_path / "weights",
        {"config.json": toy_config_json(auto_map={"AutoConfig": "acme/toy-code--configuration_toy.ToyConfig"})},
    )
    config = AutoConfig.from_pretrained(weights)
    assert _version(config) == "from-the-hub"
    assert not marker.exists()


def test_class_references_are_parsed_strictly() -> None:
    from modelyard.dynamic_modules import parse_class_reference

    assert parse_class_reference("acme/net--modeling.Net") == ("acme/net", "modeling", "Net")
    assert parse_class_reference("gpt2--modeling.Net") == ("gpt2", "modeling", "Net")
    assert parse_class_reference("pkg.modeling.Net") == (None, "pkg.modeling", "Net")
    for bad in ("acme/../x--m.C", "a/b/c--m.C", "acme/-x--m.C", "acme/x y--m.C", "--m.C", "acme/x--m", "acme/x--m.1C"):
        with pytest.raises(ConfigurationError):
            parse_class_reference(bad)


# ------------------------------------------------------------------ 2. pull requests in a trusted repository
def _push(api: Any, repo_id: str, files: dict[str, str | bytes], *, create_pr: bool = False) -> Any:
    api.create_repo(repo_id, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        write_files(Path(folder), files)
        return api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="upload", create_pr=create_pr)


def test_a_trusted_namespace_does_not_vouch_for_an_outsiders_pull_request(hub_env: Any, tmp_path: Path) -> None:
    api = hub_env.api()
    repo = hub_env.repo_id("trusted-pr", hub_env.org)
    first = _push(api, repo, {**toy_files(version="publisher-1"), "config.json": toy_config_json()}).oid
    second = _push(api, repo, {**toy_files(version="publisher-2"), "config.json": toy_config_json()}).oid
    mallory = hub_env.api(token=hub_env.add_user("mallory"))
    marker = tmp_path / "marker"
    pr = _push(mallory, repo, {**_marked_toy_files(marker, version="mallory"), "config.json": toy_config_json()}, create_pr=True)
    assert pr.pr_revision == "refs/pr/1"

    set_trusted_publishers([f"{hub_env.url}/{hub_env.org}"])
    assert _version(AutoConfig.from_pretrained(repo)) == "publisher-2"  # the branch head
    assert _version(AutoConfig.from_pretrained(repo, revision=second)) == "publisher-2"
    assert _version(AutoConfig.from_pretrained(repo, revision=first)) == "publisher-1"  # older, still on main
    for revision in (pr.pr_revision, pr.oid):
        with pytest.raises(TrustRemoteCodeError) as info:
            AutoConfig.from_pretrained(repo, revision=revision)
        message = str(info.value)
        assert "not on any branch" in message or "pull request" in message, message
        assert "trust_remote_code=True" in message
        assert not marker.exists(), "an outsider's pull-request code ran on the publisher's trust"
    config = AutoConfig.from_pretrained(repo, revision=pr.pr_revision, trust_remote_code=True)  # explicit consent
    assert _version(config) == "mallory" and marker.exists()


def test_offline_a_trusted_load_needs_a_branch_the_cache_has_seen(offline: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_ENDPOINT", HF)
    set_trusted_publishers(["acme"])
    hub_cache_repo("acme/toy-net", COMMIT, {**toy_files(), "config.json": toy_config_json()})
    assert type(AutoConfig.from_pretrained("acme/toy-net")).__name__ == "ToyConfig"
    marker = tmp_path / "marker"
    pr_commit = "badc0de" + "0" * 33
    hub_cache_repo("acme/toy-net", pr_commit, {**_marked_toy_files(marker), "config.json": toy_config_json()}, ref="refs/pr/1")
    for revision in ("refs/pr/1", pr_commit):
        with pytest.raises(TrustRemoteCodeError):
            AutoConfig.from_pretrained("acme/toy-net", revision=revision)
    assert not marker.exists()


# ------------------------------------------------------------------ 3. built-in stand-ins only for complete loads
def _bert_checkpoint_with_custom_code(folder: Path, marker: Path, auto_class: str, model_class: str, *, drop: str = "",
                                      rename: tuple[str, str] | None = None) -> Path:
    from modelyard import BertForSequenceClassification, BertModel

    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    torch.manual_seed(0)
    model = (BertForSequenceClassification if auto_class != "AutoModel" else BertModel)(config)
    model.save_pretrained(folder)
    tensors = load_file(folder / "model.safetensors")
    if drop:
        tensors = {k: v for k, v in tensors.items() if drop not in k}
    if rename:
        tensors = {k.replace(*rename): v for k, v in tensors.items()}
    save_file(tensors, folder / "model.safetensors")
    data = json.loads((folder / "config.json").read_text())
    data["auto_map"] = {"AutoConfig": "configuration_toy.ToyConfig", auto_class: f"modeling_toy.{model_class}"}
    (folder / "config.json").write_text(json.dumps(data))
    files = toy_files(model_type="bert")
    files["configuration_toy.py"] = marker_code(marker) + files["configuration_toy.py"]
    files["modeling_toy.py"] = marker_code(marker) + files["modeling_toy.py"] + f"\n{model_class} = ToyModel\n"
    write_files(folder, files)
    return folder


@pytest.mark.parametrize("trust", [False, None])
def test_no_stand_in_when_part_of_the_base_model_would_be_random(tmp_path: Path, trust: bool | None) -> None:
    """Layer 1 of 2 missing: a "partial" load (about 38% of the parameters random) was accepted silently."""
    marker = tmp_path / "marker"
    folder = _bert_checkpoint_with_custom_code(tmp_path / "partial", marker, "AutoModel", "ToyModel", drop="layer.1.")
    with pytest.raises(TrustRemoteCodeError) as info:
        AutoModel.from_pretrained(folder, trust_remote_code=trust)
    message = str(info.value)
    assert "built-in BertModel" in message and "encoder.layer.1." in message and "random" in message, message
    assert not marker.exists()


@pytest.mark.parametrize("trust", [False, None])
def test_no_stand_in_that_would_replace_the_trained_head_with_a_random_one(tmp_path: Path, trust: bool | None) -> None:
    """The custom head is called ``score``: the built-in would drop it and add a random ``classifier``."""
    marker = tmp_path / "marker"
    folder = _bert_checkpoint_with_custom_code(
        tmp_path / "head", marker, "AutoModelForSequenceClassification", "ToyForSequenceClassification",
        rename=("classifier.", "score."),
    )
    with pytest.raises(TrustRemoteCodeError) as info:
        AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=trust)
    message = str(info.value)
    assert "built-in BertForSequenceClassification" in message
    assert "classifier.weight" in message and "score.weight" in message, message
    assert not marker.exists()


def test_a_stand_in_that_fits_completely_is_still_used(tmp_path: Path) -> None:
    folder = _bert_checkpoint_with_custom_code(
        tmp_path / "fits", tmp_path / "marker", "AutoModelForSequenceClassification", "ToyForSequenceClassification"
    )
    model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=False)
    assert type(model).__name__ == "BertForSequenceClassification"
    expected = load_file(folder / "model.safetensors")
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, expected[key]), key


# ------------------------------------------------------------------ 4. trust keyed by endpoint and namespace
def test_trust_is_keyed_by_endpoint_and_namespace(offline: None, monkeypatch: pytest.MonkeyPatch) -> None:
    hub_cache_repo("acme/toy-net", COMMIT, {**toy_files(), "config.json": toy_config_json()})
    other_hub = "http://127.0.0.1:9"  # the suite's HF_ENDPOINT
    monkeypatch.setenv("HF_ENDPOINT", other_hub)

    monkeypatch.setenv("MODELYARD_TRUSTED_PUBLISHERS", "acme")  # acme on huggingface.co, not on this hub
    with pytest.raises(TrustRemoteCodeError) as info:
        AutoConfig.from_pretrained("acme/toy-net")
    message = str(info.value)
    assert f"MODELYARD_TRUSTED_PUBLISHERS={other_hub}/acme" in message
    assert "acme is trusted on https://huggingface.co only" in message

    monkeypatch.setenv("MODELYARD_TRUSTED_PUBLISHERS", "HTTP://127.0.0.1:9/ACME/")
    assert trusted_publishers() == {f"{other_hub}/acme"}
    assert type(AutoConfig.from_pretrained("acme/toy-net")).__name__ == "ToyConfig"

    monkeypatch.setenv("HF_ENDPOINT", HF + "/")
    with pytest.raises(TrustRemoteCodeError):  # trusted on the other hub only
        AutoConfig.from_pretrained("acme/toy-net")
    monkeypatch.setenv("MODELYARD_TRUSTED_PUBLISHERS", f"{HF}/acme")
    assert trusted_publishers() == {"acme"}  # the default endpoint's entries keep their bare form
    assert type(AutoConfig.from_pretrained("acme/toy-net")).__name__ == "ToyConfig"
    monkeypatch.setenv("MODELYARD_TRUSTED_PUBLISHERS", "https://hub.example/acme")
    with pytest.raises(TrustRemoteCodeError):
        AutoConfig.from_pretrained("acme/toy-net")


def test_trusted_publisher_entries_are_validated() -> None:
    for bad in ("acme/toy-net", "https://hub.example/", "ftp://hub.example/acme", "acme/../x", "a b"):
        with pytest.raises(ConfigurationError):
            set_trusted_publishers([bad])
    set_trusted_publishers(["Acme", "https://hub.example:443/team/", "http://hub.example:80/team", "http://h.example/sub/dir/org"])
    assert trusted_publishers() == {"acme", "https://hub.example/team", "http://hub.example/team", "http://h.example/sub/dir/org"}


def test_local_folders_are_never_trusted_through_a_publisher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", HF)
    set_trusted_publishers(["acme", f"{HF}/acme"])
    folder = toy_repo(tmp_path / "acme" / "toy-net")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TrustRemoteCodeError):
        AutoConfig.from_pretrained("acme/toy-net")
    with pytest.raises(TrustRemoteCodeError):
        AutoConfig.from_pretrained(folder)
