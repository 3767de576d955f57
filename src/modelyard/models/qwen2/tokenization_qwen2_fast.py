"""``Qwen2TokenizerFast``: Qwen2's byte-level BPE on the Rust ``tokenizers`` library (NFC, Qwen2's split
regex, byte-level spelling); same ids as :class:`Qwen2Tokenizer`."""

from __future__ import annotations

import os
from typing import Any

from modelyard.models.qwen2.tokenization_qwen2 import SPECIAL_TOKEN_FLAGS, Qwen2Tokenizer
from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.added_tokens import AddedToken, special_added_tokens

# VOCAB_FILES_NAMES: the reference defines it in this module, and its tests import it from here
from modelyard.tokenization.byte_level_bpe_fast import VOCAB_FILES_NAMES, ByteLevelBPETokenizerFast  # noqa: F401


class Qwen2TokenizerFast(ByteLevelBPETokenizerFast):
    """Fast Qwen2 tokenizer (``tokenizer.json``, or converted from ``vocab.json`` + ``merges.txt``)."""

    slow_tokenizer_class = Qwen2Tokenizer
    split_words_need_prefix_space = False

    def __init__(
        self,
        vocab_file: str | os.PathLike[str] | None = None,
        merges_file: str | os.PathLike[str] | None = None,
        tokenizer_file: str | os.PathLike[str] | None = None,
        unk_token: str | AddedToken | None = "<|endoftext|>",
        bos_token: str | AddedToken | None = None,
        eos_token: str | AddedToken | None = "<|endoftext|>",
        pad_token: str | AddedToken | None = "<|endoftext|>",
        **kwargs: Any,
    ) -> None:
        unk_token, bos_token, eos_token, pad_token = special_added_tokens(
            unk_token, bos_token, eos_token, pad_token, **SPECIAL_TOKEN_FLAGS
        )
        super().__init__(**constructor_arguments())


__all__ = ["Qwen2TokenizerFast"]
