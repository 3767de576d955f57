"""Text generation: ``GenerationMixin.generate()``, ``GenerationConfig``, logits processors, stopping criteria,
streamers and key/value caches, under the reference library's names.

The names load lazily (PEP 562): ``from modelyard.generation import GenerationConfig`` imports no torch.
"""

from __future__ import annotations

from modelyard._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
