"""``AutoImageProcessor``: pick the image processor class from ``preprocessor_config.json``
(``image_processor_type``, else ``feature_extractor_type`` mapped to today's name, else ``auto_map``) or from
``config.json``'s ``model_type``. Imports neither torch nor a model family."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from modelyard.auto.feature_extraction_auto import _PreprocessorAutoClass, class_from_name, register_class
from modelyard.errors import RegistrationError
from modelyard.registry import ModelTypeTable, builtin_names

if TYPE_CHECKING:
    from modelyard.auto.base import CustomCode
    from modelyard.hub.files import Location
    from modelyard.image_processing import BaseImageProcessor
    from modelyard.options import HubOptions

logger = logging.getLogger(__name__)

IMAGE_PROCESSOR_TABLE = ModelTypeTable("AutoImageProcessor", builtin_names(lambda family: family.image_processor))


class AutoImageProcessor(_PreprocessorAutoClass["BaseImageProcessor"]):
    """The image processor of a checkpoint, its class chosen from its settings: :meth:`from_pretrained`. A
    BaseImageProcessor to a type checker."""

    _table = IMAGE_PROCESSOR_TABLE
    _type_keys = ("image_processor_type", "feature_extractor_type")
    _what = "image processor"

    @classmethod
    def _class_named(cls, name: str) -> type[Any] | None:
        """``ViTFeatureExtractor`` -> ``ViTImageProcessor``; ``ViTImageProcessorFast`` -> ``ViTImageProcessor``
        (modelyard has one implementation, already batched and threaded); other names as they are."""
        for candidate in (name.replace("FeatureExtractor", "ImageProcessor"), name.removesuffix("Fast")):
            if candidate != name:
                found = class_from_name(candidate, IMAGE_PROCESSOR_TABLE)
                if found is not None:
                    return found
        return class_from_name(name, IMAGE_PROCESSOR_TABLE)

    @classmethod
    def _load(
        cls, location: Location, hub: HubOptions, code: CustomCode, *args: Any, **kwargs: Any
    ) -> BaseImageProcessor:
        """As for every preprocessor; ``use_fast`` is accepted for compatibility and ignored: modelyard's image
        processors are one fast implementation."""
        use_fast = kwargs.pop("use_fast", None)
        if use_fast is not None:
            logger.debug("use_fast=%r ignored: modelyard has one (batched, threaded) image processor per model.", use_fast)
        return super()._load(location, hub, code, *args, **kwargs)

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
