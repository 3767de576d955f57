"""``transformers.models.<family>[.<module>]``: modelyard's model families under the reference's paths.

modelyard's families use the Hub's own file names (``models/bert/modeling_bert.py``), so each path of the
reference maps to the same path under ``modelyard.models``. An import finder serves those paths as alias
modules: ``from transformers.models.bert.modeling_bert import BertModel`` gives modelyard's ``BertModel``.
An alias module offers the classes and functions its modelyard module defines (not what that module merely
imports); asking for anything else is an error naming it. Families modelyard lacks are not importable.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import modelyard.models as _families
from modelyard.compat.transformers._namespace import caller_description, declare, missing_message
from modelyard.compat.transformers.models._building_blocks import BUILDING_BLOCKS
from modelyard.errors import MissingCompatibilityAttributeError

_PREFIX = __name__ + "."
_TARGET_PREFIX = "modelyard.models."


# Module constants that carry the reference's names and meaning wherever a family module defines them
# (tokenizer tests and custom tokenizers read ``VOCAB_FILES_NAMES`` from the family's tokenization module; MMS
# code reads Wav2Vec2's adapter file names from its modeling module).
_REFERENCE_CONSTANTS = frozenset({"VOCAB_FILES_NAMES", "WAV2VEC2_ADAPTER_SAFE_FILE", "WAV2VEC2_ADAPTER_PT_FILE"})
# Module-level helpers with a leading underscore that the reference's users import all the same (pre-training
# collators: ``from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices``).
_REFERENCE_HELPERS = frozenset({"_compute_mask_indices", "_sample_negative_indices", "_create_sinusoidal_embeddings"})


def _defines(target: ModuleType, name: str) -> bool:
    """The family package's lazy table; in a module, the classes it defines, which carry the reference's
    names, and the constants of ``_REFERENCE_CONSTANTS`` (its other helpers are modelyard's own and stay out)."""
    manifest = target.__dict__.get("MANIFEST")
    if manifest is not None:  # a family package: what its manifest exports from its own folder (Mistral's
        # manifest names Llama's tokenizers, which the reference offers under transformers.models.llama only)
        return name in manifest.exports and not manifest.exports[name].startswith("modelyard.")
    value = target.__dict__.get(name)
    if name in _REFERENCE_CONSTANTS or name in _REFERENCE_HELPERS:
        return value is not None
    return not name.startswith("_") and isinstance(value, type) and value.__module__ == target.__name__


def _output_class(target: str, name: str) -> Any:
    """An output class the reference's modeling module imports (``from transformers.models.bert.modeling_bert
    import MaskedLMOutput`` is common in remote code): the namespace's ``modeling_outputs`` class of that name.
    Served on request only; ``dir()`` keeps listing what the module defines."""
    if not target.rsplit(".", 1)[-1].startswith("modeling_"):
        return None
    outputs = importlib.import_module("modelyard.compat.transformers.modeling_outputs")
    return getattr(outputs, name) if name in outputs.__all__ else None


class _AliasModule(ModuleType):
    """``transformers.models.x[.y]`` standing for ``modelyard.models.x[.y]``."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name)
        self.__dict__["_target"] = target

    def _provides(self, name: str) -> bool:
        return (_defines(importlib.import_module(self._target), name) or _output_class(self._target, name) is not None
                or name in BUILDING_BLOCKS.get(self._target, {}))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        target = importlib.import_module(self._target)
        if _defines(target, name):
            value = getattr(target, name)
        elif name in BUILDING_BLOCKS.get(self._target, {}):
            value = BUILDING_BLOCKS[self._target][name]
        elif (value := _output_class(self._target, name)) is None:
            raise MissingCompatibilityAttributeError(missing_message(self.__name__, name, caller_description()))
        self.__dict__[name] = value
        return value

    def __dir__(self) -> list[str]:
        target = importlib.import_module(self._target)
        return sorted(name for name in dir(target) if _defines(target, name))


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return _AliasModule(spec.name, self.target)

    def exec_module(self, module: ModuleType) -> None:
        importlib.import_module(self.target)  # fail here, at import time, if the family cannot load


class _FamilyFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_PREFIX):
            return None
        rest = fullname[len(_PREFIX) :]
        if rest.count(".") > 1:
            return None
        try:
            found = importlib.util.find_spec(_TARGET_PREFIX + rest)
        except (ImportError, ValueError):
            return None
        if found is None:
            return None
        is_package = found.submodule_search_locations is not None
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(_TARGET_PREFIX + rest), is_package=is_package)
        return spec


if not any(isinstance(finder, _FamilyFinder) for finder in sys.meta_path):
    sys.meta_path.append(_FamilyFinder())

# ``auto`` is a real subpackage here (the reference's name tables); the rest are the families' aliases.
__getattr__, __dir__ = declare(
    globals(), {},
    submodules=["auto", *(info.name for info in pkgutil.iter_modules(_families.__path__) if info.ispkg)],
)
