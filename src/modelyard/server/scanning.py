"""Security scan of uploaded files, recorded per content and exposed in repo info and tree listings.

Pickle-based files (``.bin .pt .pth .pkl .ckpt .pickle``) are scanned with picklescan when they are
committed (once per content: results are cached by sha256). Code files (``.py`` ...) are not scanned but
flagged, since running them is a trust decision.

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

import logging
from pathlib import Path, PurePosixPath
from typing import Any

logger = logging.getLogger(__name__)

PICKLE_EXTENSIONS = frozenset({".bin", ".pt", ".pth", ".pkl", ".ckpt", ".pickle"})
CODE_EXTENSIONS = frozenset({".py", ".pyc", ".pyo", ".pyd", ".so", ".dll", ".dylib", ".sh", ".ipynb"})
SCANNER = "picklescan"


def file_kind(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in PICKLE_EXTENSIONS:
        return "pickle"
    if suffix in CODE_EXTENSIONS:
        return "code"
    return "data"


def scan_key(path: str) -> str:
    """Cache key for a scan of some content seen under ``path`` (picklescan's result depends on the suffix)."""
    return "pickle" + PurePosixPath(path).suffix.lower()


def scan_pickle(blob_path: Path, repo_path: str) -> tuple[str, dict[str, Any]]:
    """Scan one stored blob that was committed as ``repo_path``; returns (status, details)."""
    try:
        from picklescan.scanner import SafetyLevel, scan_bytes
    except ImportError:  # pragma: no cover - picklescan is a server dependency
        return "unscanned", {"message": "picklescan is not installed on the hub (pip install picklescan)",
                             "imports": []}
    suffix = PurePosixPath(repo_path).suffix.lower()
    try:
        with open(blob_path, "rb") as fh:
            result = scan_bytes(fh, repo_path, suffix)
    except Exception as err:  # a scanner crash must not take the commit down; record it instead
        logger.warning("picklescan failed on %s: %s", repo_path, err)
        # picklescan drops what it found when a later stream in the file breaks its parser (bytes after
        # the first STOP can be anything), so read the leading pickle alone: a dangerous import there
        # makes the file unsafe whatever follows.
        leading = _scan_leading_pickle(blob_path, repo_path)
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


def _scan_leading_pickle(blob_path: Path, repo_path: str) -> Any:
    """picklescan's result for the first pickle stream of the file only, or None if that fails too."""
    from picklescan.scanner import scan_pickle_bytes

    try:
        with open(blob_path, "rb") as fh:
            return scan_pickle_bytes(fh, repo_path, multiple_pickles=False)
    except Exception as err:
        logger.warning("picklescan could not read the leading pickle of %s either: %s", repo_path, err)
        return None


def sibling_security(path: str, scan: dict[str, Any] | None) -> dict[str, Any]:
    kind = file_kind(path)
    if kind != "pickle":
        message = "code file: runs only if the user trusts the repository" if kind == "code" else "not a pickle"
        return {"status": "safe", "kind": kind, "scanner": None, "dangerousImports": [], "message": message}
    if scan is None:
        return {"status": "unscanned", "kind": kind, "scanner": None, "dangerousImports": [],
                "message": "not scanned"}
    dangerous = sorted({f"{i['module']}.{i['name']}" for i in scan.get("imports", []) if i["safety"] == "dangerous"})
    return {"status": scan["status"], "kind": kind, "scanner": SCANNER, "dangerousImports": dangerous,
            "message": scan.get("message", "")}


def file_security_status(path: str, scan: dict[str, Any] | None) -> dict[str, Any]:
    """HF's ``securityFileStatus`` shape (the client requires ``status``, ``avScan`` and ``pickleImportScan``)."""
    info = sibling_security(path, scan)
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
