"""``zero-shot-classification``: rank labels nobody trained for, with an NLI model.

Each candidate label becomes a hypothesis (``hypothesis_template``, default ``"This example is {}."``) paired
with the text; the NLI head's entailment logit (the label of ``config.label2id`` that starts with "entail")
ranks them: a softmax over the labels, or with ``multi_label=True`` (or one label) entailment against
contradiction for each label on its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelyard.errors import PipelineError
from modelyard.pipelines.base import Params, Piece, Pipeline, as_numpy


def entailment_id(config: Any) -> int:
    for label, index in (getattr(config, "label2id", None) or {}).items():
        if str(label).lower().startswith("entail"):
            return int(index)
    raise PipelineError(
        f"zero-shot-classification needs an NLI model whose config.label2id has an 'entailment' label; this "
        f"model's labels are {sorted(getattr(config, 'label2id', {}) or {})}. Use a model fine-tuned on NLI "
        "(e.g. MNLI), or name its labels with label2id={'contradiction': 0, 'neutral': 1, 'entailment': 2}."
    )


def parse_labels(labels: Any) -> list[str]:
    if isinstance(labels, str):
        labels = [label.strip() for label in labels.split(",") if label.strip()]
    return list(labels or [])


class ZeroShotClassificationPipeline(Pipeline):
    """``pipe("I want a refund", candidate_labels=["billing", "sports"])`` ->
    ``{"sequence": ..., "labels": [...], "scores": [...]}`` (best first)."""

    task = "zero-shot-classification"

    def __init__(self, model: Any, **kwargs: Any) -> None:
        self.entailment = entailment_id(model.config)
        super().__init__(model, **kwargs)

    def _sanitize(self, *, candidate_labels: Any = None, hypothesis_template: str | None = None,
                  multi_label: bool | None = None, multi_class: bool | None = None) -> tuple[Params, Params, Params]:
        pre: Params = {}
        if candidate_labels is not None:
            pre["candidate_labels"] = parse_labels(candidate_labels)
        if hypothesis_template is not None:
            pre["hypothesis_template"] = hypothesis_template
        multi = multi_label if multi_label is not None else multi_class
        return pre, {}, ({"multi_label": multi} if multi is not None else {})

    def __call__(self, inputs: Any = None, *args: Any, **options: Any) -> Any:
        if len(args) == 1 and "candidate_labels" not in options:
            options["candidate_labels"] = args[0]
        elif args:
            raise PipelineError(f"Unexpected extra positional arguments {args!r}; pass candidate_labels=... by name.")
        return super().__call__(inputs, **options)

    def preprocess(self, sequence: Any, *, candidate_labels: list[str] | None = None,
                   hypothesis_template: str = "This example is {}.") -> list[Piece]:
        if not candidate_labels:
            raise PipelineError("zero-shot-classification needs candidate_labels=[...] (or a comma-separated string).")
        if not isinstance(sequence, str) or not sequence:
            raise PipelineError(f"zero-shot-classification reads a non-empty string; got {sequence!r:.80}.")
        if hypothesis_template.format(candidate_labels[0]) == hypothesis_template:
            raise PipelineError(
                f"hypothesis_template {hypothesis_template!r} has no '{{}}' for the label; e.g. 'This text is about {{}}.'"
            )
        names = self.tokenizer.model_input_names
        pieces = []
        for label in candidate_labels:
            pair = [[sequence, hypothesis_template.format(label)]]
            try:
                encoded = self.tokenizer(pair, padding=True, truncation="only_first")
            except Exception as err:  # the hypothesis alone is longer than the limit: keep it whole
                if "too short" not in str(err):
                    raise
                encoded = self.tokenizer(pair, padding=True, truncation=False)
            pieces.append(Piece({key: encoded[key][0] for key in names if key in encoded},
                                {"label": label, "sequence": sequence}))
        return pieces

    def postprocess(self, outputs: list[dict[str, Any]], *, multi_label: bool = False) -> dict[str, Any]:
        labels = [out["label"] for out in outputs]
        logits = np.concatenate([as_numpy(out["logits"]) for out in outputs])  # (labels, classes)
        if multi_label or len(labels) == 1:
            contradiction = -1 if self.entailment == 0 else 0
            pair = logits[:, [contradiction, self.entailment]]
            scores = (np.exp(pair) / np.exp(pair).sum(-1, keepdims=True))[:, 1]
        else:
            entail = logits[:, self.entailment]
            scores = np.exp(entail) / np.exp(entail).sum()
        order = list(reversed(scores.argsort()))
        return {"sequence": outputs[0]["sequence"], "labels": [labels[i] for i in order],
                "scores": [float(scores[i]) for i in order]}
