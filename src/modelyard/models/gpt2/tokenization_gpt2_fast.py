"""``GPT2TokenizerFast``: GPT-2's byte-level BPE on the Rust ``tokenizers`` library.

Loads ``tokenizer.json``, or converts ``vocab.json`` + ``merges.txt`` (see ``modelyard.tokenization.convert``).
Encoding is one ``encode_batch`` call in Rust; nothing here runs per token.
"""

from __future__ import annotations

import os
from typing import Any

from modelyard.errors import TokenizerError
from modelyard.models.gpt2.tokenization_gpt2 import GPT2Tokenizer
from modelyard.tokenization.added_tokens import AddedToken
from modelyard.tokenization.encoding import BatchEncoding
from modelyard.tokenization.encoding_options import EncodingOptions
from modelyard.tokenization.fast import PreTrainedTokenizerFast

VOCAB_FILES_NAMES = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}


class GPT2TokenizerFast(PreTrainedTokenizerFast):
    """Fast GPT-2 tokenizer; same ids as :class:`GPT2Tokenizer` (and the reference's fast class).

    ``add_prefix_space`` updates the backend's pre-tokenizer; pre-split words (``is_split_into_words=True``)
    need it. ``add_bos_token`` is kept as a setting: the BOS is added by the backend's post-processor, which a
    ``tokenizer.json`` defines (a conversion from the slow files builds it from ``add_bos_token``).
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012
    slow_tokenizer_class = GPT2Tokenizer

    def __init__(
        self,
        vocab_file: str | os.PathLike[str] | None = None,
        merges_file: str | os.PathLike[str] | None = None,
        tokenizer_file: str | os.PathLike[str] | None = None,
        unk_token: str | AddedToken | None = "<|endoftext|>",
        bos_token: str | AddedToken | None = "<|endoftext|>",
        eos_token: str | AddedToken | None = "<|endoftext|>",
        add_prefix_space: bool = False,
        add_bos_token: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            vocab_file=vocab_file,
            merges_file=merges_file,
            tokenizer_file=tokenizer_file,
            unk_token=unk_token,
            bos_token=bos_token,
            eos_token=eos_token,
            add_prefix_space=add_prefix_space,
            add_bos_token=add_bos_token,
            **kwargs,
        )
        self.add_bos_token = add_bos_token

    def _check_split_words(self, options: EncodingOptions) -> None:
        if options.is_split_into_words and not self.add_prefix_space:
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


__all__ = ["GPT2TokenizerFast"]
