"""``DistilBertTokenizerFast``: BERT's fast WordPiece tokenizer, without token types."""

from __future__ import annotations

from modelyard.models.bert.tokenization_bert_fast import VOCAB_FILES_NAMES, BertTokenizerFast
from modelyard.models.distilbert.tokenization_distilbert import DistilBertTokenizer


class DistilBertTokenizerFast(BertTokenizerFast):
    """Fast DistilBERT tokenizer: :class:`BertTokenizerFast` whose outputs have no ``token_type_ids``."""

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012
    slow_tokenizer_class = DistilBertTokenizer


__all__ = ["DistilBertTokenizerFast"]
