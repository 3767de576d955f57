"""Moving a whole hub between backends: ``modelyard hub export`` (SQLite + files -> PostgreSQL + S3, or any pair).

The rows go in one transaction (``storage.transfer``); every blob is streamed from the source store into the
target store through the target's verifying writer: a blob named by a sha256 must hash to its name and keep
its size, a Xet xorb (named by its xorb hash) must arrive with the bytes and size it left with. A blob that
fails, or that a commit names but the source lacks, stops the export with the list of them: nothing
half-verified is reported as done.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from modelyard.server.blobstore import BlobStore
from modelyard.server.errors import HubHTTPError
from modelyard.server.storage import Storage
from modelyard.server.storage.transfer import copy_rows, referenced_blobs, xet_file_contents

logger = logging.getLogger(__name__)
_BLOCK = 8 * 1024 * 1024


class ExportError(RuntimeError):
    """The export stopped: a blob is missing or does not match its name."""


@dataclass
class ExportReport:
    rows: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    bytes: int = 0
    already_there: int = 0

    def summary(self) -> str:
        return (f"copied {sum(self.rows.values())} rows of {len(self.rows)} tables and {self.blobs} blobs "
                f"({self.bytes} bytes, each verified; {self.already_there} were in the target already)")


def export_hub(source: Storage, source_blobs: BlobStore, target: Storage, target_blobs: BlobStore, *,
               progress: Callable[[str], None] = lambda message: None) -> ExportReport:
    """Copy every blob (verified) and then every row of the source hub into the empty target backends.

    Blobs first: a target whose rows exist has every blob they name, even if the export is interrupted.
    """
    report = ExportReport()
    files, xorbs = referenced_blobs(source)
    stored = {blob.name: blob.size for blob in source_blobs.stored()}
    through_xet = xet_file_contents(source)  # files stored only through Xet have no blob: their xorbs carry them
    missing = sorted(name for name in files | xorbs if name not in stored and name not in through_xet)
    if missing:
        raise ExportError(f"{len(missing)} blob(s) that commits or xorbs name are missing from the source store "
                          f"{source_blobs.location}: {', '.join(missing[:10])}; restore them before exporting")
    bad: list[str] = []
    for name, size in sorted(stored.items()):
        if target_blobs.has(name, size):
            report.already_there += 1
            continue
        try:
            _copy_blob(source_blobs, target_blobs, name, size, is_xorb=name in xorbs and name not in files)
        except (OSError, ValueError, HubHTTPError) as err:
            bad.append(f"{name}: {err}")
            continue
        report.blobs += 1
        report.bytes += size
        if report.blobs % 100 == 0:
            progress(f"{report.blobs} blobs copied")
    if bad:
        raise ExportError(f"{len(bad)} blob(s) failed verification and were not copied: " + "; ".join(bad[:10]))
    report.rows = copy_rows(source, target, progress=lambda table, n: progress(f"{table}: {n} rows"))
    return report


def _copy_blob(source: BlobStore, target: BlobStore, name: str, size: int, *, is_xorb: bool) -> None:
    digest = hashlib.sha256()
    with open(source.path(name), "rb") as fh, target.writer() as writer:
        while block := fh.read(_BLOCK):
            digest.update(block)
            writer.write(block)
        if is_xorb:
            if writer.size != size:
                raise ValueError(f"read {writer.size} bytes, the source lists {size}")
            writer.commit_as(name)
        else:
            writer.commit(expected_sha256=name, expected_size=size)  # raises when the bytes are not the name's
    if is_xorb:  # no content hash to check against: read the target's copy back
        check = hashlib.sha256()
        with open(target.path(name), "rb") as fh:
            while block := fh.read(_BLOCK):
                check.update(block)
        if check.hexdigest() != digest.hexdigest():
            raise ValueError("the target's copy differs from the source's bytes")
