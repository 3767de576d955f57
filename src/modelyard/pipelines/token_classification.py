"""``token-classification`` (also ``ner``): a label per token, or entities grouped from them.

``aggregation_strategy``: ``"none"`` (every token: ``entity``, ``score``, ``index``, ``word``, ``start``,
``end``), ``"simple"`` (adjacent tokens of one entity merged, B-/I- prefixes respected: ``entity_group``),
``"first"`` / ``"average"`` / ``"max"`` (a word's tokens first agree on one label, from the first token, the
averaged scores or the most confident token; fast tokenizers only). ``ignore_labels`` (default ``["O"]``)
drops labels; ``stride`` splits a long text into overlapping windows whose entities are merged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelyard.errors import PipelineError
from modelyard.pipelines.base import Params, Piece, Pipeline, as_numpy, softmax

STRATEGIES = ("none", "simple", "first", "average", "max")


def _strategy(value: Any) -> str:
    name = str(getattr(value, "value", value)).lower()
    if name not in STRATEGIES:
        raise PipelineError(f"Unknown aggregation_strategy {value!r}; use one of {', '.join(STRATEGIES)}.")
    return name


def _tag(entity: str) -> tuple[str, str]:
    """``("B"|"I", type)``; a label without a B-/I- prefix continues (``"I"``)."""
    if entity.startswith("B-"):
        return "B", entity[2:]
    if entity.startswith("I-"):
        return "I", entity[2:]
    return "I", entity


class TokenClassificationPipeline(Pipeline):
    """``pipe("My name is Wolfgang")`` -> ``[{"entity": "B-PER", "score", "index", "word", "start", "end"}]``."""

    task = "token-classification"

    def _sanitize(self, *, aggregation_strategy: Any = None, ignore_labels: list[str] | None = None,
                  stride: int | None = None, offset_mapping: list[tuple[int, int]] | None = None,
                  is_split_into_words: bool = False, delimiter: str | None = None,
                  grouped_entities: bool | None = None, ignore_subwords: bool | None = None,
                  ) -> tuple[Params, Params, Params]:
        pre: Params = {"is_split_into_words": is_split_into_words, "delimiter": " " if delimiter is None else delimiter}
        post: Params = {}
        if offset_mapping is not None:
            pre["offset_mapping"] = offset_mapping
        if grouped_entities is not None or ignore_subwords is not None:  # the reference's deprecated switches
            aggregation_strategy = ("first" if grouped_entities and ignore_subwords
                                    else "simple" if grouped_entities else "none")
        if aggregation_strategy is not None:
            strategy = _strategy(aggregation_strategy)
            if strategy in ("first", "average", "max") and not self.tokenizer.is_fast:
                raise PipelineError(
                    f'aggregation_strategy="{strategy}" needs word boundaries, which only fast tokenizers give; '
                    'use aggregation_strategy="simple" or a fast tokenizer.'
                )
            post["aggregation_strategy"] = strategy
        if ignore_labels is not None:
            post["ignore_labels"] = ignore_labels
        if stride is not None:
            limit = self.tokenizer.model_max_length
            if stride >= limit:
                raise PipelineError(f"stride ({stride}) must be less than the tokenizer's model_max_length ({limit}).")
            if post.get("aggregation_strategy", "none") == "none":
                raise PipelineError(
                    'stride splits a long text into windows whose entities are merged, which needs grouping: '
                    'pass aggregation_strategy="simple" (or first/average/max) with it.'
                )
            if not self.tokenizer.is_fast:
                raise PipelineError("stride needs a fast tokenizer (it maps overlapping windows back to the text).")
            pre["tokenizer_params"] = {"return_overflowing_tokens": True, "padding": True, "stride": stride}
        return pre, {}, post

    def __call__(self, inputs: Any = None, **options: Any) -> Any:
        if options.get("is_split_into_words") and isinstance(inputs, list) and inputs \
                and all(isinstance(word, str) for word in inputs):
            return super().__call__([inputs], **options)[0]  # one pre-split sentence
        return super().__call__(inputs, **options)

    def preprocess(self, sentence: Any, *, is_split_into_words: bool = False, delimiter: str = " ",
                   offset_mapping: list[tuple[int, int]] | None = None,
                   tokenizer_params: dict[str, Any] | None = None) -> list[Piece]:
        params = dict(tokenizer_params or {})
        word_spans = None
        if is_split_into_words:
            if not isinstance(sentence, list):
                raise PipelineError("With is_split_into_words=True, each input is a list of words.")
            if not self.tokenizer.is_fast:
                raise PipelineError("is_split_into_words=True needs a fast tokenizer.")
            word_spans, position = [], 0
            for word in sentence:
                word_spans.append((position, position + len(word)))
                position += len(word) + len(delimiter)
            text: Any = sentence
            sentence = delimiter.join(sentence)
            params["is_split_into_words"] = True
        elif not isinstance(sentence, str):
            raise PipelineError(f"token-classification reads a string; got {type(sentence).__name__}.")
        else:
            text = sentence
        max_length = self.tokenizer.model_max_length
        encoded = self.tokenizer(text, truncation=bool(max_length and max_length > 0),
                                 return_special_tokens_mask=True, return_offsets_mapping=self.tokenizer.is_fast,
                                 **params)
        encoded.pop("overflow_to_sample_mapping", None)
        windows = params.get("return_overflowing_tokens", False)
        count = len(encoded["input_ids"]) if windows else 1
        names = self.tokenizer.model_input_names
        pieces = []
        for i in range(count):
            row = {key: (value[i] if windows else value) for key, value in encoded.items()}
            extra = {
                "sentence": sentence,
                "special_tokens_mask": row["special_tokens_mask"],
                "offset_mapping": offset_mapping if offset_mapping is not None else row.get("offset_mapping"),
                "word_ids": encoded.word_ids(i) if word_spans is not None else None,
                "word_spans": word_spans,
            }
            pieces.append(Piece({key: row[key] for key in names if key in row}, extra))
        return pieces

    def postprocess(self, outputs: list[dict[str, Any]], *, aggregation_strategy: str = "none",
                    ignore_labels: list[str] | None = None) -> list[dict[str, Any]]:
        ignore = ["O"] if ignore_labels is None else ignore_labels
        entities: list[dict[str, Any]] = []
        for out in outputs:
            input_ids = out["model_inputs"]["input_ids"]
            scores = softmax(as_numpy(out["logits"][0, : len(input_ids)]))
            pre = self._pre_entities(out, input_ids, scores, aggregation_strategy)
            for entity in self._aggregate(pre, aggregation_strategy):
                if entity.get("entity") not in ignore and entity.get("entity_group") not in ignore:
                    entities.append(entity)
        if len(outputs) > 1:
            entities = self._merge_windows(entities)
        return entities

    def _pre_entities(self, out: dict[str, Any], input_ids: list[int], scores: np.ndarray,
                      strategy: str) -> list[dict[str, Any]]:
        sentence = out["sentence"]
        offsets = out["offset_mapping"]
        word_ids, word_spans = out["word_ids"], out["word_spans"]
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        has_prefix = backend is not None and getattr(backend.model, "continuing_subword_prefix", None)
        unk = self.tokenizer.unk_token_id
        found = []
        for index, token_scores in enumerate(scores):
            if out["special_tokens_mask"][index]:
                continue
            word = self.tokenizer.convert_ids_to_tokens(int(input_ids[index]))
            start: int | None = None
            end: int | None = None
            is_subword = False
            if offsets is not None:
                start, end = (int(v) for v in offsets[index])
                if word_ids is not None and word_spans is not None and word_ids[index] is not None:
                    shift = word_spans[word_ids[index]][0]
                    start, end = start + shift, end + shift
                original = sentence[start:end]
                if has_prefix:
                    is_subword = len(word) != len(original)
                else:  # no subword marker: a token glued to the previous character continues a word
                    is_subword = start > 0 and " " not in sentence[start - 1:start + 1]
                if int(input_ids[index]) == unk:
                    word, is_subword = original, False
            found.append({"word": word, "scores": token_scores, "start": start, "end": end, "index": index,
                          "is_subword": is_subword})
        return found

    def _aggregate(self, pre: list[dict[str, Any]], strategy: str) -> list[dict[str, Any]]:
        id2label = self.model.config.id2label
        if strategy in ("none", "simple"):
            entities = []
            for token in pre:
                best = int(token["scores"].argmax())
                entities.append({"entity": id2label[best], "score": float(token["scores"][best]),
                                 "index": token["index"], "word": token["word"], "start": token["start"],
                                 "end": token["end"]})
            return entities if strategy == "none" else self._group(entities)
        words: list[list[dict[str, Any]]] = []
        for token in pre:
            if words and token["is_subword"]:
                words[-1].append(token)
            else:
                words.append([token])
        return self._group([self._word_entity(word, strategy) for word in words])

    def _word_entity(self, tokens: list[dict[str, Any]], strategy: str) -> dict[str, Any]:
        id2label = self.model.config.id2label
        if strategy == "first":
            scores = tokens[0]["scores"]
        elif strategy == "max":
            scores = max(tokens, key=lambda token: token["scores"].max())["scores"]
        else:
            scores = np.nanmean(np.stack([token["scores"] for token in tokens]), axis=0)
        best = int(scores.argmax())
        return {"entity": id2label[best], "score": float(scores[best]),
                "word": self.tokenizer.convert_tokens_to_string([token["word"] for token in tokens]),
                "start": tokens[0]["start"], "end": tokens[-1]["end"]}

    def _group(self, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Adjacent entities of one type merge, unless the next one begins a new entity (B-)."""
        groups: list[list[dict[str, Any]]] = []
        for entity in entities:
            bi, tag = _tag(entity["entity"])
            if groups and tag == _tag(groups[-1][-1]["entity"])[1] and bi != "B":
                groups[-1].append(entity)
            else:
                groups.append([entity])
        return [{
            "entity_group": group[0]["entity"].split("-", 1)[-1],
            "score": float(np.nanmean([entity["score"] for entity in group])),
            "word": self.tokenizer.convert_tokens_to_string([entity["word"] for entity in group]),
            "start": group[0]["start"],
            "end": group[-1]["end"],
        } for group in groups]

    @staticmethod
    def _merge_windows(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Entities found in overlapping windows: of two overlapping ones, the longer (then likelier) stays."""
        if not entities:
            return entities
        ordered = sorted(entities, key=lambda entity: entity["start"])
        kept: list[dict[str, Any]] = []
        current = ordered[0]
        for entity in ordered:
            if current["start"] <= entity["start"] < current["end"]:
                length, current_length = entity["end"] - entity["start"], current["end"] - current["start"]
                if length > current_length or (length == current_length and entity["score"] > current["score"]):
                    current = entity
            else:
                kept.append(current)
                current = entity
        kept.append(current)
        return kept
