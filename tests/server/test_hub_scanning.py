"""Pickle scanning: a malicious pickle is flagged in repo info and tree listings (it is never loaded)."""

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


def test_malicious_pickle_is_flagged(hub_server: HubServer, api: HfApi, repo: str) -> None:
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


def test_scan_result_is_shared_by_identical_content(hub_server: HubServer, api: HfApi, repo: str) -> None:
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
