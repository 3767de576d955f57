"""``text-classification`` (also ``sentiment-analysis``): labels and scores for a text or a text pair."""

from __future__ import annotations

from typing import Any

from modelyard.errors import PipelineError
from modelyard.pipelines.base import Params, Piece, Pipeline, apply_function, as_numpy, top_scores

_UNSET: Any = object()


class TextClassificationPipeline(Pipeline):
    """``pipe("I love it")`` -> ``[{"label": "POSITIVE", "score": 0.99}]``.

    Options as the reference's: ``top_k`` (``None`` for every label, sorted; without it, one best label per
    input), ``function_to_apply`` ("softmax", "sigmoid", "none"; by default from the config's
    ``problem_type`` and ``num_labels``), the deprecated ``return_all_scores``, and tokenizer options
    (``truncation``, ``max_length``, ``padding``). A pair is ``{"text": ..., "text_pair": ...}``.
    """

    task = "text-classification"

    def _sanitize(self, *, top_k: Any = _UNSET, function_to_apply: str | None = None,
                  return_all_scores: bool | None = None, truncation: bool | str | None = None,
                  padding: bool | str | None = None, max_length: int | None = None,
                  add_special_tokens: bool | None = None) -> tuple[Params, Params, Params]:
        tokenizer_options = {key: value for key, value in (
            ("truncation", truncation), ("padding", padding), ("max_length", max_length),
            ("add_special_tokens", add_special_tokens)) if value is not None}
        post: Params = {}
        if return_all_scores is None:
            return_all_scores = getattr(self.model.config, "return_all_scores", None)
        if top_k is not _UNSET:
            if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
                raise PipelineError(f"top_k must be a positive integer or None (every label), got {top_k!r}.")
            post["top_k"], post["legacy"] = top_k, False
        elif return_all_scores is not None:
            post["top_k"] = None if return_all_scores else 1
        if function_to_apply is not None:
            post["function_to_apply"] = str(getattr(function_to_apply, "value", function_to_apply))
        return tokenizer_options, {}, post

    def __call__(self, inputs: Any = None, **options: Any) -> Any:
        result = super().__call__(inputs, **options)
        # The reference's rule: one string without top_k gives a one-element list.
        if isinstance(inputs, str) and "top_k" not in options:
            return [result]
        return result

    def preprocess(self, item: Any, **tokenizer_options: Any) -> list[Piece]:
        if isinstance(item, dict):
            if "text" not in item:
                raise PipelineError(f"A text pair is {{'text': ..., 'text_pair': ...}}; got keys {sorted(item)}.")
            encoded = self.tokenizer(text=item["text"], text_pair=item.get("text_pair"), **tokenizer_options)
        elif isinstance(item, (list, tuple)) and len(item) == 1 and isinstance(item[0], (list, tuple)) \
                and len(item[0]) == 2:
            encoded = self.tokenizer(text=item[0][0], text_pair=item[0][1], **tokenizer_options)
        elif isinstance(item, str):
            encoded = self.tokenizer(item, **tokenizer_options)
        else:
            raise PipelineError(
                f"text-classification reads a string or a pair {{'text': ..., 'text_pair': ...}}; got "
                f"{type(item).__name__} {item!r:.80}."
            )
        names = self.tokenizer.model_input_names
        return [Piece({key: value for key, value in encoded.items() if key in names})]

    def postprocess(self, outputs: list[dict[str, Any]], *, function_to_apply: str | None = None,
                    top_k: int | None = 1, legacy: bool = True) -> Any:
        config = self.model.config
        scores = apply_function(as_numpy(outputs[0]["logits"][0]), function_to_apply or "", config)
        if top_k == 1 and legacy:
            best = int(scores.argmax())
            return {"label": config.id2label[best], "score": float(scores[best])}
        if legacy:  # return_all_scores=True: every label, in label order
            return [{"label": config.id2label[i], "score": float(s)} for i, s in enumerate(scores)]
        return top_scores(scores, config.id2label, top_k)
