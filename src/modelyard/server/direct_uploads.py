"""LFS uploads straight into an S3 object store: the batch answer's actions (presigned PUTs to a fresh staging
key, the hub's signed verify and completion links) and the adoption of a staged object once the object store
has hashed it. The routes that call these are in :mod:`modelyard.server.routes_lfs` (the batch) and
:mod:`modelyard.server.routes_lfs_direct` (completion, verification)."""

from __future__ import annotations

import math
import secrets
from typing import Any
from urllib.parse import urlencode

from modelyard.server.auth import sign
from modelyard.server.blobstore_s3 import S3BlobStore, StagedUploadError
from modelyard.server.errors import bad_request
from modelyard.server.service import Hub
from modelyard.server.storage import Repo


def direct_store(hub: Hub, size: int) -> S3BlobStore | None:
    """The object store an upload of ``size`` bytes goes straight into; None when it goes through the hub."""
    store = hub.store
    return store if isinstance(store, S3BlobStore) and store.accepts_direct(size) else None


def direct_upload_actions(hub: Hub, store: S3BlobStore, repo: Repo, base: str, oid: str, size: int, expires: int,
                          transfers: list[str]) -> dict[str, Any]:
    """The batch answer's ``actions`` for one object: presigned PUT(s) to a fresh staging key, and the hub's
    signed verify (and, for parts, completion) links."""
    s = hub.settings
    token = secrets.token_hex(16)
    key = store.staging_key(oid, token)
    verify_sig = sign(hub.secret, "staged", repo.type, repo.repo_id, oid, size, token, expires)
    verify = {"href": f"{base}/{oid}/staged?{urlencode({'size': size, 'token': token, 'exp': expires, 'sig': verify_sig})}",
              "header": {}}
    if "multipart" in transfers and size >= s.lfs_multipart_threshold:
        chunk = store.part_size(size, s.lfs_chunk_size)
        upload_id = store.start_parts(key)
        sig = sign(hub.secret, "staged-parts", repo.type, repo.repo_id, oid, size, token, upload_id, chunk, expires)
        query = urlencode({"size": size, "token": token, "upload": upload_id, "chunk": chunk, "exp": expires,
                           "sig": sig})
        header = {"chunk_size": str(chunk)}
        for number in range(1, math.ceil(size / chunk) + 1):
            header[str(number)] = store.presigned_part(key, upload_id, number)
        return {"upload": {"href": f"{base}/{oid}/staged/complete?{query}", "header": header}, "verify": verify}
    return {"upload": {"href": store.presigned_put(key), "header": {}}, "verify": verify}


def adopt_staged(hub: Hub, store: S3BlobStore, repo: Repo, key: str, oid: str, size: int) -> None:
    """Store the staged object ``key`` as blob ``oid`` for ``repo`` (400 with the reason when it is not that
    object); a verification retried after success is answered the same."""
    if store.has(oid, size) and hub.storage.blobs.is_linked(repo, oid) and not store.staged(key):
        return  # verified already (a retried verify)
    try:
        store.adopt(key, oid, size)
    except StagedUploadError as err:
        raise bad_request(f"LFS object {oid}: {err}.") from None
    hub.storage.blobs.link(repo, oid)
