"""``Pipeline``: the flow every task shares, preprocess -> batched forward -> postprocess.

A task subclass says three things: how one input becomes one or more *pieces* (``preprocess``: the model
inputs of one example, without a batch dimension, plus whatever postprocessing needs), how a padded batch of
pieces runs through the model (``_forward``, usually just the model), and how the outputs of one input's pieces
become the result (``postprocess``). The base class owns the rest: options split between the three steps
(given when the pipeline is built or per call), batching pieces across inputs with padding, the device and
dtype, and the reference's rules for what comes back (one result for one input, a list for a list, an
iterator for a generator or a dataset).
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from modelyard.errors import PipelineError, UnexpectedArgumentError
from modelyard.options import near_miss
from modelyard.pipelines.inputs import input_kind, iterate

logger = logging.getLogger(__name__)

Params = dict[str, Any]


@dataclass
class Piece:
    """One model input row: ``inputs`` (model argument -> one example's values, no batch dimension: a list of
    ints, an array or a tensor) and ``extra`` (carried untouched to postprocess)."""

    inputs: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_device(device: int | str | torch.device | None) -> torch.device | None:
    """The reference's spellings: ``-1``/``"cpu"``, ``0``/``"cuda:0"``, ``"mps"``, a ``torch.device``."""
    if device is None:
        return None
    if isinstance(device, torch.device):
        return device
    if isinstance(device, int):
        return torch.device("cpu") if device < 0 else torch.device("cuda", device)
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise PipelineError(f"Unknown device {device!r}; use -1 or 'cpu', a GPU index such as 0, or 'cuda:0'.") from err


def _pad_value(key: str, pipeline: Pipeline) -> float | int:
    if key == "input_ids":
        pad = getattr(pipeline.tokenizer, "pad_token_id", None)
        if pad is None:
            raise PipelineError(
                "Inputs of different lengths need padding, but the tokenizer has no pad token. Set one "
                "(pipe.tokenizer.pad_token = pipe.tokenizer.eos_token) or use batch_size=1."
            )
        return int(pad)
    if key in ("input_values", "input_features", "pixel_values"):
        return float(getattr(pipeline.feature_extractor or pipeline.image_processor, "padding_value", 0.0) or 0.0)
    return 0


def _length(piece: Piece) -> int:
    """A piece's padded dimension (its first model input's length), for grouping similar pieces."""
    value = next(iter(piece.inputs.values()), None)
    return len(value) if value is not None and hasattr(value, "__len__") else 0


