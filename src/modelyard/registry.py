"""Model families and the name tables behind the Auto classes (core layer, torch-free).

A family is one folder under ``modelyard/models`` whose ``__init__.py`` declares a :class:`FamilyManifest`:
its ``model_type`` and its public classes by role (config, model classes, tokenizer, feature extractor, image
processor, processor). The module of each class and the Auto classes each model serves follow from the
reference's naming conventions, written once here (:data:`ROLE_MODULES`, :data:`TASKS_BY_NAME_END`); a
manifest spells out only its exceptions. :func:`families` discovers the folders; the Auto tables, the
family's and the package's lazy exports are all built from the manifests, so adding a family touches its own
folder only (see ``docs/adding-a-model.md``).

Built-in table entries are class names resolved on first use by importing the family package, so reading a
table imports no model code (and no torch). Users add entries with ``register``; a taken key is an error
unless ``exist_ok=True``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelyard._lazy import lazy_package
from modelyard.errors import RegistrationError, UnknownModelTypeError

FAMILIES_PACKAGE = "modelyard.models"

# The Auto model classes, one per task (modelyard.auto defines a class for each; a manifest maps tasks to
# its own model classes).
MODEL_TASKS: tuple[str, ...] = (
    "AutoModel",
    "AutoModelForMaskedLM",
    "AutoModelForCausalLM",
    "AutoModelForSequenceClassification",
    "AutoModelForTokenClassification",
    "AutoModelForQuestionAnswering",
    "AutoModelForMultipleChoice",
    "AutoModelForImageClassification",
    "AutoModelForCTC",
    "AutoModelForAudioClassification",
    "AutoModelForAudioFrameClassification",
    "AutoModelForAudioXVector",
    "AutoModelForPreTraining",
    "AutoModelForNextSentencePrediction",
    "AutoModelForMaskedImageModeling",
    "AutoBackbone",
)


# Where the reference's naming says it, a model class's Auto classes follow from the end of its name after the
# family's prefix (its config class's name without "Config"): "<Prefix>For<Task>" serves "AutoModelFor<Task>"
# when that Auto class exists, and these ends serve the Auto classes listed. A manifest's ``tasks`` gives the
# exceptions (Wav2Vec2's sequence classifier is an audio classifier).
TASKS_BY_NAME_END: dict[str, tuple[str, ...]] = {
    "Model": ("AutoModel",),
    "LMHeadModel": ("AutoModelForCausalLM",),
    "Backbone": ("AutoBackbone",),
    "ForXVector": ("AutoModelForAudioXVector",),
}

# The module each role's class lives in, after the Hub's file names: "configuration_<model_type>", ...
ROLE_MODULES: dict[str, str] = {
    "config": "configuration_{}",
    "modeling": "modeling_{}",
    "tokenizer": "tokenization_{}",
    "fast_tokenizer": "tokenization_{}_fast",
    "feature_extractor": "feature_extraction_{}",
    "image_processor": "image_processing_{}",
    "processor": "processing_{}",
}


def conventional_tasks(class_name: str, prefix: str) -> tuple[str, ...]:
    """The Auto classes a model class named ``class_name`` serves by the naming convention (none: not an Auto
    class's model, like ``BertPreTrainedModel``)."""
    if not class_name.startswith(prefix):
        return ()
    end = class_name[len(prefix):]
    if end in TASKS_BY_NAME_END:
        return TASKS_BY_NAME_END[end]
    return (f"AutoModel{end}",) if end.startswith("For") and f"AutoModel{end}" in MODEL_TASKS else ()


@dataclass(frozen=True)
class FamilyManifest:
    """What a model family provides, by role; each class lives in the module its role names after the Hub's file
    names (:data:`ROLE_MODULES`: ``config`` in ``configuration_<model_type>.py``, ...).

    ``modeling`` lists the public classes of ``modeling_<model_type>.py``; their Auto classes follow from their
    names (:func:`conventional_tasks`) unless ``tasks`` gives a class's own (``()``: none). ``other_exports``
    names the public classes outside that convention, with their module (a module in this folder, or one named
    in full, ``"modelyard.models.llama.tokenization_llama"``: Mistral uses Llama's tokenizers); a role's class
    listed there is found there.
    """

    model_type: str
    config: str
    modeling: Sequence[str] = ()
    tokenizer: str | None = None
    fast_tokenizer: str | None = None
    feature_extractor: str | None = None
    image_processor: str | None = None
    processor: str | None = None
    other_exports: Mapping[str, str] = field(default_factory=dict)
    tasks: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Derived: every public name -> its module, and Auto class -> model class.
    exports: Mapping[str, str] = field(init=False)
    models: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        if isinstance(self.modeling, str):  # one class given without a tuple around it
            object.__setattr__(self, "modeling", (self.modeling,))
        exports: dict[str, str] = {}
        for role, module in ROLE_MODULES.items():
            value = getattr(self, role)
            for name in [value] if isinstance(value, str) else (value or ()):
                if name in exports:
                    raise RegistrationError(
                        f"The manifest of model_type {self.model_type!r} names {name!r} twice; give each class one role."
                    )
                exports[name] = self.other_exports.get(name, module.format(self.model_type))
        exports.update({name: module for name, module in self.other_exports.items() if name not in exports})
        object.__setattr__(self, "exports", exports)
        object.__setattr__(self, "models", self._derive_models())

    def _derive_models(self) -> dict[str, str]:
        unknown = sorted(set(self.tasks) - set(self.modeling))
        if unknown:
            raise RegistrationError(
                f"The manifest of model_type {self.model_type!r} gives tasks for {unknown}, which `modeling` does "
                "not list; add them there or drop them from `tasks`."
            )
        prefix = self.config.removesuffix("Config")
        models: dict[str, str] = {}
        for name in self.modeling:
            tasks = self.tasks[name] if name in self.tasks else conventional_tasks(name, prefix)
            tasks = (tasks,) if isinstance(tasks, str) else tasks
            for task in tasks:
                if task not in MODEL_TASKS:
                    raise RegistrationError(
                        f"The manifest of model_type {self.model_type!r} maps {name} to the unknown Auto class "
                        f"{task!r}; use one of {list(MODEL_TASKS)}."
                    )
                if task in models:
                    raise RegistrationError(
                        f"The manifest of model_type {self.model_type!r} serves {task} with both {models[task]} and "
                        f"{name}; say which in `tasks` (a class mapped to `()` serves none)."
                    )
                models[task] = name
        return models

    def module_paths(self, package: str) -> dict[str, str]:
        """Public name -> full module path, for :func:`modelyard._lazy.lazy_package`."""
        return {name: module if module.startswith("modelyard.") else f"{package}.{module}"
                for name, module in self.exports.items()}

    def lazy_exports(
        self, package: str, package_globals: dict[str, Any]
    ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
        """The family package's ``__getattr__``, ``__dir__`` and ``__all__``: each class is imported on first use,
        so importing the family imports no torch."""
        return lazy_package(package_globals, self.module_paths(package))


@functools.cache
def families() -> dict[str, tuple[str, FamilyManifest]]:
    """``model_type -> (package, manifest)`` for every folder under ``modelyard/models``."""
    # The families' folder is found by its spec, not imported by name: the core names no family.
    spec = importlib.util.find_spec(FAMILIES_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    found: dict[str, tuple[str, FamilyManifest]] = {}
    for info in sorted(pkgutil.iter_modules(folders), key=lambda i: i.name):
        if not info.ispkg:
            continue
        package = f"{FAMILIES_PACKAGE}.{info.name}"
        manifest = getattr(importlib.import_module(package), "MANIFEST", None)
        if not isinstance(manifest, FamilyManifest):
            raise RegistrationError(
                f"{package} has no MANIFEST (a modelyard.registry.FamilyManifest) in its __init__.py; every "
                "folder under modelyard/models is a model family and declares one (docs/adding-a-model.md)."
            )
        if manifest.model_type in found:
            raise RegistrationError(
                f"model_type {manifest.model_type!r} is declared by both {found[manifest.model_type][0]} and {package}."
            )
        found[manifest.model_type] = (package, manifest)
    return found


def manifests() -> list[FamilyManifest]:
    return [manifest for _, manifest in families().values()]


def public_exports() -> dict[str, str]:
    """Every family's public name -> full module path (the package's lazy exports)."""
    exports: dict[str, str] = {}
    for package, manifest in families().values():
        exports.update(manifest.module_paths(package))
    return exports


def import_family_class(model_type: str, class_name: str) -> type[Any]:
    package, _ = families()[model_type]
    return getattr(importlib.import_module(package), class_name)


def builtin_names(pick: Callable[[FamilyManifest], str | None]) -> Callable[[], dict[str, str]]:
    """A table's built-in entries: ``model_type -> pick(manifest)`` for the families that have one."""

    def names() -> dict[str, str]:
        return {m.model_type: name for m in manifests() if (name := pick(m)) is not None}

    return names


# Every table, so a snapshot can undo registrations made while importing remote code.
_TABLES: weakref.WeakSet[Any] = weakref.WeakSet()


def registrations_snapshot() -> dict[Any, dict[Any, Any]]:
    """The user registrations of every table now (built-ins never change)."""
    return {table: dict(table._registered) for table in list(_TABLES)}


def restore_registrations(snapshot: dict[Any, dict[Any, Any]]) -> list[str]:
    """Put every table back as in ``snapshot``; returns the descriptions of the tables that had changed."""
    changed = []
    for table in list(_TABLES):
        before = snapshot.get(table, {})
        if table._registered != before:
            changed.append(table.description)
            table._registered.clear()
            table._registered.update(before)
    return sorted(changed)


class ModelTypeTable:
    """``model_type -> class``: built-in names plus registrations (used for configs, tokenizers, ...)."""

    def __init__(self, description: str, builtin: Callable[[], dict[str, str]]) -> None:
        self.description = description
        self._builtin_source = builtin
        self._registered: dict[str, Any] = {}
        _TABLES.add(self)

    @functools.cached_property
    def _builtin(self) -> dict[str, str]:
        return dict(self._builtin_source())

    def __contains__(self, model_type: object) -> bool:
        return model_type in self._registered or model_type in self._builtin

    def model_types(self) -> list[str]:
        return sorted(set(self._builtin) | set(self._registered))

    def get(self, model_type: str | None) -> Any | None:
        if model_type is None:
            return None
        if model_type in self._registered:
            return self._registered[model_type]
        name = self._builtin.get(model_type)
        return import_family_class(model_type, name) if name else None

    def builtin_name(self, model_type: str) -> str | None:
        return self._builtin.get(model_type)

    def builtin(self, model_type: str) -> Any | None:
        """The built-in class for ``model_type``, ignoring registrations that replaced it."""
        name = self._builtin.get(model_type)
        return import_family_class(model_type, name) if name else None

    def require(self, model_type: str | None, *, where: str) -> Any:
        value = self.get(model_type) if model_type else None
        if value is None:
            raise UnknownModelTypeError(
                f"{where}: unknown model_type {model_type!r} for {self.description}. Known model types: "
                f"{', '.join(self.model_types())}. Register your own with "
                f"{self.description}.register(...), or load a repository that ships its code with trust_remote_code=True."
            )
        return value

    def register(self, model_type: str, value: Any, *, exist_ok: bool = False) -> None:
        if model_type in self and not exist_ok:
            origin = "a built-in modelyard class" if model_type in self._builtin else "an earlier registration"
            raise RegistrationError(
                f"model_type {model_type!r} is already used by {origin} in {self.description}. Pick another "
                "model_type for your class, or pass exist_ok=True to replace it on purpose."
            )
        self._registered[model_type] = value

    def unregister(self, model_type: str) -> None:
        """Drop a user registration (tests, plugins unloading); built-ins stay."""
        self._registered.pop(model_type, None)

    @property
    def registrations(self) -> dict[str, Any]:
        """The user registrations, live (``model_type -> value``): deleting a key unregisters it."""
        return self._registered


class ConfigKeyedTable:
    """``config class -> model class`` for one task (AutoModel, AutoModelForMaskedLM, ...).

    A built-in model is returned only for its own built-in config class (or a subclass), never for an
    unrelated custom config that happens to share a ``model_type``.
    """

    def __init__(self, description: str, config_table: ModelTypeTable) -> None:
        self.description = description  # the Auto class name, which is also the manifests' task key
        self._configs = config_table
        self._registered: dict[type[Any], type[Any]] = {}
        _TABLES.add(self)

    @functools.cached_property
    def _builtin(self) -> dict[str, str]:
        return builtin_names(lambda m: m.models.get(self.description))()

    def model_types(self) -> list[str]:
        return sorted(set(self._builtin) | {c.model_type for c in self._registered})

    def get(self, config_class: type[Any]) -> type[Any] | None:
        for klass in config_class.__mro__:
            if klass in self._registered:
                return self._registered[klass]
        model_type = getattr(config_class, "model_type", None)
        if not model_type:
            return None
        name = self._builtin.get(model_type)
        if name is None:
            return None
        # Compare with the built-in config class itself: a user config registered over the same
        # model_type (exist_ok=True) must not inherit the built-in models.
        builtin_config = self._configs.builtin(model_type)
        if builtin_config is None or not issubclass(config_class, builtin_config):
            return None
        return import_family_class(model_type, name)

    def register(self, config_class: type[Any], model_class: type[Any], *, exist_ok: bool = False) -> None:
        declared = getattr(model_class, "config_class", None)
        if declared is not None and declared is not config_class:
            raise RegistrationError(
                f"{model_class.__name__}.config_class is {declared.__name__}, but it is being registered for "
                f"{config_class.__name__}. Set `config_class = {config_class.__name__}` on the model class, or "
                "register it with the config class it declares."
            )
        existing = self.get(config_class)
        if not exist_ok and (config_class in self._registered or existing is not None):
            raise RegistrationError(
                f"{config_class.__name__} already has a model in {self.description}: "
                f"{getattr(existing, '__name__', existing)}. Pass exist_ok=True to replace it on purpose."
            )
        self._registered[config_class] = model_class

    def unregister(self, config_class: type[Any]) -> None:
        self._registered.pop(config_class, None)

    @property
    def registrations(self) -> dict[type[Any], type[Any]]:
        """The user registrations, live (``config class -> model class``): deleting a key unregisters it."""
        return self._registered

    def registered_config_classes(self) -> list[type]:
        """The config classes users registered a model for (the built-ins come from the manifests)."""
        return list(self._registered)
