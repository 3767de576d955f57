"""modelyard: define, configure, save, share and load model architectures on PyTorch.

The public API is lazy (PEP 562): ``import modelyard`` and ``from modelyard import AutoConfig`` import neither
torch nor any model family; each name is imported on first use. The core's names are listed here; every model
family's come from its manifest (``modelyard/models/<family>/__init__.py``), so adding a family touches its own
folder only (type checkers read the generated ``modelyard/models/_typing.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard._lazy import lazy_exports
from modelyard._version import __version__ as __version__

_EXPORTS: dict[str, str] = {
    "PretrainedConfig": "modelyard.configuration",
    "PreTrainedModel": "modelyard.modeling",
    "ModelOutput": "modelyard.outputs",
    "BaseModelOutput": "modelyard.outputs",
    "BaseModelOutputWithPooling": "modelyard.outputs",
    "MaskedLMOutput": "modelyard.outputs",
    "SequenceClassifierOutput": "modelyard.outputs",
    "TokenClassifierOutput": "modelyard.outputs",
    "QuestionAnsweringModelOutput": "modelyard.outputs",
    "MultipleChoiceModelOutput": "modelyard.outputs",
    "ImageClassifierOutput": "modelyard.outputs",
    "CausalLMOutput": "modelyard.outputs",
    "CausalLMOutputWithPast": "modelyard.outputs",
    "BaseModelOutputWithPast": "modelyard.outputs",
    # generation
    "Cache": "modelyard.generation.caches",
    "DynamicCache": "modelyard.generation.caches",
    "EncoderDecoderCache": "modelyard.generation.caches",
    "StaticCache": "modelyard.generation.caches",
    "GenerationConfig": "modelyard.generation.configuration_utils",
    "GenerationMixin": "modelyard.generation.utils",
    "LogitsProcessor": "modelyard.generation.logits_process",
    "LogitsProcessorList": "modelyard.generation.logits_process",
    "LogitsWarper": "modelyard.generation.logits_process",
    "TemperatureLogitsWarper": "modelyard.generation.logits_process",
    "TopKLogitsWarper": "modelyard.generation.logits_process",
    "TopPLogitsWarper": "modelyard.generation.logits_process",
    "MinPLogitsWarper": "modelyard.generation.logits_process",
    "TypicalLogitsWarper": "modelyard.generation.logits_process",
    "EpsilonLogitsWarper": "modelyard.generation.logits_process",
    "EtaLogitsWarper": "modelyard.generation.logits_process",
    "RepetitionPenaltyLogitsProcessor": "modelyard.generation.logits_process",
    "NoRepeatNGramLogitsProcessor": "modelyard.generation.logits_process",
    "NoBadWordsLogitsProcessor": "modelyard.generation.logits_process",
    "SequenceBiasLogitsProcessor": "modelyard.generation.logits_process",
    "MinLengthLogitsProcessor": "modelyard.generation.logits_process",
    "MinNewTokensLengthLogitsProcessor": "modelyard.generation.logits_process",
    "ForcedBOSTokenLogitsProcessor": "modelyard.generation.logits_process",
    "ForcedEOSTokenLogitsProcessor": "modelyard.generation.logits_process",
    "InfNanRemoveLogitsProcessor": "modelyard.generation.logits_process",
    "LogitNormalization": "modelyard.generation.logits_process",
    "SuppressTokensLogitsProcessor": "modelyard.generation.logits_process",
    "SuppressTokensAtBeginLogitsProcessor": "modelyard.generation.logits_process",
    "ExponentialDecayLengthPenalty": "modelyard.generation.logits_process",
    "HammingDiversityLogitsProcessor": "modelyard.generation.logits_process",
    "UnbatchedClassifierFreeGuidanceLogitsProcessor": "modelyard.generation.logits_process",
    "StoppingCriteria": "modelyard.generation.stopping_criteria",
    "StoppingCriteriaList": "modelyard.generation.stopping_criteria",
    "MaxLengthCriteria": "modelyard.generation.stopping_criteria",
    "MaxTimeCriteria": "modelyard.generation.stopping_criteria",
    "EosTokenCriteria": "modelyard.generation.stopping_criteria",
    "StopStringCriteria": "modelyard.generation.stopping_criteria",
    "TextStreamer": "modelyard.generation.streamers",
    "TextIteratorStreamer": "modelyard.generation.streamers",
    "GenerateDecoderOnlyOutput": "modelyard.generation.outputs",
    "GenerateBeamDecoderOnlyOutput": "modelyard.generation.outputs",
    # every name of modelyard.auto.__all__ (tests/test_public_api.py holds the two together)
    "AutoConfig": "modelyard.auto",
    "AutoModel": "modelyard.auto",
    "AutoModelForMaskedLM": "modelyard.auto",
    "AutoModelForCausalLM": "modelyard.auto",
    "AutoModelForSequenceClassification": "modelyard.auto",
    "AutoModelForTokenClassification": "modelyard.auto",
    "AutoModelForQuestionAnswering": "modelyard.auto",
    "AutoModelForMultipleChoice": "modelyard.auto",
    "AutoModelForImageClassification": "modelyard.auto",
    "AutoModelForCTC": "modelyard.auto",
    "AutoModelForAudioClassification": "modelyard.auto",
    "AutoModelForAudioFrameClassification": "modelyard.auto",
    "AutoModelForAudioXVector": "modelyard.auto",
    "AutoModelForPreTraining": "modelyard.auto",
    "AutoModelForNextSentencePrediction": "modelyard.auto",
    "AutoModelForMaskedImageModeling": "modelyard.auto",
    "AutoBackbone": "modelyard.auto",
    "AutoTokenizer": "modelyard.auto",
    "AutoFeatureExtractor": "modelyard.auto",
    "AutoImageProcessor": "modelyard.auto",
    "AutoProcessor": "modelyard.auto",
    "PreTrainedTokenizerBase": "modelyard.tokenization.base",
    "BatchEncoding": "modelyard.tokenization.base",
    "AddedToken": "modelyard.tokenization.base",
    "PreTrainedTokenizer": "modelyard.tokenization.slow",
    "PreTrainedTokenizerFast": "modelyard.tokenization.fast",
    "FeatureExtractionMixin": "modelyard.feature_extraction",
    "BatchFeature": "modelyard.feature_extraction",
    "SequenceFeatureExtractor": "modelyard.feature_extraction",
    "ImageFeatureExtractionMixin": "modelyard.image_processing",
    "BaseImageProcessor": "modelyard.image_processing",
    "ProcessorMixin": "modelyard.processing",
    "clear_module_cache": "modelyard.dynamic_modules",
    # one-line inference (modelyard.pipelines)
    "pipeline": "modelyard.pipelines.factory",
    "Pipeline": "modelyard.pipelines.base",
    # training (needs the `train` extra: accelerate)
    "Trainer": "modelyard.training.trainer",
    "TrainingArguments": "modelyard.training.arguments",
    "TrainerCallback": "modelyard.training.callbacks",
    "TrainerState": "modelyard.training.state",
    "TrainerControl": "modelyard.training.state",
    "EarlyStoppingCallback": "modelyard.training.callbacks",
    "EvalPrediction": "modelyard.training.outputs",
    "default_data_collator": "modelyard.training.collators",
    "DataCollatorWithPadding": "modelyard.training.collators",
    "DataCollatorForLanguageModeling": "modelyard.training.collators",
    "set_seed": "modelyard.training.seed",
}

# Submodules reachable as attributes (``modelyard.logging.set_verbosity_error()``), kept out of __all__ so a
# star import never shadows the standard library's ``logging``.
_SUBMODULES = {"logging": "modelyard.logging"}


def _public_table() -> dict[str, str]:
    """The core names, the submodules, and every model family's names from its manifest (found on first use
    of a name that is not a core one, so ``import modelyard`` reads no family)."""
    from modelyard.registry import public_exports

    return {**_EXPORTS, **_SUBMODULES, **public_exports()}


_core_getattr, _core_dir = lazy_exports(__name__, globals(), {**_EXPORTS, **_SUBMODULES})
_family_getattr, _family_dir = lazy_exports(__name__, globals(), _public_table)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS or name in _SUBMODULES:
        return _core_getattr(name)
    if name == "__all__":  # star imports: every public name, the families' included (never the submodules)
        return sorted(set(_public_table()) - set(_SUBMODULES))
    return _family_getattr(name)


def __dir__() -> list[str]:
    return _family_dir()

if TYPE_CHECKING:  # the same names, for type checkers and IDEs (the families': see models/_typing.py)
    from modelyard.auto import *  # noqa: F403 - the Auto classes (modelyard.auto.__all__)
    from modelyard.configuration import PretrainedConfig  # noqa: F401
    from modelyard.dynamic_modules import clear_module_cache  # noqa: F401
    from modelyard.feature_extraction import BatchFeature, FeatureExtractionMixin, SequenceFeatureExtractor  # noqa: F401
    from modelyard.generation import (  # noqa: F401
        Cache,
        DynamicCache,
        EncoderDecoderCache,
        EosTokenCriteria,
        GenerateBeamDecoderOnlyOutput,
        GenerateDecoderOnlyOutput,
        GenerationConfig,
        GenerationMixin,
        MaxLengthCriteria,
        MaxTimeCriteria,
        StaticCache,
        StoppingCriteria,
        StoppingCriteriaList,
        StopStringCriteria,
        TextIteratorStreamer,
        TextStreamer,
    )
    from modelyard.generation.logits_process import *  # noqa: F403 - every logits processor (its __all__)
    from modelyard.image_processing import BaseImageProcessor, ImageFeatureExtractionMixin  # noqa: F401
    from modelyard.modeling import PreTrainedModel  # noqa: F401
    from modelyard.models._typing import *  # noqa: F403
    from modelyard.outputs import (  # noqa: F401
        BaseModelOutput,
        BaseModelOutputWithPast,
        BaseModelOutputWithPooling,
        CausalLMOutput,
        CausalLMOutputWithPast,
        ImageClassifierOutput,
        MaskedLMOutput,
        ModelOutput,
        MultipleChoiceModelOutput,
        QuestionAnsweringModelOutput,
        SequenceClassifierOutput,
        TokenClassifierOutput,
    )
    from modelyard.pipelines.base import Pipeline  # noqa: F401
    from modelyard.pipelines.factory import pipeline  # noqa: F401
    from modelyard.processing import ProcessorMixin  # noqa: F401
    from modelyard.tokenization.base import AddedToken, BatchEncoding, PreTrainedTokenizerBase  # noqa: F401
    from modelyard.tokenization.fast import PreTrainedTokenizerFast  # noqa: F401
    from modelyard.tokenization.slow import PreTrainedTokenizer  # noqa: F401
    from modelyard.training.arguments import TrainingArguments  # noqa: F401
    from modelyard.training.callbacks import EarlyStoppingCallback, TrainerCallback  # noqa: F401
    from modelyard.training.collators import (  # noqa: F401
        DataCollatorForLanguageModeling,
        DataCollatorWithPadding,
        default_data_collator,
    )
    from modelyard.training.outputs import EvalPrediction  # noqa: F401
    from modelyard.training.seed import set_seed  # noqa: F401
    from modelyard.training.state import TrainerControl, TrainerState  # noqa: F401
    from modelyard.training.trainer import Trainer  # noqa: F401
