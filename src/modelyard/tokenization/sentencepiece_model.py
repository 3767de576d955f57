"""Sentencepiece models (``tokenizer.model``): loading a processor, reading the model file, building the
equivalent ``tokenizers`` backend (Llama's conversion).

``sentencepiece`` runs the slow tokenizers; reading or changing the model file's settings (the
non-legacy Llama mode turns off sentencepiece's own dummy prefix) uses the protobuf schema that
``sentencepiece`` ships, so ``protobuf`` is needed for those paths only.
"""

from __future__ import annotations

import os
from typing import Any

from modelyard.errors import TokenizerError

SPIECE_UNDERLINE = "▁"
# sentencepiece piece types (ModelProto.SentencePiece.Type)
_CONTROL, _USER_DEFINED = 3, 4
_UNIGRAM, _BPE = 1, 2


def _sentencepiece() -> Any:
    try:
        import sentencepiece
    except ImportError as err:
        raise TokenizerError(
            "This tokenizer reads a sentencepiece model (tokenizer.model); install it with "
            "pip install 'modelyard[sentencepiece]' (or pip install sentencepiece)."
        ) from err
    return sentencepiece


def _model_pb2() -> Any:
    _sentencepiece()
    try:
        from sentencepiece import sentencepiece_model_pb2
    except ImportError as err:
        raise TokenizerError(
            "Reading the settings inside tokenizer.model needs protobuf: pip install protobuf (or load the "
            "tokenizer with legacy=True, which does not read them)."
        ) from err
    return sentencepiece_model_pb2


def read_model_proto(vocab_file: str | os.PathLike[str]) -> Any:
    """The parsed ``ModelProto`` of a sentencepiece model file."""
    proto = _model_pb2().ModelProto()
    with open(vocab_file, "rb") as handle:
        proto.ParseFromString(handle.read())
    return proto


def load_processor(
    vocab_file: str | os.PathLike[str], *, dummy_prefix: bool = True, sp_model_kwargs: dict[str, Any] | None = None
) -> Any:
    """A ``SentencePieceProcessor`` for the file; ``dummy_prefix=False`` turns off its leading-space insertion."""
    if vocab_file is None or not os.path.isfile(vocab_file):
        raise TokenizerError(f"The sentencepiece model {str(vocab_file)!r} does not exist; pass the tokenizer.model path.")
    processor = _sentencepiece().SentencePieceProcessor(**(sp_model_kwargs or {}))
    if dummy_prefix:
        processor.Load(str(vocab_file))
        return processor
    proto = read_model_proto(vocab_file)
    proto.normalizer_spec.add_dummy_prefix = False
    processor.LoadFromSerializedProto(proto.SerializeToString())
    return processor


def bpe_merges(vocab: dict[str, int], scores: dict[str, float]) -> list[tuple[str, str]]:
    """Merges of a sentencepiece BPE model: every split of a piece into two pieces of the vocabulary, ordered
    by the piece's score (highest first), then by the parts' lengths (longest first), then by their ids."""
    found: list[tuple[str, str, float]] = []
    for piece, score in scores.items():
        splits = [(piece[:i], piece[i:]) for i in range(1, len(piece)) if piece[:i] in vocab and piece[i:] in vocab]
        splits.sort(key=lambda pair: (vocab[pair[0]], vocab[pair[1]]))
        found.extend((left, right, score) for left, right in splits)
    found.sort(key=lambda item: (item[2], len(item[0]), len(item[1])), reverse=True)
    return [(left, right) for left, right, _ in found]


def _prepend_scheme(add_prefix_space: bool, legacy: bool) -> str:
    if not add_prefix_space:
        return "never"
    return "always" if legacy else "first"


def llama_backend(slow: Any) -> Any:
    """The ``tokenizers.Tokenizer`` equal to a slow Llama tokenizer (byte fallback; the post-processor that
    adds BOS/EOS is set by the fast class)."""
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE, Unigram

    proto = read_model_proto(slow.vocab_file)
    legacy = getattr(slow, "legacy", True)
    # None (a fast tokenizer built from tokenizer.model alone passes it on) counts as False, as in the reference.
    add_prefix_space = bool(getattr(slow, "add_prefix_space", True))
    # The first three pieces take the slow tokenizer's names (its <unk>, <s>, </s>), with score 0.
    scored = [(slow.convert_ids_to_tokens(i), 0.0) for i in range(min(3, len(proto.pieces)))]
    scored += [(piece.piece, piece.score) for piece in proto.pieces[3:]]
    model_type = proto.trainer_spec.model_type
    if model_type == _UNIGRAM:
        backend = Tokenizer(Unigram(scored, unk_id=0, byte_fallback=True))
    elif model_type == _BPE:
        processor = load_processor(slow.vocab_file)
        ids = {processor.id_to_piece(i): i for i in range(processor.get_piece_size())}
        backend = Tokenizer(BPE({piece: i for i, (piece, _) in enumerate(scored)}, bpe_merges(ids, dict(scored)),
                                unk_token=proto.trainer_spec.unk_piece, fuse_unk=True, byte_fallback=True,
                                dropout=None))  # fmt: skip
    else:
        raise TokenizerError(
            f"{slow.vocab_file} is a sentencepiece model of type {model_type}; only unigram (1) and BPE (2) models "
            "convert to a fast tokenizer."
        )
    added = [
        AddedToken(piece.piece, normalized=False, special=piece.type == _CONTROL)
        for piece in proto.pieces
        if piece.type in (_CONTROL, _USER_DEFINED)
    ]
    backend.add_tokens(added)
    if legacy:
        steps: list[normalizers.Normalizer] = [normalizers.Prepend(prepend=SPIECE_UNDERLINE)] if add_prefix_space else []
        backend.normalizer = normalizers.Sequence([*steps, normalizers.Replace(pattern=" ", content=SPIECE_UNDERLINE)])
    else:
        backend.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement=SPIECE_UNDERLINE, prepend_scheme=_prepend_scheme(add_prefix_space, legacy), split=False
        )
    decoding: list[decoders.Decoder] = [decoders.Replace(SPIECE_UNDERLINE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_prefix_space:
        decoding.append(decoders.Strip(content=" ", left=1))
    backend.decoder = decoders.Sequence(decoding)
    return backend
