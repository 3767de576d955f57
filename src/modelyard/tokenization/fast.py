"""``PreTrainedTokenizerFast``: tokenizers backed by the Rust ``tokenizers`` library.

The backend comes from ``tokenizer.json``, from a ``tokenizers.Tokenizer`` object, or is converted from the
slow tokenizer's files (``modelyard.tokenization.convert``). Padding and truncation are configured on the
backend and done in Rust inside ``encode_batch``; Python only gathers the fields asked for, so batches cost
little more than calling ``tokenizers`` directly. ``BatchEncoding``s keep the Rust encodings for offsets,
``word_ids`` and ``char_to_token``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path
from typing import Any, ClassVar

from modelyard.errors import TokenizerError
from modelyard.tokenization import serialization
from modelyard.tokenization.added_tokens import AddedToken
from modelyard.tokenization.base import PreTrainedTokenizerBase
from modelyard.tokenization.encoding import BatchEncoding
from modelyard.tokenization.encoding_options import EncodingOptions
from modelyard.tokenization.padding import PaddingStrategy, TruncationStrategy

logger = logging.getLogger(__name__)

VOCAB_FILES_NAMES = {"tokenizer_file": serialization.FULL_TOKENIZER_FILE}


def _rust(token: str | AddedToken | Any) -> Any:
    return token.to_rust() if isinstance(token, AddedToken) else token


class PreTrainedTokenizerFast(PreTrainedTokenizerBase):
    """Base class of fast tokenizers; usable directly with ``tokenizer_file=`` or ``tokenizer_object=``."""

    vocab_files_names = VOCAB_FILES_NAMES
    slow_tokenizer_class: ClassVar[type[Any] | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from tokenizers import Tokenizer

        tokenizer_object = kwargs.pop("tokenizer_object", None)
        slow_tokenizer = kwargs.pop("__slow_tokenizer", None)
        tokenizer_file = kwargs.pop("tokenizer_file", None)
        from_slow = kwargs.pop("from_slow", False)
        added_tokens_decoder = {int(i): AddedToken.from_any(t) for i, t in (kwargs.pop("added_tokens_decoder", None) or {}).items()}
        self.add_prefix_space = kwargs.get("add_prefix_space", False)
        if from_slow and slow_tokenizer is None and self.slow_tokenizer_class is None:
            raise TokenizerError(f"{type(self).__name__} has no slow tokenizer class to convert from (from_slow=True).")
        if tokenizer_object is not None:
            backend = copy.deepcopy(tokenizer_object)
        elif tokenizer_file is not None and not from_slow:
            backend = Tokenizer.from_file(str(tokenizer_file))
        elif slow_tokenizer is not None:
            from modelyard.tokenization.convert import convert_slow_tokenizer

            backend = convert_slow_tokenizer(slow_tokenizer)
        elif self.slow_tokenizer_class is not None and slow_tokenizer is not False:
            from modelyard.tokenization.convert import convert_slow_tokenizer

            slow_tokenizer = self.slow_tokenizer_class(*args, **kwargs)
            backend = convert_slow_tokenizer(slow_tokenizer)
        else:
            raise TokenizerError(
                f"{type(self).__name__} needs a backend: pass tokenizer_file=<tokenizer.json>, tokenizer_object="
                "<tokenizers.Tokenizer>, or the vocabulary files of its slow tokenizer."
            )
        self._tokenizer = backend
        if slow_tokenizer is not None:
            kwargs.update(slow_tokenizer.init_kwargs)
        self._decode_use_source_tokenizer = False

        # The backend's own padding/truncation settings become the defaults (and are kept for saving).
        truncation, padding = backend.truncation, backend.padding
        if truncation is not None:
            kwargs.setdefault("max_length", truncation["max_length"])
            kwargs.setdefault("truncation_side", truncation["direction"])
            kwargs.setdefault("stride", truncation["stride"])
            kwargs.setdefault("truncation_strategy", truncation["strategy"])
        if padding is not None:
            kwargs.setdefault("pad_token", padding["pad_token"])
            kwargs.setdefault("pad_token_type_id", padding["pad_type_id"])
            kwargs.setdefault("padding_side", padding["direction"])
            kwargs.setdefault("max_length", padding["length"])
            kwargs.setdefault("pad_to_multiple_of", padding["pad_to_multiple_of"])
        self._file_state = (truncation, padding)
        self._applied_state: tuple[Any, Any] | None = None
        super().__init__(**kwargs)
        backend.encode_special_tokens = self.split_special_tokens
        self._register_added_tokens(added_tokens_decoder)
        self._sync_prefix_space()

    def _sync_prefix_space(self) -> None:
        """Make the backend's pre-tokenizer follow ``add_prefix_space`` when it has that setting (as the reference)."""
        pre_tokenizer = self._tokenizer.pre_tokenizer
        if pre_tokenizer is None:
            return
        try:
            state = json.loads(pre_tokenizer.__getstate__())
        except Exception:  # a custom pre-tokenizer that cannot be serialised has no setting to follow
            return
        if state.get("add_prefix_space", self.add_prefix_space) != self.add_prefix_space:
            from tokenizers import pre_tokenizers

            state["add_prefix_space"] = self.add_prefix_space
            try:
                self._tokenizer.pre_tokenizer = getattr(pre_tokenizers, state.pop("type"))(**state)
            except Exception as err:  # a state the constructor does not take back: keep the file's setting
                logger.debug("Could not set add_prefix_space on the pre-tokenizer: %s", err)

    def _register_added_tokens(self, added_tokens_decoder: dict[int, AddedToken]) -> None:
        """Make sure the backend knows the saved added tokens and every special token."""
        to_add: list[Any] = [token for _, token in sorted(added_tokens_decoder.items())]
        known = list(self.added_tokens_encoder) + [str(t) for t in to_add]
        # As in the reference: special tokens given as AddedToken are (re-)sent to the backend, which updates
        # their flags; plain-string ones only when the backend does not know them yet.
        to_add += [
            t for t in self.all_special_tokens_extended if (isinstance(t, AddedToken) or t not in known) and t not in to_add
        ]
        if not to_add:
            return
        specials = self._special_token_set()
        tokens: list[str | AddedToken] = []
        for token in to_add:
            if isinstance(token, str):
                tokens.append(AddedToken(token, special=token in specials))
            else:
                token.special = token.special or str(token) in specials
                tokens.append(token)
        self.add_tokens(tokens)

    @property
    def is_fast(self) -> bool:
        return True

    @classmethod
    def _required_file_groups(cls) -> list[list[str]]:
        groups = [["tokenizer_file"]]
        if cls.slow_tokenizer_class is not None:
            groups.append(list(cls.slow_tokenizer_class.vocab_files_names))
        return groups

    @property
    def can_save_slow_tokenizer(self) -> bool:
        """Whether the slow-format files (vocabulary) can be written; sentencepiece needs its original file."""
        vocab_name = self.vocab_files_names.get("vocab_file", "")
        if vocab_name.endswith(".model"):
            vocab_file = getattr(self, "vocab_file", None)
            return bool(vocab_file and Path(vocab_file).is_file())
        return True

    @property
    def backend_tokenizer(self) -> Any:
        """The ``tokenizers.Tokenizer`` doing the work."""
        return self._tokenizer

    @property
    def decoder(self) -> Any:
        return self._tokenizer.decoder

    def train_new_from_iterator(
        self,
        text_iterator: Any,
        vocab_size: int,
        length: int | None = None,
        new_special_tokens: list[str | AddedToken] | None = None,
        special_tokens_map: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> PreTrainedTokenizerFast:
        """A tokenizer of this class whose vocabulary (``vocab_size`` entries) is learnt from ``text_iterator``
        (strings, or batches of strings), with this one's normalisation, pre-tokenisation and special tokens.

        ``length`` is the number of items (for the progress display), ``new_special_tokens`` adds special tokens,
        ``special_tokens_map`` renames some (``{"[CLS]": "<cls>"}``); other keywords go to the ``tokenizers``
        trainer (``min_frequency``, ``show_progress``, ...)."""
        from modelyard.tokenization.training import train_new_from_iterator

        return train_new_from_iterator(self, text_iterator, vocab_size, length=length, new_special_tokens=new_special_tokens,
                                       special_tokens_map=special_tokens_map, **kwargs)

    # ------------------------------------------------------------------ vocabulary
    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=False)

    def get_vocab(self) -> dict[str, int]:
        return self._tokenizer.get_vocab(with_added_tokens=True)

    @property
    def vocab(self) -> dict[str, int]:
        return self.get_vocab()

    def __len__(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    def __bool__(self) -> bool:
        return True

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        return {index: AddedToken.from_any(token) for index, token in sorted(self._tokenizer.get_added_tokens_decoder().items())}

    def _add_tokens(self, new_tokens: list[str | AddedToken], special_tokens: bool = False) -> int:
        tokens = [_rust(t) for t in new_tokens]
        added = self._tokenizer.add_special_tokens(tokens) if special_tokens else self._tokenizer.add_tokens(tokens)
        self._special_tokens_changed()
        return added

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return self._tokenizer.num_special_tokens_to_add(pair)

    def convert_tokens_to_ids(self, tokens: str | list[str] | None) -> Any:
        if tokens is None:
            return None
        if isinstance(tokens, str):
            return self._convert_token_to_id_with_added_voc(tokens)
        return [self._convert_token_to_id_with_added_voc(t) for t in tokens]

    def _convert_token_to_id_with_added_voc(self, token: str) -> int | None:
        index = self._tokenizer.token_to_id(token)
        return self.unk_token_id if index is None else index

    def _convert_id_to_token(self, index: int) -> str | None:
        return self._tokenizer.id_to_token(int(index))

    def convert_ids_to_tokens(self, ids: int | list[int], skip_special_tokens: bool = False) -> Any:
        backend = self._tokenizer
        if isinstance(ids, int):
            return backend.id_to_token(ids)
        skip = self._special_id_set() if skip_special_tokens else ()
        return [backend.id_to_token(int(i)) for i in ids if int(i) not in skip]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        decoder = self._tokenizer.decoder
        return decoder.decode(tokens) if decoder is not None else " ".join(tokens)

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs: Any) -> list[str]:
        return self.encode_plus(text, pair, add_special_tokens=add_special_tokens, **kwargs).tokens()

    # ------------------------------------------------------------------ encoding
    def set_truncation_and_padding(
        self,
        padding_strategy: PaddingStrategy,
        truncation_strategy: TruncationStrategy,
        max_length: int | None,
        stride: int,
        pad_to_multiple_of: int | None,
        padding_side: str | None,
    ) -> None:
        """Configure the backend for one call (only touching it when the settings change)."""
        backend = self._tokenizer
        truncation, padding = backend.truncation, backend.padding
        if truncation_strategy is TruncationStrategy.DO_NOT_TRUNCATE:
            if truncation is not None:
                backend.no_truncation()
                truncation = None
        else:
            target = {"max_length": max_length, "stride": stride, "strategy": truncation_strategy.value, "direction": self.truncation_side}
            if truncation is None or any(truncation.get(k) != v for k, v in target.items()):
                backend.enable_truncation(**target)
                truncation = backend.truncation
        if padding_strategy is PaddingStrategy.DO_NOT_PAD:
            if padding is not None:
                backend.no_padding()
                padding = None
        else:
            target = {
                "length": max_length if padding_strategy is PaddingStrategy.MAX_LENGTH else None,
                "direction": padding_side if padding_side is not None else self.padding_side,
                "pad_id": self.pad_token_id,
                "pad_token": self.pad_token,
                "pad_type_id": self.pad_token_type_id,
                "pad_to_multiple_of": pad_to_multiple_of,
            }
            if padding is None or any(padding.get(k) != v for k, v in target.items()):
                backend.enable_padding(**target)
                padding = backend.padding
        self._applied_state = (truncation, padding)

    def _batch_encode_plus(self, batch: list[Any], options: EncodingOptions | None = None, **keywords: Any) -> BatchEncoding:
        options = EncodingOptions.of(options, keywords)
        if options.tokenize_kwargs:
            logger.warning("Keyword arguments %s not recognized by %s; ignored.", sorted(options.tokenize_kwargs),
                           type(self).__name__)  # fmt: skip
        truncation_strategy, max_length = options.truncation_strategy, options.max_length
        return_token_type_ids, return_attention_mask = options.return_token_type_ids, options.return_attention_mask
        return_overflowing_tokens = options.return_overflowing_tokens
        if not isinstance(batch, (list, tuple)):
            raise TokenizerError(f"A batch must be a list or tuple, got {type(batch).__name__}.")
        self.set_truncation_and_padding(options.padding_strategy, truncation_strategy, max_length, options.stride,
                                        options.pad_to_multiple_of, options.padding_side)  # fmt: skip
        backend = self._tokenizer
        if backend.encode_special_tokens != options.split_special_tokens:
            backend.encode_special_tokens = options.split_special_tokens
        try:
            encodings = backend.encode_batch(batch, add_special_tokens=options.add_special_tokens,
                                             is_pretokenized=options.is_split_into_words)  # fmt: skip
        except Exception as err:  # the Rust side raises plain Exception
            hint = ""
            if "truncat" in str(err).lower():
                hint = (
                    f" (truncation={truncation_strategy.value!r} to max_length={max_length}): the sequence it may cut is "
                    "too short; use a larger max_length or another truncation strategy"
                )
            raise TokenizerError(f"{type(self).__name__} could not encode the batch: {err}{hint}.") from err
        names = self.model_input_names
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in names
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in names
        mapping: list[int] | None = None
        if return_overflowing_tokens:
            flat, mapping = [], []
            for i, encoding in enumerate(encodings):
                for item in (encoding, *encoding.overflowing):
                    flat.append(item)
                    mapping.append(i)
            encodings = flat
        data: dict[str, Any] = {"input_ids": [e.ids for e in encodings]}
        if return_token_type_ids:
            data["token_type_ids"] = [e.type_ids for e in encodings]
        if return_attention_mask:
            data["attention_mask"] = [e.attention_mask for e in encodings]
        if options.return_special_tokens_mask:
            data["special_tokens_mask"] = [e.special_tokens_mask for e in encodings]
        if options.return_offsets_mapping:
            data["offset_mapping"] = [e.offsets for e in encodings]
        if options.return_length:
            data["length"] = [len(ids) for ids in data["input_ids"]]
        if mapping is not None:
            data["overflow_to_sample_mapping"] = mapping
        if options.verbose and max_length is None:
            limit = self.model_max_length
            for ids in data["input_ids"]:
                if len(ids) > limit:
                    self._eventual_warn_about_too_long_sequence(ids, max_length, options.verbose)
                    break
        return BatchEncoding(data, encodings, tensor_type=options.return_tensors)

    def _encode_plus(self, text: Any, text_pair: Any = None, options: EncodingOptions | None = None,
                     **keywords: Any) -> BatchEncoding:  # fmt: skip
        options = EncodingOptions.of(options, keywords)
        batched = self._batch_encode_plus([(text, text_pair)] if text_pair else [text], options=options)
        if options.return_tensors is None and not options.return_overflowing_tokens:
            # One example: unwrap the batch axis (lists of lists become lists).
            batched = BatchEncoding(
                {k: v[0] if v and isinstance(v[0], list) else v for k, v in batched.data.items()}, batched.encodings
            )
        return batched

    # ------------------------------------------------------------------ decoding
    def _decode(
        self, token_ids: int | list[int], skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None, **kwargs: Any
    ) -> str:
        self._decode_use_source_tokenizer = kwargs.pop("use_source_tokenizer", False)
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        text = self._tokenizer.decode(token_ids, skip_special_tokens=skip_special_tokens)
        return self._maybe_clean_up(text, clean_up_tokenization_spaces)

    # ------------------------------------------------------------------ saving
    def _backend_json_for_saving(self) -> str:
        """tokenizer.json content: with the padding/truncation it was loaded with, unless changed since by hand."""
        backend = self._tokenizer
        current = (backend.truncation, backend.padding)
        if self._applied_state is None or current != self._applied_state or current == self._file_state:
            return backend.to_str(pretty=True)
        clone = copy.deepcopy(backend)
        truncation, padding = self._file_state
        clone.no_truncation() if truncation is None else clone.enable_truncation(**truncation)
        clone.no_padding() if padding is None else clone.enable_padding(**padding)
        return clone.to_str(pretty=True)

    def _save_pretrained(
        self, directory: Path, file_names: tuple[str, ...], legacy_format: bool | None = None, filename_prefix: str | None = None
    ) -> tuple[str, ...]:
        if self.slow_tokenizer_class is None and legacy_format is True:
            raise TokenizerError(
                f"{type(self).__name__} has no slow (legacy) format; save with legacy_format=None or False."
            )
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        save_slow = legacy_format is not False and self.slow_tokenizer_class is not None and self.can_save_slow_tokenizer
        if save_slow:
            added_path = directory / (prefix + serialization.ADDED_TOKENS_FILE)
            beyond = {token: index for token, index in self.added_tokens_encoder.items() if index >= self.vocab_size}
            if beyond:
                serialization.write_json(added_path, beyond)
                file_names += (str(added_path),)
            file_names += tuple(self.save_vocabulary(str(directory), filename_prefix=filename_prefix))
        if legacy_format is not True:
            path = directory / (prefix + serialization.FULL_TOKENIZER_FILE)
            path.write_text(self._backend_json_for_saving(), encoding="utf-8")
            file_names += (str(path),)
        return file_names

    def save_vocabulary(self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None) -> tuple[str, ...]:
        return tuple(self._tokenizer.model.save(str(save_directory), name=filename_prefix))

    def _normalizer_state(self) -> dict[str, Any]:
        normalizer = self._tokenizer.normalizer
        return json.loads(normalizer.__getstate__()) if normalizer is not None else {}
