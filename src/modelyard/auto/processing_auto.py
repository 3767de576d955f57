"""``AutoProcessor``: load a model's processor, or its single preprocessor when it has no processor.

Where the class comes from, in order: ``processor_config.json``, ``preprocessor_config.json``,
``tokenizer_config.json``, ``config.json`` (each: ``processor_class``, or ``auto_map["AutoProcessor"]`` for
custom code); then ``config.json``'s ``model_type``; else the tokenizer, image processor or feature extractor
alone. Imports neither torch nor a model family.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from modelyard.auto.base import CustomCode, PretrainedAutoClass
from modelyard.auto.feature_extraction_auto import (
    class_from_name,
    register_class,
    resolve_remote,
    unknown_class_error,
)
from modelyard.errors import ModelyardError, RegistrationError, UnknownModelTypeError
from modelyard.feature_extraction import FEATURE_EXTRACTOR_NAME, PROCESSOR_NAME, open_source, read_json_object
from modelyard.hub.files import FileSource, Location
from modelyard.options import HubOptions
from modelyard.registry import ModelTypeTable, builtin_names

logger = logging.getLogger(__name__)

PROCESSOR_TABLE = ModelTypeTable("AutoProcessor", builtin_names(lambda family: family.processor))

_CLASS_FILES = (PROCESSOR_NAME, FEATURE_EXTRACTOR_NAME, "tokenizer_config.json", "config.json")
_TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json", "vocab.json", "vocab.txt")


class AutoProcessor(PretrainedAutoClass[Any]):
    """The processor of a checkpoint (or its one preprocessor, where it has no processor): :meth:`from_pretrained`
    (the other keywords go to the chosen class's ``from_pretrained``)."""

    @classmethod
    def _load(cls, location: Location, hub: HubOptions, code: CustomCode, *args: Any, **kwargs: Any) -> Any:
        source, file_path = open_source(location, hub)
        if source is None:
            raise ModelyardError(
                f"AutoProcessor needs a folder or repository, got the file {str(file_path)!r}; pass its folder."
            )
        class_name, reference, model_type = _find_processor_class(source)
        builtin = class_from_name(class_name, PROCESSOR_TABLE) if class_name else None
        if builtin is None and class_name is None and model_type in PROCESSOR_TABLE and _has_tokenizer(source):
            # The model type's processor, when the folder holds its parts (a tokenizer besides the preprocessor).
            builtin = PROCESSOR_TABLE.get(model_type)
        if reference is not None:
            remote = resolve_remote(reference, auto_class="AutoProcessor", code=code.at(source), builtin=builtin)
            if remote is not None:
                from modelyard.dynamic_modules import load_pretrained

                return load_pretrained(remote, source, **kwargs)
        if builtin is not None:
            return builtin.from_pretrained(source, **kwargs)
        if class_name is not None:
            raise unknown_class_error(f"{source.name!r}", class_name, PROCESSOR_TABLE)
        return _single_preprocessor(
            source, trust_remote_code=code.trust_remote_code, code_revision=code.code_revision, **kwargs
        )

    @staticmethod
    def register(config_class: Any, processor_class: type, exist_ok: bool = False) -> None:
        """Use ``processor_class`` for ``config_class.model_type`` (or a model_type string)."""
        from modelyard.processing import ProcessorMixin

        if not (isinstance(processor_class, type) and issubclass(processor_class, ProcessorMixin)):
            raise RegistrationError(f"AutoProcessor.register needs a ProcessorMixin subclass, got {processor_class!r}.")
        register_class(PROCESSOR_TABLE, config_class, processor_class, exist_ok=exist_ok)


def _find_processor_class(source: FileSource) -> tuple[str | None, Any, str | None]:
    """``(processor_class, auto_map reference, model_type)`` from the first file that names one."""
    model_type = None
    for filename in _CLASS_FILES:
        path = source.get(filename, required=False)
        if path is None:
            continue
        data = read_json_object(path)
        if filename == "config.json":
            model_type = data.get("model_type")
        for candidate in (data, data.get("feature_extractor"), data.get("image_processor")):
            if not isinstance(candidate, dict):
                continue
            name = candidate.get("processor_class")
            reference = (candidate.get("auto_map") or {}).get("AutoProcessor")
            if name is not None or reference is not None:
                return name, reference, model_type
    return None, None, model_type


def _has_tokenizer(source: FileSource) -> bool:
    return any(source.get(name, required=False) is not None for name in _TOKENIZER_FILES)


def _single_preprocessor(source: FileSource, **kwargs: Any) -> Any:
    """No processor: the tokenizer, image processor or feature extractor alone (the first the files hold)."""
    tried: list[str] = []
    if _has_tokenizer(source):
        try:
            auto_tokenizer = importlib.import_module("modelyard").AutoTokenizer
            return auto_tokenizer.from_pretrained(source, **kwargs)
        except (ModelyardError, ImportError) as err:
            tried.append(f"AutoTokenizer: {err}")
    preprocessor = source.get(FEATURE_EXTRACTOR_NAME, required=False) or source.get(PROCESSOR_NAME, required=False)
    if preprocessor is not None:
        from modelyard.auto.feature_extraction_auto import AutoFeatureExtractor
        from modelyard.auto.image_processing_auto import AutoImageProcessor

        data = read_json_object(preprocessor)
        loaders = (AutoImageProcessor, AutoFeatureExtractor) if "image_processor_type" in data else (AutoFeatureExtractor, AutoImageProcessor)
        for loader in loaders:
            try:
                return loader.from_pretrained(source, **kwargs)
            except ModelyardError as err:
                tried.append(f"{loader.__name__}: {err}")
    files = source.list_files()
    raise UnknownModelTypeError(
        f"AutoProcessor found no processor, tokenizer, image processor or feature extractor in {source.name!r} "
        f"(files: {', '.join(files[:12]) or 'none'}). " + (" ".join(tried) if tried else "Save one there first.")
    )


__all__ = ["PROCESSOR_TABLE", "AutoProcessor"]
