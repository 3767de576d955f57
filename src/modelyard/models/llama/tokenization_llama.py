"""``LlamaTokenizer``: Llama's sentencepiece tokenizer (``tokenizer.model``), run by ``sentencepiece``.

``legacy=True`` (the default, as in the reference) lets sentencepiece add its dummy prefix to every piece
of text between added tokens; ``legacy=False`` adds one space only at the start of the text (with
``add_prefix_space``) and keeps text after a special token as written. ``add_bos_token`` / ``add_eos_token``
put ``<s>`` / ``</s>`` around each sequence.
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any

from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.added_tokens import AddedToken, special_added_tokens
from modelyard.tokenization.sentencepiece_model import SPIECE_UNDERLINE, load_processor
from modelyard.tokenization.slow import PreTrainedTokenizer

logger = logging.getLogger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "tokenizer.model"}
_SPECIAL = {"normalized": False, "special": True}


class LlamaTokenizer(PreTrainedTokenizer):
    """Llama tokenizer (slow, sentencepiece).

    Args:
        vocab_file: the sentencepiece model (``tokenizer.model``).
        unk_token, bos_token, eos_token, pad_token: ``<unk>``, ``<s>``, ``</s>``, none.
        sp_model_kwargs: passed to ``sentencepiece.SentencePieceProcessor`` (e.g. sampling settings).
        add_bos_token, add_eos_token: add ``<s>`` before / ``</s>`` after each sequence.
        legacy: see the module docstring; ``None`` means ``True``.
        add_prefix_space: with ``legacy=False``, put a space before the text.
    """

    vocab_files_names = VOCAB_FILES_NAMES
    mask_from_layout = True
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012

    def __init__(
        self,
        vocab_file: str | os.PathLike[str],
        unk_token: str | AddedToken | None = "<unk>",
        bos_token: str | AddedToken | None = "<s>",
        eos_token: str | AddedToken | None = "</s>",
        pad_token: str | AddedToken | None = None,
        sp_model_kwargs: dict[str, Any] | None = None,
        add_bos_token: bool = True,
        add_eos_token: bool = False,
        clean_up_tokenization_spaces: bool = False,
        use_default_system_prompt: bool = False,
        spaces_between_special_tokens: bool = False,
        legacy: bool | None = None,
        add_prefix_space: bool = True,
        **kwargs: Any,
    ) -> None:
        sp_model_kwargs = self.sp_model_kwargs = dict(sp_model_kwargs or {})
        if legacy is None:
            logger.info(
                "%s uses the legacy sentencepiece behaviour (legacy=True); pass legacy=False for the newer handling "
                "of text after special tokens.", type(self).__name__,
            )  # fmt: skip
            legacy = True
        self.legacy = legacy
        self.vocab_file = str(vocab_file) if vocab_file is not None else None
        self.add_bos_token = add_bos_token
        self.add_eos_token = add_eos_token
        self.use_default_system_prompt = use_default_system_prompt
        from_slow = kwargs.pop("from_slow", False)
        self.sp_model = load_processor(vocab_file, dummy_prefix=legacy or from_slow, sp_model_kwargs=self.sp_model_kwargs)
        self.add_prefix_space = add_prefix_space
        unk_token, bos_token, eos_token, pad_token = special_added_tokens(unk_token, bos_token, eos_token, pad_token, **_SPECIAL)
        super().__init__(**constructor_arguments(leave_out=("vocab_file",)))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["sp_model"] = None
        state["sp_model_proto"] = self.sp_model.serialized_model_proto()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import sentencepiece

        self.__dict__.update(state)
        self.sp_model = sentencepiece.SentencePieceProcessor(**self.sp_model_kwargs)
        self.sp_model.LoadFromSerializedProto(self.sp_model_proto)

    # ------------------------------------------------------------------ vocabulary
    @property
    def vocab_size(self) -> int:
        return self.sp_model.get_piece_size()

    def get_vocab(self) -> dict[str, int]:
        vocab = {self.sp_model.id_to_piece(i): i for i in range(self.vocab_size)}
        vocab.update(self.added_tokens_encoder)
        return vocab

    @property
    def unk_token_length(self) -> int:
        return len(self.sp_model.encode(str(self.unk_token)))

    def _convert_token_to_id(self, token: str) -> int:
        return self.sp_model.piece_to_id(token)

    def _convert_id_to_token(self, index: int) -> str:
        return self.sp_model.IdToPiece(index)

    # ------------------------------------------------------------------ tokenization
    def tokenize(self, text: str, **kwargs: Any) -> list[str]:  # type: ignore[override]  # as PreTrainedTokenizer's
        """Tokens of ``text``; without legacy, one prefix space at the start unless a special token follows."""
        if self.legacy or not text:
            return super().tokenize(text, **kwargs)
        text = text.replace(SPIECE_UNDERLINE, " ")
        if self.add_prefix_space:
            text = SPIECE_UNDERLINE + text
        tokens = super().tokenize(text, **kwargs)
        if len(tokens) > 1 and tokens[0] == SPIECE_UNDERLINE and tokens[1] in self._special_token_set():
            tokens = tokens[1:]
        return tokens

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        if self.legacy or not text.startswith((SPIECE_UNDERLINE, " ")):
            return self.sp_model.encode(text, out_type=str)
        # Without the dummy prefix sentencepiece drops a leading "▁"; encoding after the unknown token keeps it.
        tokens = self.sp_model.encode(str(self.unk_token) + text, out_type=str)
        length = self.unk_token_length
        return tokens[length:] if len(tokens) >= length else tokens

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        tokens = list(tokens)
        if tokens and tokens[0].startswith(SPIECE_UNDERLINE) and self.add_prefix_space:
            tokens[0] = tokens[0][1:]
        specials = self._special_token_set()
        pieces: list[str] = []
        out = ""
        previous_special = False
        for i, token in enumerate(tokens):
            if token in specials:
                if not previous_special and i != 0 and self.legacy:
                    out += " "
                out += self.sp_model.decode(pieces) + token
                previous_special = True
                pieces = []
            else:
                if previous_special and i == 1 and self.add_prefix_space and not token.startswith(SPIECE_UNDERLINE):
                    out += " "
                pieces.append(token)
                previous_special = False
        return out + self.sp_model.decode(pieces)

    # ------------------------------------------------------------------ special tokens
    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        bos = [self.bos_token_id] if self.add_bos_token else []
        eos = [self.eos_token_id] if self.add_eos_token else []
        output = bos + token_ids_0 + eos
        return output if token_ids_1 is None else output + bos + token_ids_1 + eos

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        extra = int(self.add_bos_token) + int(self.add_eos_token)
        types = [0] * (len(token_ids_0) + extra)
        return types if token_ids_1 is None else types + [1] * (len(token_ids_1) + extra)

    # ------------------------------------------------------------------ saving
    def save_vocabulary(self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None) -> tuple[str, ...]:
        if not os.path.isdir(save_directory):
            raise NotADirectoryError(f"save_vocabulary needs an existing folder, got {str(save_directory)!r}.")
        target = os.path.join(save_directory, (f"{filename_prefix}-" if filename_prefix else "") + VOCAB_FILES_NAMES["vocab_file"])
        source = self.vocab_file
        if source and os.path.isfile(source):
            if os.path.abspath(source) != os.path.abspath(target):
                shutil.copyfile(source, target)
        else:
            with open(target, "wb") as handle:
                handle.write(self.sp_model.serialized_model_proto())
        return (target,)


__all__ = ["LlamaTokenizer"]
