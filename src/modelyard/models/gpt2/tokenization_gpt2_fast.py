"""``GPT2TokenizerFast``: GPT-2's byte-level BPE on the Rust ``tokenizers`` library.

Loads ``tokenizer.json``, or converts ``vocab.json`` + ``merges.txt`` (see ``modelyard.tokenization.convert``).
Encoding is one ``encode_batch`` call in Rust; nothing here runs per token.
"""

from __future__ import annotations

import os
from typing import Any

from modelyard.models.gpt2.tokenization_gpt2 import GPT2Tokenizer
from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.added_tokens import AddedToken

# VOCAB_FILES_NAMES: the reference defines it in this module, and its tests import it from here
from modelyard.tokenization.byte_level_bpe_fast import VOCAB_FILES_NAMES, ByteLevelBPETokenizerFast  # noqa: F401


class GPT2TokenizerFast(ByteLevelBPETokenizerFast):
    """Fast GPT-2 tokenizer; same ids as :class:`GPT2Tokenizer` (and the reference's fast class).

    ``add_prefix_space`` updates the backend's pre-tokenizer; pre-split words (``is_split_into_words=True``)
    need it. ``add_bos_token`` is kept as a setting: the BOS is added by the backend's post-processor, which a
    ``tokenizer.json`` defines (a conversion from the slow files builds it from ``add_bos_token``).
    """

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
        super().__init__(**constructor_arguments())
        self.add_bos_token = add_bos_token


__all__ = ["GPT2TokenizerFast"]
