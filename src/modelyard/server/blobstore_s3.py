"""Blobs in an S3-compatible object store (``MODELYARD_HUB_BLOB_STORE=s3://bucket/prefix``), and the choice of store.

:class:`S3BlobStore` keeps the file store's interface and guarantees: uploads are received into a local temp
file while hashed, verified against the announced sha256 and size (:class:`BlobWriter`), and only then put
into the bucket (boto3 uploads large files in parts), so no object under a blob's name ever holds other
bytes. Objects are keyed ``<prefix><aa>/<bb>/<hash>`` as on disk. The local folder is a temp area and a
read-through cache: blobs are immutable, so every replica may keep a copy of what it served, and a read of a
blob not cached here fetches it once (checked against its sha256 where the name is one) before serving it
from the disk as the file store does. The cache is bounded (``cache_size`` bytes, the hub's ``blob_cache_size``):
past it, the copies used longest ago are deleted (a copy used in the last few minutes is kept, since a download
may still be reading it), and the bucket keeps serving them.

With ``direct_uploads`` (the default), LFS uploads do not pass through the hub either: the batch API hands the
client presigned PUTs (one, or one per part of a multipart upload) to a staging key, and the hub adopts the
staged object only once the object store itself has computed its SHA-256 (a server-side copy with
``ChecksumAlgorithm=SHA256``) and found the announced hash and size. Objects above 5 GiB, the largest S3 copies
(and so hashes) in one call, travel through the hub as before. A store that answers no checksum is read back
and hashed by the hub instead.

Endpoint, region and credentials come from the usual AWS settings (``AWS_ENDPOINT_URL``, ``AWS_REGION``,
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, profiles, instance roles): whatever boto3 reads.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlparse

from modelyard.server.blobstore import BlobStore, SeekableReader, StoredBlob

logger = logging.getLogger(__name__)
_SHA256_HEX = frozenset("0123456789abcdef")
# The largest object CopyObject accepts: above it S3 cannot hash a staged upload for us.
S3_COPY_LIMIT = 5 * 2**30
S3_MIN_PART = 5 * 2**20  # every part but the last
S3_MAX_PARTS = 10_000
# Blobs this large are read in place (ranged GETs) when the hub only looks at them, never fetched whole into the
# replica's cache; reads go by blocks of RANGE_READ_BLOCK.
READ_IN_PLACE = 16 * 2**20
RANGE_READ_BLOCK = 2**20


class StagedUploadError(ValueError):
    """A staged (directly uploaded) object is missing, or its bytes are not the ones announced."""


# A cached copy used within this many seconds is never evicted: a response may still be streaming it.
IN_USE_SECONDS = 300.0


class S3BlobStore(BlobStore):
    """The blob store over an S3 bucket (see the module docstring); ``root`` holds temp files and the cache."""

    def __init__(self, root: Path, bucket: str, prefix: str = "", *, client: Any = None,
                 direct_io: bool = False, redirects: bool = True, public_endpoint: str | None = None,
                 link_ttl: int = 3600, cache_size: int = 10 * 2**30, direct_uploads: bool = True) -> None:
        super().__init__(root, direct_io=direct_io, blobs_folder="blob-cache")
        if cache_size < 0:
            raise ValueError(f"the blob cache size must be 0 or more bytes, got {cache_size!r}")
        self.cache_size = cache_size
        self.direct_uploads = direct_uploads
        self._cache_bytes: int | None = None  # counted from the folder on first use
        self._cache_lock = threading.Lock()
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client
        # Presigned links carry the host they were signed for: the endpoint clients reach, when it is not the
        # one this replica talks to (a compose network, a private endpoint).
        self.redirects = redirects
        self.link_ttl = link_ttl
        self._signer = client
        if public_endpoint:
            import boto3

            self._signer = boto3.client("s3", endpoint_url=public_endpoint)
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, name: str) -> str:
        return f"{self.prefix}{name[:2]}/{name[2:4]}/{name}"

    # -- reads ----------------------------------------------------------------------------------------
    def _head(self, name: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(name))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def has(self, sha256: str, size: int | None = None) -> bool:
        if super().has(sha256, size):
            return True
        head = self._head(sha256)
        return head is not None and (size is None or head["ContentLength"] == size)

    def path(self, sha256: str) -> Path:
        """The cached copy of the blob, fetched from the bucket first when this replica has none; a path that
        does not exist when the bucket has no such object either (as the file store answers)."""
        cached = super().path(sha256)
        try:
            os.utime(cached)  # the eviction order: least recently used first
        except FileNotFoundError:
            self._fetch(sha256, cached)
        return cached

    def _fetch(self, name: str, cached: Path) -> None:
        head = self._head(name)
        if head is None:
            return
        fd, temp = tempfile.mkstemp(dir=self.tmp, prefix="fetch-", suffix=".part")
        os.close(fd)
        try:
            self.client.download_file(self.bucket, self.key(name), temp)
            size = os.path.getsize(temp)
            if size != head["ContentLength"]:
                raise OSError(f"blob {name} from {self.location}: {size} bytes read, {head['ContentLength']} stored")
            if len(name) == 64 and set(name) <= _SHA256_HEX and _file_sha256(temp) != name:
                raise OSError(f"blob {name} in {self.location} does not hash to its name: the object was altered")
            cached.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(temp, 0o444)
            os.replace(temp, cached)
        finally:
            Path(temp).unlink(missing_ok=True)
        self._cached(size)

    def size(self, name: str) -> int | None:
        cached = super().path(name)
        try:
            return cached.stat().st_size
        except FileNotFoundError:
            head = self._head(name)
            return None if head is None else int(head["ContentLength"])

    def open(self, name: str) -> BinaryIO:
        """A reader over the blob: this replica's cached copy, else (for a blob of :data:`READ_IN_PLACE` bytes or
        more) ranged GETs of the object, else the copy fetched now. Looking at a large blob (sniffing its kind,
        scanning its pickles) then moves only the bytes read, not gigabytes into a cache that redirected downloads
        never use; such reads are not checked against the name (as the presigned GETs clients take are not)."""
        cached = super().path(name)
        try:
            reader = open(cached, "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            pass
        else:
            os.utime(cached)
            return reader
        head = self._head(name)
        if head is None:
            raise FileNotFoundError(f"blob {name} is not in {self.location}")
        size = int(head["ContentLength"])
        if size < READ_IN_PLACE:
            return open(self.path(name), "rb")  # noqa: SIM115 - the caller closes it
        raw = _RangeReader(self.client, self.bucket, self.key(name), size, head.get("ETag"))
        return io.BufferedReader(raw, buffer_size=RANGE_READ_BLOCK)

    def download_url(self, name: str, *, filename: str | None = None, media_type: str | None = None) -> str | None:
        """A presigned GET of the object (valid ``link_ttl`` seconds): the client takes the bytes from the object
        store, as it takes them from the Hugging Face Hub's CDN, and the hub carries none of them."""
        if not self.redirects:
            return None
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key(name)}
        if filename:
            params["ResponseContentDisposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
        if media_type:
            params["ResponseContentType"] = media_type
        return self._signer.generate_presigned_url("get_object", Params=params, ExpiresIn=self.link_ttl)

    # -- writes ---------------------------------------------------------------------------------------
    def touch(self, sha256: str) -> None:
        """Restart the blob's garbage-collection grace age: S3 has no utime, so the object is copied onto
        itself (a server-side copy that sets its LastModified)."""
        super().touch(sha256)
        from botocore.exceptions import ClientError

        try:
            self.client.copy_object(Bucket=self.bucket, Key=self.key(sha256), MetadataDirective="REPLACE",
                                    CopySource={"Bucket": self.bucket, "Key": self.key(sha256)},
                                    Metadata={"stored-again": str(int(time.time()))})
        except ClientError:
            logger.debug("could not refresh the age of blob %s", sha256, exc_info=True)

    def install(self, temp_path: Path, sha256: str) -> None:
        """Upload a complete, verified temp file as blob ``sha256`` (no-op when the bucket holds it), then keep
        it as this replica's cached copy."""
        if self._head(sha256) is not None:
            temp_path.unlink(missing_ok=True)
            self.touch(sha256)
            return
        self.client.upload_file(str(temp_path), self.bucket, self.key(sha256))
        cached = super().path(sha256)
        cached.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temp_path, 0o444)
        size = temp_path.stat().st_size
        os.replace(temp_path, cached)
        self._cached(size)

    # -- the bounded cache ----------------------------------------------------------------------------
    def _cached(self, size: int) -> None:
        """Count a new cached copy; past ``cache_size``, evict down to 90% of it (so evictions come in batches)."""
        with self._cache_lock:
            if self._cache_bytes is None:
                self._cache_bytes = sum(blob.size for blob in super().stored())
            else:
                self._cache_bytes += size
            if self._cache_bytes > self.cache_size:
                self._cache_bytes -= self._evict(self._cache_bytes - int(0.9 * self.cache_size))

    def _evict(self, excess: int) -> int:
        """Delete cached copies, least recently used first, until ``excess`` bytes are gone or only copies in
        use remain; returns the bytes freed."""
        now = time.time()
        freed = 0
        for blob in sorted(super().stored(), key=lambda b: b.mtime):
            if freed >= excess or now - blob.mtime < IN_USE_SECONDS:
                break
            super().delete(blob.name)
            freed += blob.size
        return freed

    def cache_bytes(self) -> int:
        """Bytes of the cached copies this replica holds."""
        with self._cache_lock:
            if self._cache_bytes is None:
                self._cache_bytes = sum(blob.size for blob in super().stored())
            return self._cache_bytes

    # -- direct uploads (presigned, staged, hashed by the object store) ----------------------------------
    def accepts_direct(self, size: int) -> bool:
        """Whether an object of ``size`` bytes is uploaded straight to the bucket (see the module docstring)."""
        return self.direct_uploads and 0 < size <= S3_COPY_LIMIT

    def staging_key(self, sha256: str, token: str) -> str:
        return f"{self.prefix}staging/{sha256}/{token}"

    def part_size(self, size: int, wanted: int) -> int:
        """The part size for a multipart upload of ``size`` bytes: ``wanted``, within S3's part rules."""
        return max(wanted, S3_MIN_PART, -(-size // S3_MAX_PARTS))

    def presigned_put(self, key: str) -> str:
        return self._signer.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": key},
                                                   ExpiresIn=self.link_ttl)

    def start_parts(self, key: str) -> str:
        """Begin a multipart upload of ``key``; returns its upload id."""
        return str(self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"])

    def presigned_part(self, key: str, upload_id: str, number: int) -> str:
        params = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": number}
        return self._signer.generate_presigned_url("upload_part", Params=params, ExpiresIn=self.link_ttl)

    def finish_parts(self, key: str, upload_id: str, etags: list[str]) -> None:
        """Complete the multipart upload with the parts' ETags as the client received them (part 1 first)."""
        from botocore.exceptions import ClientError

        parts = [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, start=1)]
        try:
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                  MultipartUpload={"Parts": parts})
        except ClientError as err:
            raise StagedUploadError(f"the object store refused to assemble the parts: "
                                    f"{err.response.get('Error', {}).get('Message', err)}") from None

    def staged(self, key: str) -> bool:
        """Whether an upload is waiting at staging ``key``."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return False
        return True

    def adopt(self, key: str, sha256: str, size: int) -> None:
        """Make the staged object at ``key`` blob ``sha256`` once its size and SHA-256 (computed by the object
        store) match; the staging object is deleted either way. Raises :class:`StagedUploadError`."""
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            raise StagedUploadError("no upload arrived at the link the batch API handed out; upload again") from None
        try:
            if head["ContentLength"] != size:
                raise StagedUploadError(f"{head['ContentLength']} bytes arrived, {size} were announced")
            if self._staged_sha256(key) != sha256:
                raise StagedUploadError(f"the uploaded bytes do not hash to the announced sha256 {sha256}")
            if self._head(sha256) is None:
                self.client.copy_object(Bucket=self.bucket, Key=self.key(sha256),
                                        CopySource={"Bucket": self.bucket, "Key": key})
            else:
                self.touch(sha256)
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def _staged_sha256(self, key: str) -> str:
        """The object's SHA-256 computed by the object store (a copy onto itself asking for the checksum); read
        back and hashed here when the store answers none."""
        source = {"Bucket": self.bucket, "Key": key}
        answer = self.client.copy_object(Bucket=self.bucket, Key=key, CopySource=source, MetadataDirective="REPLACE",
                                         ChecksumAlgorithm="SHA256", Metadata={"checked": "sha256"})
        checksum = (answer.get("CopyObjectResult") or {}).get("ChecksumSHA256")
        if checksum and "-" not in checksum:  # a whole-object checksum (not a composite of parts)
            return base64.b64decode(checksum).hex()
        digest = hashlib.sha256()
        for block in self.client.get_object(Bucket=self.bucket, Key=key)["Body"].iter_chunks(1 << 20):
            digest.update(block)
        return digest.hexdigest()

    def sweep_staging(self, older_than: float, *, apply: bool) -> list[tuple[str, int]]:
        """Staged objects and unfinished multipart uploads older than ``older_than`` seconds (uploads whose
        client never came back), deleted with ``apply``; returns (key, bytes) of the objects."""
        now = time.time()
        stale = []
        staging = f"{self.prefix}staging/"
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=staging):
            for obj in page.get("Contents", ()):
                if now - obj["LastModified"].timestamp() >= older_than:
                    stale.append((obj["Key"], obj["Size"]))
        unfinished = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=staging).get("Uploads", ())
        if apply:
            for key, _size in stale:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            for upload in unfinished:
                if now - upload["Initiated"].timestamp() >= older_than:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                       UploadId=upload["UploadId"])
        return stale

    # -- maintenance ----------------------------------------------------------------------------------
    def stored(self) -> Iterator[StoredBlob]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", ()):
                name = obj["Key"].rsplit("/", 1)[-1]
                if self.key(name) == obj["Key"]:
                    yield StoredBlob(name, obj["Size"], obj["LastModified"].timestamp())

    def age(self, name: str) -> float | None:
        head = self._head(name)
        return None if head is None else time.time() - head["LastModified"].timestamp()

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(name))
        cached = super().path(name)
        with self._cache_lock:
            try:
                size = cached.stat().st_size
            except FileNotFoundError:
                return
            cached.unlink(missing_ok=True)
            if self._cache_bytes is not None:
                self._cache_bytes -= size

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


class _RangeReader(SeekableReader):
    """A seekable raw reader over one S3 object by ranged GETs (``If-Match`` its ETag: a replaced object fails
    the read instead of mixing two objects' bytes)."""

    def __init__(self, client: Any, bucket: str, key: str, size: int, etag: str | None) -> None:
        super().__init__(size, key)
        self._client, self._bucket, self._key, self._etag = client, bucket, key, etag

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._pos + len(view), self._size)
        if end <= self._pos:
            return 0
        extra = {"IfMatch": self._etag} if self._etag else {}
        body = self._client.get_object(Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-{end - 1}",
                                       **extra)["Body"]
        got = 0
        try:
            while got < end - self._pos and (chunk := body.read(end - self._pos - got)):
                view[got:got + len(chunk)] = chunk
                got += len(chunk)
        finally:
            body.close()
        if got != end - self._pos:
            raise OSError(f"{self._key}: {got} bytes read at {self._pos}, {end - self._pos} asked for")
        self._pos = end
        return got


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def open_blob_store(spec: str | None, data_dir: Path, *, direct_io: bool = False, client: Any = None,
                    **s3_options: Any) -> BlobStore:
    """The blob store ``spec`` names: None (the data folder), ``file:///path`` or ``s3://bucket/prefix``."""
    if not spec:
        return BlobStore(data_dir, direct_io=direct_io)
    parsed = urlparse(spec)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost") or not parsed.path:
            raise ValueError(f"MODELYARD_HUB_BLOB_STORE={spec!r}: write a local folder as file:///absolute/path")
        return BlobStore(Path(parsed.path), direct_io=direct_io)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"MODELYARD_HUB_BLOB_STORE={spec!r}: name the bucket, as in s3://bucket/prefix")
        return S3BlobStore(data_dir, parsed.netloc, parsed.path, client=client, direct_io=direct_io, **s3_options)
    raise ValueError(f"MODELYARD_HUB_BLOB_STORE={spec!r}: use file:///path or s3://bucket/prefix")
