"""``Qwen2Tokenizer``: Qwen2's byte-level BPE in pure Python (``vocab.json`` + ``merges.txt``).

Like GPT-2's, with Qwen2's pre-tokeniser (case-insensitive contractions, one digit per pre-token, newline
runs apart) and NFC normalisation first. Special tokens are never normalised; decoding puts no spaces
between special tokens and does not clean up spaces, as the reference's ``Qwen2Tokenizer``.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from typing import Any

from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.added_tokens import AddedToken, special_added_tokens

# VOCAB_FILES_NAMES: the reference defines it in this module, and its tests import it from here
from modelyard.tokenization.byte_level_bpe import VOCAB_FILES_NAMES, ByteLevelBPETokenizer, qwen2_pattern  # noqa: F401

logger = logging.getLogger(__name__)

# Qwen2's special tokens, given as strings, are never stripped of spaces or normalised (slow and fast alike).
SPECIAL_TOKEN_FLAGS = {"lstrip": False, "rstrip": False, "special": True, "normalized": False}


class Qwen2Tokenizer(ByteLevelBPETokenizer):
    """Qwen2 tokenizer (slow). Defaults: ``<|endoftext|>`` as unknown, end and padding token; no BOS."""

    pattern = staticmethod(qwen2_pattern)
    merges_drop_first_line = False  # a "#version" first line and blank lines are skipped, as the reference reads

    def __init__(
        self,
        vocab_file: str | os.PathLike[str],
        merges_file: str | os.PathLike[str],
        errors: str = "replace",
        unk_token: str | AddedToken | None = "<|endoftext|>",
        bos_token: str | AddedToken | None = None,
        eos_token: str | AddedToken | None = "<|endoftext|>",
        pad_token: str | AddedToken | None = "<|endoftext|>",
        clean_up_tokenization_spaces: bool = False,
        split_special_tokens: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("add_prefix_space", False):
            logger.warning("%s has no add_prefix_space setting; add_prefix_space=True has no effect.", type(self).__name__)
        unk_token, bos_token, eos_token, pad_token = special_added_tokens(
            unk_token, bos_token, eos_token, pad_token, **SPECIAL_TOKEN_FLAGS
        )
        super().__init__(**constructor_arguments())

    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        return unicodedata.normalize("NFC", text), kwargs

    def decode(
        self,
        token_ids: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = False,
        spaces_between_special_tokens: bool = False,
        **kwargs: Any,
    ) -> str:
        return super().decode(
            token_ids,
            skip_special_tokens=skip_special_tokens,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            spaces_between_special_tokens=spaces_between_special_tokens,
            **kwargs,
        )


__all__ = ["Qwen2Tokenizer"]
