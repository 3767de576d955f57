"""What a load did with a checkpoint: the keys it left new, unused or re-initialised, and a verdict on it.

A missing task head is expected when a base checkpoint is loaded into a head model; most of the model
missing means the checkpoint does not fit the class. :func:`judge_load` tells the two apart, and
:meth:`LoadReport.summary` words it for the log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

Mismatch = tuple[str, tuple[int, ...], tuple[int, ...]]  # key, checkpoint shape, model shape


_REFERENCE_KEYS = ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs")


@dataclass
class LoadReport(Mapping[str, list[str]]):
    """What a load did with the checkpoint.

    A read-only mapping with the reference library's four keys, so code written for its
    ``output_loading_info=True`` dict works unchanged (``info["missing_keys"]``, ``info.items()``,
    ``dict(info)``): ``missing_keys``, ``unexpected_keys``, ``mismatched_keys`` (key names) and
    ``error_msgs`` (always empty: modelyard raises instead of collecting errors). modelyard's own
    findings are attributes: ``verdict``, ``newly_initialized_fraction`` and ``mismatched_shapes``
    (``(key, checkpoint shape, model shape)`` for each re-initialised key).
    """

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    mismatched_shapes: list[Mismatch] = field(default_factory=list)
    newly_initialized_fraction: float = 0.0
    verdict: str = "complete"  # complete | new_head | partial | suspicious
    error_msgs: list[str] = field(default_factory=list)
    # Unexpected keys the class expects to meet (a pooler a head does not use, pretraining-only layers):
    # listed in unexpected_keys, as the reference lists them, but not worth a warning.
    expected_leftovers: list[str] = field(default_factory=list, repr=False)

    @property
    def mismatched_keys(self) -> list[str]:
        return [key for key, _, _ in self.mismatched_shapes]

    def __getitem__(self, key: str) -> list[str]:
        if key not in _REFERENCE_KEYS:
            hint = f" It is an attribute: report.{key}." if key in ("verdict", "newly_initialized_fraction",
                                                                   "mismatched_shapes") else ""
            raise KeyError(f"A load report has the keys {list(_REFERENCE_KEYS)}, not {key!r}.{hint}")
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_REFERENCE_KEYS)

    def __len__(self) -> int:
        return len(_REFERENCE_KEYS)

    def summary(self, model_name: str, source: str) -> str:
        lines = []
        if self.missing_keys:
            kind = {
                "new_head": "This is expected: they form a new task head, which you should train before use.",
                "partial": "Part of the base model is random: check that the checkpoint matches this architecture.",
                "suspicious": "Most of the model is random: the checkpoint almost certainly does not fit this class.",
            }[self.verdict]
            lines.append(
                f"{len(self.missing_keys)} weights of {model_name} were not in {source} and were newly initialised "
                f"({self.newly_initialized_fraction:.0%} of parameters): {_short_list(self.missing_keys)}. {kind}"
            )
        if self.mismatched_shapes:
            shown = ", ".join(f"{k} {tuple(a)} -> {tuple(b)}" for k, a, b in self.mismatched_shapes[:8])
            lines.append(f"Re-initialised because the shapes did not match (ignore_mismatched_sizes=True): {shown}.")
        surprising = [k for k in self.unexpected_keys if k not in set(self.expected_leftovers)]
        if surprising:
            more = f" and {len(surprising) - 8} more" if len(surprising) > 8 else ""
            lines.append(f"Some weights of the checkpoint at {source} were not used when initializing {model_name}: "
                         f"{surprising[:8]!r}{more}. They are ignored: check that the checkpoint matches this class.")
        return "\n".join(lines)


def judge_load(
    missing: list[str],
    unexpected: list[str],
    mismatched: list[Mismatch],
    *,
    parameter_sizes: dict[str, int],
    base_prefix: str | None,
    ignore_missing: list[str],
    ignore_unexpected: list[str],
    expected_unused: Sequence[str] = (),
) -> LoadReport:
    """Build the report: keys matching an ignore pattern are left out (the reference's
    ``_keys_to_ignore_on_load_*``), unused keys the class expects are listed but not warned about, and the
    verdict says whether the new weights are a task head (outside ``base_prefix``), part of the base model, or
    most of the model."""
    missing_patterns = [re.compile(p) for p in ignore_missing]
    ignored_patterns = [re.compile(p) for p in ignore_unexpected]
    expected_patterns = [re.compile(p) for p in expected_unused]
    unexpected = [k for k in unexpected if not any(p.search(k) for p in ignored_patterns)]
    mismatched_keys = {k for k, _, _ in mismatched}
    reported_missing = sorted(
        k for k in missing if k not in mismatched_keys and not any(p.search(k) for p in missing_patterns)
    )
    leftovers = sorted(k for k in unexpected if any(p.search(k) for p in expected_patterns))
    total = sum(parameter_sizes.values()) or 1
    fraction = sum(parameter_sizes.get(k, 0) for k in missing) / total
    in_base = [k for k in reported_missing if base_prefix is None or k.startswith(base_prefix + ".")]
    if not reported_missing:
        verdict = "complete"
    elif fraction > 0.5:
        verdict = "suspicious"
    elif in_base:
        verdict = "partial"
    else:
        verdict = "new_head"
    return LoadReport(reported_missing, sorted(unexpected), sorted(mismatched), fraction, verdict,
                      expected_leftovers=leftovers)


def _short_list(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")
