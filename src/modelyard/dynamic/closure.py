"""The files one module needs: itself, every module it imports relatively (recursively), and the
``__init__.py`` of each subpackage on the way, so nested packages keep working once copied.

Paths are POSIX-style and relative to a reader's root (a repository, a folder, or the filesystem root when
saving). Nothing here executes code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from modelyard.dynamic.imports import ModuleImports, RelativeImport, scan_imports
from modelyard.errors import MissingFileError


class CodeReader(Protocol):
    where: str

    def exists(self, relpath: str) -> bool: ...

    def read(self, relpath: str) -> bytes: ...


class DirectoryReader:
    """Files under a folder on disk."""

    def __init__(self, root: Path, where: str | None = None) -> None:
        self.root = root
        self.where = where or f"folder {str(root)!r}"

    def exists(self, relpath: str) -> bool:
        return (self.root / relpath).is_file()

    def read(self, relpath: str) -> bytes:
        return (self.root / relpath).read_bytes()


class SourceReader:
    """Files of a :class:`~modelyard.hub.files.FileSource` (downloaded on first read, at its pinned commit)."""

    def __init__(self, source: object, where: str) -> None:
        self.source = source
        self.where = where
        self._listed: set[str] | None = None

    def exists(self, relpath: str) -> bool:
        if self._listed is None:
            self._listed = set(self.source.list_files())  # type: ignore[attr-defined]  # a FileSource or a DirectoryReader (both have it)
        return relpath in self._listed

    def read(self, relpath: str) -> bytes:
        path = self.source.get(relpath)  # type: ignore[attr-defined]  # a FileSource or a DirectoryReader (both have it)
        return Path(path).read_bytes()


@dataclass
class CodeClosure:
    files: dict[str, bytes] = field(default_factory=dict)  # relpath -> content, the entry first
    imports: dict[str, ModuleImports] = field(default_factory=dict)
    reached: set[tuple[str, ...]] = field(default_factory=set)  # packages relative imports resolved against

    def top(self) -> tuple[str, ...]:
        """The deepest folder holding every file and every package a relative import reached."""
        candidates = [tuple(p.split("/")[:-1]) for p in self.files] + list(self.reached)
        common = list(candidates[0])
        for parts in candidates[1:]:
            n = 0
            while n < min(len(common), len(parts)) and common[n] == parts[n]:
                n += 1
            del common[n:]
        return tuple(common)


def _module_file(reader: CodeReader, parts: list[str] | tuple[str, ...]) -> str | None:
    if not parts:
        return None
    base = "/".join(parts)
    for candidate in (f"{base}.py", f"{base}/__init__.py"):
        if reader.exists(candidate):
            return candidate
    return None


def _describe(imp: RelativeImport) -> str:
    return f"from {'.' * imp.level}{imp.module or ''} import {', '.join(imp.names)}"


def _targets(reader: CodeReader, relpath: str, imp: RelativeImport, closure: CodeClosure) -> list[str]:
    package = relpath.split("/")[:-1]  # for a/b/__init__.py as for a/b/mod.py, the package is a/b
    up = imp.level - 1
    if up > len(package):
        if imp.optional:
            return []
        raise MissingFileError(
            f"{relpath} (line {imp.lineno}) in {reader.where}: `{_describe(imp)}` goes above the top of the code "
            "folder. Keep every module of the custom code inside one folder (subfolders are fine)."
        )
    base = package[: len(package) - up]
    closure.reached.add(tuple(base))
    found: list[str] = []
    if imp.module:
        parts = base + imp.module.split(".")
        for depth in range(len(base) + 1, len(parts)):  # parent packages run their __init__ first
            init = "/".join(parts[:depth]) + "/__init__.py"
            if reader.exists(init):
                found.append(init)
        target = _module_file(reader, parts)
        if target is None:
            if imp.optional:
                return found
            raise MissingFileError(
                f"{relpath} (line {imp.lineno}) in {reader.where} needs `{_describe(imp)}`, but neither "
                f"{'/'.join(parts)}.py nor {'/'.join(parts)}/__init__.py exists there. Add the missing file."
            )
        found.append(target)
        if target.endswith("__init__.py"):  # `from .pkg import sub` may name submodules
            found += [sub for name in imp.names if (sub := _module_file(reader, parts + [name]))]
        return found
    init = "/".join(base + ["__init__.py"])
    for name in imp.names:
        sub = _module_file(reader, base + [name])
        if sub is not None:
            found.append(sub)
        elif reader.exists(init):
            found.append(init)
        elif not imp.optional:
            raise MissingFileError(
                f"{relpath} (line {imp.lineno}) in {reader.where} needs `{_describe(imp)}`, but "
                f"{'/'.join(base + [name])}.py does not exist there. Add the missing file."
            )
    return found


def collect(
    reader: CodeReader,
    entry: str,
    *,
    root: tuple[str, ...] | None = (),
    on_file: Callable[[str, bytes], None] | None = None,
) -> CodeClosure:
    """Every file ``entry`` needs. With ``root`` known, the ``__init__.py`` of each folder between ``root`` and
    a file is included (Python runs them on import); ``root=None`` skips that (the root is not known yet)."""
    if not reader.exists(entry):
        raise MissingFileError(f"{entry} was not found in {reader.where}; its auto_map entry names a missing module.")
    closure = CodeClosure()
    pending = [entry]
    while pending:
        relpath = pending.pop(0)
        if relpath in closure.files:
            continue
        data = reader.read(relpath)
        closure.files[relpath] = data
        if on_file is not None:
            on_file(relpath, data)
        imports = scan_imports(data, filename=f"{reader.where}/{relpath}")
        closure.imports[relpath] = imports
        wanted = [t for imp in imports.relative for t in _targets(reader, relpath, imp, closure)]
        if root is not None:
            parts = relpath.split("/")[:-1]
            for depth in range(len(root) + 1, len(parts) + 1):
                init = "/".join(parts[:depth]) + "/__init__.py"
                if init != relpath and reader.exists(init):
                    wanted.append(init)
        pending += [t for t in wanted if t not in closure.files and t not in pending]
    return closure


def collect_for_save(module_file: Path) -> tuple[Path, dict[str, bytes]]:
    """The folder to copy from and ``{path relative to it: content}`` for the code defining a class."""
    anchor = Path(module_file.anchor)
    reader = DirectoryReader(anchor, where=f"the code of {str(module_file)!r}")
    entry = module_file.relative_to(anchor).as_posix()
    closure = collect(reader, entry, root=None)
    for _ in range(8):  # subpackage __init__ files may reach further up; settle on a stable top folder
        top = closure.top()
        closure = collect(reader, entry, root=top)
        if closure.top() == top:
            break
    top = closure.top()
    prefix = "/".join(top) + "/" if top else ""
    folder = anchor.joinpath(*top)
    return folder, {path[len(prefix) :]: data for path, data in closure.files.items()}
