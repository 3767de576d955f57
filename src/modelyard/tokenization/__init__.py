"""Tokenizers: the shared base, slow (pure Python) and fast (``tokenizers``-backed) classes.

Lazy: importing this package imports neither torch nor the Rust ``tokenizers`` library.
"""

from modelyard._lazy import lazy_exports

_EXPORTS = {
    "AddedToken": "modelyard.tokenization.added_tokens",
    "BatchEncoding": "modelyard.tokenization.encoding",
    "EncodingOptions": "modelyard.tokenization.encoding_options",
    "CharSpan": "modelyard.tokenization.encoding",
    "TokenSpan": "modelyard.tokenization.encoding",
    "TensorType": "modelyard.tokenization.encoding",
    "PaddingStrategy": "modelyard.tokenization.padding",
    "TruncationStrategy": "modelyard.tokenization.padding",
    "PreTrainedTokenizerBase": "modelyard.tokenization.base",
    "PreTrainedTokenizer": "modelyard.tokenization.slow",
    "PreTrainedTokenizerFast": "modelyard.tokenization.fast",
    "convert_slow_tokenizer": "modelyard.tokenization.convert",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
