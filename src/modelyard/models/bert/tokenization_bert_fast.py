"""``BertTokenizerFast``: BERT's WordPiece tokenizer on the Rust ``tokenizers`` library.

Loads ``tokenizer.json`` when there is one, else converts ``vocab.txt`` with the slow settings. If the
constructor's ``do_lower_case`` / ``strip_accents`` / ``tokenize_chinese_chars`` differ from the file's
normalizer, the normalizer is rebuilt so the arguments win.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from modelyard.models.bert.tokenization_bert import BertTokenizer
from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.fast import PreTrainedTokenizerFast

logger = logging.getLogger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "vocab.txt", "tokenizer_file": "tokenizer.json"}


class BertTokenizerFast(PreTrainedTokenizerFast):
    """Fast BERT tokenizer (``tokenizer.json`` or ``vocab.txt``); same ids as :class:`BertTokenizer`."""

    vocab_files_names = VOCAB_FILES_NAMES
    slow_tokenizer_class = BertTokenizer

    def __init__(
        self,
        vocab_file: str | os.PathLike[str] | None = None,
        tokenizer_file: str | os.PathLike[str] | None = None,
        do_lower_case: bool = True,
        unk_token: Any = "[UNK]",
        sep_token: Any = "[SEP]",
        pad_token: Any = "[PAD]",
        cls_token: Any = "[CLS]",
        mask_token: Any = "[MASK]",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        **kwargs: Any,
    ) -> None:
        # vocab_file goes positionally (to a conversion from it), so init_kwargs leaves it out, as the reference's do
        super().__init__(vocab_file, **constructor_arguments(leave_out=("vocab_file",)))
        state = self._normalizer_state()
        wanted = {"lowercase": do_lower_case, "strip_accents": strip_accents, "handle_chinese_chars": tokenize_chinese_chars}
        if state and any(state.get(key, value) != value for key, value in wanted.items()):
            from tokenizers import normalizers

            normalizer_class = getattr(normalizers, state.pop("type"))
            state.update(wanted)
            self._tokenizer.normalizer = normalizer_class(**state)
        self.do_lower_case = do_lower_case

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``."""
        output = [self.cls_token_id, *token_ids_0, self.sep_token_id]
        if token_ids_1 is not None:
            output += [*token_ids_1, self.sep_token_id]
        return output


__all__ = ["BertTokenizerFast"]
