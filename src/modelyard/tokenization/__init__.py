"""Tokenizers: the shared base, slow (pure Python) and fast (``tokenizers``-backed) classes.

Lazy: importing this package imports neither torch nor the Rust ``tokenizers`` library.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_package

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

__getattr__, __dir__, __all__ = lazy_package(globals(), _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs (at run time they load on first use)
    from modelyard.tokenization.added_tokens import AddedToken  # noqa: F401
    from modelyard.tokenization.base import PreTrainedTokenizerBase  # noqa: F401
    from modelyard.tokenization.convert import convert_slow_tokenizer  # noqa: F401
    from modelyard.tokenization.encoding import BatchEncoding, CharSpan, TensorType, TokenSpan  # noqa: F401
    from modelyard.tokenization.encoding_options import EncodingOptions  # noqa: F401
    from modelyard.tokenization.fast import PreTrainedTokenizerFast  # noqa: F401
    from modelyard.tokenization.padding import PaddingStrategy, TruncationStrategy  # noqa: F401
    from modelyard.tokenization.slow import PreTrainedTokenizer  # noqa: F401
