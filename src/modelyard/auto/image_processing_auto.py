"""``AutoImageProcessor``: pick the image processor class from ``preprocessor_config.json``
(``image_processor_type``, else ``feature_extractor_type`` mapped to today's name, else ``auto_map``) or from
``config.json``'s ``model_type``. Imports neither torch nor a model family."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Literal, overload

from modelyard.auto.base import AutoClass
from modelyard.auto.feature_extraction_auto import (
    class_from_name,
    register_class,
    resolve_preprocessor_class,
)
from modelyard.errors import RegistrationError
from modelyard.feature_extraction import read_preprocessor_settings
from modelyard.hub.files import FileSource
from modelyard.options import HubOptions
from modelyard.registry import ModelTypeTable, builtin_names

if TYPE_CHECKING:
    from modelyard.image_processing import BaseImageProcessor

logger = logging.getLogger(__name__)

IMAGE_PROCESSOR_TABLE = ModelTypeTable("AutoImageProcessor", builtin_names(lambda family: family.image_processor))


def _modern_name(name: str) -> type[Any] | None:
    """``ViTFeatureExtractor`` -> ``ViTImageProcessor``; ``ViTImageProcessorFast`` -> ``ViTImageProcessor``
    (modelyard has one implementation, already batched and threaded)."""
    candidates = [name.replace("FeatureExtractor", "ImageProcessor"), name.removesuffix("Fast")]
    for candidate in candidates:
        if candidate != name:
            found = class_from_name(candidate, IMAGE_PROCESSOR_TABLE)
            if found is not None:
                return found
    return None


class AutoImageProcessor(AutoClass):
    """The image processor of a checkpoint, its class chosen from its settings: :meth:`from_pretrained`."""

    # A BaseImageProcessor to a type checker (the class is chosen at run time)
    @overload
    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike[str] | FileSource, *, config: Any = None,
        trust_remote_code: bool | None = None, code_revision: str | None = None, use_fast: bool | None = None,
        return_unused_kwargs: Literal[True], **kwargs: Any,
    ) -> tuple[BaseImageProcessor, dict[str, Any]]: ...

    @overload
    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike[str] | FileSource, *, config: Any = None,
        trust_remote_code: bool | None = None, code_revision: str | None = None, use_fast: bool | None = None,
        **kwargs: Any,
    ) -> BaseImageProcessor: ...

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike[str] | FileSource,
        *,
        config: Any = None,
        trust_remote_code: bool | None = None,
        code_revision: str | None = None,
        use_fast: bool | None = None,
        **kwargs: Any,
    ) -> BaseImageProcessor | tuple[BaseImageProcessor, dict[str, Any]]:
        """Load an image processor (``kwargs`` override attributes). ``use_fast`` is accepted for
        compatibility and ignored: modelyard's image processors are one fast implementation."""
        if use_fast is not None:
            logger.debug("use_fast=%r ignored: modelyard has one (batched, threaded) image processor per model.", use_fast)
        hub = HubOptions.take(kwargs, where="AutoImageProcessor.from_pretrained")
        source, data, name = read_preprocessor_settings(pretrained_model_name_or_path, hub, what="image processor")
        processor_class = resolve_preprocessor_class(
            data,
            auto_class="AutoImageProcessor",
            table=IMAGE_PROCESSOR_TABLE,
            type_keys=("image_processor_type", "feature_extractor_type"),
            source=source,
            config=config,
            trust_remote_code=trust_remote_code,
            code_revision=code_revision,
            where=f"preprocessor_config.json of {name}",
            rename=_modern_name,
        )
        return processor_class.from_dict(data, **kwargs)

    @staticmethod
    def register(config_class: Any, image_processor_class: type | None = None, exist_ok: bool = False, **compat: Any) -> None:
        """Use ``image_processor_class`` for ``config_class.model_type`` (or a model_type string). The
        reference's ``slow_image_processor_class=`` / ``fast_image_processor_class=`` keywords are accepted."""
        from modelyard.image_processing import BaseImageProcessor

        slow = compat.pop("slow_image_processor_class", None)
        fast = compat.pop("fast_image_processor_class", None)
        chosen = image_processor_class or slow or fast
        if compat:
            raise RegistrationError(f"AutoImageProcessor.register got unexpected keyword argument(s) {sorted(compat)}.")
        if not (isinstance(chosen, type) and issubclass(chosen, BaseImageProcessor)):
            raise RegistrationError(f"AutoImageProcessor.register needs a BaseImageProcessor subclass, got {chosen!r}.")
        register_class(IMAGE_PROCESSOR_TABLE, config_class, chosen, exist_ok=exist_ok)


__all__ = ["IMAGE_PROCESSOR_TABLE", "AutoImageProcessor"]