class Pipeline:
    """Base class of the task pipelines; build one with :func:`modelyard.pipeline`."""

    task: ClassVar[str] = ""

    def __init__(
        self,
        model: Any,
        *,
        tokenizer: Any = None,
        feature_extractor: Any = None,
        image_processor: Any = None,
        processor: Any = None,
        device: int | str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        batch_size: int | None = None,
        **options: Any,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.feature_extractor = feature_extractor
        self.image_processor = image_processor
        self.processor = processor
        target = resolve_device(device)
        if dtype is not None and dtype != "auto":
            from modelyard.modeling import resolve_dtype

            model.to(resolve_dtype(dtype))
        if target is not None:
            model.to(target)
        model.eval()
        parameter = next(model.parameters(), None)
        self.device = parameter.device if parameter is not None else (target or torch.device("cpu"))
        self.dtype = parameter.dtype if parameter is not None else torch.float32
        self.batch_size = batch_size
        self._defaults = self._split(options)  # checked now, so a misspelt option fails at build time

    # -- what subclasses give ------------------------------------------------------------------------------
    # Each task names its own keyword-only options; ``*args: Any, **...: Any`` here tells the type checker that
    # these hooks take whatever options a task declares (the options are checked by _split at run time).
    def _sanitize(self, *args: Any, **options: Any) -> tuple[Params, Params, Params]:
        """Split the task's options into (preprocess, forward, postprocess) keywords."""
        return {}, {}, {}

    def preprocess(self, item: Any, *args: Any, **params: Any) -> list[Piece]:
        raise NotImplementedError

    def _forward(self, batch: dict[str, torch.Tensor], **params: Any) -> Mapping[str, Any]:
        return self.model(**batch)

    def postprocess(self, outputs: list[dict[str, Any]], *args: Any, **params: Any) -> Any:
        raise NotImplementedError

    # -- options -------------------------------------------------------------------------------------------
    def _split(self, options: dict[str, Any]) -> tuple[Params, Params, Params]:
        accepted = [name for name, p in inspect.signature(self._sanitize).parameters.items()
                    if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD
                        for p in inspect.signature(self._sanitize).parameters.values())
        unknown = [key for key in options if key not in accepted]
        if unknown and not takes_any:
            hints = [f"{key!r} (did you mean {guess!r}?)" if (guess := near_miss(key, accepted)) else repr(key)
                     for key in unknown]
            raise UnexpectedArgumentError(
                f"The {self.task} pipeline got unexpected options {', '.join(hints)}. "
                f"It takes: {', '.join(sorted(accepted)) or 'no options'} (and batch_size)."
            )
        return self._sanitize(**options)

    def _merged(self, options: dict[str, Any]) -> tuple[Params, Params, Params]:
        call = self._split(options) if options else ({}, {}, {})
        return tuple({**default, **given} for default, given in zip(self._defaults, call))  # type: ignore[return-value]  # three dicts, from zip over two triples

    # -- running -------------------------------------------------------------------------------------------
    def __call__(self, inputs: Any = None, *, batch_size: int | None = None, **options: Any) -> Any:
        """Run the task on one input (one result), a list (a list of results), or a generator / dataset
        (an iterator of results, computed as it is read). ``batch_size`` groups inputs into padded batches."""
        pre, fwd, post = self._merged(options)
        size = batch_size or self.batch_size or 1
        if not isinstance(size, int) or size < 1:
            raise PipelineError(f"batch_size must be a positive integer, got {size!r}.")
        kind = input_kind(inputs)
        if kind == "single":
            return next(self._run(iter([inputs]), 1, pre, fwd, post))
        if kind == "list":
            inputs = list(inputs)
            if size > 1:
                return self._run_sorted(inputs, size, pre, fwd, post)
            return list(self._run(iter(inputs), size, pre, fwd, post))
        return self._run(iterate(inputs), size, pre, fwd, post)

    def _pieces(self, item: Any, pre: Params) -> tuple[list[Any], list[tuple[list[Any], int, Piece]]]:
        """Preprocess ``item``: its slot (``[pieces left, output per piece]``) and its pieces, each with the slot
        and its index there (the forward fills the slot in as the pieces' batches come back)."""
        pieces = self.preprocess(item, **pre)
        slot: list[Any] = [len(pieces), [None] * len(pieces)]
        return slot, [(slot, index, piece) for index, piece in enumerate(pieces)]

    def _run_sorted(self, items: list[Any], size: int, pre: Params, fwd: Params, post: Params) -> list[Any]:
        """A whole list at once: pieces batched in order of length, so a batch pads to little more than its
        rows (each row's result is its own; only float rounding could tell the batches apart)."""
        slots: list[list[Any]] = []
        pieces: list[tuple[list[Any], int, Piece]] = []
        for item in items:
            slot, tagged = self._pieces(item, pre)
            slots.append(slot)
            pieces.extend(tagged)
        pieces.sort(key=lambda entry: _length(entry[2]))
        for start in range(0, len(pieces), size):
            self._forward_pieces(pieces[start:start + size], fwd)
        return [self.postprocess(slot[1], **post) for slot in slots]

    def _run(self, items: Iterator[Any], size: int, pre: Params, fwd: Params, post: Params) -> Iterator[Any]:
        open_items: deque[list[Any]] = deque()  # [pieces left, outputs per piece], in input order
        buffer: list[tuple[list[Any], int, Piece]] = []
        for item in items:
            slot, tagged = self._pieces(item, pre)
            open_items.append(slot)
            buffer.extend(tagged)
            while len(buffer) >= size:
                self._forward_pieces(buffer[:size], fwd)
                del buffer[:size]
            yield from self._finished(open_items, post)
        if buffer:
            self._forward_pieces(buffer, fwd)
        yield from self._finished(open_items, post)

    def _finished(self, open_items: deque[list[Any]], post: Params) -> Iterator[Any]:
        while open_items and open_items[0][0] == 0:
            yield self.postprocess(open_items.popleft()[1], **post)

    def _forward_pieces(self, batch: list[tuple[list[Any], int, Piece]], fwd: Params) -> None:
        model_inputs = self.collate([piece.inputs for _, _, piece in batch])
        with torch.inference_mode():
            outputs = self._forward(model_inputs, **fwd)
        rows = {key: value.detach().cpu() if isinstance(value, torch.Tensor) else value
                for key, value in outputs.items() if value is not None}
        for row, (slot, index, piece) in enumerate(batch):
            out = {key: value[row:row + 1] if isinstance(value, torch.Tensor) else value for key, value in rows.items()}
            slot[1][index] = {**piece.extra, "model_inputs": piece.inputs, **out}
            slot[0] -= 1

    def collate(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Stack one batch, right-padding rows of different lengths with each input's pad value."""
        batch: dict[str, torch.Tensor] = {}
        for key in rows[0]:
            values = [row[key] for row in rows]
            if isinstance(values[0], list):
                longest = max(len(v) for v in values)
                if any(len(v) != longest for v in values):
                    pad = _pad_value(key, self)
                    values = [v + [pad] * (longest - len(v)) for v in values]
                tensor = torch.tensor(values)
            else:
                tensors = [torch.as_tensor(np.asarray(v)) if isinstance(v, np.ndarray) else torch.as_tensor(v)
                           for v in values]
                longest = max(t.shape[0] for t in tensors)
                if any(t.shape[0] != longest for t in tensors):
                    pad = _pad_value(key, self)
                    tensors = [torch.cat([t, t.new_full((longest - t.shape[0], *t.shape[1:]), pad)]) for t in tensors]
                tensor = torch.stack(tensors)
            if tensor.is_floating_point():
                tensor = tensor.to(self.dtype)
            batch[key] = tensor.to(self.device)
        return batch

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r}, model={type(self.model).__name__}, device={self.device})"


