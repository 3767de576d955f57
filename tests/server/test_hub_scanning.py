"""Pickle scanning: a malicious pickle is flagged in repo info and tree listings (it is never loaded).

These tests commit such pickles under the "mark" policy (``unsafe_pickles_marked``: accepted and marked, as
the Hugging Face Hub does); the default policy refuses them (``test_hub_hardening.py``)."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd, HfApi

from modelyard.server.scanning import scan_pickle


class _Exploit:
    """Unpickling this would run a shell command; the test only *dumps* it."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _malicious_pickle() -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0], "payload": _Exploit()})


# A STACK_GLOBAL with nothing before it: picklescan raises on it instead of reporting what it found earlier.
_BREAKS_PICKLESCAN = b"\x93."


def _torch_style_zip(payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("archive/data.pkl", payload)
        zf.writestr("archive/version", "3\n")
    return buffer.getvalue()


def _siblings(server: HubServer, repo_id: str) -> dict[str, dict]:
    info = httpx.get(f"{server.url}/api/models/{repo_id}", headers={"authorization": f"Bearer {server.token}"})
    return {s["rfilename"]: s["security"] for s in info.json()["siblings"]}


def test_malicious_pickle_is_flagged(unsafe_pickles_marked: HubServer, api: HfApi, repo: str) -> None:
    hub_server = unsafe_pickles_marked
    evil = _malicious_pickle()
    api.create_commit(repo, [
        CommitOperationAdd("pytorch_model.bin", _torch_style_zip(evil)),
        CommitOperationAdd("optimizer.pt", evil),
        CommitOperationAdd("safe.pkl", pickle.dumps({"a": [1, 2, 3], "b": "text"})),
        CommitOperationAdd("big.ckpt", evil + _BREAKS_PICKLESCAN + os.urandom(11 * 1024 * 1024)),  # through LFS
        CommitOperationAdd("modeling_x.py", b"import os\n"),
        CommitOperationAdd("config.json", b"{}"),
    ], commit_message="weights")
    security = _siblings(hub_server, repo)
    for name in ("pytorch_model.bin", "optimizer.pt", "big.ckpt"):
        assert security[name]["status"] == "unsafe", (name, security[name])
        assert "posix.system" in security[name]["dangerousImports"] or "os.system" in security[name]["dangerousImports"]
        assert security[name]["kind"] == "pickle"
    assert security["safe.pkl"]["status"] == "safe" and security["safe.pkl"]["scanner"] == "picklescan"
    assert security["modeling_x.py"]["kind"] == "code"
    assert security["config.json"] == {**security["config.json"], "status": "safe", "kind": "data"}

    info = api.model_info(repo, securityStatus=True)
    issues = {i["path"]: i["level"] for i in info.security_repo_status["filesWithIssues"]}
    assert issues == {"pytorch_model.bin": "unsafe", "optimizer.pt": "unsafe", "big.ckpt": "unsafe"}
    assert info.security_repo_status["codeFiles"] == ["modeling_x.py"]

    tree = {e.path: e for e in api.list_repo_tree(repo, expand=True)}
    assert tree["optimizer.pt"].security.status == "unsafe" and not tree["optimizer.pt"].security.safe
    imports = tree["optimizer.pt"].security.pickle_import_scan["pickleImports"]
    assert any(i["name"] == "system" and i["safety"] == "dangerous" for i in imports)
    assert tree["safe.pkl"].security.safe


def test_scan_result_is_shared_by_identical_content(unsafe_pickles_marked: HubServer, api: HfApi, repo: str) -> None:
    hub_server = unsafe_pickles_marked
    evil = _malicious_pickle()
    api.create_commit(repo, [CommitOperationAdd("a.pkl", evil)], commit_message="one")
    api.create_commit(repo, [CommitOperationAdd("copy/b.pth", evil)], commit_message="two")
    security = _siblings(hub_server, repo)
    assert security["a.pkl"]["status"] == security["copy/b.pth"]["status"] == "unsafe"


@pytest.mark.parametrize("name", ["model.ckpt", "state.pkl", "weights.bin"])
def test_dangerous_import_wins_over_a_scanner_crash_later_in_the_file(tmp_path: Path, name: str) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(_malicious_pickle() + _BREAKS_PICKLESCAN + b"\x00" * 64)
    status, details = scan_pickle(blob, name)
    assert status == "unsafe", details
    assert {"posix.system", "os.system"} & {f"{i['module']}.{i['name']}" for i in details["imports"]}


def test_scanner_crash_without_a_dangerous_import_is_an_error(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(pickle.dumps({"a": 1}) + _BREAKS_PICKLESCAN)
    status, details = scan_pickle(blob, "state.pkl")
    assert status == "error", details
    assert "could not read" in details["message"]


def _issues(api: HfApi, repo_id: str) -> dict[str, str]:
    status = api.model_info(repo_id, securityStatus=True).security_repo_status
    return {i["path"]: i["level"] for i in status["filesWithIssues"]}


def _safetensors_with_header_length(length: int) -> bytes:
    """A valid safetensors file whose 8-byte header length is exactly ``length`` (JSON padded with spaces)."""
    import json
    import struct

    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header = header + b" " * (length - len(header))
    return struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, 2.0)


def test_pickles_are_found_by_content_whatever_their_names(unsafe_pickles_marked: HubServer, api: HfApi, repo: str) -> None:
    hub_server = unsafe_pickles_marked
    import json

    evil = _malicious_pickle()
    legacy = pickle.dumps({"payload": _Exploit()}, protocol=0)  # no magic bytes at all
    index = {"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "shards/part.weights"}}
    # A safetensors file whose first bytes happen to read like a pickle header (length 0x0280 = b"\x80\x02").
    lookalike = _safetensors_with_header_length(0x0280)
    assert lookalike[:2] == b"\x80\x02"
    api.create_commit(repo, [
        CommitOperationAdd("pytorch_model.bin.index.json", json.dumps(index).encode()),
        CommitOperationAdd("model-00001-of-00002.safetensors", evil),  # a torch.load shard named like safetensors
        CommitOperationAdd("shards/part.weights", legacy),  # protocol 0: found through the index
        CommitOperationAdd("notes.txt", evil),  # protocol 2 pickle under a text name: by magic bytes
        CommitOperationAdd("checkpoint.model", _torch_style_zip(evil)),  # torch zip under an odd name
        CommitOperationAdd("real.safetensors", lookalike),
        CommitOperationAdd("protocol0.txt", legacy),  # no magic, named by no index: plain data
    ], commit_message="disguised pickles")
    assert _issues(api, repo) == {"model-00001-of-00002.safetensors": "unsafe", "shards/part.weights": "unsafe",
                                  "notes.txt": "unsafe", "checkpoint.model": "unsafe"}
    security = _siblings(hub_server, repo)
    assert security["notes.txt"]["kind"] == "pickle" and security["real.safetensors"]["kind"] == "data"
    assert security["protocol0.txt"] == {**security["protocol0.txt"], "kind": "data", "status": "safe"}
    tree = {e.path: e for e in api.list_repo_tree(repo, recursive=True, expand=True)}
    assert tree["checkpoint.model"].security.status == "unsafe"


def test_an_index_committed_later_gets_its_shards_scanned(unsafe_pickles_marked: HubServer, api: HfApi, repo: str) -> None:
    hub_server = unsafe_pickles_marked
    import json

    legacy = pickle.dumps({"payload": _Exploit()}, protocol=0)
    api.upload_file(path_or_fileobj=legacy, path_in_repo="w.data0", repo_id=repo)
    assert _issues(api, repo) == {}
    index = {"weight_map": {"w": "w.data0"}}
    api.upload_file(path_or_fileobj=json.dumps(index).encode(), path_in_repo="pytorch_model.bin.index.json",
                    repo_id=repo)
    assert _issues(api, repo) == {"w.data0": "unsafe"}
    # A safetensors index does not make its shards pickles (the safetensors loader never unpickles).
    other = hub_server.repo_id("st-index")
    api.create_repo(other)
    api.create_commit(other, [
        CommitOperationAdd("model.safetensors.index.json", json.dumps(index).encode()),
        CommitOperationAdd("w.data0", legacy),
    ], commit_message="safetensors index")
    assert _issues(api, other) == {}


def test_hub_scan_command_scans_what_was_stored_without_a_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.cli.main import main

    server = HubServer(tmp_path / "hub", unsafe_pickles="mark").start()
    for name, value in server.admin_environment().items():  # the command acts on the hub's own backends
        monkeypatch.setenv(name, value)
    try:
        api = server.api()
        api.create_repo("alice/legacy")
        api.upload_file(path_or_fileobj=_malicious_pickle(), path_in_repo="weights.data0", repo_id="alice/legacy")
        # As if committed by a hub that scanned by name only: no scan, no content record.
        db = server.storage.conn()
        db.execute("DELETE FROM scans")
        db.execute("DELETE FROM content_kinds")
        server.app.state.hub._content_kinds.clear()
        assert _siblings(server, "alice/legacy")["weights.data0"]["status"] == "unscanned"
        assert main(["hub", "scan", "--data-dir", str(server.data_dir)]) == 0
        out = capsys.readouterr().out
        assert "unsafe" in out and "alice/legacy/weights.data0" in out and "Scanned 1 file(s)" in out
        assert _siblings(server, "alice/legacy")["weights.data0"]["status"] == "unsafe"
        assert main(["hub", "scan", "--data-dir", str(server.data_dir)]) == 0  # nothing left to do
        assert "Scanned 0 file(s)" in capsys.readouterr().out
        assert main(["hub", "scan", "--rescan", "--data-dir", str(server.data_dir)]) == 0
        assert "Scanned 1 file(s)" in capsys.readouterr().out
    finally:
        server.stop()
