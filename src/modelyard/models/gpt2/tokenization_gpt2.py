"""``GPT2Tokenizer``: GPT-2's byte-level BPE in pure Python (``vocab.json`` + ``merges.txt``).

Spaces belong to the word after them, so "Hello" and " Hello" are different tokens; ``add_prefix_space=True``
(or ``is_split_into_words=True``) puts a space before the text. ``add_bos_token=True`` starts every sequence
with the BOS token. Ids equal the reference's ``GPT2Tokenizer`` and this family's fast tokenizer.
"""

from __future__ import annotations

import os
from typing import Any

from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.added_tokens import AddedToken, special_added_tokens

# VOCAB_FILES_NAMES: the reference defines it in this module, and its tests import it from here
from modelyard.tokenization.byte_level_bpe import VOCAB_FILES_NAMES, ByteLevelBPETokenizer  # noqa: F401


class GPT2Tokenizer(ByteLevelBPETokenizer):
    """GPT-2 tokenizer (slow): byte-level BPE with GPT-2's pre-tokeniser.

    Args:
        vocab_file: ``vocab.json`` (token -> id).
        merges_file: ``merges.txt`` (merge rules in rank order).
        errors: how invalid UTF-8 is decoded (``bytes.decode``'s ``errors``).
        unk_token, bos_token, eos_token: default ``<|endoftext|>``; pad_token: none by default.
        add_prefix_space: put a space before the text, so its first word is encoded like any other.
        add_bos_token: start each sequence (and each of a pair) with ``bos_token``.
    """

    def __init__(
        self,
        vocab_file: str | os.PathLike[str],
        merges_file: str | os.PathLike[str],
        errors: str = "replace",
        unk_token: str | AddedToken | None = "<|endoftext|>",
        bos_token: str | AddedToken | None = "<|endoftext|>",
        eos_token: str | AddedToken | None = "<|endoftext|>",
        pad_token: str | AddedToken | None = None,
        add_prefix_space: bool = False,
        add_bos_token: bool = False,
        **kwargs: Any,
    ) -> None:
        self.add_bos_token = add_bos_token
        self.add_prefix_space = add_prefix_space
        unk_token, bos_token, eos_token, pad_token = special_added_tokens(
            unk_token, bos_token, eos_token, pad_token, lstrip=False, rstrip=False
        )
        super().__init__(**constructor_arguments())

    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        add_prefix_space = kwargs.pop("add_prefix_space", self.add_prefix_space)
        if is_split_into_words or add_prefix_space:
            text = " " + text
        return text, kwargs

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """``[BOS] A`` / ``[BOS] A [BOS] B`` with ``add_bos_token``, else ``A`` / ``A B``."""
        bos = [self.bos_token_id] if self.add_bos_token else []
        output = bos + token_ids_0
        return output if token_ids_1 is None else output + bos + token_ids_1


__all__ = ["GPT2Tokenizer"]
