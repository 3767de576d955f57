"""Xet formats and the CAS API's refusals: hashes against hf_xet's own, xorbs and shards that are malformed,
corrupted or lying are refused with a message saying what is wrong, and garbage collection of Xet storage.

Objects are built here by hand (a few lines per object, from the published format); what the real client
sends is covered by ``test_hub_xet.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import lz4.frame
import pytest
from _hub_server import HubServer

from modelyard.server.gc import collect_garbage
from modelyard.server.xet import hashing, routes, shard, xorb
from modelyard.server.xet.hashing import hash_to_text

MiB = 1024 * 1024


# -- hashes -------------------------------------------------------------------------------------------
def test_hash_text_form_is_the_specifications() -> None:
    raw = bytes(range(32))
    text = hash_to_text(raw)
    assert text == "0706050403020100" "0f0e0d0c0b0a0908" "1716151413121110" "1f1e1d1c1b1a1918"
    assert hashing.text_to_hash(text) == raw
    for bad in ("00" * 31, "AB" * 32, "zz" * 32):
        with pytest.raises(ValueError, match="not a Xet hash"):
            hashing.text_to_hash(bad)


def _constant_chunks(values: range | list[int]) -> tuple[bytes, list[bytes]]:
    """A file whose chunks are known without a chunker: 128 KiB runs of one byte value each (no
    content-defined cut happens inside such a run, so each run is cut at the maximum chunk size)."""
    chunks = [bytes([v]) * xorb.MAX_CHUNK_SIZE for v in values]
    return b"".join(chunks), chunks


@pytest.mark.parametrize("values", [[7], list(range(8)), list(range(41)), [3] * 30 + [9] * 12])
def test_file_hashes_match_hf_xets(values: list[int], tmp_path: Path) -> None:
    """Chunk hash, the aggregated tree (one level, several levels, natural cuts and forced ones) and the
    final keyed hash, against the Rust implementation the client uses."""
    import hf_xet

    data, chunks = _constant_chunks(values)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    expected = hf_xet.hash_files([str(path)])[0].hash
    ours = hashing.file_hash([(hashing.chunk_hash(c), len(c)) for c in chunks])
    assert hash_to_text(ours) == expected
    small = os.urandom(5000)  # under the minimum chunk size: one chunk
    path.write_bytes(small)
    assert hash_to_text(hashing.file_hash([(hashing.chunk_hash(small), 5000)])) == hf_xet.hash_files([str(path)])[0].hash


# -- xorb parsing -------------------------------------------------------------------------------------
def _xorb(chunks: list[bytes], scheme: int = 1) -> tuple[str, bytes]:
    body = xorb.serialize_chunks(chunks, scheme=scheme)
    return hash_to_text(hashing.xorb_hash([(hashing.chunk_hash(c), len(c)) for c in chunks])), body


def _footer_v1(chunks: list[bytes], body: bytes) -> bytes:
    """The footer xet-core clients may append (ident, hash, chunk hashes, boundaries, trailing length)."""
    info = xorb.parse_xorb(body)
    n = len(chunks)
    ends = [c.offset for c in info.chunks[1:]] + [info.content_end]
    unpacked, total = [], 0
    for c in chunks:
        total += len(c)
        unpacked.append(total)
    hashes_section = b"XBLBHSH" + bytes([0]) + struct.pack("<I", n) + b"".join(hashing.chunk_hash(c) for c in chunks)
    bounds_section = b"XBLBBND" + bytes([1]) + struct.pack("<I", n) + struct.pack(f"<{2 * n}I", *ends, *unpacked)
    tail = struct.pack("<III", n, len(hashes_section) + len(bounds_section) + 28,
                       len(bounds_section) + 28) + bytes(16)
    footer = b"XETBLOB" + bytes([1]) + info.hash + hashes_section + bounds_section + tail
    return footer + struct.pack("<I", len(footer))


def test_xorbs_decode_with_every_compression_scheme() -> None:
    chunks = [os.urandom(1000), bytes(70_000), bytes(range(256)) * 100 + b"xyz"]
    for scheme in (0, 1, 2):
        text, body = _xorb(chunks, scheme)
        info = xorb.parse_xorb(body, expected_hash=hashing.text_to_hash(text))
        assert [c.length for c in info.chunks] == [len(c) for c in chunks] and info.content_end == len(body)
        assert b"".join(xorb.iter_chunks(body)) == b"".join(chunks)
    text, body = _xorb(chunks)
    with_footer = body + _footer_v1(chunks, body)
    assert xorb.parse_xorb(with_footer, expected_hash=hashing.text_to_hash(text)).content_end == len(body)


def _damage_first_payload(body: bytes) -> bytes:
    compressed = int.from_bytes(body[1:4], "little")
    return body[:8] + bytes(compressed) + body[8 + compressed:]


@pytest.mark.parametrize("piece", [1, 7, 8, 4096, 100_000])
def test_xorbs_check_the_same_when_fed_in_pieces(piece: int) -> None:
    """Uploads are checked as they stream: any split of the bytes (inside headers, chunks or the footer)
    gives the same result as the whole, and damage is reported at the same place."""
    chunks = [os.urandom(3000), bytes(range(256)) * 200, os.urandom(50)]
    text, body = _xorb(chunks, scheme=2)
    whole = body + _footer_v1(chunks, body)
    parser = xorb.XorbParser(expected_hash=hashing.text_to_hash(text))
    for start in range(0, len(whole), piece):
        parser.feed(whole[start:start + piece])
    assert parser.finish() == xorb.parse_xorb(whole)
    second = xorb.parse_xorb(body).chunks[1].offset
    damaged = bytearray(body)
    damaged[second + 8 + 20] ^= 0xFF  # inside the second chunk's LZ4 frame
    parser = xorb.XorbParser()
    with pytest.raises(xorb.XorbFormatError, match=f"chunk 1 \\(at byte {second}\\): the bg4-lz4 data"):
        for start in range(0, len(damaged), piece):
            parser.feed(bytes(damaged[start:start + piece]))
        parser.finish()
    parser = xorb.XorbParser()
    parser.feed(body[:-5])
    with pytest.raises(xorb.XorbFormatError, match="chunk 2 .* run past the end"):
        parser.finish()


def test_malformed_xorbs_say_what_is_wrong() -> None:
    chunk = bytes(range(256)) * 19 + os.urandom(136)  # compressible: stored as an LZ4 frame
    text, body = _xorb([chunk, chunk[::-1]])
    cases = {
        "run past the end": body[:-10],
        "chunk 0 \\(at byte 0\\): the lz4 data does not decompress": _damage_first_payload(body),
        "chunk header version 3": bytes([3]) + body[1:],
        "unknown compression scheme 7": body[:4] + bytes([7]) + body[5:],
        "does not start with 'XETBLOB'": body + b"Xtrailing garbage",
        "holds no chunk": b"",
    }
    for message, data in cases.items():
        with pytest.raises(xorb.XorbFormatError, match=message):
            xorb.parse_xorb(data)
    # A header that lies about the uncompressed length.
    packed = lz4.frame.compress(chunk)
    lying = bytes([0]) + len(packed).to_bytes(3, "little") + bytes([1]) + (4000).to_bytes(3, "little") + packed
    with pytest.raises(xorb.XorbFormatError, match="decompresses to 5000 bytes but its header says 4000"):
        xorb.parse_xorb(lying)
    too_big = bytes([0]) + (200_000).to_bytes(3, "little") + bytes([0]) + (200_000).to_bytes(3, "little")
    with pytest.raises(xorb.XorbFormatError, match="outside 1..131072"):
        xorb.parse_xorb(too_big + bytes(200_000))
    footer = _footer_v1([chunk, chunk[::-1]], body)
    bad_footer = footer[:8] + bytes(32) + footer[40:]
    with pytest.raises(xorb.XorbFormatError, match="names another xorb hash"):
        xorb.parse_xorb(body + bad_footer)
    with pytest.raises(xorb.XorbFormatError, match=f"not to the {'11' * 32}"):
        xorb.parse_xorb(body, expected_hash=hashing.text_to_hash("11" * 32))


def test_a_full_xorb_may_exceed_64_mib_serialized() -> None:
    """64 MiB of incompressible chunks serialize to a little more (their headers): hf_xet sends such xorbs."""
    block = os.urandom(xorb.MAX_CHUNK_SIZE + 4096)
    chunks = [block[i:i + xorb.MAX_CHUNK_SIZE] for i in range(512)]  # 512 distinct chunks of 128 KiB
    _, body = _xorb(chunks, scheme=0)
    assert len(body) > 64 * MiB
    assert xorb.parse_xorb(body).raw_size == 64 * MiB
    _, bigger = _xorb(chunks + chunks[:2], scheme=0)
    with pytest.raises(xorb.XorbFormatError, match="above the limit of 67108864 \\(64 MiB\\) per xorb"):
        xorb.parse_xorb(bigger)


def test_shards_round_trip_and_refuse_damage() -> None:
    term = shard.Term(os.urandom(32), 0, 3, 1234)
    files = [shard.FileRecord(os.urandom(32), (term, term), (os.urandom(32), os.urandom(32)), os.urandom(32))]
    xorbs = [shard.XorbRecord(term.xorb, ((os.urandom(32), 0, 10), (os.urandom(32), 10, 20)), 30, 99)]
    body = shard.serialize_shard(files, xorbs, footer=False)
    parsed = shard.parse_shard(body)
    assert parsed.files == tuple(files) and parsed.xorbs == tuple(xorbs)
    with_footer = shard.serialize_shard(files, xorbs, footer=True, hmac_key=b"k" * 32, expiry=5)
    assert shard.parse_shard(with_footer) == parsed
    footer = with_footer[-shard.FOOTER_SIZE:]
    assert struct.unpack_from("<Q", footer)[0] == 1 and footer[72:104] == b"k" * 32
    assert struct.unpack_from("<Q", footer, 192)[0] == len(with_footer) - shard.FOOTER_SIZE
    for message, data in {"header tag": b"nope" + body[4:], "bookend is missing": body[:-48],
                          "bytes follow": body + bytes(48), "header version 3": body[:32] + struct.pack("<Q", 3) + body[40:],
                          "claims 1000000 terms": body[:48 + 36] + struct.pack("<I", 1_000_000) + body[48 + 40:]}.items():
        with pytest.raises(shard.ShardFormatError, match=message):
            shard.parse_shard(data)


# -- the CAS API refusing bad objects -----------------------------------------------------------------
@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    server = HubServer(tmp_path_factory.mktemp("xet-formats")).start()
    yield server
    server.stop()


@pytest.fixture
def repo(hub: HubServer) -> str:
    repo_id = hub.repo_id("fmt")
    hub.api().create_repo(repo_id)
    return repo_id


def _token(hub: HubServer, repo: str, scope: str = "write") -> tuple[str, dict[str, str]]:
    body = httpx.get(f"{hub.url}/api/models/{repo}/xet-{scope}-token/main",
                     headers={"authorization": f"Bearer {hub.token}"}).json()
    return body["casUrl"], {"authorization": f"Bearer {body['accessToken']}"}


def _file_record(chunks: list[bytes], xorb_text: str, **override: object) -> shard.FileRecord:
    data = b"".join(chunks)
    hashes = [hashing.chunk_hash(c) for c in chunks]
    fields: dict[str, object] = {
        "hash": hashing.file_hash([(h, len(c)) for h, c in zip(hashes, chunks)]),
        "terms": (shard.Term(hashing.text_to_hash(xorb_text), 0, len(chunks), len(data)),),
        "verifications": (hashing.verification_hash(hashes),),
        "sha256": hashing.text_to_hash(hashlib.sha256(data).hexdigest()),
    }
    fields.update(override)
    return shard.FileRecord(**fields)  # type: ignore[arg-type]


def _commit(hub: HubServer, repo: str, path: str, data: bytes) -> httpx.Response:
    lines = [{"key": "header", "value": {"summary": f"add {path}"}},
             {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": hashlib.sha256(data).hexdigest(),
                                          "size": len(data)}}]
    return httpx.post(f"{hub.url}/api/models/{repo}/commit/main", content="\n".join(json.dumps(x) for x in lines),
                      headers={"authorization": f"Bearer {hub.token}", "content-type": "application/x-ndjson"})


def test_a_hand_made_upload_is_accepted_then_committed_by_sha256(hub: HubServer, repo: str) -> None:
    cas, auth = _token(hub, repo)
    chunks = [os.urandom(9000), os.urandom(20_000), bytes(30_000)]
    text, body = _xorb(chunks, scheme=2)
    body += _footer_v1(chunks, body)
    assert httpx.post(f"{cas}/v1/xorbs/default/{text}", headers=auth, content=body).json() == {"was_inserted": True}
    assert httpx.post(f"{cas}/v1/xorbs/default/{text}", headers=auth, content=body).json() == {"was_inserted": False}
    assert httpx.head(f"{cas}/v1/xorbs/default/{text}", headers=auth).headers["content-length"] == str(len(body))
    record = _file_record(chunks, text)
    listing = shard.XorbRecord(hashing.text_to_hash(text), tuple(
        (hashing.chunk_hash(c), sum(map(len, chunks[:i])), len(c)) for i, c in enumerate(chunks)), 59_000, len(body))
    answer = httpx.post(f"{cas}/v1/shards", headers=auth, content=shard.serialize_shard([record], [listing], footer=False))
    assert answer.status_code == 200 and answer.json() == {"result": 1}
    data = b"".join(chunks)
    assert _commit(hub, repo, "hand.bin", data).status_code == 200
    assert httpx.get(f"{hub.url}/{repo}/resolve/main/hand.bin").content == data
    # The hub reads such content like any file (scans, small files): seekable, chunk boundaries invisible.
    with hub.app.state.hub.content.open(hashlib.sha256(data).hexdigest()) as fh:
        for pos, n in ((0, 10), (8995, 10), (28_999, 2), (40_000, 30_000), (58_990, 100)):
            fh.seek(pos)
            assert fh.read(n) == data[pos:pos + n]
        assert fh.seek(0, os.SEEK_END) == len(data) and fh.read() == b""
    # The dedupe API finds the file's first chunk and lists the xorb with keyed chunk hashes.
    found = httpx.get(f"{cas}/v1/chunks/default/{hash_to_text(hashing.chunk_hash(chunks[0]))}", headers=auth)
    answer_shard = shard.parse_shard(found.content)
    key = found.content[-shard.FOOTER_SIZE + 72:-shard.FOOTER_SIZE + 104]
    assert [x.hash for x in answer_shard.xorbs] == [hashing.text_to_hash(text)]
    assert [h for h, _, _ in answer_shard.xorbs[0].chunks] == [hashing.keyed(key, hashing.chunk_hash(c)) for c in chunks]


def test_bad_xorb_uploads_are_refused(hub: HubServer, repo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cas, auth = _token(hub, repo)
    chunk = bytes(range(256)) * 39 + os.urandom(16)
    text, body = _xorb([chunk])
    url = f"{cas}/v1/xorbs/default/{text}"
    wrong = httpx.post(f"{cas}/v1/xorbs/default/{'ab' * 32}", headers=auth, content=body)
    assert wrong.status_code == 400 and f"hash to {text}" in wrong.json()["error"]
    damaged = httpx.post(url, headers=auth, content=_damage_first_payload(body))
    assert damaged.status_code == 400 and "chunk 0 (at byte 0)" in damaged.json()["error"]
    assert httpx.post(url, headers=auth, content=body[:-1]).status_code == 400
    assert httpx.head(url, headers=auth).status_code == 404  # nothing was stored
    assert httpx.post(f"{cas}/v1/xorbs/default/ABC", headers=auth, content=body).status_code == 400
    assert httpx.post(f"{cas}/v1/xorbs/other/{text}", headers=auth, content=body).status_code == 400
    assert httpx.post(url, content=body).status_code == 401
    _, read = _token(hub, repo, "read")
    assert httpx.post(url, headers=read, content=body).status_code == 403
    monkeypatch.setattr(routes, "MAX_XORB_SIZE", 100)
    too_big = httpx.post(url, headers=auth, content=body)
    assert too_big.status_code == 413 and "at most 100." in too_big.json()["error"]
    monkeypatch.undo()
    assert httpx.post(url, headers=auth, content=body).status_code == 200
    # Grants are not offered: the client then uploads directly.
    assert httpx.post(f"{cas}/v1/xorb-grants/default/{text}", headers=auth, json={}).status_code == 404


def test_bad_shards_are_refused(hub: HubServer, repo: str) -> None:
    cas, auth = _token(hub, repo)
    chunks = [os.urandom(9000), os.urandom(9000)]
    text, body = _xorb(chunks)
    assert httpx.post(f"{cas}/v1/xorbs/default/{text}", headers=auth, content=body).status_code == 200
    good = _file_record(chunks, text)
    other_sha = hashing.text_to_hash(hashlib.sha256(b"other").hexdigest())
    cases = {
        "does not start with the shard header tag": b"garbage" * 10,
        "has no verification entries": [_file_record(chunks, text, verifications=None)],
        "verification hash does not match": [_file_record(chunks, text, verifications=(bytes(32),))],
        "reconstruct a file whose hash is": [_file_record(chunks, text, hash=bytes(32))],
        "is outside xorb": [_file_record(chunks, text, terms=(shard.Term(hashing.text_to_hash(text), 0, 5, 18000),))],
        "the term says 17000 bytes": [_file_record(chunks, text, terms=(shard.Term(hashing.text_to_hash(text), 0, 2,
                                                                                   17000),))],
        "but the file's bytes hash to": [_file_record(chunks, text, sha256=other_sha)],
        "is not stored on this hub": [_file_record(chunks, "cd" * 32)],
    }
    for message, content in cases.items():
        payload = content if isinstance(content, bytes) else shard.serialize_shard(content, [], footer=False)
        answer = httpx.post(f"{cas}/v1/shards", headers=auth, content=payload)
        assert answer.status_code == 400 and message in answer.json()["error"], (message, answer.text)
    unlisted = shard.XorbRecord(hashing.text_to_hash("ef" * 32), (), 0, 0)
    answer = httpx.post(f"{cas}/v1/shards", headers=auth, content=shard.serialize_shard([good], [unlisted], footer=False))
    assert answer.status_code == 400 and "upload the xorb before the shard" in answer.json()["error"]
    # The streaming variant reports the refusal as its terminal event.
    stream = httpx.post(f"{cas}/v2/shards", headers=auth,
                        content=shard.serialize_shard([_file_record(chunks, text, hash=bytes(32))], [], footer=False))
    events = [json.loads(line) for line in stream.text.splitlines()]
    assert stream.status_code == 200 and events[-1]["type"] == "error"
    assert "reconstruct a file whose hash is" in events[-1]["message"]
    ok = httpx.post(f"{cas}/v2/shards", headers=auth, content=shard.serialize_shard([good], [], footer=False))
    assert [json.loads(line)["type"] for line in ok.text.splitlines()][-1] == "result"
    # No file was registered by the refused shards: committing their content fails.
    assert _commit(hub, repo, "x.bin", b"other").status_code == 400


# -- garbage collection -------------------------------------------------------------------------------
def test_garbage_collection_of_xet_storage(tmp_path: Path) -> None:
    server = HubServer(tmp_path / "hub").start()
    try:
        repo = server.repo_id("gc")
        server.api().create_repo(repo)
        cas, auth = _token(server, repo)
        kept_chunks, dropped_chunks = [os.urandom(9000)], [os.urandom(9000)]
        for chunks in (kept_chunks, dropped_chunks):
            text, body = _xorb(chunks)
            assert httpx.post(f"{cas}/v1/xorbs/default/{text}", headers=auth, content=body).status_code == 200
            payload = shard.serialize_shard([_file_record(chunks, text)], [], footer=False)
            assert httpx.post(f"{cas}/v1/shards", headers=auth, content=payload).status_code == 200
        assert _commit(server, repo, "kept.bin", kept_chunks[0]).status_code == 200
        hub = server.app.state.hub
        young = collect_garbage(server.storage, hub.store, grace=3600, apply=True)
        assert young.orphan_xorbs == young.orphan_xet_files == 0  # an upload may still be committed
        report = collect_garbage(server.storage, hub.store, grace=0, apply=True)
        assert (report.orphan_xorbs, report.orphan_xet_files) == (1, 1)
        assert len(report.orphan_blobs) == 1 and "Xet xorb" in report.summary()
        assert httpx.get(f"{server.url}/{repo}/resolve/main/kept.bin").content == kept_chunks[0]
        dropped = hash_to_text(hashing.file_hash([(hashing.chunk_hash(dropped_chunks[0]), 9000)]))
        assert hub.content.xet.cas.file(dropped) is None
        assert _commit(server, repo, "dropped.bin", dropped_chunks[0]).status_code == 400
    finally:
        server.stop()
