"""Security scan of uploaded files, recorded per content and exposed in repo info and tree listings.

A file is treated as pickle-based, and scanned with picklescan when it is committed (once per content:
results are cached by sha256), when any of these holds:

* its name has a pickle extension (``.bin .pt .pth .pkl .ckpt .pickle .joblib``);
* its content says so, whatever its name: a pickle protocol 2-5 header (``\x80\x02``...) that parses as
  pickle opcodes (legacy ``torch.save`` files), a zip archive with pickle or NumPy members (``torch.save``'s
  zip format, ``.npz``), or a NumPy ``.npy`` file (object arrays are pickles). A valid safetensors header
  is never taken for a pickle;
* a weights index other than a safetensors one (``pytorch_model.bin.index.json`` ...) names it in its
  ``weight_map``: loaders ``torch.load`` those shards whatever their names.

Code files (``.py`` ...) are not scanned but flagged, since running them is a trust decision. A file that is
pickle-based but has no scan result (committed before its index, or before this rule) is reported as
``unscanned``; ``modelyard hub scan`` scans what is missing.

Fields the hub exposes (modelyard's own client reads ``siblings[].security.status``):

* ``GET /api/models/{repo}[/revision/{rev}]`` -> every ``siblings[]`` entry carries
  ``"security": {"status": S, "kind": K, "scanner": str | None, "dangerousImports": [..], "message": str}``
  where ``K`` is ``"pickle"``, ``"code"`` or ``"data"`` and ``S`` is

  - ``"safe"``: nothing to deserialize unsafely (data/code files), or a pickle whose imports are all known safe;
  - ``"unsafe"``: a pickle importing something dangerous (``os.system``, ``builtins.eval`` ...). Refuse it;
  - ``"suspicious"``: a pickle importing callables outside picklescan's allow-list (e.g. custom classes);
  - ``"error"``: the pickle could not be parsed completely; treat it as unsafe;
  - ``"unscanned"``: too large to scan (see ``HubSettings.scan_max_size``).

  The top level also carries HF's ``securityRepoStatus``: ``{"scansDone": true, "filesWithIssues":
  [{"path", "level", "dangerousImports"}], "codeFiles": [paths]}`` (``ModelInfo.security_repo_status``).
* tree / paths-info with ``expand=true`` -> ``securityFileStatus: {"status", "avScan", "pickleImportScan"}``
  in HF's shape (``RepoFile.security`` in the client); ``pickleImportScan`` lists each import with
  ``safety`` ``innocuous`` / ``suspicious`` / ``dangerous``.
"""

from __future__ import annotations

import io
import logging
import pickletools
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

logger = logging.getLogger(__name__)

PICKLE_EXTENSIONS = frozenset({".bin", ".pt", ".pth", ".pkl", ".ckpt", ".pickle", ".joblib"})
CODE_EXTENSIONS = frozenset({".py", ".pyc", ".pyo", ".pyd", ".so", ".dll", ".dylib", ".sh", ".ipynb"})
SCANNER = "picklescan"
# Extensions that make picklescan read a blob as a legacy torch file / pickle, a NumPy array or a zip.
AS_PICKLE, AS_NUMPY, AS_ZIP = ".bin", ".npy", ".zip"
_PICKLE_HEADERS = tuple(bytes([0x80, proto]) for proto in range(2, 6))
_NUMPY_MAGIC = b"\x93NUMPY"
_PROBE = 64 * 1024


