"""How the hub stores each commit's manifest: the packed form, and the JSON text of databases written before it."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

from modelyard.server.config import HubSettings
from modelyard.server.gc import collect_garbage
from modelyard.server.gitobjects import FileEntry, git_blob_oid, lfs_entry
from modelyard.server.service import Hub
from modelyard.server.storage import BRANCH, NewCommit, Repo, Storage
from modelyard.server.storage.trees import MAGIC, decode_manifest, encode_manifest


def entry(content: bytes) -> FileEntry:
    return FileEntry(hashlib.sha256(content).hexdigest(), len(content), git_blob_oid(content), False)


MANIFEST = {
    "README.md": entry(b"# card\n"),
    "config.json": entry(b"{}"),
    "weights/model-00001-of-00002.safetensors": lfs_entry("ab" * 32, 5 * 2**40),  # 5 TiB, stored through LFS
    "weights/huge.bin": lfs_entry("cd" * 32, 2**63 - 1),
    "données/été 2024/ünïcödé 名前 😀.txt": entry("é".encode()),
    "empty.txt": entry(b""),
    "a b/c,d;e=f&g.txt": entry(b"x"),
}


def legacy_json(manifest: dict[str, FileEntry]) -> str:
    """What the hub wrote into ``trees.manifest`` before the packed form (kept here to make such databases)."""
    return json.dumps({p: list(e) for p, e in sorted(manifest.items())}, separators=(",", ":"))


def test_packed_manifest_round_trips_exactly() -> None:
    packed = encode_manifest(MANIFEST)
    assert isinstance(packed, bytes) and packed.startswith(MAGIC)
    back = decode_manifest(packed)
    assert back == MANIFEST
    assert list(back) == sorted(MANIFEST)  # path order, as the JSON form kept it
    for path, found in back.items():
        assert type(found) is FileEntry and [type(v) for v in found] == [str, int, str, bool], path
    assert decode_manifest(encode_manifest({})) == {}
    assert decode_manifest(encode_manifest(back)) == MANIFEST
    assert len(packed) < len(legacy_json(MANIFEST).encode())


def test_packed_manifest_has_the_documented_little_endian_layout() -> None:
    """The bytes are the same on every platform, so a database file moves between machines."""
    one = {"a/b": FileEntry("0f" * 32, 258, "e1" * 20, True), "c": FileEntry("10" * 32, 0, "02" * 20, False)}
    assert encode_manifest(one) == b"".join([
        b"MYM1", struct.pack("<I", 2), struct.pack("<qq", 258, 0), b"\x01\x00",
        bytes.fromhex("0f" * 32 + "10" * 32), bytes.fromhex("e1" * 20 + "02" * 20), b"a/b\x00c"])


def test_json_manifests_of_older_databases_still_read() -> None:
    assert decode_manifest(legacy_json(MANIFEST)) == MANIFEST
    assert decode_manifest("{}") == {}


@pytest.mark.parametrize("path, bad", [
    ("", entry(b"x")),
    ("a\x00b", entry(b"x")),
    ("upper.txt", FileEntry("AB" * 32, 1, "cd" * 20, False)),
    ("short.txt", FileEntry("ab" * 31, 1, "cd" * 20, False)),
    ("spaced.txt", FileEntry("ab " * 21 + "a", 1, "cd" * 20, False)),
    ("not-hex.txt", FileEntry("zz" * 32, 1, "cd" * 20, False)),
    ("oid.txt", FileEntry("ab" * 32, 1, "CD" * 20, False)),
    ("negative.txt", FileEntry("ab" * 32, -1, "cd" * 20, False)),
    ("too-big.txt", FileEntry("ab" * 32, 2**63, "cd" * 20, False)),
])
def test_what_the_packed_form_cannot_hold_exactly_is_refused(path: str, bad: FileEntry) -> None:
    with pytest.raises(ValueError, match="cannot store a manifest"):
        encode_manifest({**MANIFEST, path: bad})


def test_corrupt_packed_manifests_are_refused() -> None:
    packed = encode_manifest(MANIFEST)
    for damaged in (packed[:3], b"XXXX" + packed[4:], packed[:40], packed + b"\x00extra"):
        with pytest.raises(ValueError, match="corrupt manifest"):
            decode_manifest(damaged)


# -- a database written before the packed form ----------------------------------------------------------------
def _commit(storage: Storage, repo: Repo, files: dict[str, FileEntry], title: str) -> str:
    return storage.commits.commit(repo, BRANCH + "main", lambda head, manifest: NewCommit(
        {**manifest, **files}, "alice", title, ""))[0]


def _to_legacy_rows(storage: Storage) -> int:
    """Rewrite every stored tree the way the hub wrote them before the packed form."""
    with storage.transaction() as db:
        rows = db.execute("SELECT oid, manifest FROM trees").fetchall()
        for row in rows:
            db.execute("UPDATE trees SET manifest=? WHERE oid=?", (legacy_json(decode_manifest(row["manifest"])),
                                                                 row["oid"]))
    return len(rows)


def _tree_kinds(storage: Storage) -> dict[str, int]:
    return {r[0]: r[1] for r in storage.conn().execute("SELECT typeof(manifest), COUNT(*) FROM trees GROUP BY 1")}


def test_a_database_with_json_trees_keeps_working(tmp_path: Path) -> None:
    hub = Hub(HubSettings(data_dir=tmp_path / "hub"))
    storage = hub.storage
    storage.accounts.add_namespace("alice", "user")
    repo = storage.repos.create("model", "alice", "m", private=False, author="alice",
                                initial_blob=hub.gitattributes_blob)
    assert repo is not None
    contents = {"a/x.txt": b"one", "b.txt": b"two", "c.bin": b"three"}
    shas = {p: hub.store.put_bytes(c) for p, c in contents.items()}
    first = _commit(storage, repo, {p: entry(c) for p, c in contents.items()}, "add")
    assert _tree_kinds(storage) == {"blob": 2}
    assert _to_legacy_rows(storage) == 2 and _tree_kinds(storage) == {"text": 2}

    reopened = Storage(storage.db_path)  # empty caches: every manifest comes from the database again
    expected = {".gitattributes": reopened.commits.manifest_of(first, repo=repo)[".gitattributes"],
                **{p: entry(c) for p, c in contents.items()}}
    assert reopened.commits.manifest_of(first, repo=repo) == expected
    # A commit on top of a JSON tree: the new tree is packed, the change index compares across both forms.
    second = _commit(reopened, repo, {"b.txt": entry(b"two, again")}, "edit b")
    assert _tree_kinds(reopened) == {"text": 2, "blob": 1}
    assert reopened.commits.manifest_of(second, repo=repo) == {**expected, "b.txt": entry(b"two, again")}
    last = reopened.changes.last_changes(repo, second, ["a", "a/x.txt", "b.txt", "c.bin"])
    assert {p: c.oid for p, c in last.items()} == {"a": first, "a/x.txt": first, "b.txt": second, "c.bin": first}
    # Garbage collection reads the JSON trees too: the files of the first commit stay.
    report = collect_garbage(reopened, hub.store, grace=0, apply=False)
    orphans = {sha for sha, _ in report.orphan_blobs}
    assert not orphans & set(shas.values())


def test_pages_and_api_read_a_database_with_json_trees(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from modelyard.server.app import create_app

    settings = HubSettings(data_dir=tmp_path / "hub")
    hub = Hub(settings)
    hub.storage.accounts.add_namespace("alice", "user")
    repo = hub.storage.repos.create("model", "alice", "old", private=False, author="alice",
                                    initial_blob=hub.gitattributes_blob)
    assert repo is not None
    files = {"docs/notes.md": b"# Notes\n", "config.json": b'{"model_type": "bert"}'}
    for content in files.values():
        hub.store.put_bytes(content)
    first = _commit(hub.storage, repo, {p: entry(c) for p, c in files.items()}, "add docs and config")
    second = _commit(hub.storage, repo, {"docs/notes.md": entry(b"# Notes, edited\n")}, "edit the notes")
    hub.store.put_bytes(b"# Notes, edited\n")
    _to_legacy_rows(hub.storage)

    with TestClient(create_app(settings), headers={"Accept": "text/html"}) as client:  # a restart: caches empty
        tree = client.get("/alice/old/tree/main/docs")
        assert tree.status_code == 200 and "notes.md" in tree.text and "edit the notes" in tree.text
        blob = client.get("/alice/old/blob/main/config.json")
        assert blob.status_code == 200 and "bert" in blob.text
        commit = client.get(f"/alice/old/commit/{second}")
        assert commit.status_code == 200 and "docs/notes.md" in commit.text and "edited" in commit.text
        listing = client.get("/api/models/alice/old/tree/main", params={"recursive": "1"},
                             headers={"Accept": "application/json"}).json()
        assert {item["path"] for item in listing if item["type"] == "file"} == {
            ".gitattributes", "config.json", "docs/notes.md"}
        at_first = client.get(f"/alice/old/resolve/{first}/docs/notes.md")
        assert at_first.status_code == 200 and at_first.content == b"# Notes\n"
