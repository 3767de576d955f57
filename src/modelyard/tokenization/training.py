"""``train_new_from_iterator``: a fast tokenizer of the same kind, with a vocabulary learnt from new text.

The new backend keeps the old one's pipeline (normaliser, pre-tokeniser, post-processor, decoder) and model
kind (BPE, WordPiece, WordLevel, Unigram) with its settings (continuing-subword prefix, byte fallback, ...);
only the vocabulary is learnt. Special tokens come first in the new vocabulary, renamed where
``special_tokens_map`` says so, and the post-processor's templates are pointed at their new ids, so the new
tokenizer adds the same special tokens in the same places as the old one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from modelyard.errors import TokenizerError
from modelyard.tokenization.added_tokens import AddedToken
from modelyard.tokenization.special_tokens import SPECIAL_TOKENS_ATTRIBUTES

if TYPE_CHECKING:
    from modelyard.tokenization.fast import PreTrainedTokenizerFast

# What each model kind's JSON holds as its learnt vocabulary, emptied before training.
_EMPTY_VOCABULARY: dict[str, dict[str, Any]] = {
    "BPE": {"vocab": {}, "merges": []},
    "WordPiece": {"vocab": {}},
    "WordLevel": {"vocab": {}},
    "Unigram": {"vocab": []},
}


def _content(token: str | AddedToken) -> str:
    return token.content if isinstance(token, AddedToken) else str(token)


def _renamed(token: str | AddedToken, renames: dict[str, str]) -> str | AddedToken:
    """``token`` under its new name (an ``AddedToken`` keeps its flags)."""
    new = renames.get(_content(token))
    if new is None:
        return token
    if isinstance(token, AddedToken):
        changed = copy.copy(token)
        changed.content = new
        return changed
    return new


def _trainer(model: dict[str, Any], pre_tokenizer: dict[str, Any] | None, vocab_size: int, special: list[Any],
             length_kwargs: dict[str, Any]) -> Any:
    from tokenizers import pre_tokenizers, trainers

    kind = model["type"]
    common: dict[str, Any] = {"vocab_size": vocab_size, "special_tokens": special, **length_kwargs}
    if kind == "BPE":
        byte_level = pre_tokenizer is not None and "ByteLevel" in json.dumps(pre_tokenizer)
        return trainers.BpeTrainer(
            **common,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if byte_level else [],
            continuing_subword_prefix=model.get("continuing_subword_prefix") or None,
            end_of_word_suffix=model.get("end_of_word_suffix") or None,
        )
    if kind == "WordPiece":
        return trainers.WordPieceTrainer(**common, continuing_subword_prefix=model.get("continuing_subword_prefix", "##"))
    if kind == "WordLevel":
        return trainers.WordLevelTrainer(**common)
    if kind == "Unigram":
        unk_id = model.get("unk_id")
        unk = model["vocab"][unk_id][0] if unk_id is not None and model.get("vocab") else None
        return trainers.UnigramTrainer(**common, unk_token=unk)
    raise TokenizerError(f"train_new_from_iterator cannot train a {kind!r} tokenizer model (BPE, WordPiece, "
                         "WordLevel or Unigram).")


def _point_post_processor(processor: dict[str, Any] | None, renames: dict[str, str], vocab: dict[str, int]) -> None:
    """Rename the special tokens of a post-processor's JSON and give them their ids in the new vocabulary."""
    if not processor:
        return
    kind = processor.get("type")
    if kind == "Sequence":
        for inner in processor.get("processors", []):
            _point_post_processor(inner, renames, vocab)
    elif kind in ("BertProcessing", "RobertaProcessing"):
        for key in ("sep", "cls"):
            token = renames.get(processor[key][0], processor[key][0])
            processor[key] = [token, vocab.get(token, processor[key][1])]
    elif kind == "TemplateProcessing":
        specials = {}
        for name, entry in processor.get("special_tokens", {}).items():
            tokens = [renames.get(t, t) for t in entry["tokens"]]
            new_name = renames.get(name, name)
            specials[new_name] = {"id": new_name, "ids": [vocab.get(t, i) for t, i in zip(tokens, entry["ids"])],
                                  "tokens": tokens}
        processor["special_tokens"] = specials
        for template in ("single", "pair"):
            for piece in processor.get(template, []):
                if "SpecialToken" in piece:
                    piece["SpecialToken"]["id"] = renames.get(piece["SpecialToken"]["id"], piece["SpecialToken"]["id"])


