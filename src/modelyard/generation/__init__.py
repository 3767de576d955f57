"""Text generation: ``GenerationMixin.generate()``, ``GenerationConfig``, logits processors, stopping criteria,
streamers and key/value caches, under the reference library's names.

The names load lazily (PEP 562): ``from modelyard.generation import GenerationConfig`` imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_package

_EXPORTS: dict[str, str] = {
    "Cache": "modelyard.generation.caches",
    "Constraint": "modelyard.generation.beam_constraints",
    "ConstraintListState": "modelyard.generation.beam_constraints",
    "DisjunctiveConstraint": "modelyard.generation.beam_constraints",
    "PhrasalConstraint": "modelyard.generation.beam_constraints",
    "CacheLayerMixin": "modelyard.generation.caches",
    "DynamicCache": "modelyard.generation.caches",
    "DynamicLayer": "modelyard.generation.caches",
    "DynamicSlidingWindowLayer": "modelyard.generation.caches",
    "EncoderDecoderCache": "modelyard.generation.caches",
    "StaticCache": "modelyard.generation.caches",
    "StaticLayer": "modelyard.generation.caches",
    "StaticSlidingWindowLayer": "modelyard.generation.caches",
    "GenerationConfig": "modelyard.generation.configuration_utils",
    "GenerationMode": "modelyard.generation.configuration_utils",
    "EpsilonLogitsWarper": "modelyard.generation.logits_process",
    "EtaLogitsWarper": "modelyard.generation.logits_process",
    "ExponentialDecayLengthPenalty": "modelyard.generation.logits_process",
    "ForcedBOSTokenLogitsProcessor": "modelyard.generation.logits_process",
    "ForcedEOSTokenLogitsProcessor": "modelyard.generation.logits_process",
    "HammingDiversityLogitsProcessor": "modelyard.generation.logits_process",
    "InfNanRemoveLogitsProcessor": "modelyard.generation.logits_process",
    "LogitNormalization": "modelyard.generation.logits_process",
    "LogitsProcessor": "modelyard.generation.logits_process",
    "LogitsProcessorList": "modelyard.generation.logits_process",
    "LogitsWarper": "modelyard.generation.logits_process",
    "MinLengthLogitsProcessor": "modelyard.generation.logits_process",
    "MinNewTokensLengthLogitsProcessor": "modelyard.generation.logits_process",
    "MinPLogitsWarper": "modelyard.generation.logits_process",
    "NoBadWordsLogitsProcessor": "modelyard.generation.logits_process",
    "NoRepeatNGramLogitsProcessor": "modelyard.generation.logits_process",
    "RepetitionPenaltyLogitsProcessor": "modelyard.generation.logits_process",
    "SequenceBiasLogitsProcessor": "modelyard.generation.logits_process",
    "SuppressTokensAtBeginLogitsProcessor": "modelyard.generation.logits_process",
    "SuppressTokensLogitsProcessor": "modelyard.generation.logits_process",
    "TemperatureLogitsWarper": "modelyard.generation.logits_process",
    "TopKLogitsWarper": "modelyard.generation.logits_process",
    "TopPLogitsWarper": "modelyard.generation.logits_process",
    "TypicalLogitsWarper": "modelyard.generation.logits_process",
    "UnbatchedClassifierFreeGuidanceLogitsProcessor": "modelyard.generation.logits_process",
    "ConfidenceCriteria": "modelyard.generation.stopping_criteria",
    "EosTokenCriteria": "modelyard.generation.stopping_criteria",
    "MaxLengthCriteria": "modelyard.generation.stopping_criteria",
    "MaxTimeCriteria": "modelyard.generation.stopping_criteria",
    "StopStringCriteria": "modelyard.generation.stopping_criteria",
    "StoppingCriteria": "modelyard.generation.stopping_criteria",
    "StoppingCriteriaList": "modelyard.generation.stopping_criteria",
    "BaseStreamer": "modelyard.generation.streamers",
    "TextIteratorStreamer": "modelyard.generation.streamers",
    "TextStreamer": "modelyard.generation.streamers",
    "GenerateBeamDecoderOnlyOutput": "modelyard.generation.outputs",
    "GenerateDecoderOnlyOutput": "modelyard.generation.outputs",
    "GenerationMixin": "modelyard.generation.utils",
    "GreedySearchDecoderOnlyOutput": "modelyard.generation.outputs",
    "SampleDecoderOnlyOutput": "modelyard.generation.outputs",
    "BeamSearchDecoderOnlyOutput": "modelyard.generation.outputs",
    "BeamSampleDecoderOnlyOutput": "modelyard.generation.outputs",
}

__getattr__, __dir__, __all__ = lazy_package(globals(), _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs (at run time they load on first use); a star
    # import where the package serves exactly its module's __all__ (tests/test_typing.py holds them together)
    from modelyard.generation.beam_constraints import (  # noqa: F401
        Constraint,
        ConstraintListState,
        DisjunctiveConstraint,
        PhrasalConstraint,
    )
    from modelyard.generation.caches import *  # noqa: F403 - all of caches.__all__
    from modelyard.generation.configuration_utils import GenerationConfig, GenerationMode  # noqa: F401
    from modelyard.generation.logits_process import *  # noqa: F403 - all of logits_process.__all__
    from modelyard.generation.outputs import (  # noqa: F401
        BeamSampleDecoderOnlyOutput,
        BeamSearchDecoderOnlyOutput,
        GenerateBeamDecoderOnlyOutput,
        GenerateDecoderOnlyOutput,
        GreedySearchDecoderOnlyOutput,
        SampleDecoderOnlyOutput,
    )
    from modelyard.generation.stopping_criteria import (  # noqa: F401
        ConfidenceCriteria,
        EosTokenCriteria,
        MaxLengthCriteria,
        MaxTimeCriteria,
        StoppingCriteria,
        StoppingCriteriaList,
        StopStringCriteria,
    )
    from modelyard.generation.streamers import *  # noqa: F403 - all of streamers.__all__
    from modelyard.generation.utils import GenerationMixin  # noqa: F401
