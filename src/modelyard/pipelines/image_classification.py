"""``image-classification``: labels and scores for an image (a PIL image, an array or a local file)."""

from __future__ import annotations

from typing import Any

from modelyard.pipelines.base import Params, Piece, Pipeline, apply_function, as_numpy, top_scores
from modelyard.pipelines.inputs import load_image


class ImageClassificationPipeline(Pipeline):
    """``pipe(image)`` -> ``[{"label", "score"}, ...]``: the ``top_k`` (default 5) best labels;
    ``function_to_apply`` as text classification's."""

    task = "image-classification"

    def _sanitize(self, *, top_k: int | None = None, function_to_apply: str | None = None,
                  timeout: float | None = None) -> tuple[Params, Params, Params]:
        post: Params = {}
        if top_k is not None:
            post["top_k"] = top_k
        if function_to_apply is not None:
            post["function_to_apply"] = str(getattr(function_to_apply, "value", function_to_apply))
        return {}, {}, post

    def __call__(self, inputs: Any = None, **options: Any) -> Any:
        if inputs is None and "images" in options:
            inputs = options.pop("images")
        return super().__call__(inputs, **options)

    def preprocess(self, image: Any) -> list[Piece]:
        processed = self.image_processor(images=load_image(image), return_tensors="pt")
        return [Piece({"pixel_values": processed["pixel_values"][0]})]

    def postprocess(self, outputs: list[dict[str, Any]], *, function_to_apply: str | None = None,
                    top_k: int = 5) -> list[dict[str, Any]]:
        config = self.model.config
        scores = apply_function(as_numpy(outputs[0]["logits"][0]), function_to_apply or "", config)
        return top_scores(scores, config.id2label, min(top_k, config.num_labels))