def file_kind(path: str) -> str:
    """Kind by name alone: ``pickle``, ``code`` or ``data`` (see :func:`scan_ext` for the full rule)."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in PICKLE_EXTENSIONS:
        return "pickle"
    if suffix in CODE_EXTENSIONS:
        return "code"
    return "data"


def _is_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    header_len = int.from_bytes(head[:8], "little")
    return 2 <= header_len <= size - 8 and head[8:9] == b"{"


def _parses_as_pickle(head: bytes) -> bool:
    """Whether ``head`` (the start of a file) reads as pickle opcodes up to STOP or to the end of the probe."""
    ops = 0
    try:
        for opcode, _arg, _pos in pickletools.genops(io.BytesIO(head)):
            ops += 1
            if opcode.name == "STOP":
                return True
    except ValueError:  # a bad opcode, or data cut off by the probe size (then it may well be a pickle)
        return ops >= 3 and len(head) >= _PROBE
    return False


def _zip_holds_pickles(fh: Any) -> bool:
    try:
        with zipfile.ZipFile(fh) as archive:
            for info in archive.infolist()[:10_000]:
                suffix = PurePosixPath(info.filename).suffix.lower()
                if suffix in PICKLE_EXTENSIONS or suffix == AS_NUMPY:
                    return True
                with archive.open(info) as member:
                    magic = member.read(8)
                if magic.startswith(_PICKLE_HEADERS) or magic.startswith(_NUMPY_MAGIC):
                    return True
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, NotImplementedError):
        return True  # a zip we cannot read: let the scanner say what it can
    return False


# A stored blob's path, or an opener of content kept elsewhere (a Xet file is read from its xorbs).
Source = Path | str | Callable[[], BinaryIO]


def _open(source: Source) -> BinaryIO:
    return source() if callable(source) else open(source, "rb")


def content_scan_ext(source: Source) -> str | None:
    """The picklescan extension for content that holds pickles (by magic bytes), or None for anything else."""
    with _open(source) as fh:
        head = fh.read(_PROBE)
        size = fh.seek(0, io.SEEK_END)
        if head.startswith(_NUMPY_MAGIC):
            return AS_NUMPY
        if head.startswith(_PICKLE_HEADERS) and not _is_safetensors(head, size) and _parses_as_pickle(head):
            return AS_PICKLE
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            fh.seek(0)
            return AS_ZIP if _zip_holds_pickles(fh) else None
    return None


def is_weights_index(path: str) -> bool:
    return path.endswith(".index.json")


def pickle_shards(index_paths: Iterable[str], read_json: Callable[[str], Any]) -> set[str]:
    """Files that non-safetensors weight indexes name (loaders ``torch.load`` those, whatever their names).

    Shard names are relative to the index's folder, as loaders resolve them.
    """
    shards: set[str] = set()
    for index in index_paths:
        if ".safetensors" in PurePosixPath(index).name:
            continue
        data = read_json(index)
        weight_map = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(weight_map, dict):
            continue
        folder = index.rpartition("/")[0]
        for shard in set(weight_map.values()):
            if isinstance(shard, str) and shard:
                shards.add(f"{folder}/{shard}" if folder else shard)
    return shards


def scan_key(ext: str) -> str:
    """Cache key of a scan made with picklescan extension ``ext`` (its result depends on the extension)."""
    return "pickle" + ext


def scan_pickle(source: Source, repo_path: str, ext: str | None = None) -> tuple[str, dict[str, Any]]:
    """Scan one stored file's content that was committed as ``repo_path`` (read as ``ext``, default its
    suffix); returns (status, details)."""
    try:
        from picklescan.scanner import SafetyLevel, scan_bytes
    except ImportError:  # pragma: no cover - picklescan is a server dependency
        return "unscanned", {"message": "picklescan is not installed on the hub (pip install picklescan)",
                             "imports": []}
    suffix = ext or PurePosixPath(repo_path).suffix.lower()
    with _open(source) as fh:
        empty = not fh.read(1)
    if empty:  # picklescan fails on empty input ("[Errno 22] Invalid argument"); there is nothing to unpickle
        return "safe", {"message": "empty file: nothing to unpickle", "imports": []}
    try:
        with _open(source) as fh:
            result = scan_bytes(fh, repo_path, suffix)
    except Exception as err:  # a scanner crash must not take the commit down; record it instead
        logger.warning("picklescan failed on %s: %s", repo_path, err)
        # picklescan drops what it found when a later stream in the file breaks its parser (bytes after
        # the first STOP can be anything), so read the leading pickle alone: a dangerous import there
        # makes the file unsafe whatever follows.
        leading = _scan_leading_pickle(source, repo_path)
        if leading is None or not any(g.safety == SafetyLevel.Dangerous for g in leading.globals):
            return "error", {"message": f"the scanner could not read the file: {err}", "imports": []}
        result = leading
    imports = [{"module": g.module, "name": g.name, "safety": g.safety.value} for g in result.globals]
    dangerous = [f"{g.module}.{g.name}" for g in result.globals if g.safety == SafetyLevel.Dangerous]
    if result.issues_count or dangerous:
        status, message = "unsafe", "dangerous imports found: " + ", ".join(sorted(set(dangerous)))
    elif result.scan_err:
        status, message = "error", "the pickle could not be parsed completely"
    elif result.suspicious_count:
        status, message = "suspicious", "imports outside the scanner's allow-list"
    else:
        status, message = "safe", "no dangerous imports"
    return status, {"message": message, "imports": imports}


def _scan_leading_pickle(source: Source, repo_path: str) -> Any:
    """picklescan's result for the first pickle stream of the file only, or None if that fails too."""
    from picklescan.scanner import scan_pickle_bytes

    try:
        with _open(source) as fh:
            return scan_pickle_bytes(fh, repo_path, multiple_pickles=False)
    except Exception as err:
        logger.warning("picklescan could not read the leading pickle of %s either: %s", repo_path, err)
        return None


def sibling_security(path: str, scan: dict[str, Any] | None, kind: str | None = None) -> dict[str, Any]:
    """Per-file security entry; ``kind`` is the file's kind after content and index rules (default: by name)."""
    kind = kind or file_kind(path)
    if kind != "pickle":
        message = "code file: runs only if the user trusts the repository" if kind == "code" else "not a pickle"
        return {"status": "safe", "kind": kind, "scanner": None, "dangerousImports": [], "message": message}
    if scan is None:
        return {"status": "unscanned", "kind": kind, "scanner": None, "dangerousImports": [],
                "message": "not scanned"}
    dangerous = sorted({f"{i['module']}.{i['name']}" for i in scan.get("imports", []) if i["safety"] == "dangerous"})
    return {"status": scan["status"], "kind": kind, "scanner": SCANNER, "dangerousImports": dangerous,
            "message": scan.get("message", "")}


def file_security_status(path: str, scan: dict[str, Any] | None, kind: str | None = None) -> dict[str, Any]:
    """HF's ``securityFileStatus`` shape (the client requires ``status``, ``avScan`` and ``pickleImportScan``)."""
    info = sibling_security(path, scan, kind)
    pickle_scan = None
    if info["kind"] == "pickle":
        pickle_scan = {"status": info["status"], "pickleImports": (scan or {}).get("imports", []),
                       "version": SCANNER}
    return {"status": info["status"], "avScan": None, "pickleImportScan": pickle_scan}


def repo_security_status(entries: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """``securityRepoStatus`` from (path, sibling security) pairs."""
    issues = [{"path": p, "level": s["status"], "dangerousImports": s["dangerousImports"]}
              for p, s in entries if s["status"] not in ("safe",)]
    code = [p for p, s in entries if s["kind"] == "code"]
    return {"scansDone": True, "filesWithIssues": issues, "codeFiles": code}
