"""``transformers.tokenization_utils_base``: the tokenizer base class and its value types."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "PreTrainedTokenizerBase": "modelyard.tokenization.base",
        "BatchEncoding": "modelyard.tokenization.base",
        "AddedToken": "modelyard.tokenization.base",
        **{name: "modelyard.tokenization.base" for name in (  # the input type aliases custom tokenizers annotate with
            "TextInput", "PreTokenizedInput", "EncodedInput", "TextInputPair", "PreTokenizedInputPair",
            "EncodedInputPair")},
        "SpecialTokensMixin": "modelyard.tokenization.special_tokens",
        "PaddingStrategy": "modelyard.tokenization.padding",
        "TruncationStrategy": "modelyard.tokenization.padding",
        "TensorType": "modelyard.tokenization.encoding",
        "CharSpan": "modelyard.tokenization.encoding",
        "TokenSpan": "modelyard.tokenization.encoding",
    },
)
