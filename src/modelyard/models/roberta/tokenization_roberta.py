"""``RobertaTokenizer``: RoBERTa's byte-level BPE (GPT-2's algorithm and pre-tokeniser) in pure Python, with
RoBERTa's special tokens: ``<s> A </s>`` and, for a pair, ``<s> A </s></s> B </s>``.

Ids equal the reference's ``RobertaTokenizer`` and this family's fast tokenizer.
"""

from __future__ import annotations

import os
from typing import Any

from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.added_tokens import AddedToken, special_added_token, special_added_tokens

# VOCAB_FILES_NAMES: the reference defines it in this module, and its tests import it from here
from modelyard.tokenization.byte_level_bpe import VOCAB_FILES_NAMES, ByteLevelBPETokenizer  # noqa: F401


class RobertaTokenizer(ByteLevelBPETokenizer):
    """RoBERTa tokenizer (slow): byte-level BPE; spaces belong to the word after them, so a text's first word is
    spelled differently from the same word inside it unless ``add_prefix_space=True``.

    Args:
        vocab_file: ``vocab.json`` (token -> id).
        merges_file: ``merges.txt`` (merge rules in rank order).
        errors: how invalid UTF-8 is decoded (``bytes.decode``'s ``errors``).
        bos_token, eos_token, sep_token, cls_token, unk_token, pad_token, mask_token: ``<s>``, ``</s>``, ``</s>``,
            ``<s>``, ``<unk>``, ``<pad>``, ``<mask>`` by default; the mask token takes the space before it
            (``lstrip``), so ``"a <mask>"`` predicts the word with its space.
        add_prefix_space: put a space before the text (needed for ``is_split_into_words=True``).
    """

    def __init__(
        self,
        vocab_file: str | os.PathLike[str],
        merges_file: str | os.PathLike[str],
        errors: str = "replace",
        bos_token: str | AddedToken | None = "<s>",
        eos_token: str | AddedToken | None = "</s>",
        sep_token: str | AddedToken | None = "</s>",
        cls_token: str | AddedToken | None = "<s>",
        unk_token: str | AddedToken | None = "<unk>",
        pad_token: str | AddedToken | None = "<pad>",
        mask_token: str | AddedToken | None = "<mask>",
        add_prefix_space: bool = False,
        **kwargs: Any,
    ) -> None:
        self.add_prefix_space = add_prefix_space
        bos_token, eos_token, sep_token, cls_token, unk_token, pad_token = special_added_tokens(
            bos_token, eos_token, sep_token, cls_token, unk_token, pad_token, lstrip=False, rstrip=False
        )
        mask_token = special_added_token(mask_token, lstrip=True, rstrip=False)
        super().__init__(**constructor_arguments())

    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        add_prefix_space = kwargs.pop("add_prefix_space", self.add_prefix_space)
        if (is_split_into_words or add_prefix_space) and text and not text[0].isspace():
            text = " " + text
        return text, kwargs

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """``<s> A </s>``, or ``<s> A </s></s> B </s>`` for a pair."""
        cls, sep = [self.cls_token_id], [self.sep_token_id]
        if token_ids_1 is None:
            return cls + token_ids_0 + sep
        return cls + token_ids_0 + sep + sep + token_ids_1 + sep

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """All zeros: RoBERTa has no segment embeddings to tell the sequences of a pair apart."""
        return [0] * len(self.build_inputs_with_special_tokens(token_ids_0, token_ids_1))


__all__ = ["RobertaTokenizer"]
