"""When may a built-in class stand in for custom code the user did not run?

Only when the checkpoint fits it completely: every weight of the built-in class comes from the checkpoint
(nothing newly initialised, not even a task head: the custom head it replaces was trained), every tensor of
the checkpoint is used (an ignored tensor is a trained part the built-in class lacks) and no shape differs.
Anything less would hand the user a model that is partly random without their asking for custom code to be
skipped, so the load is refused with what would have been random.
"""

from __future__ import annotations

from typing import Any

from modelyard.errors import WeightsError

_SHOWN = 6


class StandInMisfitError(WeightsError):
    """A built-in class would not load a checkpoint completely, so it may not stand in for custom code."""


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f", ... ({len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else "")


def stand_in_misfit(report: Any, *, model_name: str) -> str | None:
    """``None`` when the load ``report`` describes is complete; otherwise what the built-in ``model_name``
    would leave random or ignore."""
    missing = list(getattr(report, "missing_keys", []) or [])
    unexpected = list(getattr(report, "unexpected_keys", []) or [])
    mismatched = [k if isinstance(k, str) else k[0] for k in getattr(report, "mismatched_keys", []) or []]
    if not (missing or unexpected or mismatched):
        return None
    parts = []
    if missing:
        fraction = float(getattr(report, "newly_initialized_fraction", 0.0) or 0.0)
        share = "under 1%" if fraction < 0.01 else f"{fraction:.0%}"
        parts.append(
            f"{len(missing)} of its weights ({share} of its parameters) would be random, not in the checkpoint: "
            f"{_listed(missing)}"
        )
    if mismatched:
        parts.append(f"{len(mismatched)} would be random because their shapes differ: {_listed(mismatched)}")
    if unexpected:
        parts.append(f"{len(unexpected)} trained tensors of the checkpoint would be ignored: {_listed(unexpected)}")
    return f"the weights do not fit the built-in {model_name} completely: " + "; ".join(parts) + "."
