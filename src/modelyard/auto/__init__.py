"""Auto classes: load any supported (or registered) configuration, model or preprocessor by name.

Lazy: importing one Auto class imports neither torch nor any model family.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports
from modelyard.registry import MODEL_TASKS as _MODEL_TASKS

# Literal, so that type checkers read the package's star import (``from modelyard.auto import *``) from it.
__all__ = [
    "AutoBackbone",
    "AutoConfig",
    "AutoFeatureExtractor",
    "AutoImageProcessor",
    "AutoModel",
    "AutoModelForAudioClassification",
    "AutoModelForAudioFrameClassification",
    "AutoModelForAudioXVector",
    "AutoModelForCTC",
    "AutoModelForCausalLM",
    "AutoModelForImageClassification",
    "AutoModelForMaskedImageModeling",
    "AutoModelForMaskedLM",
    "AutoModelForMultipleChoice",
    "AutoModelForNextSentencePrediction",
    "AutoModelForPreTraining",
    "AutoModelForQuestionAnswering",
    "AutoModelForSequenceClassification",
    "AutoModelForTokenClassification",
    "AutoProcessor",
    "AutoTokenizer",
]
_EXPORTS = {
    "AutoConfig": "modelyard.auto.configuration_auto",
    **dict.fromkeys(_MODEL_TASKS, "modelyard.auto.modeling_auto"),  # one Auto model class per task
    "AutoTokenizer": "modelyard.auto.tokenization_auto",
    "AutoFeatureExtractor": "modelyard.auto.feature_extraction_auto",
    "AutoImageProcessor": "modelyard.auto.image_processing_auto",
    "AutoProcessor": "modelyard.auto.processing_auto",
}
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs (at run time they load on first use)
    from modelyard.auto.configuration_auto import AutoConfig  # noqa: F401
    from modelyard.auto.feature_extraction_auto import AutoFeatureExtractor  # noqa: F401
    from modelyard.auto.image_processing_auto import AutoImageProcessor  # noqa: F401
    from modelyard.auto.modeling_auto import (  # noqa: F401
        AutoBackbone,
        AutoModel,
        AutoModelForAudioClassification,
        AutoModelForAudioFrameClassification,
        AutoModelForAudioXVector,
        AutoModelForCausalLM,
        AutoModelForCTC,
        AutoModelForImageClassification,
        AutoModelForMaskedImageModeling,
        AutoModelForMaskedLM,
        AutoModelForMultipleChoice,
        AutoModelForNextSentencePrediction,
        AutoModelForPreTraining,
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )
    from modelyard.auto.processing_auto import AutoProcessor  # noqa: F401
    from modelyard.auto.tokenization_auto import AutoTokenizer  # noqa: F401
