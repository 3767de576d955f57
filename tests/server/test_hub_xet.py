"""The stock client speaks Xet to the hub with no setting at all: uploads, downloads, ranges, dedupe, mixed
repos, old clients, and the permission boundaries of chunk-level dedupe.

Every test runs the real ``huggingface_hub`` 2.x with its ``hf_xet`` against a hub of its own whose requests
are recorded (method, path, bytes received), so a test can tell which protocol carried the bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from _hub_server import HubServer
from huggingface_hub import (
    HfApi,
    HfFileSystem,
    constants,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import RepositoryNotFoundError
from safetensors.numpy import save

from modelyard.server.gc import collect_garbage

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
REF_PYTHON = ROOT / ".venv-ref" / "bin" / "python"


class Recorder:
    """ASGI middleware noting every request: method, path and the bytes of its body."""

    def __init__(self, app: Any, log: list[dict[str, Any]]) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        entry = {"method": scope["method"], "path": scope["path"], "bytes": 0}
        self.log.append(entry)

        async def counting() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                entry["bytes"] += len(message.get("body", b""))
            return message

        await self.app(scope, counting, send)


class XetHub(HubServer):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.log: list[dict[str, Any]] = []
        self.bob = ""  # a second user's write token, set once the hub runs
        self.app.add_middleware(Recorder, log=self.log)

    def mark(self) -> int:
        return len(self.log)

    def since(self, mark: int, method: str | None = None, contains: str = "") -> list[dict[str, Any]]:
        return [e for e in self.log[mark:] if (method is None or e["method"] == method) and contains in e["path"]]


@pytest.fixture(scope="module")
def xet_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XetHub]:
    server = XetHub(tmp_path_factory.mktemp("xet-hub")).start()
    server.bob = server.add_user("bob")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _xet_on(_no_xet: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stock client as installed: Xet on (the server suite's default turns it off)."""
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    monkeypatch.delenv("HF_HUB_DISABLE_XET", raising=False)


@pytest.fixture
def api(xet_hub: XetHub) -> HfApi:
    return xet_hub.api()


@pytest.fixture
def repo(xet_hub: XetHub, api: HfApi) -> str:
    repo_id = xet_hub.repo_id("xet")
    api.create_repo(repo_id)
    return repo_id


def _download(hub: XetHub, repo: str, filename: str, cache: Path, token: str | None = None, **kw: Any) -> bytes:
    path = hf_hub_download(repo, filename, endpoint=hub.url, token=token or hub.token, cache_dir=cache, **kw)
    return Path(path).read_bytes()


def _checkpoint(seed: int, *, tensors: int = 8, floats: int = MiB) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"layer{i}.weight": rng.standard_normal(floats, dtype=np.float32) for i in range(tensors)}


# -- upload and download ------------------------------------------------------------------------------
def test_stock_client_round_trip_of_40mb_goes_through_xet(xet_hub: XetHub, api: HfApi, repo: str,
                                                           tmp_path: Path) -> None:
    import hf_xet

    data = os.urandom(40 * MiB)
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    mark = xet_hub.mark()
    api.upload_file(path_or_fileobj=str(path), path_in_repo="model.safetensors", repo_id=repo)
    assert xet_hub.since(mark, "GET", "/xet-write-token/main")
    xorb_bytes = sum(e["bytes"] for e in xet_hub.since(mark, "POST", "/_xet/v1/xorbs/default/"))
    assert len(data) <= xorb_bytes < len(data) * 1.01  # random bytes: nothing to save, little overhead
    assert xet_hub.since(mark, "POST", "/_xet/v2/shards")
    assert not xet_hub.since(mark, contains="/info/lfs/") and not xet_hub.since(mark, contains="/_lfs/")

    # The hub names the file by the Xet hash the client computes, and by the sha256 of its bytes.
    entry = api.get_paths_info(repo, ["model.safetensors"])[0]
    assert entry.xet_hash == hf_xet.hash_files([str(path)])[0].hash
    assert entry.lfs.sha256 == hashlib.sha256(data).hexdigest() and entry.size == len(data)
    assert [e.xet_hash for e in api.list_repo_tree(repo) if e.path == "model.safetensors"] == [entry.xet_hash]

    mark = xet_hub.mark()
    assert _download(xet_hub, repo, "model.safetensors", tmp_path / "cache") == data
    assert xet_hub.since(mark, "GET", "/xet-read-token/")
    assert xet_hub.since(mark, "GET", f"/_xet/v2/reconstructions/{entry.xet_hash}")
    assert xet_hub.since(mark, "GET", "/_xet/xorbs/")
    assert not xet_hub.since(mark, "GET", "/resolve/")  # only the metadata HEAD went to resolve


