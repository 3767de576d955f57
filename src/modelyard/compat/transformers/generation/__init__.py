"""``transformers.generation``: modelyard's generation API under the reference's names and submodule paths."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

# LogitsWarper: the base class of warpers in releases before 4.46; remote code written then still imports it
_LEGACY = frozenset({"LogitsWarper"})
__getattr__, __dir__ = declare(
    globals(),
    {
        "BaseStreamer": "modelyard.generation.streamers",
        "BeamSampleDecoderOnlyOutput": "modelyard.generation.utils",
        "BeamSearchDecoderOnlyOutput": "modelyard.generation.utils",
        "ConfidenceCriteria": "modelyard.generation.stopping_criteria",
        "EosTokenCriteria": "modelyard.generation.stopping_criteria",
        "EpsilonLogitsWarper": "modelyard.generation.logits_process",
        "EtaLogitsWarper": "modelyard.generation.logits_process",
        "ExponentialDecayLengthPenalty": "modelyard.generation.logits_process",
        "ForcedBOSTokenLogitsProcessor": "modelyard.generation.logits_process",
        "ForcedEOSTokenLogitsProcessor": "modelyard.generation.logits_process",
        "GenerateBeamDecoderOnlyOutput": "modelyard.generation.utils",
        "GenerateDecoderOnlyOutput": "modelyard.generation.utils",
        "GenerationConfig": "modelyard.generation.configuration_utils",
        "GenerationMixin": "modelyard.generation.utils",
        "GenerationMode": "modelyard.generation.configuration_utils",
        "GreedySearchDecoderOnlyOutput": "modelyard.generation.utils",
        "HammingDiversityLogitsProcessor": "modelyard.generation.logits_process",
        "InfNanRemoveLogitsProcessor": "modelyard.generation.logits_process",
        "LogitNormalization": "modelyard.generation.logits_process",
        "LogitsProcessor": "modelyard.generation.logits_process",
        "LogitsProcessorList": "modelyard.generation.logits_process",
        "LogitsWarper": "modelyard.generation.logits_process",
        "MaxLengthCriteria": "modelyard.generation.stopping_criteria",
        "MaxTimeCriteria": "modelyard.generation.stopping_criteria",
        "MinLengthLogitsProcessor": "modelyard.generation.logits_process",
        "MinNewTokensLengthLogitsProcessor": "modelyard.generation.logits_process",
        "MinPLogitsWarper": "modelyard.generation.logits_process",
        "NoBadWordsLogitsProcessor": "modelyard.generation.logits_process",
        "NoRepeatNGramLogitsProcessor": "modelyard.generation.logits_process",
        "RepetitionPenaltyLogitsProcessor": "modelyard.generation.logits_process",
        "SampleDecoderOnlyOutput": "modelyard.generation.utils",
        "SequenceBiasLogitsProcessor": "modelyard.generation.logits_process",
        "StopStringCriteria": "modelyard.generation.stopping_criteria",
        "StoppingCriteria": "modelyard.generation.stopping_criteria",
        "StoppingCriteriaList": "modelyard.generation.stopping_criteria",
        "SuppressTokensAtBeginLogitsProcessor": "modelyard.generation.logits_process",
        "SuppressTokensLogitsProcessor": "modelyard.generation.logits_process",
        "TemperatureLogitsWarper": "modelyard.generation.logits_process",
        "TextIteratorStreamer": "modelyard.generation.streamers",
        "TextStreamer": "modelyard.generation.streamers",
        "TopKLogitsWarper": "modelyard.generation.logits_process",
        "TopPLogitsWarper": "modelyard.generation.logits_process",
        "TypicalLogitsWarper": "modelyard.generation.logits_process",
        "UnbatchedClassifierFreeGuidanceLogitsProcessor": "modelyard.generation.logits_process",
    },
    submodules=("configuration_utils", "logits_process", "stopping_criteria", "streamers", "utils"),
)
