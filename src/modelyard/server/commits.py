"""The NDJSON commit: parse the request, store its regular files, then apply it on top of the branch head.

Parsing (:func:`parse_commit`) happens before the database transaction and makes every referenced blob
durable; applying (:func:`apply_operations`) runs inside the transaction against the *current* head, so
concurrent commits compose instead of overwriting each other. ``parentCommit`` turns that into an
optimistic check: if the head moved since the client looked, the commit is refused with 412.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from modelyard.server.errors import HubHTTPError, bad_request
from modelyard.server.gitobjects import FileEntry, git_blob_oid
from modelyard.server.paths import check_folder_path, check_path_in_repo, nfc_twins

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_PARENT_RE = re.compile(r"[0-9a-f]{5,40}")
UNPROCESSABLE = 422  # a path a repository cannot hold, as the Hugging Face Hub answers at commit and preupload


MAX_COMMIT_LINE_DEPTH = 16  # a commit line is {"key": ..., "value": {...}}: 2 levels, a little slack
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def check_json_depth(text: bytes, limit: int, what: str) -> None:
    """400 when ``text`` nests JSON arrays/objects deeper than ``limit`` (decoding it would hit Python's
    recursion limit). Strings are skipped, so brackets inside them do not count."""
    if text.count(b"{") + text.count(b"[") <= limit:
        return  # cannot be deeper than it has brackets
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
            if depth > limit:
                raise bad_request(f"{what} nests JSON deeper than {limit} levels; send the documented shape.")
        elif token in (b"}", b"]"):
            depth -= 1


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _check_no_lone_surrogate(obj: Any, line_no: int) -> None:
    """400 when a ``\\uD800``-style escape left a lone surrogate in the line: it is not text (paths, titles and
    messages are stored and served as UTF-8), so nothing downstream could encode it."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise bad_request(f"Commit line {line_no} holds a lone surrogate escape ({err.object[err.start:err.end]!r}), "
                          "which is not text: escape characters outside the BMP as a surrogate pair, or send "
                          "them as UTF-8.") from None


class BlobSink(Protocol):
    """Where a commit's regular files are stored (the hub's content gateway)."""

    def put_bytes(self, content: bytes) -> str:
        """Store ``content``; returns its sha256."""
        ...


@dataclass
class Operation:
    kind: str  # "add" | "lfs" | "delete" | "delete_folder"
    path: str
    entry: FileEntry | None = None  # "add": stored regular file
    sha256: str | None = None  # "lfs"
    size: int | None = None  # "lfs": absent for copies


@dataclass
class ParsedCommit:
    summary: str = ""
    description: str = ""
    parent: str | None = None
    operations: list[Operation] = field(default_factory=list)


def _value(obj: Any, line_no: int) -> dict[str, Any]:
    value = obj.get("value") if isinstance(obj, dict) else None
    if not isinstance(value, dict):
        raise bad_request(f"Commit line {line_no}: expected {{\"key\": ..., \"value\": {{...}}}}, got {str(obj)[:200]!r}.")
    return value


def _str_field(value: dict[str, Any], name: str, line_no: int) -> str:
    found = value.get(name)
    if not isinstance(found, str):
        raise bad_request(f"Commit line {line_no}: field {name!r} must be a string, got {found!r}.")
    return found


