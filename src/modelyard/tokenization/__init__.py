"""Tokenizers: the shared base, slow (pure Python) and fast (``tokenizers``-backed) classes.

Lazy: importing this package imports neither torch nor the Rust ``tokenizers`` library.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import by_module, lazy_package

_EXPORTS = by_module({
    "modelyard.tokenization.added_tokens": ("AddedToken",),
    "modelyard.tokenization.encoding": ("BatchEncoding", "CharSpan", "TokenSpan", "TensorType"),
    "modelyard.tokenization.encoding_options": ("EncodingOptions",),
    "modelyard.tokenization.padding": ("PaddingStrategy", "TruncationStrategy"),
    "modelyard.tokenization.base": ("PreTrainedTokenizerBase",),
    "modelyard.tokenization.slow": ("PreTrainedTokenizer",),
    "modelyard.tokenization.fast": ("PreTrainedTokenizerFast",),
    "modelyard.tokenization.convert": ("convert_slow_tokenizer",),
})

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
