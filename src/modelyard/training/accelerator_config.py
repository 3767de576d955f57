"""``AcceleratorConfig``: the settings of the ``accelerate.Accelerator`` under the Trainer (mostly about data).

``TrainingArguments(accelerator_config=...)`` takes one of these, a dict of its fields, or the path of a JSON
file holding that dict, as the reference's does. The Trainer passes the data settings to accelerate's
``DataLoaderConfiguration``; ``gradient_accumulation_kwargs["num_steps"]`` sets ``gradient_accumulation_steps``
and ``sync_each_batch`` makes every micro-batch all-reduce its gradients (less memory, more communication);
the Trainer's loop always ends an accumulation at the end of the data and steps the schedule once per
optimizer step (``sync_with_dataloader`` and ``adjust_scheduler`` as True; False is accepted with a warning).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any

from modelyard.training.errors import TrainingArgumentsError

# what the Trainer's loop reads from gradient_accumulation_kwargs; accelerate's GradientAccumulationPlugin fields
GRADIENT_ACCUMULATION_KEYS = ("num_steps", "adjust_scheduler", "sync_with_dataloader", "sync_each_batch")


@dataclass
class AcceleratorConfig:
    """Settings of the Trainer's ``accelerate.Accelerator`` (defaults as the reference's)."""

    split_batches: bool = False  # True: each loader batch is split across processes instead of one per process
    dispatch_batches: bool | None = None  # True: process 0 loads every batch and sends the shards; None: iterable only
    even_batches: bool = True  # pad the last batches by cycling samples so every process gets the same number
    use_seedable_sampler: bool = True  # a sampler seeded per epoch (reproducible shuffling)
    non_blocking: bool = False  # asynchronous host-to-device copies (pair with dataloader_pin_memory=True)
    gradient_accumulation_kwargs: dict[str, Any] | None = None  # GradientAccumulationPlugin settings
    use_configured_state: bool = False  # reuse the AcceleratorState set up before (it must exist)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.gradient_accumulation_kwargs or {}) - set(GRADIENT_ACCUMULATION_KEYS))
        if unknown:
            raise TrainingArgumentsError(
                f"accelerator_config.gradient_accumulation_kwargs has unknown keys {unknown}; the keys are "
                f"{list(GRADIENT_ACCUMULATION_KEYS)}."
            )
        steps = (self.gradient_accumulation_kwargs or {}).get("num_steps")
        if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
            raise TrainingArgumentsError(
                f"accelerator_config.gradient_accumulation_kwargs['num_steps'] must be a whole number >= 1, got {steps!r}."
            )

    @classmethod
    def from_json_file(cls, json_file: str | os.PathLike[str]) -> AcceleratorConfig:
        """The config a JSON file of ``{field: value}`` describes; unknown keys are an error naming them."""
        with open(json_file, encoding="utf-8") as handle:
            values = json.load(handle)
        if not isinstance(values, dict):
            raise TrainingArgumentsError(f"{os.fspath(json_file)!r} must hold a JSON object of AcceleratorConfig fields.")
        return cls.from_dict(values, source=os.fspath(json_file))

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "accelerator_config") -> AcceleratorConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise TrainingArgumentsError(f"{source} has unknown keys {unknown}; the fields are {sorted(names)}.")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def pop(self, key: str, default: Any = None) -> Any:
        """A field's value (the reference's dict-like access)."""
        return getattr(self, key, default)


def coerce(value: Any) -> AcceleratorConfig:
    """``TrainingArguments.accelerator_config`` as an :class:`AcceleratorConfig`: None, a dict, a JSON file's path,
    or an instance (a class is refused: it must be built first)."""
    if value is None:
        return AcceleratorConfig()
    if isinstance(value, AcceleratorConfig):
        return value
    if isinstance(value, type) or callable(value):
        raise NotImplementedError(
            f"Tried passing in a callable to `accelerator_config` ({value!r}), but this is not supported. Pass a "
            "fully constructed AcceleratorConfig instead, e.g. accelerator_config=AcceleratorConfig()."
        )
    if isinstance(value, dict):
        return AcceleratorConfig.from_dict(value)
    if isinstance(value, str | os.PathLike):
        return AcceleratorConfig.from_json_file(value)
    raise TrainingArgumentsError(
        f"accelerator_config must be an AcceleratorConfig, a dict of its fields or a JSON file's path, got "
        f"{type(value).__name__}."
    )


def check_configured_state() -> None:
    """``use_configured_state=True`` needs an ``AcceleratorState`` (or ``PartialState``) set up beforehand."""
    from accelerate.state import AcceleratorState, PartialState

    if not (AcceleratorState._shared_state or PartialState._shared_state):
        raise TrainingArgumentsError(
            "accelerator_config use_configured_state=True reuses the accelerate state set up before, but none "
            "exists: create an accelerate.Accelerator() (or PartialState()) before TrainingArguments, or leave "
            "use_configured_state off."
        )


__all__ = ["AcceleratorConfig", "coerce", "check_configured_state"]