@pytest.mark.slow  # about 17 s on 2 cores; the 1 GiB are removed again at the end
def test_stock_client_round_trip_of_1gib_through_xet(xet_hub: XetHub, api: HfApi, repo: str, tmp_path: Path) -> None:
    path = tmp_path / "big.safetensors"
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        for _ in range(1024):
            block = os.urandom(MiB)
            digest.update(block)
            fh.write(block)
    mark = xet_hub.mark()
    api.upload_file(path_or_fileobj=str(path), path_in_repo="big.safetensors", repo_id=repo)
    xorbs = xet_hub.since(mark, "POST", "/_xet/v1/xorbs/default/")
    assert len(xorbs) >= 16 and sum(e["bytes"] for e in xorbs) >= 1024 * MiB  # several 64 MiB xorbs
    entry = api.get_paths_info(repo, ["big.safetensors"])[0]
    assert entry.lfs.sha256 == digest.hexdigest() and entry.xet_hash
    path.unlink()
    mark = xet_hub.mark()
    got = hf_hub_download(repo, "big.safetensors", endpoint=xet_hub.url, token=xet_hub.token, cache_dir=tmp_path / "c")
    with open(got, "rb") as fh:
        assert hashlib.file_digest(fh, "sha256").hexdigest() == digest.hexdigest()
    assert xet_hub.since(mark, "GET", "/_xet/v2/reconstructions/")
    shutil.rmtree(tmp_path / "c")
    api.delete_repo(repo)  # then collect its xorbs (the module's other tests are done with theirs)
    report = collect_garbage(xet_hub.storage, xet_hub.app.state.hub.store, grace=0, apply=True)
    assert report.orphan_xorbs >= 16


