"""What a module imports, read with ``ast`` (the code is parsed, never executed), and the dependency check.

Imports under ``try: ... except ImportError`` (or a broader handler) are optional: the code copes without
them, so a missing optional package is not reported and a missing optional relative module is not copied.
So are imports under ``if is_<package>_available():`` (the reference library's idiom for optional
kernels such as flash-attn). Imports under ``if TYPE_CHECKING:`` never run and are ignored.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from modelyard.errors import MissingDependencyError

# Import names whose distribution is called something else (for the `pip install` hint).
_DISTRIBUTION_NAMES = {
    "PIL": "Pillow",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "yaml": "PyYAML",
    "bs4": "beautifulsoup4",
    "attr": "attrs",
    "google": "protobuf",
    "sentencepiece": "sentencepiece",
    "timm": "timm",
}
_OPTIONAL_HANDLERS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
TRY_NODES = tuple(kind for kind in (getattr(ast, "Try", None), getattr(ast, "TryStar", None)) if kind is not None)


@dataclass(frozen=True)
class RelativeImport:
    """``from <level dots><module> import <names>``."""

    level: int
    module: str | None
    names: tuple[str, ...]
    optional: bool
    lineno: int


@dataclass(frozen=True)
class ModuleImports:
    relative: tuple[RelativeImport, ...]
    absolute: tuple[str, ...]  # top-level names of required absolute imports
    optional_absolute: tuple[str, ...]


def catches_import_errors(node: ast.Try) -> bool:
    """Whether a ``try`` has a handler for ``ImportError`` (or a broader one)."""
    for handler in node.handlers:
        if handler.type is None:
            return True
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for kind in types:
            name = kind.id if isinstance(kind, ast.Name) else kind.attr if isinstance(kind, ast.Attribute) else ""
            if name in _OPTIONAL_HANDLERS:
                return True
    return False


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_availability_check(test: ast.expr) -> bool:
    """``if is_flash_attn_2_available():`` and the like: the body runs only where the package is installed."""
    for node in ast.walk(test):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name.startswith("is_") and name.endswith("_available"):
                return True
    return False


def iter_imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement with whether it is optional: under ``try`` with an ``ImportError`` (or broader)
    handler, or under ``if is_<package>_available():``. Imports under ``if TYPE_CHECKING:`` never run and are
    left out."""

    def visit(node: ast.AST, optional: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        if isinstance(node, TRY_NODES):
            body_optional = optional or catches_import_errors(node)  # type: ignore[arg-type]
            for child in node.body:
                yield from visit(child, body_optional)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:  # type: ignore[attr-defined]
                yield from visit(child, optional)
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from visit(child, optional)
            return
        if isinstance(node, ast.If) and _is_availability_check(node.test):
            for child in node.body:
                yield from visit(child, True)
            for child in node.orelse:
                yield from visit(child, optional)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, optional
        for child in ast.iter_child_nodes(node):
            yield from visit(child, optional)

    yield from visit(tree, False)


def scan_imports(source: bytes | str, filename: str) -> ModuleImports:
    """Parse ``source`` and list its imports; a syntax error names the file and line."""
    tree = ast.parse(source, filename=filename)
    relative: list[RelativeImport] = []
    absolute: set[str] = set()
    optional_absolute: set[str] = set()
    for node, optional in iter_imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (optional_absolute if optional else absolute).add(alias.name.split(".")[0])
        elif node.level:
            names = tuple(alias.name for alias in node.names)
            relative.append(RelativeImport(node.level, node.module, names, optional, node.lineno))
        elif node.module and node.module != "__future__":
            (optional_absolute if optional else absolute).add(node.module.split(".")[0])
    return ModuleImports(tuple(relative), tuple(sorted(absolute)), tuple(sorted(optional_absolute - absolute)))


def is_importable(name: str) -> bool:
    """Whether a top-level module or package can be imported here (found, not imported)."""
    if name in sys.builtin_module_names or name in getattr(sys, "stdlib_module_names", ()) or name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_dependencies(
    required: dict[str, Iterable[str]], *, where: str, local_modules: Iterable[str] = ()
) -> None:
    """Raise one :class:`MissingDependencyError` listing every package the code needs and this environment lacks.

    ``required`` maps each file to its top-level absolute imports; ``local_modules`` are the top-level
    module names of the code itself (an absolute import of one of them is a mistake worth naming).
    """
    local = set(local_modules)
    missing: dict[str, list[str]] = {}
    misused: dict[str, list[str]] = {}
    for filename, names in required.items():
        for name in names:
            if name in local:
                misused.setdefault(name, []).append(filename)
            elif not is_importable(name):
                missing.setdefault(name, []).append(filename)
    if not missing and not misused:
        return
    lines = [f"The custom code of {where} cannot run in this environment."]
    if missing:
        packages = sorted({_DISTRIBUTION_NAMES.get(name, name) for name in missing})
        detail = "; ".join(f"{name} (imported by {', '.join(sorted(set(files)))})" for name, files in sorted(missing.items()))
        lines.append(f"Missing packages: {detail}. Install them with: pip install {' '.join(packages)}")
    if misused:
        detail = "; ".join(f"{name!r} in {', '.join(sorted(set(files)))}" for name, files in sorted(misused.items()))
        lines.append(
            f"These files import modules of the same code with absolute imports, which only work from its own "
            f"folder: {detail}. Use relative imports instead (e.g. `from .{next(iter(sorted(misused)))} import ...`)."
        )
    raise MissingDependencyError(" ".join(lines))
