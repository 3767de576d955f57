"""pytest plugin of the modelyard run: ``import transformers`` gives ``modelyard.compat.transformers``.

The fairness rule (what may come from where):

1. **Library objects always come from modelyard.** ``transformers`` and every ``transformers.<path>`` are the
   module objects of ``modelyard.compat.transformers.<path>`` (a meta-path finder placed first on
   ``sys.meta_path`` hands out the compat module itself, so ``mock.patch("transformers.x.y")`` patches what
   modelyard runs). A path the compat namespace lacks is a ``ModuleNotFoundError``, a name it lacks an
   ``AttributeError``/``ImportError``: the tests that need it fail.
2. **Test helpers that build no library object may come from the reference's files**, from its sdist:
   - ``transformers.testing_utils`` is the reference's ``testing_utils.py`` source, executed as the module
     ``transformers.testing_utils``; its own imports (``from .utils import ...``) resolve through rule 1, so
     any library object it touches is modelyard's.
   - the ``is_*_available`` / ``is_*_greater_or_equal`` probes and ``*_MIN_VERSION`` constants that
     ``transformers``, ``transformers.utils`` and ``transformers.utils.import_utils`` of modelyard do not define are taken from
     the reference's ``utils/import_utils.py`` source, executed as a private module beside them, and set on
     those two compat modules for the test process; probes modelyard defines are modelyard's.
   - ``transformers.integrations`` (and ``.deepspeed``), which modelyard lacks, exist only as probes there:
     ``is_<package>_available()`` answers whether the package is installed; any other name fails.
3. A name that a reference test file imports (``from transformers import Florence2Config``) and that
   modelyard lacks (a family it does not ship, a head not written yet) imports as a placeholder that raises
   when used, so the tests that use it fail and the rest of the file still runs. This applies only to
   ``from ... import`` statements executed by the test files themselves (``tests/`` and the custom-code examples
   of ``utils/test_module`` that they load; checked on the calling frame's file and instruction); ``getattr``/``hasattr`` and library code see the compat namespace unchanged. Likewise a
   ``transformers.<module>`` that modelyard lacks, imported by a test file, is a placeholder module whose
   names are such placeholders.
4. The test helpers look up families of the reference in modelyard's name tables
   (``MODEL_FOR_PRETRAINING_MAPPING_NAMES["hiera"]`` in ``_prepare_for_class``, which nearly every model test
   calls). In the test process, reading a model type a ``*_MAPPING_NAMES`` table lacks gives ``None`` (no class
   of that family here) instead of a ``KeyError``; the tables' contents stay modelyard's.
Nothing else of the reference is loaded: no class, function or table of its library.
"""

from __future__ import annotations

import collections
import dis
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

COMPAT = "modelyard.compat.transformers"
HELPERS = Path(os.environ.get("REFSUITE_HELPERS", ""))
_PROBE = re.compile(r"is_\w+_(available|greater_or_equal|available_on_device)|[A-Z_]+_MIN_VERSION|strtobool")
_PROBE_MODULE = "transformers.utils._reference_probes"


class _Alias(importlib.abc.Loader):
    """Hands out the compat module itself under the ``transformers`` name."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._original_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._original_spec  # the import system set the alias spec: keep modelyard's own
        _placeholders_for_test_imports(module)


class _Missing(type):
    """What a test file's ``from transformers import X`` gets for a name modelyard lacks (rule 3)."""

    def _fail(cls) -> RuntimeError:
        return RuntimeError(f"modelyard does not provide {cls.__module__}.{cls.__name__} (reference-suite placeholder)")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise cls._fail()

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise cls._fail()

    def __iter__(cls) -> Any:
        raise cls._fail()


# The reference's test files: its tests and the custom-code examples they load (utils/test_module).
TEST_ROOTS = (str(HELPERS.parent / "tests") + os.sep, str(HELPERS.parent / "utils") + os.sep)


def _imported_by_a_test(frame: Any) -> bool:
    """Whether ``frame`` (the caller of a module's ``__getattr__``) is a reference test file executing
    ``from module import name``."""
    return (
        frame.f_code.co_filename.startswith(TEST_ROOTS)
        and dis.opname[frame.f_code.co_code[frame.f_lasti]] == "IMPORT_FROM"
    )


def _placeholder(module: ModuleType, name: str) -> type:
    return _Missing(name, (), {"__module__": module.__name__.replace(COMPAT, "transformers")})


def _placeholders_for_test_imports(module: ModuleType) -> None:
    lookup = module.__dict__.get("__getattr__")
    if lookup is not None and not getattr(lookup, "_refsuite", False):  # a compat module (PEP 562 __getattr__)

        def __getattr__(name: str) -> Any:
            try:
                return lookup(name)
            except (AttributeError, ImportError):
                if _imported_by_a_test(sys._getframe(1)):
                    return _placeholder(module, name)
                raise

        __getattr__._refsuite = True  # type: ignore[attr-defined]
        module.__dict__["__getattr__"] = __getattr__
    elif lookup is None and type(module) is not ModuleType and not isinstance(module, _WithPlaceholders):
        # a family alias module (a ModuleType subclass with its own __getattr__)
        module.__class__ = type("_WithPlaceholders", (_WithPlaceholders, type(module)), {})


