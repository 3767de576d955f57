"""``image-feature-extraction``: a vision model's hidden states (or pooled output) for an image."""

from __future__ import annotations

from typing import Any

from modelyard.errors import PipelineError
from modelyard.pipelines.base import Params, Piece, Pipeline
from modelyard.pipelines.inputs import load_image


class ImageFeatureExtractionPipeline(Pipeline):
    """``pipe(image)`` -> nested lists of shape (1, patches, hidden); ``pool=True`` gives the pooler output,
    ``return_tensors=True`` a tensor; ``image_processor_kwargs`` go to the image processor."""

    task = "image-feature-extraction"

    def _sanitize(self, *, image_processor_kwargs: dict[str, Any] | None = None, return_tensors: bool | None = None,
                  pool: bool | None = None, timeout: float | None = None) -> tuple[Params, Params, Params]:
        post: Params = {}
        if pool is not None:
            post["pool"] = pool
        if return_tensors is not None:
            post["return_tensors"] = return_tensors
        return dict(image_processor_kwargs or {}), {}, post

    # any image-processor keyword: mypy accepts a narrower hook than the base's (*args, **params) only when
    # it takes named options, not **kwargs alone
    def preprocess(self, image: Any, **image_processor_kwargs: Any) -> list[Piece]:  # type: ignore[override]  # see above
        processed = self.image_processor(load_image(image), return_tensors="pt", **image_processor_kwargs)
        return [Piece({"pixel_values": processed["pixel_values"][0]})]

    def _forward(self, batch: dict[str, Any], **params: Any) -> dict[str, Any]:
        outputs = self.model(**batch)
        pooled = outputs.get("pooler_output") if hasattr(outputs, "get") else None
        return {"features": outputs[0], "pooled": pooled}

    def postprocess(self, outputs: list[dict[str, Any]], *, pool: bool = False, return_tensors: bool = False) -> Any:
        out = outputs[0]
        if pool:
            if out.get("pooled") is None:
                raise PipelineError("pool=True needs a model with a pooler (its output has no pooler_output); "
                                    "use pool=False for the hidden states.")
            features = out["pooled"]
        else:
            features = out["features"]
        return features if return_tensors else features.tolist()
