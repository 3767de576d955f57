"""Tiny SentencePiece models trained in the test (the real repositories ship a ``tokenizer.model``)."""

from __future__ import annotations

import functools
import io

TEXT = (
    "the quick brown fox jumps over the lazy dog",
    "hello how are you today",
    "what is the weather like in the city",
    "a model answers questions about the world",
    "tell me a story about a cat and a dog",
    "we write small models to test the library",
    "numbers like 1 2 3 and 42 are tokens too",
    "you are a helpful assistant",
)


@functools.cache
def train(vocab_size: int = 64, model_type: str = "bpe", *, user_defined_symbols: tuple[str, ...] = ()) -> bytes:
    """A SentencePiece model with ``<unk>``, ``<s>``, ``</s>`` at 0, 1, 2, then ``user_defined_symbols`` (pieces
    matched whole, as the real models' chat markers are), trained on :data:`TEXT`."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(TEXT * 4), model_writer=model, vocab_size=vocab_size, model_type=model_type,
        character_coverage=1.0, user_defined_symbols=list(user_defined_symbols), hard_vocab_limit=False, num_threads=1,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2,
    )
    return model.getvalue()