class _WithPlaceholders(ModuleType):
    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)  # type: ignore[misc]
        except (AttributeError, ImportError):
            if _imported_by_a_test(sys._getframe(1)):
                return _placeholder(self, name)
            raise


class _MissingModule(ModuleType):
    """A module modelyard lacks, imported by a reference test file (rule 3): every name is a placeholder."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _placeholder(self, name)


class _MissingModuleLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = _MissingModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: ModuleType) -> None:
        return None


def _a_test_is_importing() -> bool:
    """Whether the import under way comes from a reference test file's ``import``/``from`` statement."""
    frame = sys._getframe(2)
    while frame is not None and (frame.f_code.co_filename.startswith("<frozen") or frame.f_code.co_filename == __file__):
        frame = frame.f_back  # type: ignore[assignment]
    return (
        frame is not None
        and frame.f_code.co_filename.startswith(TEST_ROOTS)
        and dis.opname[frame.f_code.co_code[frame.f_lasti]] == "IMPORT_NAME"
    )


class _IntegrationProbes(ModuleType):
    """``transformers.integrations[.deepspeed]``: ``is_<package>_available()`` only."""

    def __getattr__(self, name: str) -> Any:
        match = re.fullmatch(r"is_(\w+?)_available", name)
        if match is None and _imported_by_a_test(sys._getframe(1)):
            return _placeholder(self, name)
        if match is None:
            raise AttributeError(f"module {self.__name__!r} (probes only: modelyard has no integrations) has no {name!r}")
        package = {"comet": "comet_ml", "ray": "ray.tune"}.get(match.group(1), match.group(1))

        def probe() -> bool:
            try:
                return importlib.util.find_spec(package) is not None
            except (ImportError, ValueError):
                return False

        probe.__name__ = name
        return probe


class _ProbeLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = _IntegrationProbes(spec.name)
        if spec.name == "transformers.integrations":
            module.__path__ = []
        return module

    def exec_module(self, module: ModuleType) -> None:
        return None


class TransformersToCompat(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "transformers" and not fullname.startswith("transformers."):
            return None
        if fullname == "transformers.testing_utils":
            return importlib.util.spec_from_file_location(fullname, HELPERS / "testing_utils.py")
        if fullname == _PROBE_MODULE:
            return importlib.util.spec_from_file_location(fullname, HELPERS / "utils" / "import_utils.py")
        mapped = COMPAT + fullname[len("transformers"):]
        try:
            found = importlib.util.find_spec(mapped)
        except (ImportError, ValueError):
            found = None
        if found is None:
            if fullname in ("transformers.integrations", "transformers.integrations.deepspeed"):
                return importlib.machinery.ModuleSpec(fullname, _ProbeLoader(), is_package=fullname.endswith("integrations"))
            if _a_test_is_importing():
                return importlib.machinery.ModuleSpec(fullname, _MissingModuleLoader(), is_package=True)
            return None
        return importlib.machinery.ModuleSpec(fullname, _Alias(mapped), is_package=found.submodule_search_locations is not None)


def _install_probes() -> None:
    reference = importlib.import_module(_PROBE_MODULE)
    for module_name in ("transformers", "transformers.utils", "transformers.utils.import_utils"):
        module = importlib.import_module(module_name)
        for name, value in vars(reference).items():
            if not _PROBE.fullmatch(name) or name in module.__dict__:
                continue
            try:
                getattr(module, name)  # modelyard's own, lazily declared
            except (AttributeError, ImportError):
                setattr(module, name, value)


if "transformers" in sys.modules:
    raise RuntimeError("transformers was imported before the redirect plugin: the modelyard run must not see it")
sys.meta_path.insert(0, TransformersToCompat())


class _RemovedFromHub(type):
    def __getattr__(cls, name: str) -> Any:
        raise RuntimeError(f"huggingface_hub.{cls.__name__} is gone in huggingface_hub 1.x (reference suite stand-in)")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"huggingface_hub.{cls.__name__} is gone in huggingface_hub 1.x (reference suite stand-in)")


def _hub_stand_ins() -> None:
    import huggingface_hub

    for name in ("Repository", "HfFolder"):
        if not hasattr(huggingface_hub, name):
            setattr(huggingface_hub, name, _RemovedFromHub(name, (), {}))


_hub_stand_ins()
_install_probes()


class _NameTable(collections.OrderedDict):  # type: ignore[type-arg]
    """A ``*_MAPPING_NAMES`` table of modelyard that answers ``None`` for a model type it lacks (rule 4)."""

    def __missing__(self, key: str) -> None:
        return None


def _lenient_name_tables() -> None:
    from modelyard.compat.transformers.models.auto import _tables

    for name in _tables.TABLE_NAMES:
        if name.endswith("_NAMES"):
            _tables.table(name)
    for name, value in list(_tables._BUILT.items()):
        if name.endswith("_NAMES") and isinstance(value, dict):
            _tables._BUILT[name] = _NameTable(value)


_lenient_name_tables()
