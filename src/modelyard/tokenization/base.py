"""``PreTrainedTokenizerBase``: the API shared by slow (pure Python) and fast (``tokenizers``) tokenizers.

Calling a tokenizer validates its input (a text, a pair, or batches of either; pre-split words with
``is_split_into_words=True``), resolves padding/truncation once, and hands off to ``_encode_plus`` /
``_batch_encode_plus`` of the slow or fast subclass. Saving and loading use the reference library's files,
so folders move freely between the two libraries. Nothing here imports torch.
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from modelyard.errors import MissingFileError, TokenizerArgumentClashError, TokenizerError
from modelyard.hub.files import FileSource
from modelyard.pretrained_io import PretrainedIO
from modelyard.tokenization import chat_template as chat_templates
from modelyard.tokenization import serialization
from modelyard.tokenization.added_tokens import AddedToken
from modelyard.tokenization.chat_template import ChatTemplateMixin
from modelyard.tokenization.encoding import BatchEncoding, CharSpan, TensorType, TokenSpan, to_py_obj
from modelyard.tokenization.encoding_options import EncodingKwargs, EncodingOptions, takes_encoding_keywords
from modelyard.tokenization.padding import (
    VERY_LARGE_INTEGER,
    PaddingStrategy,
    PaddingTruncationMixin,
    TruncationStrategy,
)
from modelyard.tokenization.special_tokens import SPECIAL_TOKENS_ATTRIBUTES, SpecialTokensMixin

if TYPE_CHECKING:
    from modelyard.keyword_groups import Unpack

logger = logging.getLogger(__name__)

__all__ = [
    "AddedToken",
    "BatchEncoding",
    "CharSpan",
    "PaddingStrategy",
    "PreTrainedTokenizerBase",
    "TensorType",
    "TokenSpan",
    "TruncationStrategy",
]

T = TypeVar("T", bound="PreTrainedTokenizerBase")

TextInput = str
PreTokenizedInput = list[str]
EncodedInput = list[int]
TextInputPair = tuple[str, str]
PreTokenizedInputPair = tuple[list[str], list[str]]
EncodedInputPair = tuple[list[int], list[int]]


def _is_text_input(value: Any) -> bool:
    """A str, a list of str, or a list of lists of str (empty lists allowed), as the reference accepts."""
    if isinstance(value, str):
        return True
    if isinstance(value, (list, tuple)):
        if not value or isinstance(value[0], str):
            return True
        if isinstance(value[0], (list, tuple)):
            return not value[0] or isinstance(value[0][0], str)
    return False


class PreTrainedTokenizerBase(SpecialTokensMixin, PaddingTruncationMixin, ChatTemplateMixin, PretrainedIO):
    """Base class of :class:`PreTrainedTokenizer` (slow) and :class:`PreTrainedTokenizerFast`.

    Class attributes a tokenizer sets: ``vocab_files_names`` (constructor argument -> file name),
    ``model_input_names`` (fields the model takes; the first is the one padded), ``padding_side`` and
    ``truncation_side`` (defaults), ``slow_tokenizer_class`` (fast classes only).
    """

    vocab_files_names: ClassVar[dict[str, str]] = {}
    model_input_names: list[str] = ["input_ids", "token_type_ids", "attention_mask"]  # noqa: RUF012
    padding_side: str = "right"
    truncation_side: str = "right"
    slow_tokenizer_class: ClassVar[type | None] = None
    auto_class_choices = ("AutoTokenizer",)
    settings_error = TokenizerError

    def __init__(self, **kwargs: Any) -> None:
        for key in kwargs:
            if callable(getattr(type(self), key, None)) and not isinstance(getattr(type(self), key), type):
                # e.g. a saved key named like a method would shadow it when saved back
                raise TokenizerArgumentClashError(
                    f"Argument {key!r} clashes with the method {type(self).__name__}.{key}; rename the argument."
                )
        self.init_inputs: tuple[Any, ...] = ()
        self.init_kwargs: dict[str, Any] = copy.deepcopy(kwargs)
        self.name_or_path: str = str(kwargs.pop("name_or_path", ""))
        self._processor_class = kwargs.pop("processor_class", None)
        model_max_length = kwargs.pop("model_max_length", kwargs.pop("max_len", None))
        self.model_max_length: int = VERY_LARGE_INTEGER if model_max_length is None else int(model_max_length)
        self.padding_side = self._side(kwargs.pop("padding_side", self.padding_side), "padding_side")
        self.truncation_side = self._side(kwargs.pop("truncation_side", self.truncation_side), "truncation_side")
        self.model_input_names = list(kwargs.pop("model_input_names", self.model_input_names))
        self.clean_up_tokenization_spaces: bool = kwargs.pop("clean_up_tokenization_spaces", False)
        self.split_special_tokens: bool = kwargs.pop("split_special_tokens", False)
        chat_template = kwargs.pop("chat_template", None)
        if isinstance(chat_template, (list, tuple)):
            chat_template = {entry["name"]: entry["template"] for entry in chat_template}
        self.chat_template = chat_template
        self.verbose: bool = kwargs.pop("verbose", False)
        self.deprecation_warnings: dict[str, bool] = {}
        self._init_special_tokens(kwargs)
        if kwargs:
            logger.debug("%s keeps unused arguments %s (saved back with the tokenizer).", type(self).__name__, sorted(kwargs))

    @staticmethod
    def _side(value: str, name: str) -> str:
        if value not in ("left", "right"):
            raise TokenizerError(f"{name} must be 'left' or 'right', got {value!r}.")
        return value

    # ------------------------------------------------------------------ vocabulary (subclasses implement)
    @property
    def is_fast(self) -> bool:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        """Size of the base vocabulary (without added tokens)."""
        raise NotImplementedError

    def get_vocab(self) -> dict[str, int]:
        """Every token (base vocabulary and added tokens) and its id."""
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        raise NotImplementedError

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        return {token.content: index for index, token in sorted(self.added_tokens_decoder.items())}

    def get_added_vocab(self) -> dict[str, int]:
        return self.added_tokens_encoder

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int]:
        raise NotImplementedError

    def convert_ids_to_tokens(self, ids: int | list[int], skip_special_tokens: bool = False) -> str | list[str]:
        raise NotImplementedError

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        raise NotImplementedError

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs: Any) -> list[str]:
        raise NotImplementedError

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return len(self.build_inputs_with_special_tokens([], [] if pair else None))

    @property
    def max_len_single_sentence(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=False)

    @property
    def max_len_sentences_pair(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=True)

    def __repr__(self) -> str:
        added = "\n\t".join(f"{index}: {token!r}," for index, token in self.added_tokens_decoder.items())
        return (
            f"{type(self).__name__}(name_or_path='{self.name_or_path}', vocab_size={self.vocab_size}, "
            f"model_max_length={self.model_max_length}, is_fast={self.is_fast}, padding_side='{self.padding_side}', "
            f"truncation_side='{self.truncation_side}', special_tokens={self.special_tokens_map}, "
            f"clean_up_tokenization_spaces={self.clean_up_tokenization_spaces}, added_tokens_decoder={{\n\t{added}\n}}\n)"
        )

    # ------------------------------------------------------------------ special-token layout
    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """The model input for one sequence or a pair (the base class adds no special tokens)."""
        return token_ids_0 if token_ids_1 is None else token_ids_0 + token_ids_1

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        cls_len = int(self.cls_token_id is not None)
        sep_len = int(self.sep_token_id is not None)
        first = [0] * (cls_len + len(token_ids_0) + sep_len)
        return first if token_ids_1 is None else first + [1] * (len(token_ids_1) + sep_len)

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        """1 for special tokens, 0 for sequence tokens."""
        if not already_has_special_tokens or token_ids_1 is not None:
            raise TokenizerError(
                "This tokenizer can only compute a special-tokens mask of ids that already contain the special "
                "tokens (already_has_special_tokens=True, one sequence). Pass return_special_tokens_mask=True when "
                "encoding instead."
            )
        special = self._special_id_set()
        return [1 if token in special else 0 for token in token_ids_0]

    # ------------------------------------------------------------------ encoding entry points
    @takes_encoding_keywords
    def __call__(
        self,
        text: str | list[str] | list[list[str]] | None = None,
        text_pair: str | list[str] | list[list[str]] | None = None,
        text_target: str | list[str] | list[list[str]] | None = None,
        text_pair_target: str | list[str] | list[list[str]] | None = None,
        **kwargs: Unpack[EncodingKwargs],
    ) -> BatchEncoding:
        """Encode a text, a pair of texts, or a batch of either, for the model.

        ``text_target`` encodes labels the same way (returned as ``labels`` when ``text`` is given too). The
        keywords (:class:`~modelyard.tokenization.encoding_options.EncodingKwargs`) become one
        :class:`~modelyard.tokenization.encoding_options.EncodingOptions` here; others (a slow tokenizer's own,
        e.g. ``add_prefix_space``) go to :meth:`tokenize`.
        """
        if text is None and text_target is None:
            raise TokenizerError("Nothing to encode: pass text (and optionally text_pair) or text_target.")
        options = EncodingOptions.from_call(self, kwargs)
        if text_target is None:
            return self._call_one(text, text_pair, options)
        if text is None:
            return self._call_one(text_target, text_pair_target, options)
        encodings = self._call_one(text, text_pair, options)
        targets = self._call_one(text_target, text_pair_target, options)
        encodings["labels"] = targets["input_ids"]
        return encodings

    def prepare_seq2seq_batch(
        self,
        src_texts: list[str],
        tgt_texts: list[str] | None = None,
        max_length: int | None = None,
        max_target_length: int | None = None,
        padding: bool | str = "longest",
        return_tensors: str | TensorType | None = None,
        truncation: bool | str = True,
        **kwargs: Any,
    ) -> BatchEncoding:
        """A sequence-to-sequence batch in one call (the reference's older helper; ``tokenizer(src, text_target=tgt)``
        is the current way): the sources encoded, cut to ``max_length``, and the targets' ids under ``"labels"``,
        cut to ``max_target_length`` (default ``max_length``). ``src_lang`` / ``tgt_lang`` are accepted and mean
        nothing to a tokenizer without language codes."""
        kwargs.pop("src_lang", None)
        kwargs.pop("tgt_lang", None)
        common = {"padding": padding, "truncation": truncation, "return_tensors": return_tensors, **kwargs}
        batch = self(src_texts, max_length=max_length, **common)
        if tgt_texts is not None:
            target_length = max_target_length if max_target_length is not None else max_length
            batch["labels"] = self(tgt_texts, max_length=target_length, **common)["input_ids"]
        return batch

    def _call_one(self, text: Any, text_pair: Any, options: EncodingOptions) -> BatchEncoding:
        if not _is_text_input(text):
            raise TokenizerError(
                f"text must be a str (one example), a list of str (a batch, or one pre-split example with "
                f"is_split_into_words=True) or a list of lists of str; got {type(text).__name__}: {text!r:.80}."
            )
        if text_pair is not None and not _is_text_input(text_pair):
            raise TokenizerError(f"text_pair must be a str, a list of str or a list of lists of str; got {text_pair!r:.80}.")
        if options.is_split_into_words:
            batched = isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
        else:
            batched = isinstance(text, (list, tuple))
        if not batched:
            return self._encode_plus(text, text_pair, options=options)
        if isinstance(text_pair, str):
            raise TokenizerError("For a batch of texts, text_pair must be a list of the same length, not a str.")
        if text_pair is not None and len(text) != len(text_pair):
            raise TokenizerError(f"text has {len(text)} examples but text_pair has {len(text_pair)}; they must match.")
        batch = list(zip(text, text_pair)) if text_pair is not None else list(text)
        return self._batch_encode_plus(batch, options=options)

    @takes_encoding_keywords
    def encode_plus(self, text: Any, text_pair: Any = None, **kwargs: Unpack[EncodingKwargs]) -> BatchEncoding:
        """Encode one text (or pair); same options as calling the tokenizer."""
        return self._encode_plus(text, text_pair, options=EncodingOptions.from_call(self, kwargs))

    @takes_encoding_keywords
    def batch_encode_plus(self, batch_text_or_text_pairs: list[Any], **kwargs: Unpack[EncodingKwargs]) -> BatchEncoding:
        """Encode a batch of texts or (text, text_pair) tuples; same options as calling the tokenizer."""
        return self._batch_encode_plus(list(batch_text_or_text_pairs), options=EncodingOptions.from_call(self, kwargs))

    @takes_encoding_keywords
    def encode(self, text: Any, text_pair: Any = None, **kwargs: Unpack[EncodingKwargs]) -> list[int]:
        """The token ids of a text (or pair), special tokens included by default."""
        return self._encode_plus(text, text_pair, options=EncodingOptions.from_call(self, kwargs))["input_ids"]

    def _encode_plus(self, text: Any, text_pair: Any = None, options: EncodingOptions | None = None,
                     **keywords: Any) -> BatchEncoding:  # fmt: skip
        """Encode one example; ``options`` (or the reference's internal keywords) say how."""
        raise NotImplementedError

    def _batch_encode_plus(self, batch: list[Any], options: EncodingOptions | None = None, **keywords: Any) -> BatchEncoding:
        raise NotImplementedError

    # ------------------------------------------------------------------ decoding
    def decode(
        self,
        token_ids: int | list[int] | Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> str:
        """Turn ids (a list, an array or a tensor) back into text."""
        return self._decode(
            to_py_obj(token_ids),
            skip_special_tokens=skip_special_tokens,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            **kwargs,
        )

    def batch_decode(
        self,
        sequences: list[list[int]] | Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """:meth:`decode` every row of a batch."""
        return [
            self.decode(row, skip_special_tokens=skip_special_tokens, clean_up_tokenization_spaces=clean_up_tokenization_spaces, **kwargs)
            for row in to_py_obj(sequences)
        ]

    def _decode(self, token_ids: int | list[int], skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None, **kwargs: Any) -> str:
        raise NotImplementedError

    def _maybe_clean_up(self, text: str, clean_up_tokenization_spaces: bool | None) -> str:
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return self.clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    @staticmethod
    def clean_up_tokenization(out_string: str) -> str:
        """Undo the spaces tokenization put before punctuation and English contractions."""
        for spaced, joined in _CLEAN_UP:
            out_string = out_string.replace(spaced, joined)
        return out_string

    # ------------------------------------------------------------------ save / load
    def _set_processor_class(self, processor_class: str) -> None:
        """Remember the processor this tokenizer belongs to (written to tokenizer_config.json as
        ``processor_class``, so ``AutoProcessor`` finds it from the tokenizer files alone)."""
        self._processor_class = processor_class

    def _save_into(
        self,
        directory: Path,
        legacy_format: bool | None = None,
        filename_prefix: str | None = None,
        *,
        portable_code: bool = False,
        save_jinja_files: bool = True,
    ) -> tuple[str, ...]:
        """Write the tokenizer's files into ``directory``; returns the paths written (``save_pretrained``).

        Chat templates go to ``chat_template.jinja`` (and ``additional_chat_templates/``), or into
        tokenizer_config.json with ``save_jinja_files=False``, as the reference 4.57 saves them.

        ``portable_code=True``: custom code saved with the files imports modelyard in a form the transformers
        library can also run (see ``modelyard.dynamic_modules.check_portable_code``).

        Files: ``tokenizer_config.json``, ``special_tokens_map.json``, ``added_tokens.json`` (when tokens were
        added beyond the base vocabulary), the vocabulary file(s), and ``tokenizer.json`` for fast tokenizers
        (``legacy_format=False``: only ``tokenizer.json``; ``True``: only the slow-format files).

        Custom code contract (with ``modelyard.dynamic_modules``): when the class was registered with
        ``register_for_auto_class("AutoTokenizer")`` (``type(self)._auto_class`` is set), this method calls
        ``save_custom_code(self, save_directory, config=tokenizer_config)`` with the dict about to be written as
        tokenizer_config.json. That call copies the module defining the class (and its relative imports) into
        ``save_directory`` and sets ``tokenizer_config["auto_map"]["AutoTokenizer"] = [slow_ref, fast_ref]``,
        each ``"<module>.<Class>"`` or ``None`` (a fast class names its ``slow_tokenizer_class`` as the slow ref).
        It may instead return a mapping of auto-class names to refs, which is merged into ``auto_map``. It leaves
        ``auto_map`` alone when nothing was copied (e.g. a built-in class), so the file never points at code the
        folder lacks. ``AutoTokenizer.from_pretrained`` passes the chosen entry (fast by default, slow with
        ``use_fast=False``) to ``resolve_remote_class``.
        """
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        config_path = directory / (prefix + serialization.TOKENIZER_CONFIG_FILE)
        special_path = directory / (prefix + serialization.SPECIAL_TOKENS_MAP_FILE)

        config = serialization.build_tokenizer_config(self)
        templates = chat_templates.save_templates(self.chat_template, directory, config, prefix, as_files=save_jinja_files)
        if self._auto_class is not None:
            self._save_custom_code(directory, config, portable=portable_code)
        serialization.write_json(config_path, config)
        serialization.write_json(special_path, serialization.encode_added_tokens(self.special_tokens_map_extended, type_field=False))
        return self._save_pretrained(
            directory, (str(config_path), str(special_path), *templates), legacy_format=legacy_format,
            filename_prefix=filename_prefix,
        )  # fmt: skip

    def _save_custom_code(self, directory: Path, config: dict[str, Any], *, portable: bool = False) -> None:
        from modelyard.dynamic.saving import save_custom_code

        returned = save_custom_code(self, directory, config=config, portable=portable)
        if isinstance(returned, dict):
            config["auto_map"] = {**(config.get("auto_map") or {}), **returned}

    def _save_pretrained(
        self, directory: Path, file_names: tuple[str, ...], legacy_format: bool | None = None, filename_prefix: str | None = None
    ) -> tuple[str, ...]:
        raise NotImplementedError

    def save_vocabulary(self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write only the vocabulary file(s); returns their paths."""
        raise NotImplementedError

    @classmethod
    def _from_source(
        cls: type[T], location: FileSource | Path, *init_inputs: Any, trust_remote_code: bool | None = None,
        **kwargs: Any,
    ) -> T:
        """Load a tokenizer saved by ``save_pretrained`` (here or in the reference library) from a folder or hub
        repo (``from_pretrained``). Keyword arguments override the saved constructor arguments (e.g.
        ``do_lower_case=False``); others are kept as settings, as the reference keeps them."""
        assert isinstance(location, FileSource)
        files = serialization.resolve_files(cls, location)
        return cls._from_files(location, files, init_inputs, kwargs)

    @classmethod
    def _accepted_keywords(cls) -> set[str]:
        names = super()._accepted_keywords() | set(SPECIAL_TOKENS_ATTRIBUTES) | set(cls.vocab_files_names)
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is not None:
                names |= {p for p in inspect.signature(init).parameters if p not in ("self", "args", "kwargs")}
        return names

    @classmethod
    def _required_file_groups(cls) -> list[list[str]]:
        """Alternative sets of files (constructor argument names) a load needs; one full set suffices."""
        return [list(cls.vocab_files_names)]

    @classmethod
    def _from_files(cls: type[T], source: FileSource, files: dict[str, Path | None], init_inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        groups = cls._required_file_groups()
        if groups and not init_inputs and not any(all(files.get(k) or kwargs.get(k) for k in group) for group in groups):
            wanted = " or ".join(
                " + ".join(repr(cls._file_name(k)) for k in group) for group in groups if group
            )
            present = source.list_files()
            raise MissingFileError(
                f"{cls.__name__} needs {wanted} in {source.name}, which holds: {', '.join(present[:12]) or 'no files'}. "
                "Pass the folder (or repository) the tokenizer was saved to, or use the class it was saved with "
                "(AutoTokenizer.from_pretrained picks it)."
            )
        init_inputs, init_kwargs = serialization.load_init_kwargs(cls, source, files, init_inputs, kwargs)
        slow_class = getattr(cls, "slow_tokenizer_class", None)
        if slow_class is not None and "__slow_tokenizer" not in kwargs and (
                kwargs.get("from_slow") or files.get("tokenizer_file") is None):
            # As the reference: a fast tokenizer without tokenizer.json (or asked from_slow) converts the slow one
            # loaded from the same files with its own defaults (Llama's add_prefix_space=True reaches the converter).
            slow_files = serialization.resolve_files(slow_class, source)
            if any(all(slow_files.get(k) or kwargs.get(k) for k in group) for group in slow_class._required_file_groups()):
                init_kwargs["__slow_tokenizer"] = slow_class._from_files(source, slow_files, init_inputs, dict(kwargs))
        try:
            tokenizer = cls(*init_inputs, **init_kwargs)
        except UnicodeDecodeError as err:
            raise TokenizerError(f"Could not read the vocabulary of {cls.__name__} from {source.name}: {err}") from err
        tokenizer.init_inputs = tuple(init_inputs)
        return tokenizer

    @classmethod
    def _file_name(cls, key: str) -> str:
        return cls.vocab_files_names.get(key) or serialization.FULL_TOKENIZER_FILE


_CLEAN_UP = (
    (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
    (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
)  # fmt: skip
