"""What the Trainer takes from a model's output and gives back from ``train`` / ``predict``.

A model may return a ``ModelOutput``, a plain dict (``{"loss": ..., "logits": ...}``, as the custom ResNet
of the guide does) or a tuple with the loss first when labels were given. Anything dict-like is read by
key (``keys()`` / ``[key]``), so this does not depend on how ``ModelOutput`` is built.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import torch

from modelyard.training.errors import TrainerError


def _is_mapping_like(outputs: Any) -> bool:
    return hasattr(outputs, "keys") and hasattr(outputs, "__getitem__") and not isinstance(outputs, torch.Tensor)


def has_labels(inputs: Any, label_names: list[str]) -> bool:
    """Whether the batch ``inputs`` holds any of ``label_names`` (not None)."""
    return any(inputs.get(name) is not None for name in label_names)


def extract_loss(outputs: Any, *, inputs: Any, model: Any, label_names: list[str]) -> torch.Tensor:
    """The scalar loss in ``outputs`` (the model's output on the batch ``inputs``), or an error that says what
    the model returned instead."""
    if isinstance(outputs, dict):  # a dict or a ModelOutput with a scalar loss: the common case, checked cheaply
        loss = outputs.get("loss")
        if isinstance(loss, torch.Tensor) and loss.dim() == 0:
            return loss
    # only outputs off the fast path need to know about labels (a tuple's first item is the loss only then)
    with_labels = has_labels(inputs, label_names)
    model_name = type(model).__name__
    loss = None
    if _is_mapping_like(outputs):
        loss = outputs["loss"] if "loss" in outputs.keys() else None
        returned = f"a {type(outputs).__name__} with keys {list(outputs.keys())}"
    elif isinstance(outputs, tuple | list):
        loss = outputs[0] if outputs and with_labels else None
        returned = f"a {type(outputs).__name__} of {len(outputs)} items"
        if loss is not None and not (isinstance(loss, torch.Tensor) and loss.numel() == 1):
            raise TrainerError(
                f"{model_name}.forward returned {returned} whose first item is not a scalar loss "
                f"({type(loss).__name__}{'' if not isinstance(loss, torch.Tensor) else tuple(loss.shape)}). "
                "When labels are passed, put the loss first (as the reference's models do) or return a dict "
                "with a 'loss' key."
            )
    elif isinstance(outputs, torch.Tensor) and outputs.dim() == 0:
        loss = outputs
        returned = "a scalar tensor"
    else:
        returned = f"a {type(outputs).__name__}"
    if loss is None:
        if with_labels:
            raise TrainerError(
                f"{model_name}.forward returned no loss ({returned}) although the batch has labels "
                f"({', '.join(label_names)}). Make forward compute the loss when labels are passed and return it "
                "as {'loss': loss, 'logits': logits} (or a ModelOutput with loss, or a tuple with the loss "
                "first), or subclass Trainer and override compute_loss."
            )
        raise TrainerError(
            f"{model_name}.forward returned no loss ({returned}) and the batch has no labels (looked for "
            f"{', '.join(label_names)}). Give the dataset a 'labels' field (or 'label'), set label_names in "
            "TrainingArguments to your label field, or make the model return its own loss."
        )
    if not isinstance(loss, torch.Tensor):
        raise TrainerError(f"{model_name}.forward returned a loss of type {type(loss).__name__}; it must be a tensor.")
    if loss.numel() != 1:
        loss = loss.mean()  # e.g. one loss per replica from DataParallel
    return loss.reshape(())


def predictions_of(outputs: Any, *, ignore_keys: list[str] | None = None, has_loss: bool) -> Any:
    """Everything the model returned except the loss (and ``ignore_keys``); one item is returned bare."""
    ignore = set(ignore_keys or ())
    if _is_mapping_like(outputs):
        items = tuple(outputs[k] for k in outputs.keys() if k != "loss" and k not in ignore)
    elif isinstance(outputs, tuple | list):
        items = tuple(outputs[1:] if has_loss else outputs)
    else:
        items = (outputs,)
    items = tuple(i for i in items if isinstance(i, torch.Tensor | tuple | list))
    if not items:
        return None
    return items[0] if len(items) == 1 else items


class EvalPrediction:
    """What ``compute_metrics`` receives: ``predictions`` and ``label_ids`` as NumPy arrays (tuples of them
    for several outputs); unpacks as ``predictions, labels = eval_pred``."""

    def __init__(self, predictions: Any, label_ids: Any, inputs: Any = None) -> None:
        self.predictions = predictions
        self.label_ids = label_ids
        self.inputs = inputs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.predictions, self.label_ids))

    def __getitem__(self, index: int) -> Any:
        return (self.predictions, self.label_ids)[index]

    def __len__(self) -> int:
        return 2


class EvalLoopOutput(NamedTuple):
    predictions: Any
    label_ids: Any
    metrics: dict[str, float]
    num_samples: int


class PredictionOutput(NamedTuple):
    predictions: Any
    label_ids: Any
    metrics: dict[str, float] | None


class TrainOutput(NamedTuple):
    global_step: int
    training_loss: float
    metrics: dict[str, float]


def speed_metrics(split: str, start: float, *, num_samples: int | None = None, num_steps: int | None = None) -> dict[str, float]:
    """``<split>_runtime`` and, where known, samples and steps per second (the reference's rounding)."""
    runtime = time.perf_counter() - start
    result = {f"{split}_runtime": round(runtime, 4)}
    if runtime > 0 and num_samples is not None:
        result[f"{split}_samples_per_second"] = round(num_samples / runtime, 3)
    if runtime > 0 and num_steps is not None:
        result[f"{split}_steps_per_second"] = round(num_steps / runtime, 3)
    return result


# ------------------------------------------------------------------------- accumulating predictions
def to_numpy(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return type(value)(to_numpy(v) for v in value)
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        if tensor.dtype in (torch.bfloat16, torch.float16):
            tensor = tensor.float()  # NumPy has no bfloat16
        return tensor.numpy()
    return value


def _concat_padded(first: np.ndarray, second: np.ndarray, padding_index: int) -> np.ndarray:
    """Concatenate along the batch axis; a second axis of different sizes is padded with ``padding_index``."""
    if first.ndim < 2 or first.shape[1:] == second.shape[1:]:
        return np.concatenate((first, second), axis=0)
    width = max(first.shape[1], second.shape[1])
    shape = (first.shape[0] + second.shape[0], width, *first.shape[2:])
    result = np.full(shape, padding_index, dtype=np.result_type(first, second))
    result[: first.shape[0], : first.shape[1]] = first
    result[first.shape[0] :, : second.shape[1]] = second
    return result


def nested_concat(accumulated: Any, new: Any, padding_index: int = -100) -> Any:
    if accumulated is None:
        return new
    if isinstance(new, tuple | list):
        return type(new)(nested_concat(a, n, padding_index) for a, n in zip(accumulated, new))
    return _concat_padded(accumulated, new, padding_index)
