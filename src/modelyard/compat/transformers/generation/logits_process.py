"""``transformers.generation.logits_process``: the logits processors."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

# LogitsWarper: the base class of warpers in releases before 4.46; remote code written then still imports it
_LEGACY = frozenset({"LogitsWarper"})
__getattr__, __dir__ = declare(
    globals(),
    {
        "EpsilonLogitsWarper": "modelyard.generation.logits_process",
        "EtaLogitsWarper": "modelyard.generation.logits_process",
        "ExponentialDecayLengthPenalty": "modelyard.generation.logits_process",
        "ForcedBOSTokenLogitsProcessor": "modelyard.generation.logits_process",
        "ForcedEOSTokenLogitsProcessor": "modelyard.generation.logits_process",
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
    },
)
