"""Validation of every name a client sends: namespaces, repo names, file paths, branch and tag names.

Each check raises :class:`~modelyard.server.errors.HubHTTPError` (400) with the offending value and the
rule it broke, so a client sees why a request was refused. Also: a small ``.gitignore`` matcher for the
preupload ``shouldIgnore`` answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from modelyard.server.errors import HubHTTPError, bad_request

# Same rule as huggingface_hub's client-side repo id check: ASCII word chars, '-' and '.', 1-96 chars.
_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]{1,96}")
# Namespaces that would collide with the server's own top-level routes.
RESERVED_NAMESPACES = frozenset(
    {"api", "datasets", "spaces", "kernels", "models", "_lfs", "oauth", "docs", "redoc", "openapi.json",
     "settings", "login", "logout", "new", "organizations", "static"}
)
MAX_PATH_LENGTH = 1024
_SHA_RE = re.compile(r"[0-9a-f]{40}")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


# What the OpenAPI schema publishes for names: a subset of what check_name accepts (it also allows e.g. "a.-b"),
# written without look-arounds so that schema-driven clients and fuzzers can generate from it.
NAME_SCHEMA = {"type": "string", "pattern": r"^[A-Za-z0-9_]+([-.][A-Za-z0-9_]+)*$", "maxLength": 96,
               "description": "1-96 of A-Z a-z 0-9 _ - ., no '--' or '..', not starting or ending with '-' or '.', "
                              "not ending with '.git'"}
REPO_ID_SCHEMA = {"type": "string", "pattern": r"^[A-Za-z0-9_]+([-.][A-Za-z0-9_]+)*/[A-Za-z0-9_]+([-.][A-Za-z0-9_]+)*$",
                  "maxLength": 193, "description": "namespace/name"}


REF_SCHEMA = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*([-./][A-Za-z0-9_]+)*$", "maxLength": 100,
              "description": "a branch or tag name (git check-ref-format rules)"}
_PATH_PART = r"[A-Za-z0-9_][A-Za-z0-9_.+=@,()-]*"
PATH_SCHEMA = {"type": "string", "pattern": f"^{_PATH_PART}(/{_PATH_PART})*$", "maxLength": 1024,
               "description": "a file path in the repository: relative, '/'-separated, no '.' or '..' parts, no "
                              "backslash or control characters, no '.git' part (the pattern is a portable subset: "
                              "other Unicode names are accepted too)"}
PAGE_SCHEMA = {"type": "string", "pattern": "^([0-9]{1,15})?$", "description": "a page or position number"}


def check_name(value: str, *, what: str = "repository name") -> str:
    """A namespace or repo name: ``[A-Za-z0-9_.-]{1,96}``, no ``--`` or ``..``, no leading/trailing ``-``/``.``."""
    if (
        not isinstance(value, str)
        or not _NAME_RE.fullmatch(value)
        or "--" in value
        or ".." in value
        or value[0] in "-."
        or value[-1] in "-."
        or value.endswith(".git")
    ):
        raise bad_request(
            f"Invalid {what} {value!r}: use 1-96 ASCII letters, digits, '_', '-' or '.', without '--' or '..', "
            "not starting or ending with '-' or '.', and not ending with '.git'."
        )
    return value


def check_namespace(value: str) -> str:
    check_name(value, what="namespace")
    if value.lower() in RESERVED_NAMESPACES:
        raise bad_request(f"Invalid namespace {value!r}: it is reserved by the hub; choose another name.")
    return value


def is_repo_id(value: str) -> bool:
    """Whether ``value`` is ``namespace/name`` with both parts valid (a page may link to it)."""
    namespace, sep, name = value.partition("/") if isinstance(value, str) else ("", "", "")
    try:
        check_namespace(namespace)
        check_name(name)
    except HubHTTPError:
        return False
    return bool(sep)


def check_path_in_repo(path: str, *, max_length: int = MAX_PATH_LENGTH, status: int = 400) -> str:
    """A file path inside a repository: relative, '/'-separated, no '..', '.', empty parts, '\\', NUL or '.git'.

    ``status``: 400, or 422 where a path is being written (preupload, commit), as the Hugging Face Hub answers.
    A backslash is refused although the Hub accepts it as an ordinary character: on Windows it is a separator,
    so ``folder/..\\..\\x`` names a file outside the download folder for every client that does not re-check."""
    if not isinstance(path, str) or not path:
        raise HubHTTPError(status, f"Invalid path in repository {path!r}: it must be a non-empty string.")
    problem = None
    if len(path.encode("utf-8", "surrogatepass")) > max_length:
        problem = f"it is longer than {max_length} bytes"
    elif path.startswith("/"):
        problem = "it is absolute; give it relative to the repository root"
    elif "\\" in path:
        problem = "it contains a backslash; use '/' as separator"
    elif any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        problem = "it contains a NUL or control character"
    elif path.endswith("/"):
        problem = "it ends with '/'; name a file, not a folder"
    else:
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            problem = "it is not valid UTF-8"
    if problem is None:
        for part in path.split("/"):
            if part in ("", ".", ".."):
                problem = "it contains an empty, '.' or '..' component"
                break
            if is_git_dir_name(part):
                problem = (f"its component {part!r} names git's own folder on some client file system (the check "
                           "ignores case, trailing dots and spaces, and zero-width characters, as git does)")
                break
    if problem:
        raise HubHTTPError(status, f"Invalid path in repository {path!r}: {problem}.")
    return path


# Code points that HFS+ ignores in file names (git's is_hfs_dotgit list): ".g\u200cit" *is* ".git" on macOS.
_HFS_IGNORED = dict.fromkeys([0x200C, 0x200D, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF])


def is_git_dir_name(part: str) -> bool:
    """Whether a path component is ``.git`` on some client's file system: case-insensitive (Windows, macOS),
    trailing dots and spaces dropped and the 8.3 short name ``git~1`` (NTFS), ignorable code points (HFS+)."""
    folded = part.translate(_HFS_IGNORED).rstrip(". ").casefold()
    return folded in (".git", "git~1")


def nfc_twins(paths: Iterable[str]) -> tuple[str, str] | None:
    """Two different paths (files or their folders) with the same Unicode NFC form, if any.

    Such names render the same, and file systems that normalise names (macOS) cannot hold both; the hub
    refuses a commit that would contain them rather than guessing which one is meant. Names keep the form
    they were uploaded in (NFC or NFD): only a second name that is the same text counts.
    """
    paths = list(paths)
    if all(path.isascii() for path in paths):
        return None  # distinct ASCII names are distinct in every normal form
    seen: dict[str, str] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            key = prefix if prefix.isascii() else unicodedata.normalize("NFC", prefix)
            other = seen.setdefault(key, prefix)
            if other != prefix:
                return other, prefix
    return None


def check_folder_path(path: str) -> str:
    """A folder path (``deletedFolder``, tree listing): like a file path, a trailing '/' is allowed."""
    stripped = path.rstrip("/")
    if not stripped:
        raise bad_request(f"Invalid folder path {path!r}: give a folder inside the repository, not its root.")
    check_path_in_repo(stripped)
    return stripped


def check_ref_name(name: str, *, what: str = "branch") -> str:
    """A branch or tag name, following ``git check-ref-format`` and refusing names that look like commit ids."""
    problem = None
    if not name or len(name) > 255:
        problem = "it must be 1-255 characters long"
    elif _REF_FORBIDDEN.search(name):
        problem = "it contains a space, control character or one of ~ ^ : ? * [ \\"
    elif ".." in name or "//" in name or "@{" in name or name == "@":
        problem = "it contains '..', '//' or '@{'"
    elif name.startswith(("/", "refs/")) or name.endswith(("/", ".", ".lock")):
        problem = "it starts with '/' or 'refs/', or ends with '/', '.' or '.lock'"
    elif any(part.startswith(".") for part in name.split("/")):
        problem = "a component starts with '.'"
    elif _SHA_RE.fullmatch(name):
        problem = "it looks like a commit id"
    if problem:
        raise bad_request(f"Invalid {what} name {name!r}: {problem}. Choose a name like 'dev' or 'v1.0'.")
    return name


class GitIgnore:
    """The subset of ``.gitignore`` rules that matter for uploads: globs, ``**``, ``!``, anchors, ``dir/``."""

    def __init__(self, text: str) -> None:
        self._rules: list[tuple[re.Pattern[str], bool, bool]] = []
        for raw in text.splitlines():
            line = raw.rstrip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:]
            if line.startswith("\\"):
                line = line[1:]
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            if not line:
                continue
            anchored = "/" in line
            body = glob_to_regex(line.lstrip("/"))
            regex = body if anchored else f"(?:.*/)?{body}"
            self._rules.append((re.compile(regex, re.DOTALL), negate, dir_only))

    def _match(self, path: str, *, is_dir: bool) -> bool | None:
        result = None
        for regex, negate, dir_only in self._rules:
            if dir_only and not is_dir:
                continue
            if regex.fullmatch(path):
                result = not negate
        return result

    def ignored(self, path: str) -> bool:
        parts = path.split("/")
        # As in git, a file inside an ignored folder cannot be re-included.
        for depth in range(1, len(parts)):
            if self._match("/".join(parts[:depth]), is_dir=True):
                return True
        return bool(self._match(path, is_dir=False))


def glob_to_regex(pattern: str) -> str:
    """A gitignore-style glob as a regex over '/'-separated paths: ``*`` and ``?`` stay in one part, ``**`` spans parts."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("/**", i) and i + 3 == n:
            out.append("/.*")
            i += 3
            continue
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
            else:
                inner = pattern[i + 1 : end]
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                out.append(f"[{inner.replace(chr(92), chr(92) * 2)}]")
                i = end
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)