def test_xet_stored_files_are_plain_downloads_too(xet_hub: XetHub, api: HfApi, repo: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(12 * MiB + 12345)
    api.upload_file(path_or_fileobj=data, path_in_repo="w.bin", repo_id=repo)
    entry = api.get_paths_info(repo, ["w.bin"])[0]
    url = f"{xet_hub.url}/{repo}/resolve/main/w.bin"
    head = httpx.head(url)
    assert head.headers["x-xet-hash"] == entry.xet_hash
    assert head.headers["x-linked-etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert head.headers["x-linked-size"] == head.headers["content-length"] == str(len(data))
    assert 'rel="xet-auth"' in head.headers["link"] and "/xet-read-token/" in head.headers["link"]
    # curl-like clients get the bytes, rebuilt from the xorbs; ranges too, including across chunks.
    assert httpx.get(url).content == data
    for first, last in ((0, 0), (100, 70_000), (5 * MiB - 3, 9 * MiB + 17), (len(data) - 10, len(data) - 1)):
        part = httpx.get(url, headers={"Range": f"bytes={first}-{last}"})
        assert part.status_code == 206 and part.content == data[first:last + 1]
        assert part.headers["content-range"] == f"bytes {first}-{last}/{len(data)}"
    assert httpx.get(url, headers={"Range": "bytes=-5"}).content == data[-5:]
    assert httpx.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    # A client with Xet switched off (HF_HUB_DISABLE_XET=1) downloads through resolve.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    mark = xet_hub.mark()
    assert _download(xet_hub, repo, "w.bin", tmp_path / "plain") == data
    assert xet_hub.since(mark, "GET", "/resolve/main/w.bin") and not xet_hub.since(mark, contains="/_xet/")
    # git-lfs clients: the LFS batch API hands out a download link for Xet-stored content as well.
    batch = httpx.post(f"{xet_hub.url}/{repo}.git/info/lfs/objects/batch",
                       json={"operation": "download", "objects": [{"oid": entry.lfs.sha256, "size": len(data)}]},
                       headers={"authorization": f"Bearer {xet_hub.token}", "content-type": "application/vnd.git-lfs+json"})
    href = batch.json()["objects"][0]["actions"]["download"]["href"]
    assert httpx.get(href).content == data


def test_ranged_downloads_through_xet_and_through_the_file_system(xet_hub: XetHub, api: HfApi, repo: str) -> None:
    import hf_xet

    data = os.urandom(11 * MiB)
    api.upload_file(path_or_fileobj=data, path_in_repo="r.safetensors", repo_id=repo)
    xet_hash = api.get_paths_info(repo, ["r.safetensors"])[0].xet_hash
    # The client's own ranged reads (hf_xet streams), which ask the reconstruction API for byte ranges.
    session = hf_xet.XetSession()
    group = session.new_download_stream_group(
        token_refresh_url=f"{xet_hub.url}/api/models/{repo}/xet-read-token/main",
        token_refresh_headers={"authorization": f"Bearer {xet_hub.token}"})
    info = hf_xet.XetFileInfo(xet_hash, len(data))
    for start, end in ((0, 10), (65_530, 65_540), (3 * MiB + 1, 7 * MiB - 1), (len(data) - 1, len(data))):
        assert b"".join(group.download_stream(info, start=start, end=end)) == data[start:end]
    # HfFileSystem reads ranges through resolve.
    fs = HfFileSystem(endpoint=xet_hub.url, token=xet_hub.token)
    with fs.open(f"{repo}/r.safetensors", "rb", block_size=MiB) as fh:
        fh.seek(4 * MiB + 7)
        assert fh.read(1000) == data[4 * MiB + 7:4 * MiB + 1007]
    # The reconstruction API itself: whole chunks, with the offset into the first one.
    token = httpx.get(f"{xet_hub.url}/api/models/{repo}/xet-read-token/main",
                      headers={"authorization": f"Bearer {xet_hub.token}"}).json()
    cas = {"authorization": f"Bearer {token['accessToken']}"}
    full = httpx.get(f"{token['casUrl']}/v2/reconstructions/{xet_hash}", headers=cas).json()
    assert full["offset_into_first_range"] == 0 and sum(t["unpacked_length"] for t in full["terms"]) == len(data)
    part = httpx.get(f"{token['casUrl']}/v1/reconstructions/{xet_hash}", headers={**cas, "Range": "bytes=200000-200009"})
    body = part.json()
    assert 0 < body["offset_into_first_range"] < 200_000 and len(body["terms"]) == 1
    assert body["terms"][0]["unpacked_length"] <= 2 * 128 * 1024
    assert httpx.get(f"{token['casUrl']}/v2/reconstructions/{xet_hash}",
                     headers={**cas, "Range": f"bytes={len(data)}-{len(data) + 5}"}).status_code == 416


def test_snapshot_of_a_repo_mixing_xet_lfs_and_regular_files(xet_hub: XetHub, api: HfApi, repo: str,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lfs_data, xet_data = os.urandom(11 * MiB), os.urandom(13 * MiB)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    api.upload_file(path_or_fileobj=lfs_data, path_in_repo="lfs.bin", repo_id=repo)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    folder = tmp_path / "up"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "xet.safetensors").write_bytes(xet_data)
    (folder / "config.json").write_text('{"model_type": "bert"}')
    api.upload_folder(repo_id=repo, folder_path=folder)
    tree = {e.path: e for e in api.list_repo_tree(repo, recursive=True) if hasattr(e, "size")}
    assert tree["sub/xet.safetensors"].xet_hash and tree["lfs.bin"].xet_hash is None
    assert tree["config.json"].lfs is None
    # Copy handles for cross-repo copies: a real Xet hash, or the LFS one for LFS-stored files.
    infos = {e.path: e.xet_hash for e in api.get_paths_info(repo, ["lfs.bin", "sub/xet.safetensors"])}
    assert infos["lfs.bin"].startswith("sha256:") and infos["sub/xet.safetensors"] == tree["sub/xet.safetensors"].xet_hash

    mark = xet_hub.mark()
    snap = Path(snapshot_download(repo, endpoint=xet_hub.url, token=xet_hub.token, cache_dir=tmp_path / "c"))
    assert (snap / "lfs.bin").read_bytes() == lfs_data
    assert (snap / "sub" / "xet.safetensors").read_bytes() == xet_data
    assert json.loads((snap / "config.json").read_text()) == {"model_type": "bert"}
    assert xet_hub.since(mark, "GET", f"/_xet/v2/reconstructions/{tree['sub/xet.safetensors'].xet_hash}")
    assert xet_hub.since(mark, "GET", "/lfs.bin") and not xet_hub.since(mark, "GET", "/sub/xet.safetensors")


def test_web_pages_read_xet_stored_weights(xet_hub: XetHub, api: HfApi, repo: str) -> None:
    """The file page counts a safetensors file's parameters from its header, read through the xorbs."""
    weights = save({"w": np.zeros(3_000_000, dtype=np.float32)})  # 12 MB: stored through Xet
    api.upload_file(path_or_fileobj=weights, path_in_repo="model.safetensors", repo_id=repo)
    assert api.get_paths_info(repo, ["model.safetensors"])[0].xet_hash
    page = httpx.get(f"{xet_hub.url}/{repo}/blob/main/model.safetensors", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "F32: 3M parameters" in page.text


class _Dangerous:
    def __reduce__(self) -> tuple:
        return (os.system, ("echo pwned",))


def test_pickles_uploaded_through_xet_are_scanned(xet_hub: XetHub, api: HfApi, repo: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The security scan reads Xet-stored content through its xorbs (no LFS blob exists): the commit is refused
    by default, and under the "mark" policy the file is marked."""
    import pickle

    from huggingface_hub.errors import HfHubHTTPError

    payload = pickle.dumps({"weights": os.urandom(11 * MiB), "hook": _Dangerous()}, protocol=2)
    with pytest.raises(HfHubHTTPError, match=r"pytorch_model.bin.*(os|posix)\.system"):
        api.upload_file(path_or_fileobj=payload, path_in_repo="pytorch_model.bin", repo_id=repo)
    monkeypatch.setattr(xet_hub.settings, "unsafe_pickles", "mark")
    api.upload_file(path_or_fileobj=payload, path_in_repo="pytorch_model.bin", repo_id=repo)
    assert api.get_paths_info(repo, ["pytorch_model.bin"])[0].xet_hash
    info = httpx.get(f"{xet_hub.url}/api/models/{repo}").json()
    security = {s["rfilename"]: s["security"] for s in info["siblings"]}["pytorch_model.bin"]
    assert security["status"] == "unsafe"
    assert [i for i in security["dangerousImports"] if i.endswith(".system")]  # os.system pickles as posix.system


def test_cross_repo_copy_of_xet_and_lfs_files(xet_hub: XetHub, api: HfApi, repo: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import CommitOperationCopy

    xet_data, lfs_data = os.urandom(11 * MiB), os.urandom(11 * MiB)
    api.upload_file(path_or_fileobj=xet_data, path_in_repo="x.bin", repo_id=repo)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    api.upload_file(path_or_fileobj=lfs_data, path_in_repo="l.bin", repo_id=repo)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    target = xet_hub.repo_id("copy-target")
    api.create_repo(target)
    api.create_commit(target, [CommitOperationCopy("x.bin", "x2.bin", src_repo_id=repo, src_repo_type="model"),
                               CommitOperationCopy("l.bin", "l2.bin", src_repo_id=repo, src_repo_type="model")], commit_message="copy")
    assert _download(xet_hub, target, "x2.bin", tmp_path / "c") == xet_data
    assert _download(xet_hub, target, "l2.bin", tmp_path / "c") == lfs_data
    assert api.get_paths_info(target, ["x2.bin"])[0].xet_hash == api.get_paths_info(repo, ["x.bin"])[0].xet_hash


def test_the_hf_command_uploads_and_downloads_through_xet(xet_hub: XetHub, repo: str, tmp_path: Path) -> None:
    data = os.urandom(11 * MiB)
    (tmp_path / "w.safetensors").write_bytes(data)
    env = {**os.environ, "HF_ENDPOINT": xet_hub.url, "HF_TOKEN": xet_hub.token, "HF_HOME": str(tmp_path / "hf"),
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1"}
    env.pop("HF_HUB_DISABLE_XET", None)
    hf = str(Path(sys.executable).parent / "hf")
    mark = xet_hub.mark()
    up = subprocess.run([hf, "upload", repo, str(tmp_path / "w.safetensors"), "w.safetensors"], env=env,
                        capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr[-3000:]
    assert xet_hub.since(mark, "POST", "/_xet/v1/xorbs/") and not xet_hub.since(mark, "PUT", "/_lfs/")
    down = subprocess.run([hf, "download", repo, "w.safetensors", "--local-dir", str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr[-3000:]
    assert (tmp_path / "out" / "w.safetensors").read_bytes() == data
    assert xet_hub.since(mark, "GET", "/_xet/v2/reconstructions/")


# -- dedupe -------------------------------------------------------------------------------------------
UPLOAD_IN_FRESH_CLIENT = textwrap.dedent("""
    import sys
    from huggingface_hub import HfApi
    HfApi(endpoint=sys.argv[1], token=sys.argv[2]).upload_file(
        path_or_fileobj=sys.argv[3], path_in_repo=sys.argv[4], repo_id=sys.argv[5])
""")


def test_reupload_of_a_checkpoint_with_one_tensor_changed_sends_little(xet_hub: XetHub, api: HfApi, repo: str,
                                                                      tmp_path: Path) -> None:
    tensors = _checkpoint(0)  # 8 tensors of 4 MiB
    first = save(tensors)
    tensors["layer5.weight"] = tensors["layer5.weight"] + np.float32(1.0)
    second = save(tensors)
    (tmp_path / "v1.safetensors").write_bytes(first)
    (tmp_path / "v2.safetensors").write_bytes(second)
    mark = xet_hub.mark()
    api.upload_file(path_or_fileobj=str(tmp_path / "v1.safetensors"), path_in_repo="model.safetensors", repo_id=repo)
    sent_first = sum(e["bytes"] for e in xet_hub.since(mark, "POST", "/_xet/v1/xorbs/"))
    assert sent_first >= 0.9 * len(first)

    # A new client (empty local cache, another machine): it learns what the hub holds from the global dedupe
    # API and sends only the chunks of the changed tensor.
    mark = xet_hub.mark()
    env = {**os.environ, "HF_HOME": str(tmp_path / "other-machine"), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    env.pop("HF_HUB_DISABLE_XET", None)
    done = subprocess.run([sys.executable, "-c", UPLOAD_IN_FRESH_CLIENT, xet_hub.url, xet_hub.token,
                           str(tmp_path / "v2.safetensors"), "model.safetensors", repo],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert xet_hub.since(mark, "GET", "/_xet/v1/chunks/")
    sent_second = sum(e["bytes"] for e in xet_hub.since(mark, "POST", "/_xet/v1/xorbs/"))
    changed = tensors["layer5.weight"].nbytes
    assert sent_second < changed + 2 * MiB, (sent_second, changed)  # the changed tensor and a few chunks around it
    assert _download(xet_hub, repo, "model.safetensors", tmp_path / "cache") == second


# -- old clients --------------------------------------------------------------------------------------
@pytest.mark.reference
@pytest.mark.skipif(not REF_PYTHON.exists(), reason="reference environment .venv-ref not built")
def test_huggingface_hub_0_36_with_and_without_xet(xet_hub: XetHub, repo: str, tmp_path: Path) -> None:
    code = textwrap.dedent("""
        import json, sys, huggingface_hub
        from huggingface_hub import HfApi, hf_hub_download
        repo, path, name = sys.argv[1:4]
        HfApi().upload_file(path_or_fileobj=path, path_in_repo=name, repo_id=repo)
        got = open(hf_hub_download(repo, name), "rb").read()
        print(json.dumps({"version": huggingface_hub.__version__, "same": got == open(path, "rb").read()}))
    """)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    base.update(HF_ENDPOINT=xet_hub.url, HF_TOKEN=xet_hub.token, HF_HUB_DISABLE_TELEMETRY="1",
                HF_HUB_DISABLE_PROGRESS_BARS="1")
    base.pop("HF_HUB_DISABLE_XET", None)
    for name, extra in (("with-xet.bin", {}), ("no-xet.bin", {"HF_HUB_DISABLE_XET": "1"})):
        (tmp_path / name).write_bytes(os.urandom(11 * MiB))
        mark = xet_hub.mark()
        env = {**base, "HF_HOME": str(tmp_path / "hf" / name), **extra}
        done = subprocess.run([str(REF_PYTHON), "-c", code, repo, str(tmp_path / name), name], env=env,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert out["version"].startswith("0.") and out["same"]
        # 0.36 asks the LFS batch API which transfer to use; offered "xet", the hub picks it.
        used_xet = bool(xet_hub.since(mark, "POST", "/_xet/v1/xorbs/"))
        used_lfs = bool(xet_hub.since(mark, "PUT", "/_lfs/"))
        assert (used_xet, used_lfs) == ((True, False) if not extra else (False, True)), name


# -- permission boundaries ----------------------------------------------------------------------------
def _cas(hub: XetHub, repo: str, token: str, scope: str = "read") -> tuple[str, dict[str, str]]:
    answer = httpx.get(f"{hub.url}/api/models/{repo}/xet-{scope}-token/main",
                       headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert answer.headers["x-xet-access-token"] == body["accessToken"]
    return body["casUrl"], {"authorization": f"Bearer {body['accessToken']}"}


def _stored_chunks(hub: XetHub, xet_hash: str) -> tuple[str, list[str]]:
    """(first xorb, its chunk hashes) of a stored file, read from the hub's own records."""
    from modelyard.server.xet.hashing import hash_to_text

    store = hub.app.state.hub.content.xet.cas
    xet_file = store.file(xet_hash)
    info = store.xorb(hash_to_text(xet_file.terms[0].xorb))
    return hash_to_text(info.hash), [hash_to_text(c.hash) for c in info.chunks]


def test_a_private_repos_chunks_are_unreachable_from_another_user(xet_hub: XetHub, api: HfApi,
                                                                 tmp_path: Path) -> None:
    bob = xet_hub.bob
    private = xet_hub.repo_id("secret")
    api.create_repo(private, private=True)
    data = os.urandom(11 * MiB)
    api.upload_file(path_or_fileobj=data, path_in_repo="secret.bin", repo_id=private)
    xet_hash = api.get_paths_info(private, ["secret.bin"])[0].xet_hash
    xorb, chunks = _stored_chunks(xet_hub, xet_hash)
    bobs = xet_hub.repo_id("bobs", namespace="bob")
    xet_hub.api(bob).create_repo(bobs)

    # Alice's own token finds her chunks; Bob's (for his repo) does not, nor her xorb or her file.
    cas, alice_headers = _cas(xet_hub, private, xet_hub.token)
    _, bob_headers = _cas(xet_hub, bobs, bob)
    assert httpx.get(f"{cas}/v1/chunks/default/{chunks[0]}", headers=alice_headers).status_code == 200
    assert httpx.get(f"{cas}/v1/chunks/default/{chunks[0]}", headers=bob_headers).status_code == 404
    assert httpx.head(f"{cas}/v1/xorbs/default/{xorb}", headers=alice_headers).status_code == 200
    assert httpx.head(f"{cas}/v1/xorbs/default/{xorb}", headers=bob_headers).status_code == 404
    for version in ("v1", "v2"):
        assert httpx.get(f"{cas}/{version}/reconstructions/{xet_hash}", headers=bob_headers).status_code == 404
    assert httpx.head(f"{cas}/v1/files/{xet_hash}", headers=bob_headers).status_code == 404
    # Nor can he get a token for her repo, or download through the hub, or fetch xorb bytes unsigned.
    assert httpx.get(f"{xet_hub.url}/api/models/{private}/xet-read-token/main",
                     headers={"authorization": f"Bearer {bob}"}).headers["x-error-code"] == "RepoNotFound"
    with pytest.raises(RepositoryNotFoundError):
        _download(xet_hub, private, "secret.bin", tmp_path / "bob", token=bob)
    links = httpx.get(f"{cas}/v2/reconstructions/{xet_hash}", headers=alice_headers).json()["xorbs"][xorb][0]
    first = links["ranges"][0]["bytes"]
    unsigned = links["url"].split("?")[0]
    assert httpx.get(unsigned, headers={"Range": f"bytes={first['start']}-{first['end']}"}).status_code == 403
    forged = links["url"].replace("ranges=", "ranges=0-99999999%2C")
    assert httpx.get(forged, headers={"Range": "bytes=0-99999999"}).status_code == 403

    # A shard naming her xorb without proof of its chunks is refused in the same words as a xorb that does
    # not exist, so it cannot tell whether her xorb is there.
    from modelyard.server.xet import hashing, shard

    _, write_headers = _cas(xet_hub, bobs, bob, "write")

    def claim(xorb_text: str) -> httpx.Response:
        term = shard.Term(hashing.text_to_hash(xorb_text), 0, 1, 1000)
        record = shard.FileRecord(hashing.keyed(bytes(32), b"x"), (term,), (bytes(32),), None)
        return httpx.post(f"{cas}/v1/shards", headers=write_headers,
                          content=shard.serialize_shard([record], [], footer=False))

    hers, nowhere = claim(xorb), claim("ab" * 32)
    assert hers.status_code == nowhere.status_code == 400
    assert hers.json()["error"].replace(xorb, "X") == nowhere.json()["error"].replace("ab" * 32, "X")

    # Public content is shared: once the repo is public, Bob's client may dedupe against it.
    api.update_repo_settings(private, private=False)
    assert httpx.get(f"{cas}/v1/chunks/default/{chunks[0]}", headers=bob_headers).status_code == 200


def test_tokens_are_scoped_to_their_repo_and_scope(xet_hub: XetHub, api: HfApi, repo: str) -> None:
    bob = xet_hub.bob
    # Bob may read alice's public repo, but gets no write token for it (only for a pull request).
    assert httpx.get(f"{xet_hub.url}/api/models/{repo}/xet-write-token/main",
                     headers={"authorization": f"Bearer {bob}"}).status_code == 403
    pr = httpx.get(f"{xet_hub.url}/api/models/{repo}/xet-write-token/None?create_pr=1",
                   headers={"authorization": f"Bearer {bob}"})
    assert pr.status_code == 200
    cas, read = _cas(xet_hub, repo, bob)
    assert httpx.post(f"{cas}/v1/shards", headers=read, content=b"").status_code == 403
    assert httpx.post(f"{cas}/v1/shards", headers={"authorization": "Bearer xet_forged.sig"},
                      content=b"").status_code == 401
    anonymous = httpx.get(f"{xet_hub.url}/api/models/{repo}/xet-read-token/main")
    assert anonymous.status_code == 200  # public repo: anonymous downloads work through Xet too
    assert httpx.get(f"{xet_hub.url}/api/models/{repo}/xet-write-token/main").status_code == 401
    assert httpx.get(f"{xet_hub.url}/api/models/{repo}/xet-read-token/no-such-branch",
                     headers={"authorization": f"Bearer {bob}"}).headers["x-error-code"] == "RevisionNotFound"


def test_push_through_xet_then_pull_request(xet_hub: XetHub, api: HfApi, repo: str, tmp_path: Path) -> None:
    """An upload opening a pull request (``create_pr=True``) asks for its token with revision ``None``."""
    bob = xet_hub.bob
    data = os.urandom(11 * MiB)
    info = xet_hub.api(bob).upload_file(path_or_fileobj=data, path_in_repo="pr.bin", repo_id=repo, create_pr=True)
    assert info.pr_revision == "refs/pr/1"
    assert _download(xet_hub, repo, "pr.bin", tmp_path / "c", revision="refs/pr/1") == data
    assert "pr.bin" not in api.list_repo_files(repo)  # main is untouched until the pull request is merged
