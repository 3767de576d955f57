"""``feature-extraction``: the base model's hidden states for a text, as nested lists (or a tensor)."""

from __future__ import annotations

from typing import Any

from modelyard.errors import PipelineError
from modelyard.pipelines.base import Params, Piece, Pipeline


class FeatureExtractionPipeline(Pipeline):
    """``pipe("Hello")`` -> ``[[[...hidden...], ...]]``: shape (1, tokens, hidden), as the reference's.

    Options: ``truncation``, ``tokenize_kwargs`` (passed to the tokenizer), ``return_tensors=True`` for a
    torch tensor instead of lists. Batched inputs come back at their own length (padding trimmed).
    """

    task = "feature-extraction"

    def _sanitize(self, *, truncation: bool | str | None = None, tokenize_kwargs: dict[str, Any] | None = None,
                  return_tensors: bool | None = None) -> tuple[Params, Params, Params]:
        pre = dict(tokenize_kwargs or {})
        if truncation is not None:
            if "truncation" in pre:
                raise PipelineError("truncation is given twice: as an option and in tokenize_kwargs; keep one.")
            pre["truncation"] = truncation
        post = {} if return_tensors is None else {"return_tensors": return_tensors}
        return pre, {}, post

    def preprocess(self, item: Any, **tokenize_kwargs: Any) -> list[Piece]:
        if not isinstance(item, (str, dict)):
            raise PipelineError(f"feature-extraction reads a string; got {type(item).__name__} {item!r:.80}.")
        encoded = self.tokenizer(**item, **tokenize_kwargs) if isinstance(item, dict) \
            else self.tokenizer(item, **tokenize_kwargs)
        names = self.tokenizer.model_input_names
        return [Piece({key: value for key, value in encoded.items() if key in names})]

    def _forward(self, batch: dict[str, Any], **params: Any) -> dict[str, Any]:
        outputs = self.model(**batch)
        return {"features": outputs[0]}

    def postprocess(self, outputs: list[dict[str, Any]], *, return_tensors: bool = False) -> Any:
        out = outputs[0]
        length = len(out["model_inputs"]["input_ids"])
        features = out["features"][:, :length]
        return features if return_tensors else features.tolist()
