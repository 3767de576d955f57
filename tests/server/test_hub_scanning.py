"""Pickle scanning: a malicious pickle is flagged in repo info and tree listings (it is never loaded)."""

from __future__ import annotations

import io
import os
import pickle
import zipfile

import httpx
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd, HfApi


class _Exploit:
    """Unpickling this would run a shell command; the test only *dumps* it."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _malicious_pickle() -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0], "payload": _Exploit()})


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
        CommitOperationAdd("big.ckpt", evil + os.urandom(11 * 1024 * 1024)),  # through LFS
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
