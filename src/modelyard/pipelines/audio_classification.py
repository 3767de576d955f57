"""``audio-classification``: labels and scores for a clip (an array, a dict with its rate, or a .wav file)."""

from __future__ import annotations

from typing import Any

from modelyard.errors import PipelineError
from modelyard.pipelines.base import Params, Piece, Pipeline, apply_function, as_numpy
from modelyard.pipelines.inputs import load_audio


class AudioClassificationPipeline(Pipeline):
    """``pipe(samples)`` -> ``[{"score", "label"}, ...]``: ``top_k`` labels (default: all, best first),
    scores by ``function_to_apply`` ("softmax" by default, "sigmoid" or "none")."""

    task = "audio-classification"

    def _sanitize(self, *, top_k: int | None = None, function_to_apply: str | None = None
                  ) -> tuple[Params, Params, Params]:
        labels = self.model.config.num_labels
        function = function_to_apply or "softmax"
        if function not in ("softmax", "sigmoid", "none"):
            raise PipelineError(f"Unknown function_to_apply {function!r}; use 'softmax', 'sigmoid' or 'none'.")
        return {}, {}, {"top_k": labels if top_k is None else min(top_k, labels), "function_to_apply": function}

    def preprocess(self, audio: Any) -> list[Piece]:
        rate = self.feature_extractor.sampling_rate
        processed = self.feature_extractor(load_audio(audio, rate), sampling_rate=rate, return_tensors="pt")
        return [Piece({key: value[0] for key, value in processed.items()})]

    def postprocess(self, outputs: list[dict[str, Any]], *, top_k: int = 5,
                    function_to_apply: str = "softmax") -> list[dict[str, Any]]:
        config = self.model.config
        scores = apply_function(as_numpy(outputs[0]["logits"][0]), function_to_apply, config)
        rows = [{"score": float(score), "label": config.id2label[i]} for i, score in enumerate(scores)]
        rows.sort(key=lambda row: row["score"], reverse=True)
        return rows[:top_k]