def parse_commit(body: IO[bytes], store: BlobSink, *, max_line: int, max_regular: int, max_file: int,
                 max_operations: int) -> ParsedCommit:
    """Read the NDJSON ``body``: a ``header`` line and one line per operation. Regular files are stored."""
    parsed = ParsedCommit()
    seen_header = False
    line_no = 0
    while True:
        line = body.readline(max_line + 1)
        if not line:
            break
        line_no += 1
        if len(line) > max_line and not line.endswith(b"\n"):
            raise HubHTTPError(413, f"Commit line {line_no} is longer than {max_line} bytes: a regular file may be at "
                               f"most {max_regular} bytes; upload bigger files through LFS.")
        if not line.strip():
            continue
        check_json_depth(line, MAX_COMMIT_LINE_DEPTH, f"Commit line {line_no}")
        try:
            obj = json.loads(line)
        except ValueError as err:
            raise bad_request(f"Commit line {line_no} is not valid JSON ({err}); send one JSON object per line "
                              "(application/x-ndjson).") from None
        if _SURROGATE_ESCAPE.search(line):
            _check_no_lone_surrogate(obj, line_no)
        key = obj.get("key") if isinstance(obj, dict) else None
        value = _value(obj, line_no)
        if key == "header":
            if seen_header:
                raise bad_request(f"Commit line {line_no}: a second 'header' line; send exactly one.")
            seen_header = True
            parsed.summary = _str_field(value, "summary", line_no).strip()
            description = value.get("description") or ""
            parsed.description = description if isinstance(description, str) else ""
            parent = value.get("parentCommit")
            if parent is not None:
                if not isinstance(parent, str) or not _PARENT_RE.fullmatch(parent.lower()):
                    raise bad_request(f"parentCommit {parent!r} is not a commit id (5 to 40 hex characters).")
                parsed.parent = parent.lower()
            continue
        if len(parsed.operations) >= max_operations:
            raise HubHTTPError(413, f"A commit may hold at most {max_operations} operations; split it into several.")
        path = _str_field(value, "path", line_no)
        if key == "file":
            check_path_in_repo(path, status=UNPROCESSABLE)
            encoding = value.get("encoding", "base64")
            content = _str_field(value, "content", line_no)
            if encoding == "base64":
                try:
                    data = base64.b64decode(content, validate=True)
                except (binascii.Error, ValueError):
                    raise bad_request(f"File {path!r}: content is not valid base64.") from None
            elif encoding in ("utf-8", "utf8"):
                data = content.encode("utf-8")
            else:
                raise bad_request(f"File {path!r}: unknown encoding {encoding!r}; use 'base64'.")
            if len(data) > max_regular:
                raise HubHTTPError(413, f"File {path!r} has {len(data)} bytes, above the {max_regular}-byte limit for "
                                   "regular files; send it as an LFS file (preupload says 'lfs' for it), through Xet or Git LFS.")
            sha = store.put_bytes(data)
            parsed.operations.append(Operation("add", path, entry=FileEntry(sha, len(data), git_blob_oid(data), False)))
        elif key == "lfsFile":
            check_path_in_repo(path, status=UNPROCESSABLE)
            oid = _str_field(value, "oid", line_no).lower()
            algo = value.get("algo", "sha256")
            if algo != "sha256" or not _SHA256_RE.fullmatch(oid):
                raise bad_request(f"LFS file {path!r}: oid {oid!r} must be a sha256 (64 hex characters, algo 'sha256').")
            size = value.get("size")
            if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0 or size > max_file):
                raise bad_request(f"LFS file {path!r}: size {size!r} must be an integer between 0 and {max_file}.")
            parsed.operations.append(Operation("lfs", path, sha256=oid, size=size))
        elif key == "deletedFile":
            parsed.operations.append(Operation("delete", check_path_in_repo(path, status=UNPROCESSABLE)))
        elif key == "deletedFolder":
            parsed.operations.append(Operation("delete_folder", check_folder_path(path)))
        else:
            raise bad_request(f"Commit line {line_no}: unknown key {key!r}; expected header, file, lfsFile, "
                              "deletedFile or deletedFolder.")
    if not seen_header:
        raise bad_request("The commit has no 'header' line with the commit summary.")
    if not parsed.summary:
        raise bad_request("The commit summary is empty; pass a commit message.")
    return parsed


def apply_operations(
    manifest: dict[str, FileEntry],
    operations: list[Operation],
    *,
    lfs_lookup: Callable[[str, str, int | None], FileEntry],
    repo_id: str,
    revision: str,
) -> tuple[dict[str, FileEntry], set[str]]:
    """New manifest after ``operations``, and the LFS objects it references. Raises on conflicts."""
    result = dict(manifest)
    lfs_blobs: set[str] = set()
    for op in operations:
        if op.kind == "add":
            assert op.entry is not None  # set by parse_commit for every "add"
            result[op.path] = op.entry
        elif op.kind == "lfs":
            assert op.sha256 is not None  # set by parse_commit for every "lfs"
            result[op.path] = lfs_lookup(op.path, op.sha256, op.size)
            lfs_blobs.add(op.sha256)
        elif op.kind == "delete":
            if result.pop(op.path, None) is not None:
                continue
            # A folder named without its trailing '/' (the Hugging Face Hub deletes it too).
            doomed = [p for p in result if p.startswith(op.path + "/")]
            for p in doomed:
                del result[p]
            if not doomed:
                raise HubHTTPError(404, f"A file with this name doesn't exist: {op.path!r} is not in {repo_id!r} at "
                                   f"{revision!r}.", code="EntryNotFound")
        elif op.kind == "delete_folder":
            prefix = op.path + "/"
            doomed = [p for p in result if p.startswith(prefix)]
            if not doomed:
                raise HubHTTPError(404, f"A folder with this name doesn't exist: {op.path!r} is not in {repo_id!r} at "
                                   f"{revision!r}.", code="EntryNotFound")
            for p in doomed:
                del result[p]
    _check_file_folder_clash(result)
    twins = nfc_twins(result)
    if twins:
        raise bad_request(f"Invalid path in repository {twins[1]!r}: it is the same text as {twins[0]!r} in another "
                          "Unicode normalisation (NFC/NFD), so both would render alike and collide on file systems "
                          "that normalise names; use the existing name, or delete it in the same commit.")
    return result, lfs_blobs


def _check_file_folder_clash(manifest: dict[str, FileEntry]) -> None:
    folders: set[str] = set()
    for path in manifest:
        parts = path.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    clash = folders.intersection(manifest)
    if clash:
        name = sorted(clash)[0]
        raise bad_request(f"{name!r} would be both a file and a folder; delete the file or rename the folder.")
