"""Custom code that runs where modelyard is not installed: find the imports that tie it to modelyard, and
write them in the portable form.

Code saved by ``register_for_auto_class`` imports modelyard (``from modelyard import PreTrainedModel``), so the
transformers library, loading it with ``trust_remote_code=True``, asks for ``pip install modelyard``. The
portable form keeps modelyard where it is installed and falls back to the transformers library, which has the
same classes under the same names::

    try:  # modelyard where it is installed; the transformers library (same API) elsewhere
        from modelyard import PreTrainedModel
    except ImportError:
        from transformers import PreTrainedModel

An import is portable when every name it takes has an equivalent in transformers: the object modelyard's
compatibility namespace (:mod:`modelyard.compat.transformers`) offers at the reference's path is the very
object the code imports. Anything else (``modelyard.dynamic_modules``, a modelyard-only helper) is a tie this
module reports with file and line; :func:`make_portable` rewrites only copies being saved, never the user's
own files, and refuses when a tie remains.
"""

from __future__ import annotations

import ast
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from modelyard.dynamic.imports import TRY_NODES, catches_import_errors
from modelyard.errors import ConfigurationError

_MODULES = {
    "modelyard": "transformers",
    "modelyard.configuration": "transformers.configuration_utils",
    "modelyard.modeling": "transformers.modeling_utils",
    "modelyard.module_utils": "transformers.modeling_utils",
    "modelyard.outputs": "transformers.modeling_outputs",
    "modelyard.layers.activations": "transformers.activations",
    "modelyard.tokenization.base": "transformers.tokenization_utils_base",
    "modelyard.tokenization.slow": "transformers.tokenization_utils",
    "modelyard.tokenization.fast": "transformers.tokenization_utils_fast",
    "modelyard.feature_extraction": "transformers.feature_extraction_utils",
    "modelyard.image_processing": "transformers.image_processing_utils",
    "modelyard.processing": "transformers.processing_utils",
}
_COMPAT = "modelyard.compat.transformers"
_GUARD_COMMENT = "# modelyard where it is installed; the transformers library (same API) elsewhere"


@dataclass(frozen=True)
class CodeTie:
    """One import of modelyard in custom code."""

    file: str
    line: int
    statement: str
    replacement: str | None  # the transformers import that can stand in for it (None: there is none)
    missing: tuple[str, ...]  # names without a transformers equivalent
    guarded: bool  # already under try/except ImportError (left alone)

    @property
    def portable(self) -> bool:
        return self.guarded or self.replacement is not None

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}: {self.statement}"
        if self.guarded:
            return f"{where} (already guarded by try/except ImportError)"
        if self.replacement is not None:
            return f"{where} -> falls back to `{self.replacement}`"
        return f"{where} -> no equivalent in transformers for {', '.join(self.missing)}"


def _reference_module(module: str) -> str | None:
    if module in _MODULES:
        return _MODULES[module]
    if module.startswith("modelyard.models."):
        return "transformers" + module[len("modelyard") :]
    return None


def _equivalent(module: str, name: str, reference_module: str) -> bool:
    """The compatibility namespace offers, at ``reference_module``, the very object ``module.name`` is."""
    try:
        ours = getattr(importlib.import_module(module), name)
        compat = importlib.import_module(_COMPAT + reference_module[len("transformers") :])
        theirs = getattr(compat, name)
    except (ImportError, AttributeError):
        return False
    return theirs is ours


