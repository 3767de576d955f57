"""What a module imports, read with ``ast`` (the code is parsed, never executed), and the dependency check.

The rule is the reference library's, so a repository that loads there is not refused here:

- imports in the body of any ``try`` are optional (the reference drops every ``try`` body before it looks,
  whatever the handler catches): a missing optional package is not reported, a missing optional relative
  module is not copied;
- so are imports in either branch of an ``if`` that tests availability (``is_<package>_available()``, the
  reference's idiom for optional kernels such as flash-attn or bitsandbytes, or ``importlib.util.find_spec``):
  the code visibly copes with the package being absent;
- imports under ``if TYPE_CHECKING:`` never run and are ignored.

Only the remaining (unconditional) imports of a missing package refuse a load, each named with its file and
line and the ``pip install`` that fixes it.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

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
    first_lines: Mapping[str, int] = field(default_factory=dict)  # required name -> line of its first import


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
    """``if is_flash_attn_2_available():``, ``if not is_bnb_available():``, ``if find_spec("x") is not None:``
    and the like: the code chooses a path by whether a package is installed."""
    for node in ast.walk(test):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if (name.startswith("is_") and name.endswith("_available")) or name == "find_spec":
                return True
    return False


def iter_imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement with whether it is optional (see the module doc): in a ``try`` body, or in
    either branch of an availability test. Imports under ``if TYPE_CHECKING:`` never run and are left out."""

    def visit(node: ast.AST, optional: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        if isinstance(node, TRY_NODES):
            for child in node.body:
                yield from visit(child, True)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                yield from visit(child, optional)
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from visit(child, optional)
            return
        if isinstance(node, ast.If) and _is_availability_check(node.test):
            for child in [*node.body, *node.orelse]:
                yield from visit(child, True)
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
    first_lines: dict[str, int] = {}
    optional_absolute: set[str] = set()

    def add(name: str, optional: bool, lineno: int) -> None:
        if optional:
            optional_absolute.add(name)
        else:
            first_lines[name] = min(lineno, first_lines.get(name, lineno))

    for node, optional in iter_imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name.split(".")[0], optional, node.lineno)
        elif node.level:
            names = tuple(alias.name for alias in node.names)
            relative.append(RelativeImport(node.level, node.module, names, optional, node.lineno))
        elif node.module and node.module != "__future__":
            add(node.module.split(".")[0], optional, node.lineno)
    return ModuleImports(tuple(relative), tuple(sorted(first_lines)), tuple(sorted(optional_absolute - set(first_lines))),
                         first_lines)


def is_importable(name: str) -> bool:
    """Whether a top-level module or package can be imported here (found, not imported)."""
    if name in sys.builtin_module_names or name in getattr(sys, "stdlib_module_names", ()) or name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_dependencies(
    required: Mapping[str, Iterable[str]], *, where: str, local_modules: Iterable[str] = ()
) -> None:
    """Raise one :class:`MissingDependencyError` listing every package the code needs and this environment lacks.

    ``required`` maps each file to its top-level absolute imports: names, or a mapping of name -> line of the
    import (:attr:`ModuleImports.first_lines`), which the error then cites as ``file line N``;
    ``local_modules`` are the top-level module names of the code itself (an absolute import of one of them is
    a mistake worth naming).
    """
    local = set(local_modules)
    missing: dict[str, list[str]] = {}
    misused: dict[str, list[str]] = {}
    for filename, names in required.items():
        lines_of = names if isinstance(names, Mapping) else {}
        for name in names:
            cited = f"{filename} line {lines_of[name]}" if name in lines_of else filename
            if name in local:
                misused.setdefault(name, []).append(filename)
            elif not is_importable(name):
                missing.setdefault(name, []).append(cited)
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
