"""Text generation: ``GenerationMixin.generate()``, ``GenerationConfig``, logits processors, stopping criteria,
streamers and key/value caches, under the reference library's names.

The names load lazily (PEP 562): ``from modelyard.generation import GenerationConfig`` imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import by_module, lazy_package

_EXPORTS = by_module({
    "modelyard.generation.caches": (
        "Cache", "CacheLayerMixin", "DynamicCache", "DynamicLayer", "DynamicSlidingWindowLayer", "EncoderDecoderCache",
        "StaticCache", "StaticLayer", "StaticSlidingWindowLayer",
    ),
    "modelyard.generation.beam_constraints": (
        "Constraint", "ConstraintListState", "DisjunctiveConstraint", "PhrasalConstraint",
    ),
    "modelyard.generation.configuration_utils": ("GenerationConfig", "GenerationMode"),
    "modelyard.generation.logits_process": (
        "EpsilonLogitsWarper", "EtaLogitsWarper", "ExponentialDecayLengthPenalty", "ForcedBOSTokenLogitsProcessor",
        "ForcedEOSTokenLogitsProcessor", "HammingDiversityLogitsProcessor", "InfNanRemoveLogitsProcessor",
        "LogitNormalization", "LogitsProcessor", "LogitsProcessorList", "LogitsWarper", "MinLengthLogitsProcessor",
        "MinNewTokensLengthLogitsProcessor", "MinPLogitsWarper", "NoBadWordsLogitsProcessor",
        "NoRepeatNGramLogitsProcessor", "RepetitionPenaltyLogitsProcessor", "SequenceBiasLogitsProcessor",
        "SuppressTokensAtBeginLogitsProcessor", "SuppressTokensLogitsProcessor", "TemperatureLogitsWarper",
        "TopKLogitsWarper", "TopPLogitsWarper", "TypicalLogitsWarper", "UnbatchedClassifierFreeGuidanceLogitsProcessor",
    ),
    "modelyard.generation.stopping_criteria": (
        "ConfidenceCriteria", "EosTokenCriteria", "MaxLengthCriteria", "MaxTimeCriteria", "StopStringCriteria",
        "StoppingCriteria", "StoppingCriteriaList",
    ),
    "modelyard.generation.streamers": ("BaseStreamer", "TextIteratorStreamer", "TextStreamer"),
    "modelyard.generation.outputs": (
        "GenerateBeamDecoderOnlyOutput", "GenerateDecoderOnlyOutput", "GreedySearchDecoderOnlyOutput",
        "SampleDecoderOnlyOutput", "BeamSearchDecoderOnlyOutput", "BeamSampleDecoderOnlyOutput",
    ),
    "modelyard.generation.utils": ("GenerationMixin",),
})

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
