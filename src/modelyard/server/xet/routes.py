"""HTTP routes of the hub's Xet storage: the hub's token routes and the CAS API under ``/_xet``.

Hub side: ``GET /api/{type}s/{namespace}/{name}/xet-{read,write}-token/{revision}`` answer a short-lived
token scoped to the repository, the CAS address (``casUrl``) and the expiry, in the JSON body and in the
``X-Xet-*`` headers the client reads. ``revision`` ``None`` with ``?create_pr=1`` asks for a token to open a
pull request with.

CAS side (``casUrl`` is ``<hub>/_xet``), with the Xet token as bearer:

* ``POST /v1/xorbs/default/{hash}``: a serialized xorb, checked chunk by chunk against ``hash`` before it is
  stored (64 MiB of chunks at most). ``HEAD`` tells whether a xorb the caller may see exists.
  ``POST /v1/xorb-grants/...`` answers 404, which makes clients upload directly.
* ``POST /v1/shards`` (JSON answer) and ``/v2/shards`` (NDJSON progress): register files; see
  :meth:`XetStore.register_shard`.
* ``GET /v1/chunks/default/{chunk}``: the global dedupe query, answered with a shard listing the xorbs the
  caller may see that hold the chunk, their chunk hashes keyed with a fresh HMAC key.
* ``GET /v1|v2/reconstructions/{file}`` (``Range`` honoured), ``POST /v1/reconstructions`` (batch),
  ``HEAD /v1/files/{file}``: how to rebuild a file linked to the token's repository, with signed links to
  exactly the xorb byte ranges needed (``GET /_xet/xorbs/{hash}?ranges=..&exp=..&sig=..`` with ``Range``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from modelyard.server.auth import can_read, require_commit_rights, require_gate_access, sign
from modelyard.server.errors import HubHTTPError, bad_request, unauthorized
from modelyard.server.responses import MOVED, READ, answers
from modelyard.server.service import Hub, hub_of, seg
from modelyard.server.storage import PR, Identity, Repo
from modelyard.server.upload_stream import stream_blocks
from modelyard.server.xet import hashing
from modelyard.server.xet.files import Piece, XetError, XetFile
from modelyard.server.xet.shard import (
    MAX_SHARD_SIZE,
    ShardFormatError,
    XorbRecord,
    parse_shard,
    serialize_shard,
)
from modelyard.server.xet.tokens import XetClaims, mint, read_token
from modelyard.server.xet.xorb import MAX_XORB_SIZE, XorbFormatError, XorbParser

logger = logging.getLogger(__name__)
router = APIRouter()
REPO = "/api/{repo_type}/{namespace}/{name}"
CAS = "/_xet"
_MAX_RANGES_PER_LINK = 64  # below Starlette's limit on ranges per request
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
OCTETS = {"description": "Binary body", "content": {"application/octet-stream": {}}}


# -- hub side: tokens ---------------------------------------------------------------------------------
def _token_answer(request: Request, repo_type: str, namespace: str, name: str, revision: str,
                  scope: str) -> JSONResponse:
    hub = hub_of(request)
    repo, caller = hub.readable_repo(request, repo_type, namespace, name)
    rev = seg(revision)
    create_pr = request.query_params.get("create_pr") in ("1", "true", "True")
    ref = None
    if scope == "write":
        if not hub.settings.xet_uploads:
            # hf_xet reports only the status and final URL of a failed token request: a redirect to a URL that
            # spells out the fix makes the user-facing error say what to do.
            raise HubHTTPError(307, UPLOADS_OFF, headers={"Location": hub.location(UPLOADS_OFF_PATH)})
        ref = None if (create_pr and rev in ("None", "")) else hub.branch_ref(repo, rev)
        require_commit_rights(hub.storage, caller, repo, ref if ref and ref.startswith(PR) else None, create_pr)
    else:
        hub.resolve(repo, rev)
        require_gate_access(hub.storage, caller, repo)
    expires = int(time.time()) + hub.settings.xet_token_ttl
    token = mint(hub.secret, XetClaims(repo.id, caller.name if caller else None, scope, expires, create_pr,
                                       repo.created_at, ref))
    cas_url = hub.base_url(request) + CAS
    return JSONResponse({"accessToken": token, "exp": expires, "casUrl": cas_url},
                        headers={"X-Xet-Cas-Url": cas_url, "X-Xet-Access-Token": token,
                                 "X-Xet-Token-Expiration": str(expires), "Cache-Control": "no-store"})


UPLOADS_OFF = ("This hub does not take uploads through Xet (its admin set MODELYARD_HUB_XET_UPLOADS=0). Set "
               "HF_HUB_DISABLE_XET=1 in the client's environment (or huggingface_hub.constants.HF_HUB_DISABLE_XET = "
               "True) to upload large files through Git LFS; modelyard's own push_to_hub and CLI do this by themselves.")
UPLOADS_OFF_PATH = "/api/xet-uploads-off/set-HF_HUB_DISABLE_XET=1-to-upload-large-files-through-git-lfs"


@router.get(UPLOADS_OFF_PATH, tags=["xet"], responses=answers(400), status_code=400, include_in_schema=False)
def xet_uploads_off() -> Response:
    raise HubHTTPError(400, UPLOADS_OFF)


@router.get(REPO + "/xet-read-token/{revision}", tags=["xet"], responses=answers(*MOVED, *READ))
def xet_read_token(request: Request, repo_type: str, namespace: str, name: str, revision: str) -> JSONResponse:
    """A Xet token to download this repository's files (any revision the caller can read)."""
    return _token_answer(request, repo_type, namespace, name, revision, "read")


