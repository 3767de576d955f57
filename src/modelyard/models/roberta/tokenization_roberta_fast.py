"""``RobertaTokenizerFast``: RoBERTa's byte-level BPE on the Rust ``tokenizers`` library.

Loads ``tokenizer.json``, or converts ``vocab.json`` + ``merges.txt`` (``modelyard.tokenization.convert``: the
BPE of GPT-2 with RoBERTa's ``<s> A </s></s> B </s>`` post-processor).
"""

from __future__ import annotations

import json
import os
from typing import Any

from modelyard.models.roberta.tokenization_roberta import RobertaTokenizer
from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.added_tokens import AddedToken

# VOCAB_FILES_NAMES: the reference defines it in this module, and its tests import it from here
from modelyard.tokenization.byte_level_bpe_fast import VOCAB_FILES_NAMES, ByteLevelBPETokenizerFast  # noqa: F401


class RobertaTokenizerFast(ByteLevelBPETokenizerFast):
    """Fast RoBERTa tokenizer; same ids as :class:`RobertaTokenizer` (and the reference's fast class).

    ``add_prefix_space`` puts a space before the text (pre-split words, ``is_split_into_words=True``, need it);
    ``trim_offsets`` leaves the spaces out of the offsets of ``return_offsets_mapping``.
    """

    slow_tokenizer_class = RobertaTokenizer

    def __init__(
        self,
        vocab_file: str | os.PathLike[str] | None = None,
        merges_file: str | os.PathLike[str] | None = None,
        tokenizer_file: str | os.PathLike[str] | None = None,
        errors: str = "replace",
        bos_token: str | AddedToken | None = "<s>",
        eos_token: str | AddedToken | None = "</s>",
        sep_token: str | AddedToken | None = "</s>",
        cls_token: str | AddedToken | None = "<s>",
        unk_token: str | AddedToken | None = "<unk>",
        pad_token: str | AddedToken | None = "<pad>",
        mask_token: str | AddedToken | None = "<mask>",
        add_prefix_space: bool = False,
        trim_offsets: bool = True,
        **kwargs: Any,
    ) -> None:
        if isinstance(mask_token, str):  # takes the space before it, as in the slow tokenizer
            mask_token = AddedToken(mask_token, lstrip=True, rstrip=False, normalized=False)
        super().__init__(**constructor_arguments())
        self.add_prefix_space = add_prefix_space
        self.trim_offsets = trim_offsets
        self._sync_post_processor()

    def _sync_post_processor(self) -> None:
        """A ``tokenizer.json`` carries its own ``add_prefix_space`` / ``trim_offsets`` in the post-processor (they
        shape the offsets): the keywords given here win, as in the reference."""
        from tokenizers import processors

        processor = self.backend_tokenizer.post_processor
        state = json.loads(processor.__getstate__()) if processor is not None else {}
        if state.get("type") != "RobertaProcessing":
            return
        if state.get("add_prefix_space") != self.add_prefix_space or state.get("trim_offsets") != self.trim_offsets:
            self.backend_tokenizer.post_processor = processors.RobertaProcessing(
                tuple(state["sep"]), tuple(state["cls"]), trim_offsets=self.trim_offsets,
                add_prefix_space=self.add_prefix_space,
            )

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """All zeros: RoBERTa has no segment embeddings to tell the sequences of a pair apart."""
        extra = 4 if token_ids_1 is not None else 2
        return [0] * (len(token_ids_0) + len(token_ids_1 or []) + extra)


__all__ = ["RobertaTokenizerFast"]
