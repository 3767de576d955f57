"""LFS uploads straight into an S3 object store: the batch answer's actions (presigned PUTs to a fresh staging
key, the hub's signed verify and completion links) and the adoption of a staged object once the object store
has hashed it. The LFS backend (:mod:`modelyard.server.content.lfs`) decides when an upload goes this way; the
routes that end such an upload are in :mod:`modelyard.server.routes_lfs_direct`."""

from __future__ import annotations

import math
import secrets
from typing import Any
from urllib.parse import urlencode

from modelyard.server.auth import sign
from modelyard.server.blobstore_s3 import S3BlobStore, StagedUploadError
from modelyard.server.config import HubSettings
from modelyard.server.errors import bad_request
from modelyard.server.storage import Repo
from modelyard.server.storage.blobs import BlobRecords


def direct_upload_actions(store: S3BlobStore, settings: HubSettings, secret: bytes, repo: Repo, base: str, oid: str,
                          size: int, expires: int, transfers: list[str]) -> dict[str, Any]:
    """The batch answer's ``actions`` for one object: presigned PUT(s) to a fresh staging key, and the hub's
    signed verify (and, for parts, completion) links."""
    token = secrets.token_hex(16)
    key = store.staging_key(oid, token)
    verify_sig = sign(secret, "staged", repo.type, repo.repo_id, oid, size, token, expires)
    verify = {"href": f"{base}/{oid}/staged?{urlencode({'size': size, 'token': token, 'exp': expires, 'sig': verify_sig})}",
              "header": {}}
    if "multipart" in transfers and size >= settings.lfs_multipart_threshold:
        chunk = store.part_size(size, settings.lfs_chunk_size)
        upload_id = store.start_parts(key)
        sig = sign(secret, "staged-parts", repo.type, repo.repo_id, oid, size, token, upload_id, chunk, expires)
        query = urlencode({"size": size, "token": token, "upload": upload_id, "chunk": chunk, "exp": expires,
                           "sig": sig})
        header = {"chunk_size": str(chunk)}
        for number in range(1, math.ceil(size / chunk) + 1):
            header[str(number)] = store.presigned_part(key, upload_id, number)
        return {"upload": {"href": f"{base}/{oid}/staged/complete?{query}", "header": header}, "verify": verify}
    return {"upload": {"href": store.presigned_put(key), "header": {}}, "verify": verify}


def finish_staged_parts(store: S3BlobStore, key: str, oid: str, upload_id: str, etags: list[str]) -> None:
    """Assemble a multipart upload made straight to the object store (400 with the store's reason)."""
    try:
        store.finish_parts(key, upload_id, etags)
    except StagedUploadError as err:
        raise bad_request(f"LFS object {oid}: {err}.") from None


def adopt_staged(store: S3BlobStore, links: BlobRecords, repo: Repo, key: str, oid: str, size: int) -> None:
    """Store the staged object ``key`` as blob ``oid`` for ``repo`` (400 with the reason when it is not that
    object); a verification retried after success is answered the same."""
    if store.has(oid, size) and links.is_linked(repo, oid) and not store.staged(key):
        return  # verified already (a retried verify)
    try:
        store.adopt(key, oid, size)
    except StagedUploadError as err:
        raise bad_request(f"LFS object {oid}: {err}.") from None
    links.link(repo, oid)
