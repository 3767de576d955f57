"""Remote code through a live hub: revisions, code_revision, cross-repo references, pinning, offline loads."""

from __future__ import annotations

import importlib
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import huggingface_hub.constants as hf_constants
import pytest
import torch
from _dynamic_helpers import NetworkGuard, toy_config_json, toy_files, toy_weights, write_files
from common.tolerance import assert_close_kernels, assert_same_weights

from modelyard import AutoConfig, AutoModel
from modelyard.dynamic import naming
from modelyard.dynamic_modules import cache, modules_cache_dir

pytest.importorskip("uvicorn")


def _version(obj: Any) -> str:
    klass = obj if isinstance(obj, type) else type(obj)
    return sys.modules[klass.__module__].VERSION


def _forget_imported_code() -> None:
    for name in cache.loaded_module_names():
        del sys.modules[name]


def _push(api: Any, repo_id: str, files: dict[str, str | bytes], message: str = "upload") -> str:
    api.create_repo(repo_id, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        write_files(Path(folder), files)
        return api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=message).oid


def _toy(version: str, width: int = 4, weights: bool = False) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {**toy_files(version=version), "config.json": toy_config_json(width=width)}
    if weights:
        files["model.safetensors"] = toy_weights(width)
    return files


def test_revision_and_code_revision(hub_env: Any) -> None:
    api, repo = hub_env.api(), hub_env.repo_id("toy-revisions")
    first = _push(api, repo, _toy("1", weights=True))
    second = _push(api, repo, _toy("2", width=6, weights=True))

    latest = AutoConfig.from_pretrained(repo, trust_remote_code=True)
    assert (latest.width, _version(latest)) == (6, "2")
    pinned = AutoConfig.from_pretrained(repo, trust_remote_code=True, revision=first)
    assert (pinned.width, _version(pinned)) == (4, "1")
    mixed = AutoConfig.from_pretrained(repo, trust_remote_code=True, code_revision=first)
    assert (mixed.width, _version(mixed)) == (6, "1")
    assert type(latest).__module__.startswith(naming.hub_package(repo, second))

    model = AutoModel.from_pretrained(repo, trust_remote_code=True, revision=first)
    assert model.version() == "1"
    assert torch.equal(model(torch.ones(1, 4)), 2 * (torch.full((4, 4), 0.5) @ torch.ones(4)).unsqueeze(0))


def test_a_later_push_never_changes_code_already_pinned(hub_env: Any) -> None:
    api, repo = hub_env.api(), hub_env.repo_id("toy-pinning")
    first = _push(api, repo, _toy("1"))
    assert _version(AutoConfig.from_pretrained(repo, trust_remote_code=True)) == "1"
    cached = modules_cache_dir().joinpath(*naming.hub_package(repo, first).split("."), "configuration_toy.py")
    before = cached.read_bytes()

    second = _push(api, repo, _toy("2"))
    _forget_imported_code()
    assert _version(AutoConfig.from_pretrained(repo, trust_remote_code=True, revision=first)) == "1"
    assert cached.read_bytes() == before
    latest = AutoConfig.from_pretrained(repo, trust_remote_code=True)
    assert _version(latest) == "2" and f"c_{second}" in type(latest).__module__


def test_code_from_another_repository(hub_env: Any) -> None:
    api = hub_env.api()
    code_repo, weights_repo = hub_env.repo_id("toy-code", hub_env.org), hub_env.repo_id("toy-weights")
    code_commit = _push(api, code_repo, toy_files(version="shared"))
    auto_map = {"AutoConfig": f"{code_repo}--configuration_toy.ToyConfig", "AutoModel": f"{code_repo}--modeling_toy.ToyModel"}
    _push(api, weights_repo, {"config.json": toy_config_json(auto_map=auto_map), "model.safetensors": toy_weights()})
    model = AutoModel.from_pretrained(weights_repo, trust_remote_code=True)
    assert model.version() == "shared"
    assert type(model).__module__.startswith(naming.hub_package(code_repo, code_commit))
    assert type(model.config) is model.config_class


def test_push_to_hub_ships_the_code(hub_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "pushpkg_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    write_files(tmp_path / "src" / name, {"__init__.py": "", **toy_files(version="pushed")})
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    importlib.invalidate_caches()
    config_class = importlib.import_module(f"{name}.configuration_toy").ToyConfig
    model_class = importlib.import_module(f"{name}.modeling_toy").ToyModel
    config_class.register_for_auto_class()
    model_class.register_for_auto_class("AutoModel")
    model = model_class(config_class(width=4))

    repo = hub_env.repo_id("toy-pushed")
    commit = model.push_to_hub(repo).oid
    files = set(hub_env.api().list_repo_files(repo))
    assert {"config.json", "model.safetensors", "configuration_toy.py", "modeling_toy.py", "helpers.py", "layers/blocks.py"} <= files
    loaded = AutoModel.from_pretrained(repo, trust_remote_code=True, revision=commit)
    assert loaded.version() == "pushed" and type(loaded).__module__.startswith(naming.hub_package(repo, commit))
    x = torch.randn(2, 4)
    assert_same_weights(loaded, model)
    assert_close_kernels(loaded(x), model.eval()(x))


def test_offline_loads_make_no_network_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from _hub_server import HubServer

    server = HubServer(tmp_path / "hub-data").start()
    try:
        with server.env():
            repo = server.repo_id("toy-offline")
            commit = _push(server.api(), repo, _toy("1", weights=True))
            online = AutoModel.from_pretrained(repo, trust_remote_code=True)
    finally:
        server.stop()
    monkeypatch.setenv("HF_ENDPOINT", server.url)  # any call would go to the stopped hub

    guard = NetworkGuard()
    monkeypatch.setattr(socket.socket, "connect", guard.refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", guard.refuse)
    x = torch.randn(3, 4)
    expected = online(x)
    for options, env in (({}, "1"), ({"local_files_only": True}, None), ({"revision": commit}, "1")):
        _forget_imported_code()
        if env:
            monkeypatch.setenv("HF_HUB_OFFLINE", env)
        else:
            monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", bool(env))
        model = AutoModel.from_pretrained(repo, trust_remote_code=True, **options)
        assert_close_kernels(model(x), expected)
        assert model.version() == "1"
    assert guard.attempts == []
    # The guard does catch calls: an online load tries the (stopped) hub first.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    try:
        AutoConfig.from_pretrained(repo, trust_remote_code=True)
    except Exception:  # noqa: BLE001  (whatever the client makes of the refused connection)
        pass
    assert guard.attempts, "the network guard saw nothing; the offline checks above prove nothing"
