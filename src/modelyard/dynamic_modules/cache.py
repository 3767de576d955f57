"""The module cache: remote code copied under ``$MODELYARD_HOME/modules/modelyard_modules/...`` and imported
from there under its private package name.

One folder per repository and commit (or local folder and content hash), so cached code never changes once
written: a later push lands in a new folder. Writes go through a temporary file and an atomic rename under a
file lock, so any number of processes can fill the same folder at once. Imports go through a finder that
serves only the ``modelyard_modules`` namespace from the current cache folder; ``sys.path`` is never touched.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import shutil
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from filelock import FileLock

from modelyard.atomic_write import write_bytes
from modelyard.dynamic.naming import ROOT_PACKAGE, package_directory
from modelyard.hub import settings

logger = logging.getLogger(__name__)

MANIFEST = ".modelyard-code.json"
_import_lock = threading.RLock()


def modules_root() -> Path:
    """Where cached remote code lives (``$MODELYARD_HOME/modules``); read at call time."""
    return settings.modules_cache_dir()


def _lock_for(package: str) -> FileLock:
    locks = modules_root() / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    return FileLock(str(locks / f"{package}.lock"), timeout=300)


def _read_manifest(directory: Path) -> dict[str, list[str]]:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    modules = data.get("modules") if isinstance(data, dict) else None
    return modules if isinstance(modules, dict) else {}


def cached_files(package: str, entry: str) -> list[str] | None:
    """The files ``entry`` needs, if a previous load already put all of them in the cache (no fetch needed)."""
    directory = package_directory(modules_root(), package)
    files = _read_manifest(directory).get(entry)
    if not files or not all((directory / f).is_file() for f in files):
        return None
    return list(files)


def install(package: str, entry: str, files: dict[str, bytes]) -> Path:
    """Write ``files`` into the package's cache folder (skipping identical ones) and record ``entry``'s closure."""
    directory = package_directory(modules_root(), package)
    with _lock_for(package):
        for relpath, data in files.items():
            target = directory / relpath
            if target.is_file():
                if target.read_bytes() == data:
                    continue
                logger.warning("Cached code %s differed from its source and was replaced.", target)
            write_bytes(target, data)
        manifest = _read_manifest(directory)
        manifest[entry] = list(files)
        write_bytes(directory / MANIFEST, json.dumps({"modules": manifest}, indent=1, sort_keys=True).encode())
    return directory


def read_cached(package: str, files: Sequence[str]) -> dict[str, bytes]:
    directory = package_directory(modules_root(), package)
    return {f: (directory / f).read_bytes() for f in files}


class _RemoteLoader(importlib.machinery.SourceFileLoader):
    """Executes a cached remote module with the ``__builtins__`` :mod:`.remote_imports` chooses (its
    ``transformers`` imports resolved to modelyard's compatibility namespace, or left alone)."""

    def exec_module(self, module: ModuleType) -> None:
        from modelyard.dynamic_modules.remote_imports import builtins_for_remote_module

        namespace = builtins_for_remote_module()
        if namespace is not None:
            module.__dict__["__builtins__"] = namespace
        super().exec_module(module)


def _spec(fullname: str, path: Path, *, package_dir: Path | None = None) -> importlib.machinery.ModuleSpec | None:
    loader = _RemoteLoader(fullname, str(path))
    locations = [str(package_dir)] if package_dir is not None else None
    return importlib.util.spec_from_file_location(fullname, path, loader=loader, submodule_search_locations=locations)


class _CacheFinder(importlib.abc.MetaPathFinder):
    """Finds ``modelyard_modules.*`` in the current module cache folder, and nothing else."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != ROOT_PACKAGE and not fullname.startswith(ROOT_PACKAGE + "."):
            return None
        location = package_directory(modules_root(), fullname)
        if location.is_dir():
            init = location / "__init__.py"
            if init.is_file():
                return _spec(fullname, init, package_dir=location)
            spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = [str(location)]
            return spec
        module_file = location.with_name(location.name + ".py")
        if module_file.is_file():
            return _spec(fullname, module_file)
        return None


_FINDER = _CacheFinder()


def _install_finder() -> None:
    if not any(isinstance(finder, _CacheFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)


def import_module(package: str, module: str) -> ModuleType:
    """Import ``<package>.<module>`` from the cache (the same object on later calls)."""
    name = f"{package}.{module}"
    with _import_lock:
        _install_finder()
        existing = sys.modules.get(name)
        if existing is not None:
            return existing
        return importlib.import_module(name)


def loaded_module_names() -> list[str]:
    return [name for name in sys.modules if name == ROOT_PACKAGE or name.startswith(ROOT_PACKAGE + ".")]


def clear() -> None:
    """Delete the module cache folder and forget imported remote modules (objects already made keep working)."""
    from modelyard.dynamic_modules.remote_imports import forget_packages

    with _import_lock:
        for name in loaded_module_names():
            sys.modules.pop(name, None)
        forget_packages()
        importlib.invalidate_caches()
        root = modules_root()
        target = root / ROOT_PACKAGE
        if target.exists():
            # Move aside first so a concurrent reader never sees a half-deleted folder.
            trash = root / f".trash-{os.getpid()}-{threading.get_ident()}"
            os.replace(target, trash)
            shutil.rmtree(trash, ignore_errors=True)