def top_scores(scores: np.ndarray, id2label: Mapping[int, str], top_k: int | None) -> list[dict[str, Any]]:
    """``[{"label", "score"}]`` sorted by score (stable, so ties keep label order), the first ``top_k``."""
    rows: list[dict[str, Any]] = [{"label": id2label[i], "score": float(score)} for i, score in enumerate(scores)]
    rows.sort(key=lambda row: row["score"], reverse=True)
    return rows if top_k is None else rows[:top_k]


def softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def as_numpy(tensor: torch.Tensor) -> np.ndarray:
    """float32 NumPy of a model output (half precision widened first, as the reference does)."""
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.float()
    return tensor.numpy()


def apply_function(logits: np.ndarray, function: str, config: Any) -> np.ndarray:
    """The reference's ``function_to_apply``: an explicit "sigmoid"/"softmax"/"none", or by the config."""
    name = (function or "").lower()
    if not name or name == "default":
        if getattr(config, "problem_type", None) == "regression":
            name = "none"
        elif getattr(config, "problem_type", None) == "multi_label_classification" or config.num_labels == 1:
            name = "sigmoid"
        else:
            name = "softmax"
    if name == "softmax":
        return softmax(logits)
    if name == "sigmoid":
        return sigmoid(logits)
    if name == "none":
        return logits
    raise PipelineError(f"Unknown function_to_apply {function!r}; use 'softmax', 'sigmoid' or 'none'.")
