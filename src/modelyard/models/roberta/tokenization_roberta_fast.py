"""``RobertaTokenizerFast``: RoBERTa's byte-level BPE on the Rust ``tokenizers`` library.

Loads ``tokenizer.json``, or converts ``vocab.json`` + ``merges.txt`` (``modelyard.tokenization.convert``: the
BPE of GPT-2 with RoBERTa's ``<s> A </s></s> B </s>`` post-processor).
"""

from __future__ import annotations

import json
import os
from typing import Any

from modelyard.errors import TokenizerError
from modelyard.models.roberta.tokenization_roberta import RobertaTokenizer
from modelyard.tokenization.added_tokens import AddedToken
from modelyard.tokenization.encoding import BatchEncoding
from modelyard.tokenization.encoding_options import EncodingOptions
from modelyard.tokenization.fast import PreTrainedTokenizerFast

VOCAB_FILES_NAMES = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}


class RobertaTokenizerFast(PreTrainedTokenizerFast):
    """Fast RoBERTa tokenizer; same ids as :class:`RobertaTokenizer` (and the reference's fast class).

    ``add_prefix_space`` puts a space before the text (pre-split words, ``is_split_into_words=True``, need it);
    ``trim_offsets`` leaves the spaces out of the offsets of ``return_offsets_mapping``.
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012
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
        super().__init__(
            vocab_file=vocab_file,
            merges_file=merges_file,
            tokenizer_file=tokenizer_file,
            errors=errors,
            bos_token=bos_token,
            eos_token=eos_token,
            sep_token=sep_token,
            cls_token=cls_token,
            unk_token=unk_token,
            pad_token=pad_token,
            mask_token=mask_token,
            add_prefix_space=add_prefix_space,
            trim_offsets=trim_offsets,
            **kwargs,
        )
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

    def _check_split_words(self, options: EncodingOptions) -> None:
        if options.is_split_into_words and not self.add_prefix_space:
            raise TokenizerError(
                f"{type(self).__name__} encodes pre-split words only with a space before each; load it with "
                "add_prefix_space=True to pass is_split_into_words=True."
            )

    def _batch_encode_plus(self, batch: list[Any], options: EncodingOptions | None = None, **keywords: Any) -> BatchEncoding:
        options = EncodingOptions.of(options, keywords)
        self._check_split_words(options)
        return super()._batch_encode_plus(batch, options=options)

    def _encode_plus(self, text: Any, text_pair: Any = None, options: EncodingOptions | None = None,
                     **keywords: Any) -> BatchEncoding:  # fmt: skip
        options = EncodingOptions.of(options, keywords)
        self._check_split_words(options)
        return super()._encode_plus(text, text_pair, options=options)

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """All zeros: RoBERTa has no segment embeddings to tell the sequences of a pair apart."""
        extra = 4 if token_ids_1 is not None else 2
        return [0] * (len(token_ids_0) + len(token_ids_1 or []) + extra)


__all__ = ["RobertaTokenizerFast"]