@router.get(REPO + "/xet-write-token/{revision}", tags=["xet"], responses=answers(*MOVED, *READ, 403))
def xet_write_token(request: Request, repo_type: str, namespace: str, name: str, revision: str,
                    create_pr: str | None = None) -> JSONResponse:
    """A Xet token to upload files for a commit to ``revision`` (or a new pull request: ``None?create_pr=1``)."""
    return _token_answer(request, repo_type, namespace, name, revision, "write")


# -- CAS side: who is calling -------------------------------------------------------------------------
def _cas_caller(request: Request, scope: str) -> tuple[Repo, Identity | None, XetClaims]:
    """The repository and user behind the Xet token, re-checked against the database now."""
    hub = hub_of(request)
    claims = read_token(hub.secret, request.headers.get("authorization"), scope=scope)
    repo = hub.storage.repos.by_id(claims.repo_id)
    caller = None
    if claims.user is not None:
        if hub.storage.accounts.namespace_kind(claims.user) != "user":
            raise unauthorized(f"The user {claims.user!r} this Xet token was issued to no longer exists.")
        caller = Identity(claims.user, hub.storage.accounts.user_orgs(claims.user), claims.scope, "xet")
    if repo is None or repo.created_at != claims.repo_created or not can_read(caller, repo):
        # created_at differs: the id now belongs to a new repository, made after the one the token was for
        raise unauthorized("The repository this Xet token was issued for no longer exists or is no longer "
                           "readable by its user; request a new token.")
    if scope == "write":  # rights may have been withdrawn since the token was minted
        ref = claims.ref if claims.ref and claims.ref.startswith(PR) else None
        require_commit_rights(hub.storage, caller, repo, ref, claims.create_pr)
    return repo, caller, claims


def _download_caller(request: Request) -> tuple[Repo, Identity | None, XetClaims]:
    """:func:`_cas_caller` for reading a file's content: also re-checks access to a gated repository (it may
    have been withdrawn since the token was minted, and a write token reads too)."""
    repo, caller, claims = _cas_caller(request, "read")
    require_gate_access(hub_of(request).storage, caller, repo)
    return repo, caller, claims


def _hash_param(value: str, what: str) -> str:
    text = seg(value)
    if not hashing.is_hash_text(text):
        raise bad_request(f"Malformed {what} {text!r}: expected 64 lowercase hex digits (the Xet hash text form).")
    return text


def _hash_path() -> Any:
    # Published in the schema (so that schema-driven clients send what is accepted); checked by _hash_param,
    # whose message names the rule.
    return Path(json_schema_extra={"pattern": "^[0-9a-f]{64}$", "description": "a Xet hash: 64 lowercase hex "
                                                                                 "digits"})


def _prefix(value: str, allowed: tuple[str, ...]) -> None:
    if seg(value) not in allowed:
        raise bad_request(f"Unknown prefix {seg(value)!r}; this hub serves {' or '.join(map(repr, allowed))}.")