def _attribute_uses(tree: ast.AST, alias: str) -> set[str]:
    """Names read as ``<alias>.<name>`` anywhere in the module."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == alias
    }


def _statement_text(source: str, node: ast.stmt) -> str:
    """The statement as written, on one line (no comments)."""
    return " ".join((ast.get_source_segment(source, node) or "").split()).replace("( ", "(").replace(" )", ")")


def _ties_in(relpath: str, source: str) -> list[tuple[CodeTie, ast.stmt | None]]:
    tree = ast.parse(source, filename=relpath)
    found: list[tuple[CodeTie, ast.stmt | None]] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, TRY_NODES):
            inner = guarded or catches_import_errors(node)
            for child in node.body:
                visit(child, inner)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, guarded)
            return
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "modelyard":
            reference = _reference_module(node.module)
            missing = tuple(
                a.name for a in node.names if reference is None or a.name == "*" or not _equivalent(node.module, a.name, reference)
            )
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
            replacement = f"from {reference} import {names}" if reference and not missing else None
            found.append((CodeTie(relpath, node.lineno, _statement_text(source, node), replacement, missing, guarded), node))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "modelyard":
                    continue
                statement = _statement_text(source, node)
                if alias.name != "modelyard" or len(node.names) > 1:
                    tie = CodeTie(relpath, node.lineno, statement, None, (alias.name,), guarded)
                    found.append((tie, None))
                    continue
                bound = alias.asname or "modelyard"
                missing = tuple(sorted(n for n in _attribute_uses(tree, bound) if not _equivalent("modelyard", n, "transformers")))
                replacement = None if missing else f"import transformers as {bound}"
                found.append((CodeTie(relpath, node.lineno, statement, replacement, missing, guarded), node))
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


def find_ties(files: dict[str, bytes]) -> list[CodeTie]:
    """Every import of modelyard in the ``.py`` files of ``{relative path: content}``."""
    ties: list[CodeTie] = []
    for relpath, data in sorted(files.items()):
        if relpath.endswith(".py"):
            ties += [tie for tie, _ in _ties_in(relpath, data.decode("utf-8"))]
    return ties


def _rewrite(relpath: str, source: str) -> str:
    lines = source.splitlines(keepends=True)
    edits = []
    for tie, node in _ties_in(relpath, source):
        if tie.guarded:
            continue
        if tie.replacement is None or node is None:
            raise ConfigurationError(f"portable_code=True, but this import has no transformers equivalent: {tie}.")
        first, last = lines[node.lineno - 1], lines[(node.end_lineno or node.lineno) - 1]  # (always set when parsed)
        before, after = first[: node.col_offset], last[node.end_col_offset :]
        if before.strip() or (after.strip() and not after.strip().startswith("#")):
            raise ConfigurationError(
                f"portable_code=True cannot rewrite {tie.file} line {tie.line}: the import shares its line with other "
                "code. Put it on a line of its own."
            )
        edits.append((node, before, tie.replacement))
    for node, indent, replacement in sorted(edits, key=lambda edit: edit[0].lineno, reverse=True):
        original = lines[node.lineno - 1 : node.end_lineno]
        guarded = [f"{indent}try:  {_GUARD_COMMENT}\n"]
        guarded += ["    " + line if line.strip() else line for line in original]
        if not guarded[-1].endswith("\n"):
            guarded[-1] += "\n"
        guarded += [f"{indent}except ImportError:\n", f"{indent}    {replacement}\n"]
        lines[node.lineno - 1 : node.end_lineno] = guarded
    return "".join(lines)


def make_portable(files: dict[str, bytes]) -> dict[str, bytes]:
    """The same files with each unguarded import of modelyard in the portable form; raises
    :class:`~modelyard.errors.ConfigurationError` listing every import that has no transformers equivalent."""
    blocking = [tie for tie in find_ties(files) if not tie.portable]
    if blocking:
        raise ConfigurationError(
            "portable_code=True, but these imports tie the code to modelyard (no transformers equivalent): "
            + "; ".join(str(tie) for tie in blocking)
            + ". Import them from modelyard inside try/except ImportError with a fallback of your own, or keep "
            "the code modelyard-only (portable_code=False)."
        )
    return {
        relpath: _rewrite(relpath, data.decode("utf-8")).encode("utf-8") if relpath.endswith(".py") else data
        for relpath, data in files.items()
    }


def check_portable_code(target: object) -> list[CodeTie]:
    """The imports that tie custom code to modelyard: ``target`` is a folder of saved code, a ``.py`` file, or
    a class (or an object of one) registered with ``register_for_auto_class`` (its module and every module it
    imports relatively). An empty list means the code also runs where only transformers is installed."""
    if isinstance(target, str | os.PathLike):
        path = Path(target)
        if path.is_dir():
            files = {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*.py")) if "__pycache__" not in p.parts}
        elif path.is_file():
            files = {path.name: path.read_bytes()}
        else:
            raise ConfigurationError(f"check_portable_code needs a folder, a .py file or a class; {str(path)!r} does not exist.")
        return find_ties(files)
    import sys

    from modelyard.dynamic.closure import collect_for_save

    klass = target if isinstance(target, type) else type(target)
    module_file = getattr(sys.modules.get(klass.__module__), "__file__", None)
    if not module_file or not module_file.endswith(".py"):
        raise ConfigurationError(f"{klass.__name__} is not defined in a .py file; there is no code to check.")
    _, files = collect_for_save(Path(module_file).resolve())
    return find_ties(files)
