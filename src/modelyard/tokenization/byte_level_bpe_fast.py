"""``ByteLevelBPETokenizerFast``: the fast base the byte-level BPE families share (GPT-2, RoBERTa, Qwen2).

The backend (``tokenizer.json``, or converted from ``vocab.json`` + ``merges.txt``) does the work; this class
holds what the families' fast classes have in common: their files, and the rule that pre-split words need
``add_prefix_space=True`` where the family's byte-level pre-tokeniser gives a text's first word no space.
"""

from __future__ import annotations

from typing import Any, ClassVar

from modelyard.errors import TokenizerError
from modelyard.tokenization.encoding import BatchEncoding
from modelyard.tokenization.encoding_options import EncodingOptions
from modelyard.tokenization.fast import PreTrainedTokenizerFast

VOCAB_FILES_NAMES = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}


class ByteLevelBPETokenizerFast(PreTrainedTokenizerFast):
    """Fast byte-level BPE tokenizer; families set the defaults of their special tokens.

    ``split_words_need_prefix_space``: encoding pre-split words (``is_split_into_words=True``) is refused unless
    the tokenizer was loaded with ``add_prefix_space=True`` (GPT-2 and RoBERTa, as the reference; Qwen2 has no
    such setting and sets it ``False``).
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012
    split_words_need_prefix_space: ClassVar[bool] = True

    def _check_split_words(self, options: EncodingOptions) -> None:
        if options.is_split_into_words and self.split_words_need_prefix_space and not self.add_prefix_space:
            raise TokenizerError(
                f"{type(self).__name__} encodes pre-split words only with a space before each; load it with "
                "add_prefix_space=True to pass is_split_into_words=True."
            )

    def _batch_encode_plus(self, batch: list[Any], options: EncodingOptions | None = None, **keywords: Any) -> BatchEncoding:
        options = EncodingOptions.of(options, keywords)
        self._check_split_words(options)
        return super()._batch_encode_plus(batch, options=options)

    def _encode_plus(self, text: Any, text_pair: Any = None, options: EncodingOptions | None = None,
                     **keywords: Any) -> BatchEncoding:  # fmt: skip
        options = EncodingOptions.of(options, keywords)
        self._check_split_words(options)
        return super()._encode_plus(text, text_pair, options=options)


__all__ = ["VOCAB_FILES_NAMES", "ByteLevelBPETokenizerFast"]
