"""``transformers.generation.utils``: GenerationMixin and the names remote code imports from it."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "BeamSampleDecoderOnlyOutput": "modelyard.generation.utils",
        "BeamSearchDecoderOnlyOutput": "modelyard.generation.utils",
        "Cache": "modelyard.generation.caches",
        "DynamicCache": "modelyard.generation.caches",
        "GenerateBeamDecoderOnlyOutput": "modelyard.generation.utils",
        "GenerateDecoderOnlyOutput": "modelyard.generation.utils",
        "GenerateOutput": "modelyard.generation.utils",
        "GenerationConfig": "modelyard.generation.configuration_utils",
        "GenerationMixin": "modelyard.generation.utils",
        "GreedySearchDecoderOnlyOutput": "modelyard.generation.utils",
        "LogitsProcessorList": "modelyard.generation.logits_process",
        "ModelOutput": "modelyard.outputs",
        "SampleDecoderOnlyOutput": "modelyard.generation.utils",
        "StaticCache": "modelyard.generation.caches",
        "StoppingCriteriaList": "modelyard.generation.stopping_criteria",
    },
)
