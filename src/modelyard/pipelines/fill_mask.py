"""``fill-mask``: the likeliest tokens for each mask token in a text."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from modelyard.errors import PipelineError
from modelyard.pipelines.base import Params, Piece, Pipeline

logger = logging.getLogger(__name__)


class FillMaskPipeline(Pipeline):
    """``pipe("Paris is the [MASK] of France.")`` -> ``[{"score", "token", "token_str", "sequence"}, ...]``.

    ``top_k`` (default 5) predictions per mask; ``targets`` limits them to given words. With several masks,
    one list per mask (the sequences then keep the special tokens, as the reference's do).
    """

    task = "fill-mask"

    def _sanitize(self, *, top_k: int | None = None, targets: str | list[str] | None = None,
                  tokenizer_kwargs: dict[str, Any] | None = None) -> tuple[Params, Params, Params]:
        if self.tokenizer.mask_token_id is None:
            raise PipelineError("fill-mask needs a tokenizer with a mask token; this tokenizer defines none.")
        pre = {"tokenizer_kwargs": tokenizer_kwargs} if tokenizer_kwargs else {}
        post: Params = {}
        if targets is not None:
            post["target_ids"] = self._target_ids(targets)
        if top_k is not None:
            post["top_k"] = top_k
        return pre, {}, post

    def __call__(self, inputs: Any = None, **options: Any) -> Any:
        outputs = super().__call__(inputs, **options)
        if isinstance(inputs, list) and len(inputs) == 1:  # the reference's rule for a one-element list
            return outputs[0]
        return outputs

    def _target_ids(self, targets: str | list[str]) -> np.ndarray:
        vocab = self.tokenizer.get_vocab()
        ids = []
        for target in [targets] if isinstance(targets, str) else targets:
            token_id = vocab.get(target)
            if token_id is None:
                pieces = self.tokenizer(target, add_special_tokens=False, return_attention_mask=False,
                                        return_token_type_ids=False, max_length=1, truncation=True)["input_ids"]
                if not pieces:
                    logger.warning("Target %r is not in the vocabulary and tokenizes to nothing; ignored.", target)
                    continue
                token_id = pieces[0]
                logger.warning("Target %r is not in the vocabulary; using its first token %r.", target,
                               self.tokenizer.convert_ids_to_tokens(token_id))
            ids.append(token_id)
        ids = sorted(set(ids))
        if not ids:
            raise PipelineError(f"None of the targets {targets!r} maps to a token; pass at least one usable target.")
        return np.array(ids)

    def preprocess(self, item: Any, *, tokenizer_kwargs: dict[str, Any] | None = None) -> list[Piece]:
        if not isinstance(item, str):
            raise PipelineError(f"fill-mask reads a string with a mask token; got {type(item).__name__}.")
        encoded = self.tokenizer(item, **(tokenizer_kwargs or {}))
        if self.tokenizer.mask_token_id not in encoded["input_ids"]:
            raise PipelineError(
                f"No mask token ({self.tokenizer.mask_token}) found in the input {item!r:.80}; put one where the "
                "word to predict goes."
            )
        names = self.tokenizer.model_input_names
        return [Piece({key: value for key, value in encoded.items() if key in names})]

    def postprocess(self, outputs: list[dict[str, Any]], *, top_k: int = 5,
                    target_ids: np.ndarray | None = None) -> Any:
        out = outputs[0]
        input_ids = torch.tensor(out["model_inputs"]["input_ids"])
        if target_ids is not None and target_ids.shape[0] < top_k:
            top_k = target_ids.shape[0]
        masked = torch.nonzero(input_ids == self.tokenizer.mask_token_id).squeeze(-1)
        logits = out["logits"][0, masked, :].float()
        probs = logits.softmax(dim=-1)
        if target_ids is not None:
            probs = probs[..., torch.as_tensor(target_ids)]
        values, predictions = probs.topk(min(top_k, probs.shape[-1]))
        single = values.shape[0] == 1
        pad = self.tokenizer.pad_token_id
        result = []
        for i, (row_values, row_predictions) in enumerate(zip(values.tolist(), predictions.tolist())):
            row = []
            for score, prediction in zip(row_values, row_predictions):
                token = int(target_ids[prediction]) if target_ids is not None else prediction
                tokens = input_ids.clone()
                tokens[masked[i]] = token
                if pad is not None:
                    tokens = tokens[tokens != pad]
                row.append({
                    "score": score,
                    "token": token,
                    "token_str": self.tokenizer.decode([token]),
                    "sequence": self.tokenizer.decode(tokens.tolist(), skip_special_tokens=single),
                })
            result.append(row)
        return result[0] if single else result
