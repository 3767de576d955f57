"""Names of the private packages remote code is imported under.

Every repository (or local folder) at one commit (or one content hash) gets its own package,
``modelyard_modules.hub.n_<namespace>.r_<name>.c_<commit>``, so two versions of the same code never share
a module object and a later push can never change code already imported or cached. Repository and folder
names may hold dots, dashes or leading digits; they are encoded injectively into identifiers.
"""

from __future__ import annotations

import hashlib
import string
from pathlib import Path

ROOT_PACKAGE = "modelyard_modules"
_KEPT = frozenset(string.ascii_letters + string.digits)
_MAX_FOLDER_NAME = 48


def encode(text: str) -> str:
    """An identifier fragment that decodes back to ``text``: letters and digits kept, ``_`` doubled, any
    other character written as ``_<hex code point>_`` (hex digits never contain ``_``, so it is unambiguous)."""
    out = []
    for char in text:
        if char in _KEPT:
            out.append(char)
        elif char == "_":
            out.append("__")
        else:
            out.append(f"_{ord(char):x}_")
    return "".join(out)


def hub_package(repo_id: str, commit: str, subfolder: str = "") -> str:
    """Commits are 40 hex digits (no ``_``), so a subfolder suffix after ``_s_`` cannot be confused with them."""
    namespace, _, name = repo_id.rpartition("/")
    suffix = f"_s_{encode(subfolder.strip('/'))}" if subfolder.strip("/") else ""
    return f"{ROOT_PACKAGE}.hub.n_{encode(namespace)}.r_{encode(name)}.c_{encode(commit)}{suffix}"


def local_package(folder: Path, content_hash: str) -> str:
    """Local folders: the folder's name (readable) plus a hash of its absolute path (unique)."""
    resolved = str(folder.resolve())
    path_hash = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:12]
    readable = encode(folder.resolve().name or "root")[:_MAX_FOLDER_NAME]
    return f"{ROOT_PACKAGE}.local.l_{readable}_{path_hash}.c_{content_hash}"


def package_directory(root: Path, package: str) -> Path:
    return root.joinpath(*package.split("."))


def module_name_for_file(relpath: str) -> str:
    """``"sub/modeling_x.py"`` -> ``"sub.modeling_x"``; ``"sub/__init__.py"`` -> ``"sub"``."""
    parts = relpath.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def file_for_module(module: str) -> str:
    """``"sub.modeling_x"`` -> ``"sub/modeling_x.py"`` (the plain-module candidate)."""
    return module.replace(".", "/") + ".py"
