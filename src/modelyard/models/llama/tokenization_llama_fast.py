"""``LlamaTokenizerFast``: Llama's tokenizer on the Rust ``tokenizers`` library (``tokenizer.json``, or
converted from ``tokenizer.model``). ``add_bos_token`` / ``add_eos_token`` rebuild the post-processor."""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any, overload

from modelyard.errors import TokenizerError
from modelyard.models.llama.tokenization_llama import LlamaTokenizer
from modelyard.pretrained_io import constructor_arguments
from modelyard.tokenization.added_tokens import AddedToken
from modelyard.tokenization.fast import PreTrainedTokenizerFast

logger = logging.getLogger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "tokenizer.model", "tokenizer_file": "tokenizer.json"}


class _PostProcessorFlag:
    """A setting the backend's post-processor is built from (``add_bos_token``, ``add_eos_token``): setting it
    rebuilds the template, so ``tokenizer.add_eos_token = True`` takes effect at once."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._stored = f"_{name}"

    @overload
    def __get__(self, tokenizer: None, owner: type) -> _PostProcessorFlag: ...

    @overload
    def __get__(self, tokenizer: LlamaTokenizerFast, owner: type | None = None) -> bool: ...

    def __get__(self, tokenizer: LlamaTokenizerFast | None, owner: type | None = None) -> bool | _PostProcessorFlag:
        return self if tokenizer is None else getattr(tokenizer, self._stored)

    def __set__(self, tokenizer: LlamaTokenizerFast, value: bool) -> None:
        setattr(tokenizer, self._stored, value)
        tokenizer.update_post_processor()


class LlamaTokenizerFast(PreTrainedTokenizerFast):
    """Fast Llama tokenizer; same ids as :class:`LlamaTokenizer` (``legacy`` and ``add_prefix_space`` as there;
    giving ``add_prefix_space`` converts from ``tokenizer.model`` so the setting takes effect)."""

    vocab_files_names = VOCAB_FILES_NAMES
    slow_tokenizer_class = LlamaTokenizer
    padding_side = "left"
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012

    def __init__(
        self,
        vocab_file: str | os.PathLike[str] | None = None,
        tokenizer_file: str | os.PathLike[str] | None = None,
        clean_up_tokenization_spaces: bool = False,
        unk_token: str | AddedToken | None = "<unk>",
        bos_token: str | AddedToken | None = "<s>",
        eos_token: str | AddedToken | None = "</s>",
        add_bos_token: bool = True,
        add_eos_token: bool = False,
        use_default_system_prompt: bool = False,
        legacy: bool | None = None,
        add_prefix_space: bool | None = None,
        **kwargs: Any,
    ) -> None:
        if legacy is None:
            legacy = True
        self.legacy = legacy
        if add_prefix_space is not None:
            kwargs["from_slow"] = True
        super().__init__(**constructor_arguments())
        self._add_bos_token = add_bos_token
        self._add_eos_token = add_eos_token
        self.update_post_processor()
        self.use_default_system_prompt = use_default_system_prompt
        self.vocab_file = str(vocab_file) if vocab_file is not None else None

    def update_post_processor(self) -> None:
        """Rebuild the backend's template from ``bos_token``/``eos_token`` and ``add_bos_token``/``add_eos_token``."""
        from tokenizers import processors

        bos, eos = self.bos_token, self.eos_token
        if bos is None and self.add_bos_token:
            raise TokenizerError("add_bos_token=True but bos_token is None; set a bos_token or add_bos_token=False.")
        if eos is None and self.add_eos_token:
            raise TokenizerError("add_eos_token=True but eos_token is None; set an eos_token or add_eos_token=False.")
        first = f"{bos}:0 " if self.add_bos_token else ""
        last = f" {eos}:0" if self.add_eos_token else ""
        single = f"{first}$A:0{last}"
        pair = f"{single}{f' {bos}:1' if self.add_bos_token else ''} $B:1{f' {eos}:1' if self.add_eos_token else ''}"
        special = []
        if self.add_bos_token:
            special.append((bos, self.bos_token_id))
        if self.add_eos_token:
            special.append((eos, self.eos_token_id))
        self._tokenizer.post_processor = processors.TemplateProcessing(single=single, pair=pair, special_tokens=special)

    add_bos_token = _PostProcessorFlag()
    add_eos_token = _PostProcessorFlag()

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        bos = [self.bos_token_id] if self.add_bos_token else []
        eos = [self.eos_token_id] if self.add_eos_token else []
        output = bos + token_ids_0 + eos
        return output if token_ids_1 is None else output + bos + token_ids_1 + eos

    def save_vocabulary(self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None) -> tuple[str, ...]:
        if not self.can_save_slow_tokenizer:
            raise TokenizerError(
                f"{type(self).__name__} has no tokenizer.model to save (it was loaded from tokenizer.json alone); "
                "save with legacy_format=False."
            )
        target = os.path.join(save_directory, (f"{filename_prefix}-" if filename_prefix else "") + VOCAB_FILES_NAMES["vocab_file"])
        if os.path.abspath(str(self.vocab_file)) != os.path.abspath(target):
            shutil.copyfile(str(self.vocab_file), target)
        return (target,)


__all__ = ["LlamaTokenizerFast"]
