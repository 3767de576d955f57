"""``transformers.tokenization_utils``: the slow (Python) tokenizer base class."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "PreTrainedTokenizer": "modelyard.tokenization.slow",
        "PreTrainedTokenizerBase": "modelyard.tokenization.base",
        "BatchEncoding": "modelyard.tokenization.base",
        "AddedToken": "modelyard.tokenization.base",
        **{name: "modelyard.tokenization.base" for name in (  # the input type aliases custom tokenizers annotate with
            "TextInput", "PreTokenizedInput", "EncodedInput", "TextInputPair", "PreTokenizedInputPair",
            "EncodedInputPair")},
        "PaddingStrategy": "modelyard.tokenization.padding",
        "TruncationStrategy": "modelyard.tokenization.padding",
        "TensorType": "modelyard.tokenization.encoding",
    },
)
