"""Saving a registered class's code next to its files, and recording it in ``auto_map``.

The module defining the class is copied with every module it imports relatively (recursively, subpackages
included, layout kept), and ``auto_map[<Auto class>]`` becomes ``"<module>.<Class>"`` relative to the saved
folder. A class that was itself loaded from remote code is saved the same way (from the module cache), so
a folder saved from a remote-code model holds all its code and loads offline anywhere.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from modelyard.dynamic.closure import DirectoryReader, collect, collect_for_save
from modelyard.dynamic.naming import ROOT_PACKAGE, file_for_module, module_name_for_file
from modelyard.dynamic.portability import find_ties, make_portable
from modelyard.errors import MissingFileError

logger = logging.getLogger(__name__)


def _module_file(klass: type) -> Path | None:
    module = sys.modules.get(klass.__module__)
    filename = getattr(module, "__file__", None)
    return Path(filename).resolve() if filename else None


def _is_remote(klass: type) -> bool:
    return klass.__module__.startswith(ROOT_PACKAGE + ".")


def _write(directory: Path, files: dict[str, bytes], written: list[Path]) -> None:
    for relpath, data in files.items():
        target = directory / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if not (target.is_file() and target.read_bytes() == data):
            target.write_bytes(data)
        if target not in written:
            written.append(target)


def _is_builtin(klass: type) -> bool:
    return klass.__module__ == "modelyard" or klass.__module__.startswith("modelyard.")


def _prepared(files: dict[str, bytes], *, portable: bool, what: str) -> dict[str, bytes]:
    """The files to write: in the portable form when asked; otherwise as they are, with a note when they tie
    the saved code to modelyard."""
    if portable:
        return make_portable(files)
    ties = [tie for tie in find_ties(files) if not tie.guarded]
    if ties:
        logger.info(
            "The code saved for %s imports modelyard (%s); it runs only where modelyard is installed. Pass "
            "portable_code=True to save_pretrained / push_to_hub to let the transformers library run it too.",
            what,
            "; ".join(f"{tie.file} line {tie.line}" for tie in ties),
        )
    return files


def _copy_class_code(klass: type, directory: Path, written: list[Path], *, portable: bool = False) -> tuple[str, Path] | None:
    """Copy the code of ``klass`` into ``directory``; returns its ``module.Class`` reference and source folder."""
    module_file = _module_file(klass)
    if klass.__module__ == "__main__" and "_auto_class" not in vars(klass):
        # A script's subclass of a registered class inherited the registration; it has no file to ship.
        logger.info("%s is defined in __main__ and not registered itself: no code saved for it.", klass.__name__)
        return None
    if klass.__module__ == "__main__" or module_file is None or module_file.suffix != ".py":
        logger.warning(
            "Cannot save the code of %s with the files in %s: it is defined in %s, not in a .py file. Move it "
            "to a module (e.g. modeling_x.py next to configuration_x.py) so it can be copied and shared.",
            klass.__name__,
            directory,
            "__main__" if klass.__module__ == "__main__" else klass.__module__,
        )
        return None
    if _is_builtin(klass):
        logger.warning("%s is a built-in modelyard class: it loads without custom code, nothing copied.", klass.__name__)
        return None
    folder, files = collect_for_save(module_file)
    _write(directory, _prepared(files, portable=portable, what=klass.__name__), written)
    entry = module_file.relative_to(folder).as_posix()
    return f"{module_name_for_file(entry)}.{klass.__name__}", folder


def _already_saved(klass: type, directory: Path, reference: Any) -> bool:
    """True when ``reference`` already names ``klass`` in a module file of ``directory`` identical to its source
    (a model save copies its config's module first; the config save then keeps that reference)."""
    if not isinstance(reference, str) or "--" in reference or "." not in reference:
        return False
    module, _, name = reference.rpartition(".")
    saved = directory / file_for_module(module)
    source = _module_file(klass)
    return name == klass.__name__ and source is not None and saved.is_file() and saved.read_bytes() == source.read_bytes()


def _get_auto_map(target: Any) -> dict[str, Any]:
    value = target.get("auto_map") if isinstance(target, dict) else getattr(target, "auto_map", None)
    return dict(value) if isinstance(value, dict) else {}


def _set_auto_map(target: Any, auto_map: dict[str, Any]) -> None:
    if isinstance(target, dict):
        target["auto_map"] = auto_map
    else:
        target.auto_map = auto_map


def _copy_sibling_entries(
    auto_map: dict[str, Any], origin: Path, directory: Path, written: list[Path], *, portable: bool = False
) -> None:
    """For a class loaded from remote code: also copy the modules other ``auto_map`` entries name, when the
    module cache holds them, so the saved folder does not point at code it lacks."""
    references = [r for v in auto_map.values() for r in (v if isinstance(v, list | tuple) else [v])]
    for reference in references:
        if not isinstance(reference, str) or "--" in reference or "." not in reference:
            continue
        relpath = file_for_module(reference.rpartition(".")[0])
        if (directory / relpath).is_file() or not (origin / relpath).is_file():
            continue
        try:
            closure = collect(DirectoryReader(origin), relpath)
        except (MissingFileError, SyntaxError) as err:
            logger.warning("Could not copy %s with the saved files: %s", relpath, err)
            continue
        _write(directory, _prepared(closure.files, portable=portable, what=relpath), written)


def _record_config_code(config: Any, obj: Any, origin: Path, directory: Path, auto_map: dict[str, Any]) -> None:
    """A model's code usually imports its config's module: when that copy is already in ``directory``, point
    ``AutoConfig`` at it, so the config's own save keeps it (one copy, one class identity)."""
    config_class = type(config) if config is not None and config is not obj else None
    if config_class is None or getattr(config_class, "_auto_class", None) != "AutoConfig":
        return
    module_file = _module_file(config_class)
    if module_file is None or not module_file.is_relative_to(origin):
        return
    relpath = module_file.relative_to(origin).as_posix()
    saved = directory / relpath
    if saved.is_file() and saved.read_bytes() == module_file.read_bytes():
        auto_map["AutoConfig"] = f"{module_name_for_file(relpath)}.{config_class.__name__}"


def save_custom_code(obj: Any, save_directory: Path, *, config: Any | None = None, portable: bool = False) -> list[Path]:
    """Copy the code defining ``type(obj)`` (or ``obj`` if it is a class) into ``save_directory`` and record
    it in ``auto_map`` of ``config`` (a config object or a dict about to be written as JSON; by default ``obj``
    itself). Tokenizers get the ``[slow, fast]`` pair. Returns the files written.

    ``portable``: write each import of modelyard in the copies as ``try: <it> except ImportError: <the
    transformers equivalent>`` (see :mod:`.portability`), so the transformers library can run the code too;
    an import without an equivalent is an error listing it, and nothing is written."""
    klass = obj if isinstance(obj, type) else type(obj)
    auto_class = getattr(klass, "_auto_class", None)
    if auto_class is None:
        return []
    directory = Path(save_directory)
    target = config if config is not None else obj
    auto_map = _get_auto_map(target)
    if not portable and _already_saved(klass, directory, auto_map.get(auto_class)):
        return []
    written: list[Path] = []
    copied = _copy_class_code(klass, directory, written, portable=portable)
    if copied is None:
        return written
    reference, origin = copied
    value: Any = reference
    if auto_class == "AutoTokenizer":
        value = [reference, None]
        if getattr(obj, "is_fast", klass.__name__.endswith("Fast")) is True:
            slow = getattr(klass, "slow_tokenizer_class", None)
            slow_copied = None
            if isinstance(slow, type) and not _is_builtin(slow):  # a built-in slow class needs no code
                slow_copied = _copy_class_code(slow, directory, written, portable=portable)
            value = [slow_copied[0] if slow_copied else None, reference]
    auto_map[auto_class] = value
    _record_config_code(config, obj, origin, directory, auto_map)
    if _is_remote(klass):
        _copy_sibling_entries(auto_map, origin, directory, written, portable=portable)
    _set_auto_map(target, auto_map)
    return written
