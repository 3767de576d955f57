"""``transformers.generation.stopping_criteria``: the stopping criteria."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "EosTokenCriteria": "modelyard.generation.stopping_criteria",
        "MaxLengthCriteria": "modelyard.generation.stopping_criteria",
        "MaxTimeCriteria": "modelyard.generation.stopping_criteria",
        "StopStringCriteria": "modelyard.generation.stopping_criteria",
        "StoppingCriteria": "modelyard.generation.stopping_criteria",
        "StoppingCriteriaList": "modelyard.generation.stopping_criteria",
        "validate_stopping_criteria": "modelyard.generation.stopping_criteria",
    },
)
