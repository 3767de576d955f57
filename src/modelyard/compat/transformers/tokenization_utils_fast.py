"""``transformers.tokenization_utils_fast``: the fast (``tokenizers``-backed) tokenizer base class."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "PreTrainedTokenizerFast": "modelyard.tokenization.fast",
        "PreTrainedTokenizerBase": "modelyard.tokenization.base",
        "BatchEncoding": "modelyard.tokenization.base",
        "AddedToken": "modelyard.tokenization.base",
    },
)
