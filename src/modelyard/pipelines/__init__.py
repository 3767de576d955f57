"""Pipelines: one-line inference for every task modelyard's heads serve (``modelyard.pipeline``).

``pipeline(task, model=...)`` builds a :class:`~modelyard.pipelines.base.Pipeline` subclass from
``tasks.TASKS``; each task lives in its own module. Importing this package imports no torch (only the task table);
the pipeline modules (which do) are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_package
from modelyard.pipelines.tasks import TASKS as _TASKS

_EXPORTS = {
    "pipeline": "modelyard.pipelines.factory",
    "Pipeline": "modelyard.pipelines.base",
    "KeyDataset": "modelyard.pipelines.inputs",
    "KeyPairDataset": "modelyard.pipelines.inputs",
    "SUPPORTED_TASKS": "modelyard.pipelines.tasks",
    # every task's pipeline class, from the task table (which names its class and module once)
    **{spec.class_name: f"modelyard.pipelines.{spec.module}" for spec in _TASKS.values()},
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