def train_new_from_iterator(
    tokenizer: PreTrainedTokenizerFast,
    text_iterator: Iterable[str] | Iterable[list[str]] | Iterator[str],
    vocab_size: int,
    *,
    length: int | None = None,
    new_special_tokens: list[str | AddedToken] | None = None,
    special_tokens_map: dict[str, str] | None = None,
    **trainer_kwargs: Any,
) -> PreTrainedTokenizerFast:
    """See :meth:`PreTrainedTokenizerFast.train_new_from_iterator`."""
    from tokenizers import Tokenizer

    renames = dict(special_tokens_map or {})
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    model = state["model"]
    if model["type"] not in _EMPTY_VOCABULARY:
        raise TokenizerError(f"train_new_from_iterator cannot train a {model['type']!r} tokenizer model.")
    unk = None
    if model["type"] == "Unigram" and model.get("unk_id") is not None and model.get("vocab"):
        unk = model["vocab"][model["unk_id"]][0]
    elif model.get("unk_token"):
        unk = model["unk_token"]
    trained_model = dict(model)
    trained_model.update(copy.deepcopy(_EMPTY_VOCABULARY[model["type"]]))
    if unk is not None and "unk_token" in trained_model:
        trained_model["unk_token"] = renames.get(unk, unk)
    post_processor = state.get("post_processor")
    state.update(model=trained_model, added_tokens=[], post_processor=None)
    backend = Tokenizer.from_str(json.dumps(state))

    special: list[Any] = []
    for token in [*tokenizer.all_special_tokens_extended, *(new_special_tokens or [])]:
        token = _renamed(token, renames)
        if _content(token) not in [_content(t) for t in special]:
            special.append(token.to_rust() if isinstance(token, AddedToken) else token)
    if unk is not None and renames.get(unk, unk) not in [_content(t) if not hasattr(t, "content") else t.content for t in special]:
        special.insert(0, renames.get(unk, unk))
    trainer_model = dict(trained_model, vocab=model.get("vocab"))
    trainer = _trainer(trainer_model if model["type"] == "Unigram" else trained_model, state.get("pre_tokenizer"),
                       vocab_size, special, trainer_kwargs)
    backend.train_from_iterator(text_iterator, trainer=trainer, length=length)

    trained = json.loads(backend.to_str())
    if unk is not None and "unk_token" in trained["model"]:
        trained["model"]["unk_token"] = renames.get(unk, unk)
    if post_processor is not None:
        post_processor = copy.deepcopy(post_processor)
        _point_post_processor(post_processor, renames, trained["model"]["vocab"] if isinstance(trained["model"]["vocab"], dict)
                              else {piece: i for i, (piece, _) in enumerate(trained["model"]["vocab"])})
        trained["post_processor"] = post_processor
    backend = Tokenizer.from_str(json.dumps(trained))

    settings = {k: v for k, v in tokenizer.init_kwargs.items()
                if k not in ("tokenizer_file", "vocab_file", "merges_file", "name_or_path", "added_tokens_decoder")}
    for key in SPECIAL_TOKENS_ATTRIBUTES:
        value = tokenizer._special_tokens_map.get(key)
        if key == "additional_special_tokens":
            settings[key] = [_renamed(t, renames) for t in value or []]
            if new_special_tokens:
                settings[key] += [t for t in new_special_tokens if _content(t) not in map(_content, settings[key])]
        elif value is not None:
            settings[key] = _renamed(value, renames)
    return type(tokenizer)(tokenizer_object=backend, **settings)
