"""``Qwen2TokenizerFast``: Qwen2's byte-level BPE on the Rust ``tokenizers`` library (NFC, Qwen2's split
regex, byte-level spelling); same ids as :class:`Qwen2Tokenizer`."""

from __future__ import annotations

import os
from typing import Any

from modelyard.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer
from modelyard.tokenization.added_tokens import AddedToken
from modelyard.tokenization.byte_level_bpe import special_added_token
from modelyard.tokenization.fast import PreTrainedTokenizerFast

VOCAB_FILES_NAMES = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}
_SPECIAL = {"lstrip": False, "rstrip": False, "special": True, "normalized": False}


class Qwen2TokenizerFast(PreTrainedTokenizerFast):
    """Fast Qwen2 tokenizer (``tokenizer.json``, or converted from ``vocab.json`` + ``merges.txt``)."""

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012
    slow_tokenizer_class = Qwen2Tokenizer

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
        super().__init__(
            vocab_file=vocab_file,
            merges_file=merges_file,
            tokenizer_file=tokenizer_file,
            unk_token=special_added_token(unk_token, **_SPECIAL),
            bos_token=special_added_token(bos_token, **_SPECIAL),
            eos_token=special_added_token(eos_token, **_SPECIAL),
            pad_token=special_added_token(pad_token, **_SPECIAL),
            **kwargs,
        )


__all__ = ["Qwen2TokenizerFast"]
