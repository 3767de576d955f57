"""Auto classes: load any supported (or registered) configuration, model or preprocessor by name.

Lazy: importing one Auto class imports neither torch nor any model family.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

_EXPORTS = {
    "AutoConfig": "modelyard.auto.configuration_auto",
    "AutoModel": "modelyard.auto.modeling_auto",
    "AutoModelForMaskedLM": "modelyard.auto.modeling_auto",
    "AutoModelForCausalLM": "modelyard.auto.modeling_auto",
    "AutoModelForSequenceClassification": "modelyard.auto.modeling_auto",
    "AutoModelForTokenClassification": "modelyard.auto.modeling_auto",
    "AutoModelForQuestionAnswering": "modelyard.auto.modeling_auto",
    "AutoModelForMultipleChoice": "modelyard.auto.modeling_auto",
    "AutoModelForImageClassification": "modelyard.auto.modeling_auto",
    "AutoModelForCTC": "modelyard.auto.modeling_auto",
    "AutoModelForAudioClassification": "modelyard.auto.modeling_auto",
    "AutoModelForAudioFrameClassification": "modelyard.auto.modeling_auto",
    "AutoModelForAudioXVector": "modelyard.auto.modeling_auto",
    "AutoModelForPreTraining": "modelyard.auto.modeling_auto",
    "AutoModelForNextSentencePrediction": "modelyard.auto.modeling_auto",
    "AutoModelForMaskedImageModeling": "modelyard.auto.modeling_auto",
    "AutoBackbone": "modelyard.auto.modeling_auto",
    "AutoTokenizer": "modelyard.auto.tokenization_auto",
    "AutoFeatureExtractor": "modelyard.auto.feature_extraction_auto",
    "AutoImageProcessor": "modelyard.auto.image_processing_auto",
    "AutoProcessor": "modelyard.auto.processing_auto",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)

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
