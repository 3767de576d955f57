"""``DistilBertTokenizer``: DistilBERT uses BERT's WordPiece tokenizer unchanged, without token types."""

from __future__ import annotations

from modelyard.models.bert.tokenization_bert import VOCAB_FILES_NAMES, BertTokenizer


class DistilBertTokenizer(BertTokenizer):
    """Slow DistilBERT tokenizer: :class:`BertTokenizer` whose outputs have no ``token_type_ids``.

    >>> tokenizer = DistilBertTokenizer(vocab_file="my_vocab_file.txt", do_lower_case=False, padding_side="left")  # doctest: +SKIP
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012


__all__ = ["DistilBertTokenizer"]
