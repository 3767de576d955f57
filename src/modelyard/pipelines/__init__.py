"""Pipelines: one-line inference for every task modelyard's heads serve (``modelyard.pipeline``).

``pipeline(task, model=...)`` builds a :class:`~modelyard.pipelines.base.Pipeline` subclass from
``tasks.TASKS``; each task lives in its own module. Importing this package imports no torch; the pipeline
modules (which do) are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_package

_EXPORTS = {
    "pipeline": "modelyard.pipelines.factory",
    "Pipeline": "modelyard.pipelines.base",
    "KeyDataset": "modelyard.pipelines.inputs",
    "KeyPairDataset": "modelyard.pipelines.inputs",
    "SUPPORTED_TASKS": "modelyard.pipelines.tasks",
    "FeatureExtractionPipeline": "modelyard.pipelines.feature_extraction",
    "FillMaskPipeline": "modelyard.pipelines.fill_mask",
    "TextClassificationPipeline": "modelyard.pipelines.text_classification",
    "TextGenerationPipeline": "modelyard.pipelines.text_generation",
    "TokenClassificationPipeline": "modelyard.pipelines.token_classification",
    "QuestionAnsweringPipeline": "modelyard.pipelines.question_answering",
    "ZeroShotClassificationPipeline": "modelyard.pipelines.zero_shot_classification",
    "ImageClassificationPipeline": "modelyard.pipelines.image_classification",
    "ImageFeatureExtractionPipeline": "modelyard.pipelines.image_feature_extraction",
    "AudioClassificationPipeline": "modelyard.pipelines.audio_classification",
    "AutomaticSpeechRecognitionPipeline": "modelyard.pipelines.automatic_speech_recognition",
}

__getattr__, __dir__, __all__ = lazy_package(globals(), _EXPORTS)

if TYPE_CHECKING:
    from modelyard.pipelines.audio_classification import AudioClassificationPipeline  # noqa: F401
    from modelyard.pipelines.automatic_speech_recognition import AutomaticSpeechRecognitionPipeline  # noqa: F401
    from modelyard.pipelines.base import Pipeline  # noqa: F401
    from modelyard.pipelines.factory import pipeline  # noqa: F401
    from modelyard.pipelines.feature_extraction import FeatureExtractionPipeline  # noqa: F401
    from modelyard.pipelines.fill_mask import FillMaskPipeline  # noqa: F401
    from modelyard.pipelines.image_classification import ImageClassificationPipeline  # noqa: F401
    from modelyard.pipelines.image_feature_extraction import ImageFeatureExtractionPipeline  # noqa: F401
    from modelyard.pipelines.inputs import KeyDataset, KeyPairDataset  # noqa: F401
    from modelyard.pipelines.question_answering import QuestionAnsweringPipeline  # noqa: F401
    from modelyard.pipelines.tasks import SUPPORTED_TASKS  # noqa: F401
    from modelyard.pipelines.text_classification import TextClassificationPipeline  # noqa: F401
    from modelyard.pipelines.text_generation import TextGenerationPipeline  # noqa: F401
    from modelyard.pipelines.token_classification import TokenClassificationPipeline  # noqa: F401
    from modelyard.pipelines.zero_shot_classification import ZeroShotClassificationPipeline  # noqa: F401