# -- xorbs --------------------------------------------------------------------------------------------
@router.post(CAS + "/v1/xorb-grants/{prefix}/{xorb_hash}", tags=["xet"], responses=answers(404))
def xorb_grant(prefix: str, xorb_hash: str = _hash_path()) -> Response:
    """Upload grants (presigned uploads) are not offered: clients upload to ``/v1/xorbs`` instead."""
    raise HubHTTPError(404, "This hub takes xorbs directly: POST them to /v1/xorbs/{prefix}/{hash}.")


async def _receive_xorb(request: Request, parser: XorbParser, write: Callable[[memoryview], Any]) -> None:
    """Stream the body to ``write`` while ``parser`` checks it, block by block in worker threads."""
    declared = request.headers.get("content-length", "")
    limit = MAX_XORB_SIZE
    if declared.isdigit() and int(declared) > limit:
        raise HubHTTPError(413, f"The xorb has {declared} bytes; this hub accepts at most {limit}.")
    await stream_blocks(request, (parser.feed, write), limit=limit,
                        too_large=lambda: HubHTTPError(413, f"The xorb is larger than {limit} bytes, the most "
                                                            "this hub accepts."))


@router.post(CAS + "/v1/xorbs/{prefix}/{xorb_hash}", tags=["xet"], responses=answers(400, 401, 403, 413))
async def upload_xorb(request: Request, prefix: str, xorb_hash: str = _hash_path()) -> JSONResponse:
    hub = hub_of(request)
    repo, _caller, _claims = await run_in_threadpool(_cas_caller, request, "write")
    _prefix(prefix, ("default",))
    text = _hash_param(xorb_hash, "xorb hash")
    parser = XorbParser(expected_hash=hashing.text_to_hash(text))
    with hub.content.xet.xorb_writer() as writer:
        try:
            await _receive_xorb(request, parser, writer.write_block)
            info = parser.finish()
        except XorbFormatError as err:
            raise bad_request(f"Xorb {text} refused: {err}.") from None
        # Named by its (verified) xorb hash, not a SHA-256 of the bytes. Installed even when the xorb is stored
        # already (a no-op that refreshes its age), so one that garbage collection removes meanwhile is put back.
        await run_in_threadpool(writer.commit_as, text)
    inserted = await run_in_threadpool(hub.content.xet.cas.add_xorb, repo, info, text)
    return JSONResponse({"was_inserted": inserted})


@router.head(CAS + "/v1/xorbs/{prefix}/{xorb_hash}", tags=["xet"], responses=answers(400, 401, 404))
def head_xorb(request: Request, prefix: str, xorb_hash: str = _hash_path()) -> Response:
    hub = hub_of(request)
    _repo, caller, _ = _cas_caller(request, "read")
    _prefix(prefix, ("default",))
    text = _hash_param(xorb_hash, "xorb hash")
    info = hub.content.xet.cas.xorb(text)
    if info is None or not hub.content.xet.cas.xorb_visible(text, caller):
        raise HubHTTPError(404, f"Xorb {text} not found.")
    return Response(status_code=200, headers={"Content-Length": str(info.size)})


# -- global dedupe ------------------------------------------------------------------------------------
@router.get(CAS + "/v1/chunks/{prefix}/{chunk_hash}", tags=["xet"], response_class=Response,
            responses=answers(400, 401, 404, ok=OCTETS))
def dedupe_query(request: Request, prefix: str, chunk_hash: str = _hash_path()) -> Response:
    hub = hub_of(request)
    _repo, caller, _ = _cas_caller(request, "read")
    _prefix(prefix, ("default", "default-merkledb"))
    text = _hash_param(chunk_hash, "chunk hash")
    xorbs = hub.content.xet.cas.dedupe_xorbs(text, caller)
    if not xorbs:
        raise HubHTTPError(404, f"Chunk {text} is not known to the global dedupe index (for you).")
    key = os.urandom(32)
    records = []
    for info in xorbs:
        chunks, offset = [], 0
        for chunk in info.chunks:
            chunks.append((hashing.keyed(key, chunk.hash), offset, chunk.length))
            offset += chunk.length
        records.append(XorbRecord(info.hash, tuple(chunks), offset, info.size))
    expiry = int(time.time()) + 24 * 3600  # garbage collection keeps unreferenced xorbs at least a day
    body = serialize_shard([], records, footer=True, hmac_key=key, expiry=expiry)
    return Response(body, media_type="application/octet-stream")


