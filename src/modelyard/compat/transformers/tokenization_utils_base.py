"""``transformers.tokenization_utils_base``: the tokenizer base class and its value types."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

# The reference's aliases for what a tokenizer takes, which custom tokenizers use in their annotations
# (ChatGLM's ``_pad`` takes ``Dict[str, EncodedInput]``).
TextInput = str
PreTokenizedInput = list[str]
EncodedInput = list[int]
TextInputPair = tuple[str, str]
PreTokenizedInputPair = tuple[list[str], list[str]]
EncodedInputPair = tuple[list[int], list[int]]

__getattr__, __dir__ = declare(
    globals(),
    {
        "PreTrainedTokenizerBase": "modelyard.tokenization.base",
        "BatchEncoding": "modelyard.tokenization.base",
        "AddedToken": "modelyard.tokenization.base",
        "SpecialTokensMixin": "modelyard.tokenization.special_tokens",
        "PaddingStrategy": "modelyard.tokenization.padding",
        "TruncationStrategy": "modelyard.tokenization.padding",
        "TensorType": "modelyard.tokenization.encoding",
        "CharSpan": "modelyard.tokenization.encoding",
        "TokenSpan": "modelyard.tokenization.encoding",
    },
    constants=("TextInput", "PreTokenizedInput", "EncodedInput", "TextInputPair", "PreTokenizedInputPair",
               "EncodedInputPair"),
)
