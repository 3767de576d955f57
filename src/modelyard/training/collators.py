"""Data collators: a list of examples (dicts) in, one batch (a dict of tensors) out.

- :func:`default_data_collator` stacks what is already the same size (tensors, arrays, numbers, lists):
  tokenised text padded in advance, and the ``pixel_values`` / fixed-length ``input_values`` our feature
  extractors produce. ``label`` / ``label_ids`` become ``labels``.
- :class:`DataCollatorWithPadding` pads with the tokenizer's (or audio feature extractor's) ``pad``.
- :class:`DataCollatorForLanguageModeling` pads, then masks tokens for masked-language-model training
  (BERT / DistilBERT) or copies the inputs as labels for causal language models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from modelyard.tokenization.padding import pad_without_fast_tokenizer_warning
from modelyard.training.errors import TrainerError

IGNORE_INDEX = -100  # label value the losses skip


def _as_mapping(example: Any) -> Mapping[str, Any]:
    if type(example) is dict or isinstance(example, Mapping):
        return example
    if hasattr(example, "keys") and hasattr(example, "__getitem__"):
        return {key: example[key] for key in example.keys()}
    if hasattr(example, "__dict__"):
        return vars(example)
    raise TrainerError(
        f"A data collator got an example of type {type(example).__name__}; examples must be dicts of model "
        "inputs (e.g. {'input_ids': [...], 'labels': 1}). Make your dataset's __getitem__ return a dict."
    )


def _stack(key: str, values: list[Any]) -> torch.Tensor:
    first = values[0]
    try:
        if isinstance(first, torch.Tensor):
            return torch.stack(values)
        if isinstance(first, np.ndarray):
            return torch.from_numpy(np.stack(values))
        if isinstance(first, np.generic):
            return torch.tensor(np.array(values))
        return torch.tensor(values)
    except (RuntimeError, ValueError, TypeError) as err:
        shapes = sorted({str(tuple(np.shape(v))) for v in values})
        raise TrainerError(
            f"Cannot batch the field {key!r}: its values differ in shape ({', '.join(shapes[:4])}). Pad them to one "
            "length (data_collator=DataCollatorWithPadding(tokenizer)) or pad when tokenising (padding='max_length')."
        ) from err


def default_data_collator(features: Sequence[Any], return_tensors: str = "pt") -> dict[str, Any]:
    """Stack a list of examples into a batch; ``label`` / ``label_ids`` become ``labels``. Strings and
    ``None`` values are left out (they cannot be tensors)."""
    if return_tensors != "pt":
        raise TrainerError(f"default_data_collator builds PyTorch tensors only; got return_tensors={return_tensors!r}.")
    if not features:
        raise TrainerError("default_data_collator got an empty list of examples.")
    examples = features if type(features[0]) is dict else [_as_mapping(f) for f in features]
    batch: dict[str, Any] = {}
    for key, value in examples[0].items():
        if value is None or isinstance(value, str):
            continue
        name = "labels" if key in ("label", "label_ids") else key
        values = [e[key] for e in examples]
        if name == "labels" and not isinstance(value, torch.Tensor | np.ndarray | list | tuple):
            if isinstance(value, bool | int | np.integer):
                batch[name] = torch.tensor(values, dtype=torch.long)
            else:
                batch[name] = torch.tensor(values, dtype=torch.float)
        else:
            batch[name] = _stack(key, values)
    return batch


default_data_collator.draws_random = False  # type: ignore[attr-defined]  # a function attribute (see training.data.needs_seeding)


def _rename_labels(batch: dict[str, Any]) -> dict[str, Any]:
    for name in ("label", "label_ids"):
        if name in batch:
            batch["labels"] = batch.pop(name)
    return batch


@dataclass
class DataCollatorWithPadding:
    """Pad examples of different lengths with ``processing_class.pad`` (a tokenizer, or an audio feature
    extractor such as ``Wav2Vec2FeatureExtractor``)."""

    draws_random = False  # padding is deterministic (see training.data.needs_seeding)

    tokenizer: Any
    padding: bool | str = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        if not callable(getattr(self.tokenizer, "pad", None)):
            raise TrainerError(
                f"DataCollatorWithPadding needs a tokenizer or feature extractor with a pad() method; got "
                f"{type(self.tokenizer).__name__}."
            )

    def __call__(self, features: Sequence[Any]) -> dict[str, Any]:
        examples = [dict(_as_mapping(f)) for f in features]
        # Labels of fixed size ride along; the padder only sees model inputs.
        labels = {k: [e.pop(k) for e in examples] for k in ("label", "label_ids", "labels") if k in examples[0]}
        batch = dict(
            pad_without_fast_tokenizer_warning(
                self.tokenizer,
                examples, padding=self.padding, max_length=self.max_length,
                pad_to_multiple_of=self.pad_to_multiple_of, return_tensors=self.return_tensors,
            )
        )
        for key, values in labels.items():
            batch[key] = _stack(key, values)
        return _rename_labels(batch)


@dataclass
class DataCollatorForLanguageModeling:
    """Masked-language-model batches (``mlm=True``): of the tokens chosen with ``mlm_probability`` (never
    special tokens or padding), 80% become ``[MASK]``, 10% a random token, 10% stay; ``labels`` hold the
    original ids there and -100 elsewhere. With ``mlm=False`` (causal LMs), labels are the inputs with
    padding set to -100. Masks are drawn from torch's global generator, which the Trainer seeds and
    checkpoints, so a resumed run draws the same masks."""

    tokenizer: Any
    mlm: bool = True
    mlm_probability: float = 0.15
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        if self.mlm and getattr(self.tokenizer, "mask_token", None) is None:
            raise TrainerError(
                f"{type(self.tokenizer).__name__} has no mask token, which masked-language modelling needs; use a "
                "tokenizer with a [MASK] token or pass mlm=False."
            )
        if not 0.0 < self.mlm_probability < 1.0:
            raise TrainerError(f"mlm_probability must lie in (0, 1), got {self.mlm_probability}.")

    def __call__(self, features: Sequence[Any]) -> dict[str, Any]:
        examples = [_as_mapping(f) for f in features]
        batch = dict(pad_without_fast_tokenizer_warning(
            self.tokenizer, list(examples), padding=True, pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt"
        ))
        input_ids: torch.Tensor = batch["input_ids"]
        special = batch.pop("special_tokens_mask", None)
        if self.mlm:
            batch["input_ids"], batch["labels"] = self.mask_tokens(input_ids, special)
        else:
            labels = input_ids.clone()
            pad_id = self.tokenizer.pad_token_id
            if pad_id is not None:
                labels[labels == pad_id] = IGNORE_INDEX
            batch["labels"] = labels
        return batch

    def _special_mask(self, input_ids: torch.Tensor) -> torch.Tensor:
        ids = set(getattr(self.tokenizer, "all_special_ids", []) or [])
        for name in ("pad_token_id", "cls_token_id", "sep_token_id", "mask_token_id", "bos_token_id", "eos_token_id"):
            value = getattr(self.tokenizer, name, None)
            if value is not None:
                ids.add(value)
        return torch.isin(input_ids, torch.tensor(sorted(ids), dtype=input_ids.dtype))

    def mask_tokens(
        self, input_ids: torch.Tensor, special_tokens_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = input_ids.clone()
        labels = input_ids.clone()
        probability = torch.full(labels.shape, self.mlm_probability)
        special = special_tokens_mask.bool() if special_tokens_mask is not None else self._special_mask(labels)
        probability.masked_fill_(special, 0.0)
        masked = torch.bernoulli(probability).bool()
        labels[~masked] = IGNORE_INDEX
        replaced = torch.bernoulli(torch.full(labels.shape, 0.8)).bool() & masked
        inputs[replaced] = self.tokenizer.mask_token_id
        randomised = torch.bernoulli(torch.full(labels.shape, 0.5)).bool() & masked & ~replaced
        random_words = torch.randint(len(self.tokenizer), labels.shape, dtype=inputs.dtype)
        inputs[randomised] = random_words[randomised]
        return inputs, labels
