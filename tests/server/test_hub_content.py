"""The content gateway (``hub.content``) on its own, for each kind of content a commit's file may name: a regular
blob, an LFS object, a Xet file. Whether a repository holds it, its bytes (whole and from an offset), the HTTP
answer for it (bytes, ranges, HEAD, the presigned redirect of the S3 store, the Xet headers), its entry in a
commit and a copy into another repository; missing content answered as missing; and a further backend
plugged in at the one place the gateway lists them."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient

from modelyard.server.blobstore_s3 import S3BlobStore
from modelyard.server.config import HubSettings
from modelyard.server.content import REGULAR, ContentStore
from modelyard.server.errors import HubHTTPError
from modelyard.server.gitobjects import FileEntry, git_blob_oid, lfs_entry
from modelyard.server.service import Hub
from modelyard.server.storage import Repo, Storage
from modelyard.server.xet import hashing, shard, xorb
from modelyard.server.xet.hashing import hash_to_text

AUTH_URL = "http://hub.example/api/models/alice/net/xet-read-token/" + "c" * 40
# Distinct, reproducible bytes (no randomness): a position's byte says where it is.
DATA = bytes((i * 7 + i // 251) % 256 for i in range(70_000))


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    hub = Hub(HubSettings(data_dir=tmp_path / "hub"))
    hub.storage.accounts.add_namespace("alice", "user")
    return hub


def _repo(hub: Hub, name: str) -> Repo:
    repo = hub.storage.repos.create("model", "alice", name, private=False, author="alice",
                                    initial_blob=hub.gitattributes_blob)
    assert repo is not None
    return repo


def _client(content: ContentStore, repo: Repo, files: dict[str, FileEntry]) -> TestClient:
    """A tiny app whose routes call the gateway as the hub's routers do: files of a commit (``resolve``), content
    by sha256 (the LFS download link), and an LFS upload (the LFS PUT)."""
    app = FastAPI()

    @app.api_route("/files/{path:path}", methods=["GET", "HEAD"])
    def file(request: Request, path: str) -> Response:
        return content.file_response(request, repo, files[path], path, {"X-Repo-Commit": "c" * 40},
                                     xet_auth_url=AUTH_URL)

    @app.get("/objects/{sha}")
    def obj(request: Request, sha: str) -> Response:
        return content.respond(request, sha, {"ETag": f'"{sha}"'}, repo=repo, redirect=True)

    @app.put("/lfs/{oid}")
    async def upload(request: Request, oid: str, size: int) -> Response:
        await content.lfs.receive(request, repo, oid, size)
        return Response(status_code=200)

    return TestClient(app)


def _upload_lfs(client: TestClient, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    answer = client.put(f"/lfs/{sha}", params={"size": len(data)}, content=data)
    assert answer.status_code == 200, answer.text
    return sha


def _upload_xet(hub: Hub, repo: Repo, chunks: list[bytes]) -> tuple[str, str, str]:
    """Store a xorb of ``chunks`` and register one file made of all of them for ``repo``, as the CAS routes do;
    (sha256, Xet file hash, xorb hash)."""
    body = xorb.serialize_chunks(chunks)
    info = xorb.parse_xorb(body)
    text = hash_to_text(info.hash)
    with hub.content.xet.xorb_writer() as writer:
        writer.write_block(body)
        writer.commit_as(text)
    hub.content.xet.cas.add_xorb(repo, info, text)
    data = b"".join(chunks)
    hashes = [hashing.chunk_hash(c) for c in chunks]
    record = shard.FileRecord(
        hash=hashing.file_hash([(h, len(c)) for h, c in zip(hashes, chunks)]),
        terms=(shard.Term(info.hash, 0, len(chunks), len(data)),),
        verifications=(hashing.verification_hash(hashes),),
        sha256=hashing.text_to_hash(hashlib.sha256(data).hexdigest()))
    assert hub.content.xet.cas.register_shard(repo, shard.Shard(files=(record,), xorbs=()), None) == 1
    return hashlib.sha256(data).hexdigest(), hash_to_text(record.hash), text


def _read_at(open_: Callable[[], BinaryIO], pos: int, n: int) -> bytes:
    with open_() as fh:
        fh.seek(pos)
        return fh.read(n)


# -- regular files ------------------------------------------------------------------------------------------
def test_a_regular_file_is_a_blob_served_by_the_hub(hub: Hub) -> None:
    repo = _repo(hub, "regular")
    text = b"line one\nline two\n" * 100
    entry = FileEntry(hub.content.put_bytes(text), len(text), git_blob_oid(text), False)
    content = hub.content
    assert content.kind_of(entry) == REGULAR and content.present(entry.sha256, entry.size)
    assert not content.holds(repo, entry.sha256)  # commits carry regular files; no repository "holds" them
    assert _read_at(lambda: content.open(entry.sha256), 9, 8) == b"line two"
    client = _client(content, repo, {"docs/notes.txt": entry})
    whole = client.get("/files/docs/notes.txt")
    assert whole.status_code == 200 and whole.content == text
    assert whole.headers["content-type"].startswith("text/plain")
    assert whole.headers["content-disposition"] == 'inline; filename="notes.txt"'
    assert whole.headers["x-repo-commit"] == "c" * 40
    assert "x-linked-etag" not in whole.headers and "x-xet-hash" not in whole.headers
    part = client.get("/files/docs/notes.txt", headers={"Range": "bytes=9-16"})
    assert part.status_code == 206 and part.content == b"line two"
    assert part.headers["content-range"] == f"bytes 9-16/{len(text)}"
    head = client.head("/files/docs/notes.txt")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(text))


# -- LFS objects --------------------------------------------------------------------------------------------
def test_an_lfs_object_is_held_by_the_repositories_it_was_uploaded_or_copied_to(hub: Hub) -> None:
    repo, other = _repo(hub, "lfs"), _repo(hub, "lfs-other")
    content = hub.content
    client = _client(content, repo, {})
    with pytest.raises(HubHTTPError, match="was announced"):  # the bytes are checked on the way in
        client.put(f"/lfs/{'f' * 64}", params={"size": len(DATA)}, content=DATA)
    assert not content.holds(repo, "f" * 64)
    sha = _upload_lfs(client, DATA)
    entry = lfs_entry(sha, len(DATA))
    assert content.holds(repo, sha) and content.holds(repo, sha, len(DATA)) and not content.holds(repo, sha, 1)
    holder = content.holder(repo, sha)
    assert holder is not None and holder.kind == "lfs" and content.kind_of(entry) == "lfs"
    assert not content.holds(other, sha)  # stored, but not uploaded to that repository
    # linked into a commit: the entry of an lfsFile line; the size is checked; another repo may not use it
    assert content.commit_entry(repo, sha, len(DATA), "w.bin") == entry == content.commit_entry(repo, sha, None, "w")
    with pytest.raises(HubHTTPError, match="does not match the uploaded object"):
        content.commit_entry(repo, sha, len(DATA) + 1, "w.bin")
    with pytest.raises(HubHTTPError, match="was not uploaded to 'alice/lfs-other'"):
        content.commit_entry(other, sha, len(DATA), "w.bin")
    assert content.copy(other, repo, sha) is None
    assert content.copy(repo, other, sha) == {"sha256": sha} and content.holds(other, sha)
    # answered with the headers the client reads, the bytes, ranges
    client = _client(content, repo, {"w.bin": entry})
    whole = client.get("/files/w.bin")
    assert whole.status_code == 200 and whole.content == DATA
    assert whole.headers["x-linked-etag"] == f'"{sha}"' and whole.headers["x-linked-size"] == str(len(DATA))
    assert "x-xet-hash" not in whole.headers and "link" not in whole.headers
    assert whole.headers["content-type"] == "application/octet-stream"
    part = client.get("/files/w.bin", headers={"Range": "bytes=-10"})
    assert part.status_code == 206 and part.content == DATA[-10:]
    by_sha = client.get(f"/objects/{sha}", headers={"Range": "bytes=100-199"})
    assert by_sha.status_code == 206 and by_sha.content == DATA[100:200] and by_sha.headers["etag"] == f'"{sha}"'


# -- Xet files ----------------------------------------------------------------------------------------------
def test_a_xet_file_is_rebuilt_from_its_xorbs(hub: Hub) -> None:
    repo, other = _repo(hub, "xet"), _repo(hub, "xet-other")
    chunks = [DATA[:30_000], DATA[30_000:52_000], DATA[52_000:]]
    sha, xet_hash, _ = _upload_xet(hub, repo, chunks)
    entry = lfs_entry(sha, len(DATA))
    content = hub.content
    holder = content.holder(repo, sha, len(DATA))
    assert holder is not None and holder.kind == "xet" and content.kind_of(entry) == "xet"
    assert not content.holds(other, sha) and content.present(sha, len(DATA)) and not content.present(sha, 5)
    assert content.xet_hashes(repo) == {sha: xet_hash} and content.xet_hashes(other) == {}
    # opened as one seekable file: chunk boundaries are invisible
    for pos, n in ((0, 10), (29_995, 10), (51_999, 2), (69_990, 100)):
        assert _read_at(lambda: content.open(sha), pos, n) == DATA[pos:pos + n]
    assert content.commit_entry(repo, sha, len(DATA), "x.bin") == entry
    with pytest.raises(HubHTTPError, match="does not match the file uploaded through Xet"):
        content.commit_entry(repo, sha, 1, "x.bin")
    # answered with the Xet headers (Xet clients then go to the CAS) and, for everyone else, the rebuilt bytes
    client = _client(content, repo, {"x.bin": entry})
    whole = client.get("/files/x.bin")
    assert whole.status_code == 200 and whole.content == DATA
    assert whole.headers["x-xet-hash"] == xet_hash and whole.headers["link"] == f'<{AUTH_URL}>; rel="xet-auth"'
    assert whole.headers["x-linked-etag"] == f'"{sha}"' and whole.headers["x-linked-size"] == str(len(DATA))
    assert whole.headers["content-disposition"] == 'inline; filename="x.bin"'
    part = client.get("/files/x.bin", headers={"Range": "bytes=29990-30009"})
    assert part.status_code == 206 and part.content == DATA[29_990:30_010]
    assert part.headers["content-range"] == f"bytes 29990-30009/{len(DATA)}"
    head = client.head("/files/x.bin")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(DATA))
    with pytest.raises(HubHTTPError) as outside:
        client.get("/files/x.bin", headers={"Range": f"bytes={len(DATA)}-"})
    assert outside.value.status == 416
    # a copy links the Xet file to the target, which then holds (and lists) it
    assert content.copy(repo, other, sha) == {"sha256": sha, "xetHash": xet_hash}
    assert content.holds(other, sha) and content.xet_hashes(other) == {sha: xet_hash}
    # the LFS blob of the same bytes, once uploaded, serves first (no rebuilding)
    lfs_sha = _upload_lfs(client, DATA)
    assert lfs_sha == sha and content.kind_of(entry) == "lfs"
    assert client.get("/files/x.bin").headers["x-xet-hash"] == xet_hash  # still fetched through Xet by Xet clients


def test_a_xet_file_whose_xorb_was_collected_is_not_present(hub: Hub) -> None:
    repo = _repo(hub, "xet-gone")
    sha, _, xorb_hash = _upload_xet(hub, repo, [DATA[:40_000]])
    assert hub.content.present(sha, 40_000)
    hub.store.delete(xorb_hash)  # as garbage collection would
    assert not hub.content.present(sha, 40_000) and hub.content.kind_of(lfs_entry(sha, 40_000)) is None


# -- missing content ----------------------------------------------------------------------------------------
def test_missing_content_is_answered_as_missing(hub: Hub) -> None:
    repo = _repo(hub, "missing")
    content = hub.content
    sha = "0" * 64
    entry = lfs_entry(sha, 10)
    assert not content.holds(repo, sha) and content.holder(repo, sha) is None
    assert not content.present(sha, 10) and content.kind_of(entry) is None
    assert content.kind_of(FileEntry(sha, 10, "1" * 40, False)) is None
    with pytest.raises(FileNotFoundError, match=sha):
        content.open(sha)
    with pytest.raises(HubHTTPError, match="was not uploaded to 'alice/missing'"):
        content.commit_entry(repo, sha, 10, "gone.bin")
    assert content.copy(repo, _repo(hub, "missing-target"), sha) is None
    client = _client(content, repo, {"gone.bin": entry, "gone.txt": FileEntry(sha, 10, "1" * 40, False)})
    for path in ("gone.bin", "gone.txt"):
        with pytest.raises(HubHTTPError, match="is missing from the hub's store") as err:
            client.get(f"/files/{path}")
        assert err.value.status == 500 and path in str(err.value)


# -- the S3 store: LFS downloads are redirects ------------------------------------------------------------------
def test_lfs_files_on_s3_answer_a_presigned_redirect(s3_server, tmp_path: Path) -> None:  # noqa: ANN001
    storage = Storage(tmp_path / "hub.sqlite")
    storage.accounts.add_namespace("alice", "user")
    blobs = S3BlobStore(tmp_path / "blobs", s3_server.new_bucket(), "hub/blobs", client=s3_server.client())
    content = ContentStore(storage, blobs, HubSettings(data_dir=tmp_path), storage.secret())
    text = b"a regular file\n"
    readme = FileEntry(content.put_bytes(text), len(text), git_blob_oid(text), False)
    repo = storage.repos.create("model", "alice", "on-s3", private=False, author="alice",
                                initial_blob=(readme.sha256, readme.size, readme.oid))
    assert repo is not None
    client = _client(content, repo, {})
    sha = _upload_lfs(client, DATA)
    client = _client(content, repo, {"w.bin": lfs_entry(sha, len(DATA)), "README.md": readme})
    moved = client.get("/files/w.bin", follow_redirects=False)
    assert moved.status_code == 302 and moved.headers["x-linked-etag"] == f'"{sha}"'
    assert moved.headers["x-repo-commit"] == "c" * 40
    location = moved.headers["location"]
    assert location.startswith(s3_server.url) and "Signature" in location
    fetched = httpx.get(location)
    assert fetched.status_code == 200 and fetched.content == DATA
    assert fetched.headers["content-disposition"] == "inline; filename*=UTF-8''w.bin"
    assert client.get(f"/objects/{sha}", follow_redirects=False).status_code == 302
    # regular files are never redirected; with redirects off, LFS files are served by the hub too
    kept = client.get("/files/README.md", follow_redirects=False)
    assert kept.status_code == 200 and kept.content == text
    blobs.redirects = False
    served = client.get("/files/w.bin", follow_redirects=False)
    assert served.status_code == 200 and served.content == DATA
    storage.close()


# -- a further backend ----------------------------------------------------------------------------------------
class MemoryBackend:
    """Content held in memory for every repository: what a further blob backend implements."""

    kind = "memory"
    described = "the object held in memory"

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def holds(self, repo: Repo, sha256: str, size: int | None = None) -> bool:
        return sha256 in self.objects and size in (None, len(self.objects[sha256]))

    def held_size(self, repo: Repo, sha256: str) -> int | None:
        return len(self.objects[sha256]) if sha256 in self.objects else None

    def stores(self, sha256: str, size: int) -> bool:
        return self.holds(None, sha256, size)  # type: ignore[arg-type]

    def open(self, sha256: str) -> BinaryIO | None:
        return io.BytesIO(self.objects[sha256]) if sha256 in self.objects else None

    def respond(self, request: Request, sha256: str, headers: dict[str, str], *, repo: Repo | None,
                redirect: bool, media_type: str | None, filename: str | None) -> Response | None:
        if sha256 not in self.objects:
            return None
        return Response(self.objects[sha256], headers=headers, media_type=media_type)

    def copy(self, source: Repo, target: Repo, sha256: str) -> dict[str, str] | None:
        return {"sha256": sha256} if sha256 in self.objects else None


def test_a_further_backend_plugs_in_where_the_gateway_lists_them(hub: Hub) -> None:
    repo = _repo(hub, "memory")
    data = b"held elsewhere" * 10
    sha = hashlib.sha256(data).hexdigest()
    content = hub.content
    assert not content.holds(repo, sha)
    content.backends = (*content.backends, MemoryBackend({sha: data}))
    entry = lfs_entry(sha, len(data))
    assert content.holds(repo, sha, len(data)) and content.kind_of(entry) == "memory"
    assert content.present(sha, len(data)) and _read_at(lambda: content.open(sha), 5, 9) == b"elsewhere"
    assert content.commit_entry(repo, sha, len(data), "m.bin") == entry
    with pytest.raises(HubHTTPError, match="does not match the object held in memory"):
        content.commit_entry(repo, sha, 1, "m.bin")
    answer = _client(content, repo, {"m.bin": entry}).get("/files/m.bin")
    assert answer.status_code == 200 and answer.content == data and answer.headers["x-linked-etag"] == f'"{sha}"'