# -- shards -------------------------------------------------------------------------------------------
async def _read_shard(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_SHARD_SIZE:
        raise HubHTTPError(413, f"The shard has {declared} bytes; split it into shards of at most {MAX_SHARD_SIZE}.")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_SHARD_SIZE:
            raise HubHTTPError(413, f"The shard is larger than {MAX_SHARD_SIZE} bytes; split it into several.")
    return bytes(body)


def _register(hub: Hub, repo: Repo, caller: Identity | None, body: bytes, progress: Any = None) -> int:
    try:
        shard = parse_shard(body)
    except ShardFormatError as err:
        raise bad_request(f"Shard refused: {err}.") from None
    try:
        return hub.content.xet.cas.register_shard(repo, shard, caller, progress)
    except XetError as err:
        raise bad_request(f"Shard refused: {err}") from None


@router.post(CAS + "/v1/shards", tags=["xet"], responses=answers(400, 401, 403, 413))
async def upload_shard(request: Request) -> JSONResponse:
    hub = hub_of(request)
    repo, caller, _ = await run_in_threadpool(_cas_caller, request, "write")
    body = await _read_shard(request)
    new = await run_in_threadpool(_register, hub, repo, caller, body)
    return JSONResponse({"result": 1 if new else 0})


@router.post(CAS + "/v2/shards", tags=["xet"], response_class=StreamingResponse,
             responses=answers(401, 403, 413, ok={"description": "NDJSON progress events",
                                                  "content": {"application/x-ndjson": {}}}))
async def upload_shard_streaming(request: Request) -> StreamingResponse:
    """As ``/v1/shards``, answering NDJSON events as the checks progress (``validating``, ``committing``, then
    ``result`` or ``error``); the last event is repeated every few seconds while a long check runs."""
    hub = hub_of(request)
    repo, caller, _ = await run_in_threadpool(_cas_caller, request, "write")
    body = await _read_shard(request)
    return StreamingResponse(_shard_events(hub, repo, caller, body), media_type="application/x-ndjson",
                             headers={"Cache-Control": "no-cache"})


async def _shard_events(hub: Hub, repo: Repo, caller: Identity | None, body: bytes,
                        heartbeat: float = 10.0) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def progress(done: int, total: int) -> None:
        loop.call_soon_threadsafe(events.put_nowait, {"type": "validating", "verified": done, "total": total})

    def line(event: dict[str, Any]) -> bytes:
        return json.dumps(event).encode() + b"\n"

    last: dict[str, Any] = {"type": "validating", "verified": 0, "total": 0}
    yield line(last)
    task = asyncio.ensure_future(run_in_threadpool(_register, hub, repo, caller, body, progress))
    while not task.done():
        getter = asyncio.ensure_future(events.get())
        done, _ = await asyncio.wait({task, getter}, timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            last = getter.result()
        else:
            getter.cancel()
        yield line(last)
    try:
        new = task.result()
    except HubHTTPError as err:
        yield line({"type": "error", "message": err.message, "retryable": False})
        return
    except Exception as err:  # reported in the stream: the status line has gone out already
        logger.exception("shard registration failed")
        yield line({"type": "error", "message": f"Internal error while registering the shard ({type(err).__name__}); "
                    "see the hub's log.", "retryable": True})
        return
    yield line({"type": "committing", "stage": "syncing"})
    yield line({"type": "result", "result": 1 if new else 0})


# -- reconstruction -----------------------------------------------------------------------------------
def _linked_file(hub: Hub, repo: Repo, text: str) -> XetFile:
    found = hub.content.xet.cas.file(text) if hub.content.xet.cas.file_linked(repo, text) else None
    if found is None:
        raise HubHTTPError(404, f"File {text} is not stored in {repo.repo_id!r} (or not through Xet).")
    return found


def _byte_range(header: str | None, size: int) -> tuple[int, int]:
    """``[start, end)`` asked for by a ``Range: bytes=a-b`` header (the whole file without one)."""
    if not header:
        return 0, size
    match = _RANGE.fullmatch(header.strip())
    if not match:
        raise bad_request(f"Unsupported Range {header!r}: send one range as 'bytes=<start>-<end>'.")
    start = int(match.group(1))
    end = int(match.group(2)) + 1 if match.group(2) else size
    if start >= size:
        raise HubHTTPError(416, f"Range {header!r} starts at or past the end of the file ({size} bytes).",
                           headers={"Content-Range": f"bytes */{size}"})
    if end <= start:
        raise bad_request(f"Range {header!r} ends before it starts.")
    return start, min(end, size)


def _fetch_ranges(pieces: list[Piece]) -> dict[str, list[tuple[int, int]]]:
    """Per xorb, the chunk ranges the pieces need, merged where they touch or overlap."""
    wanted: dict[str, list[tuple[int, int]]] = {}
    for piece in pieces:
        wanted.setdefault(hashing.hash_to_text(piece.xorb.hash), []).append((piece.start, piece.end))
    merged: dict[str, list[tuple[int, int]]] = {}
    for xorb, ranges in wanted.items():
        out: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
        merged[xorb] = out
    return merged


def _link(hub: Hub, base: str, xorb: str, byte_ranges: list[tuple[int, int]], expires: int) -> str:
    spec = ",".join(f"{a}-{b}" for a, b in byte_ranges)
    sig = sign(hub.secret, "xet-xorb", xorb, spec, expires)
    return f"{base}{CAS}/xorbs/{xorb}?{urlencode({'ranges': spec, 'exp': expires, 'sig': sig})}"


def _reconstruction(hub: Hub, request: Request, repo: Repo, text: str, version: int) -> dict[str, Any]:
    xet_file = _linked_file(hub, repo, text)
    start, end = _byte_range(request.headers.get("range"), xet_file.size)
    skip, pieces = hub.content.xet.cas.plan(xet_file, start, end) if xet_file.size else (0, [])
    infos = {hashing.hash_to_text(p.xorb.hash): p.xorb for p in pieces}
    expires = int(time.time()) + hub.settings.xet_link_ttl
    base = hub.base_url(request)
    terms = [{"hash": hashing.hash_to_text(p.xorb.hash), "unpacked_length": p.length,
              "range": {"start": p.start, "end": p.end}} for p in pieces]
    answer: dict[str, Any] = {"offset_into_first_range": skip, "terms": terms}
    if version == 1:
        answer["fetch_info"] = _fetch_info_v1(hub, base, infos, _fetch_ranges(pieces), expires)
    else:
        xorbs: dict[str, list[dict[str, Any]]] = {}
        for xorb, chunk_ranges in _fetch_ranges(pieces).items():
            info = infos[xorb]
            for i in range(0, len(chunk_ranges), _MAX_RANGES_PER_LINK):
                group = chunk_ranges[i:i + _MAX_RANGES_PER_LINK]
                byte_ranges = [info.byte_range(a, b) for a, b in group]
                xorbs.setdefault(xorb, []).append({
                    "url": _link(hub, base, xorb, byte_ranges, expires),
                    "ranges": [{"chunks": {"start": a, "end": b}, "bytes": {"start": s, "end": e}}
                               for (a, b), (s, e) in zip(group, byte_ranges)]})
        answer["xorbs"] = xorbs
    return answer


def _fetch_info_v1(hub: Hub, base: str, infos: dict[str, Any], ranges: dict[str, list[tuple[int, int]]],
                   expires: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for xorb, chunk_ranges in ranges.items():
        for a, b in chunk_ranges:
            s, e = infos[xorb].byte_range(a, b)
            out.setdefault(xorb, []).append({"range": {"start": a, "end": b},
                                             "url": _link(hub, base, xorb, [(s, e)], expires),
                                             "url_range": {"start": s, "end": e}})
    return out


@router.get(CAS + "/v1/reconstructions/{file_hash}", tags=["xet"], responses=answers(400, 401, 404, 416))
def reconstruction_v1(request: Request, file_hash: str = _hash_path()) -> JSONResponse:
    hub = hub_of(request)
    repo, _caller, _ = _download_caller(request)
    return JSONResponse(_reconstruction(hub, request, repo, _hash_param(file_hash, "file hash"), 1))


@router.get(CAS + "/v2/reconstructions/{file_hash}", tags=["xet"], responses=answers(400, 401, 404, 416))
def reconstruction_v2(request: Request, file_hash: str = _hash_path()) -> JSONResponse:
    hub = hub_of(request)
    repo, _caller, _ = _download_caller(request)
    return JSONResponse(_reconstruction(hub, request, repo, _hash_param(file_hash, "file hash"), 2))


@router.post(CAS + "/v1/reconstructions", tags=["xet"], responses=answers(400, 401, 404, 413))
def batch_reconstruction(request: Request, body: list[dict[str, str]]) -> JSONResponse:
    """Whole-file reconstructions of several files at once (v1 shape, fetch info shared)."""
    hub = hub_of(request)
    repo, _caller, _ = _download_caller(request)
    if len(body) > 1000:
        raise bad_request(f"Ask for at most 1000 files per batch, not {len(body)}.")
    files: dict[str, list[dict[str, Any]]] = {}
    pieces: list[Piece] = []
    for key in body:
        text = _hash_param(str(key.get("hash", "")), "file hash")
        xet_file = _linked_file(hub, repo, text)
        file_pieces = hub.content.xet.cas.pieces(xet_file)
        pieces.extend(file_pieces)
        files[text] = [{"hash": hashing.hash_to_text(p.xorb.hash), "unpacked_length": p.length,
                        "range": {"start": p.start, "end": p.end}} for p in file_pieces]
    infos = {hashing.hash_to_text(p.xorb.hash): p.xorb for p in pieces}
    expires = int(time.time()) + hub.settings.xet_link_ttl
    fetch = _fetch_info_v1(hub, hub.base_url(request), infos, _fetch_ranges(pieces), expires)
    return JSONResponse({"files": files, "fetch_info": fetch})


@router.head(CAS + "/v1/files/{file_hash}", tags=["xet"], responses=answers(400, 401, 404))
def head_file(request: Request, file_hash: str = _hash_path()) -> Response:
    hub = hub_of(request)
    repo, _caller, _ = _download_caller(request)
    xet_file = _linked_file(hub, repo, _hash_param(file_hash, "file hash"))
    return Response(status_code=200, headers={"Content-Length": str(xet_file.size)})


# -- transfers ----------------------------------------------------------------------------------------
def _parse_ranges(spec: str) -> list[tuple[int, int]]:
    out = []
    for part in spec.split(","):
        a, sep, b = part.strip().partition("-")
        if not (sep and a.isdigit() and b.isdigit()) or int(a) > int(b):
            raise bad_request(f"Malformed byte range {part!r} (expected '<first>-<last>').")
        out.append((int(a), int(b)))
    return out


def _check_link(hub: Hub, xorb: str, ranges: str, exp: str, sig: str) -> None:
    """403 (on which clients ask for a new reconstruction) unless the link is intact and unexpired."""
    fresh = "ask the reconstruction API for new links"
    if not exp.isdigit():
        raise HubHTTPError(403, f"This xorb link has no valid expiry; {fresh}.")
    if int(exp) < time.time():
        raise HubHTTPError(403, f"This xorb link expired at {exp}; {fresh}.")
    if not hmac.compare_digest(sign(hub.secret, "xet-xorb", xorb, ranges, int(exp)), sig):
        raise HubHTTPError(403, f"This xorb link's signature does not match its xorb and ranges; {fresh}.")


@router.get(CAS + "/xorbs/{xorb_hash}", tags=["xet"], response_class=Response,
            responses=answers(206, 400, 401, 403, 404, 416, plain_text=(400, 416), ok=OCTETS))
def download_xorb_ranges(request: Request, xorb_hash: str = _hash_path(), ranges: str = "", exp: str = "",
                         sig: str = "") -> Response:
    """Byte ranges of a stored xorb, as signed in a reconstruction answer. The signature (not a token)
    authorizes exactly those ranges; send them in ``Range`` (several give a multipart/byteranges answer)."""
    hub = hub_of(request)
    text = _hash_param(xorb_hash, "xorb hash")
    _check_link(hub, text, ranges, exp, sig)
    signed = _parse_ranges(ranges)
    header = request.headers.get("range", "")
    if not header.startswith("bytes="):
        raise bad_request("Send the byte ranges of the link in a Range header (bytes=<first>-<last>[,...]).")
    for first, last in _parse_ranges(header[len("bytes="):]):
        if not any(a <= first and last <= b for a, b in signed):
            raise HubHTTPError(403, f"Range {first}-{last} is not among the ranges this link was signed for.")
    return hub.content.xet.xorb_response(text)


# -- client telemetry ---------------------------------------------------------------------------------
@router.post("/v1/telemetry", tags=["xet"], status_code=204, response_class=Response, responses=answers(413))
@router.post(CAS + "/v1/telemetry", tags=["xet"], status_code=204, response_class=Response, responses=answers(413),
             operation_id="xet_telemetry_cas")
def telemetry() -> Response:
    """hf_xet reports transfer statistics here; this hub does not collect them."""
    return Response(status_code=204)

