"""Slow -> fast conversion: build a ``tokenizers.Tokenizer`` equivalent to a slow tokenizer.

``wordpiece_backend`` builds a WordPiece pipeline from plain settings (vocabulary, unknown token, BERT
normalizer flags, ``[CLS] A [SEP] (B [SEP])`` template); ``convert_slow_tokenizer`` reads those settings from
any slow WordPiece tokenizer (one with ``vocab`` and ``wordpiece_tokenizer`` attributes, and optionally a
``basic_tokenizer``), so new WordPiece families convert without code here. Byte-level BPE (GPT-2, Qwen2)
and sentencepiece (Llama) tokenizers convert as the reference converts them; other algorithms register a
converter in ``SLOW_TO_FAST_CONVERTERS`` under the slow class name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from modelyard.errors import TokenizerError

logger = logging.getLogger(__name__)


def wordpiece_backend(
    vocab: dict[str, int],
    *,
    unk_token: str,
    continuing_subword_prefix: str = "##",
    max_input_chars_per_word: int = 100,
    clean_text: bool = True,
    handle_chinese_chars: bool = True,
    strip_accents: bool | None = None,
    lowercase: bool = True,
    cls_token: tuple[str, int] | None = None,
    sep_token: tuple[str, int] | None = None,
) -> Any:
    """A ``tokenizers.Tokenizer`` doing BERT-style WordPiece with these settings.

    ``cls_token``/``sep_token`` are ``(token, id)``; when both are given, single sequences become
    ``CLS A SEP`` (type 0) and pairs ``CLS A SEP B SEP`` (B and its SEP type 1).
    """
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    if unk_token not in vocab:
        # As in the reference, a vocabulary without it still loads (every word may be in it); a word that is not
        # then fails when encoded, with the tokenizers library's "Missing [UNK] token" error.
        logger.warning(
            "The unknown token %r is not in the vocabulary: encoding a word the vocabulary cannot spell will fail. "
            "Add %r to vocab.txt, or pass unk_token= naming a token it has.", unk_token, unk_token,
        )
    backend = Tokenizer(
        WordPiece(
            dict(vocab),
            unk_token=unk_token,
            continuing_subword_prefix=continuing_subword_prefix,
            max_input_chars_per_word=max_input_chars_per_word,
        )
    )
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=clean_text, handle_chinese_chars=handle_chinese_chars, strip_accents=strip_accents, lowercase=lowercase
    )
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    if cls_token is not None and sep_token is not None:
        cls, sep = cls_token[0], sep_token[0]
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0",
            pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[cls_token, sep_token],
        )
    backend.decoder = decoders.WordPiece(prefix=continuing_subword_prefix)
    return backend


def convert_wordpiece(slow: Any) -> Any:
    """Convert a slow WordPiece tokenizer (``BertTokenizer`` and relatives) from its attributes."""
    wordpiece = getattr(slow, "wordpiece_tokenizer", None)
    if wordpiece is None or not hasattr(slow, "vocab"):
        raise TokenizerError(f"{type(slow).__name__} is not a WordPiece tokenizer (no vocab / wordpiece_tokenizer).")
    basic = getattr(slow, "basic_tokenizer", None) if getattr(slow, "do_basic_tokenize", True) else None
    # Without a basic tokenizer the slow side neither lower-cases nor strips accents nor spaces out CJK.
    lowercase = bool(basic.do_lower_case) if basic is not None else False
    strip_accents = basic.strip_accents if basic is not None else False
    chinese = bool(basic.tokenize_chinese_chars) if basic is not None else False
    cls, sep = slow.cls_token, slow.sep_token
    return wordpiece_backend(
        slow.vocab,
        unk_token=str(slow.unk_token),
        continuing_subword_prefix="##",
        max_input_chars_per_word=wordpiece.max_input_chars_per_word,
        handle_chinese_chars=chinese,
        strip_accents=strip_accents,
        lowercase=lowercase,
        cls_token=(str(cls), slow.cls_token_id) if cls is not None else None,
        sep_token=(str(sep), slow.sep_token_id) if sep is not None else None,
    )


def _bpe_model(slow: Any, **options: Any) -> Any:
    from tokenizers.models import BPE

    merges = [pair for pair in slow.bpe_ranks if len(pair) == 2]
    return BPE(vocab=dict(slow.encoder), merges=merges, dropout=None, continuing_subword_prefix="",
               end_of_word_suffix="", fuse_unk=False, **options)  # fmt: skip


def convert_gpt2(slow: Any) -> Any:
    """GPT-2: byte-level BPE; the BOS template when the slow tokenizer adds one."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors

    backend = Tokenizer(_bpe_model(slow))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=getattr(slow, "add_prefix_space", False))
    backend.decoder = decoders.ByteLevel()
    if getattr(slow, "add_bos_token", False):
        bos = str(slow.bos_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 $B:1", special_tokens=[(bos, slow.bos_token_id)]
        )
    else:
        backend.post_processor = processors.ByteLevel(trim_offsets=False)
    return backend


def convert_roberta(slow: Any) -> Any:
    """RoBERTa: GPT-2's byte-level BPE with the ``<s> A </s></s> B </s>`` post-processor."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors

    add_prefix_space = bool(getattr(slow, "add_prefix_space", False))
    backend = Tokenizer(_bpe_model(slow))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.RobertaProcessing(  # sep and cls by position (their keyword names vary)
        (str(slow.sep_token), slow.sep_token_id),
        (str(slow.cls_token), slow.cls_token_id),
        trim_offsets=bool(getattr(slow, "trim_offsets", getattr(slow, "init_kwargs", {}).get("trim_offsets", True))),
        add_prefix_space=add_prefix_space,
    )
    return backend


def convert_qwen2(slow: Any) -> Any:
    """Qwen2: NFC, Qwen2's split regex, then byte-level spelling without GPT-2's regex."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors

    from modelyard.tokenization.byte_level_bpe import QWEN2_SPLIT_REGEX

    backend = Tokenizer(_bpe_model(slow, unk_token=None, byte_fallback=False))
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=getattr(slow, "add_prefix_space", False), use_regex=False),
    ])  # fmt: skip
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    return backend


def convert_llama(slow: Any) -> Any:
    """Llama's sentencepiece model (see ``sentencepiece_model.llama_backend``)."""
    from modelyard.tokenization.sentencepiece_model import llama_backend

    return llama_backend(slow)


SLOW_TO_FAST_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "BertTokenizer": convert_wordpiece,
    "DistilBertTokenizer": convert_wordpiece,
    "GPT2Tokenizer": convert_gpt2,
    "RobertaTokenizer": convert_roberta,
    "Qwen2Tokenizer": convert_qwen2,
    "LlamaTokenizer": convert_llama,
}


def convert_slow_tokenizer(slow: Any) -> Any:
    """The ``tokenizers.Tokenizer`` for a slow tokenizer instance (by class name, else WordPiece by shape)."""
    for klass in type(slow).__mro__:
        converter = SLOW_TO_FAST_CONVERTERS.get(klass.__name__)
        if converter is not None:
            return converter(slow)
    if hasattr(slow, "wordpiece_tokenizer"):
        return convert_wordpiece(slow)
    raise TokenizerError(
        f"No converter from {type(slow).__name__} to a fast tokenizer. Register one in "
        "modelyard.tokenization.convert.SLOW_TO_FAST_CONVERTERS, or load a tokenizer.json."
    )
