"""Side-by-side benchmark harness: modelyard (.venv) and the reference library (.venv-ref) in ONE run.

Each measurement runs in fresh child processes of the interpreter under test, `repeats` times (after
`warmup` discarded runs that also fill the bytecode caches), and the child reports its figures as one JSON
object on the last line of stdout. The harness keeps the median of every numeric field and prints a table
with the ratio modelyard / reference.

A child is either a code snippet or a function in a script:

    bench = Bench("import time")
    bench.add(
        "from X import AutoConfig",
        {"modelyard": "from modelyard import AutoConfig", "reference": "from transformers import AutoConfig"},
        repeats=7,
        extra="RESULT['torch_imported'] = 'torch' in sys.modules",
    )
    bench.add_function("forward 8x128", __file__, "forward", {"impl": "..."})  # see run_function
    bench.run()
    bench.print_table()

Snippets are timed around their body (`seconds`); a snippet may fill the dict `RESULT` with more fields and
may set RESULT['seconds'] itself to time only part of its work. A function gets its kwargs (plus `impl`,
the implementation name) and returns a dict of figures (it does its own timing). `rss=True` adds
`peak_rss_mb` (the child's peak resident memory) and `start_rss_mb` (right after interpreter start).

This module uses only the standard library, so children of either interpreter can import it
(`from harness import peak_rss_mb`), and is itself run with the project's interpreter.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"

REFERENCE_HINT = "run `make reference` to build .venv-ref (transformers 4.57.6) and get the reference column"

# Children never reach a network hub and keep their logs quiet.
CHILD_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONWARNINGS": "ignore",
}


# ------------------------------------------------------------------------------------ implementations


@dataclass(frozen=True)
class Impl:
    """An implementation under test: a name and the interpreter that runs it."""

    name: str
    python: Path
    note: str = ""
    env: Mapping[str, str] = field(default_factory=dict)  # e.g. PYTHONPATH of a baseline source tree

    @property
    def available(self) -> bool:
        return self.python.exists()


def default_impls() -> list[Impl]:
    """modelyard in .venv, the reference in .venv-ref (interpreters overridable by env vars), and, when
    ``MODELYARD_BASELINE_SRC`` names another checkout's ``src`` folder, that code as ``baseline`` (same
    interpreter): a change measured side by side with what it replaces, e.g.
    ``git worktree add /tmp/before <commit>; MODELYARD_BASELINE_SRC=/tmp/before/src make bench``."""
    modelyard_python = Path(os.environ.get("MODELYARD_PYTHON", REPO_ROOT / ".venv" / "bin" / "python"))
    impls = [
        Impl("modelyard", modelyard_python, env={"PYTHONPATH": str(REPO_ROOT / "src")}),
        Impl("reference", Path(os.environ.get("REFERENCE_PYTHON", REPO_ROOT / ".venv-ref" / "bin" / "python")),
             note="transformers 4.57.6"),
    ]
    baseline = os.environ.get("MODELYARD_BASELINE_SRC")
    if baseline:
        impls.append(Impl("baseline", modelyard_python, note=baseline, env={"PYTHONPATH": baseline}))
    return impls


# ----------------------------------------------------------------------------------- child-side helpers


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    On Linux this is ``VmHWM`` from /proc: ``ru_maxrss`` there can carry the parent's peak over into a
    child started by fork+exec, which inflates the figure of a small child started by a big parent.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float:
    """Current resident set size in MiB (from /proc where available, else the peak)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


_SNIPPET_TEMPLATE = """\
import json as _json, sys, time as _time
sys.path.insert(0, {bench_dir!r})
RESULT = {{}}
_rss = {rss!r}
if _rss:
    from harness import current_rss_mb as _cur
    _start_rss = _cur()
{setup}
_t0 = _time.perf_counter()
try:
{body}
except ImportError as _err:
    print(_json.dumps({{"error": "ImportError: " + str(_err)}}))
    raise SystemExit(0)
_t1 = _time.perf_counter()
RESULT.setdefault("seconds", _t1 - _t0)
{extra}
if _rss:
    from harness import peak_rss_mb as _peak
    RESULT["peak_rss_mb"] = _peak()
    RESULT["start_rss_mb"] = _start_rss
print(_json.dumps(RESULT))
"""

_FUNCTION_TEMPLATE = """\
import importlib.util as _ilu, json as _json, sys
sys.path.insert(0, {bench_dir!r})
_rss = {rss!r}
if _rss:
    from harness import current_rss_mb as _cur
    _start_rss = _cur()
_spec = _ilu.spec_from_file_location("_bench_module", {script!r})
_mod = _ilu.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
try:
    RESULT = dict(getattr(_mod, {func!r})(**_json.loads({kwargs!r})))
except ImportError as _err:
    print(_json.dumps({{"error": "ImportError: " + str(_err)}}))
    raise SystemExit(0)
if _rss:
    from harness import peak_rss_mb as _peak
    RESULT["peak_rss_mb"] = _peak()
    RESULT["start_rss_mb"] = _start_rss
print(_json.dumps(RESULT))
"""


def snippet_program(code: str, *, setup: str = "", extra: str = "", rss: bool = False) -> str:
    """The child program for a timed snippet (exposed for tests and for debugging a benchmark)."""
    return _SNIPPET_TEMPLATE.format(
        bench_dir=str(BENCH_DIR),
        rss=rss,
        setup=textwrap.dedent(setup),
        body=textwrap.indent(textwrap.dedent(code).strip() or "pass", "    "),
        extra=textwrap.dedent(extra),
    )


def function_program(script: str | Path, func: str, kwargs: Mapping[str, Any], *, rss: bool = False) -> str:
    return _FUNCTION_TEMPLATE.format(
        bench_dir=str(BENCH_DIR), rss=rss, script=str(Path(script).resolve()), func=func,
        kwargs=json.dumps(dict(kwargs)),
    )


# ------------------------------------------------------------------------------------------- running


class ChildError(RuntimeError):
    pass


def run_child(python: Path | str, program: str, *, env: Mapping[str, str] | None = None,
              timeout: float = 600.0) -> dict[str, Any]:
    """Run `program` with `python -c` in a fresh process (cwd: repo root); return the JSON object on the last
    stdout line plus `wall_seconds` (process start to exit, as seen by the parent)."""
    child_env = {**os.environ, **CHILD_ENV, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH_DIR), child_env.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    proc = subprocess.run([str(python), "-c", program], cwd=REPO_ROOT, env=child_env, capture_output=True,
                          text=True, timeout=timeout)
    wall = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise ChildError(f"{python} exited with {proc.returncode}:\n{proc.stderr.strip()[-3000:]}")
    try:
        result = json.loads(lines[-1])
    except json.JSONDecodeError as err:
        raise ChildError(f"the child's last stdout line is not JSON: {lines[-1][:200]!r}") from err
    if not isinstance(result, dict):
        raise ChildError(f"the child must report a JSON object, got {type(result).__name__}")
    result.setdefault("wall_seconds", wall)
    return result


def summarize(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Median of every numeric field; other fields kept when all samples agree, else 'mixed'."""
    summary: dict[str, Any] = {}
    keys = sorted({k for s in samples for k in s})
    for key in keys:
        values = [s[key] for s in samples if key in s]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            summary[key] = statistics.median(values)
        else:
            first = values[0]
            summary[key] = first if all(v == first for v in values) else "mixed"
    return summary


@dataclass
class Measurement:
    impl: str
    median: dict[str, Any] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    skipped: str = ""  # why there is no figure

    @property
    def ok(self) -> bool:
        return not self.skipped


def measure(impl: Impl, program: str, *, repeats: int = 5, warmup: int = 1, env: Mapping[str, str] | None = None,
            timeout: float = 600.0) -> Measurement:
    if not impl.available:
        hint = REFERENCE_HINT if impl.name == "reference" else f"{impl.python} is missing (run `make install`)"
        return Measurement(impl.name, skipped=hint)
    samples = []
    try:
        for i in range(warmup + repeats):
            result = run_child(impl.python, program, env={**impl.env, **(env or {})}, timeout=timeout)
            if "error" in result:
                return Measurement(impl.name, skipped=str(result["error"]))
            if i >= warmup:
                samples.append(result)
    except (ChildError, subprocess.TimeoutExpired) as err:
        return Measurement(impl.name, skipped=f"failed: {str(err).strip().splitlines()[-1][:300]}")
    return Measurement(impl.name, median=summarize(samples), samples=samples)


# --------------------------------------------------------------------------------------------- a suite


@dataclass
class Row:
    label: str
    programs: dict[str, str]
    metric: str = "seconds"
    unit: str = "s"
    lower_is_better: bool = True
    repeats: int = 5
    warmup: int = 1
    env: dict[str, str] = field(default_factory=dict)
    target: str = ""
    results: dict[str, Measurement] = field(default_factory=dict)
    extra_metrics: tuple[str, ...] = ()


class Bench:
    """A set of rows measured for every implementation in one run, printed as one table."""

    def __init__(self, title: str, impls: Sequence[Impl] | None = None) -> None:
        self.title = title
        self.impls = list(impls) if impls is not None else default_impls()
        self.rows: list[Row] = []

    def add(self, label: str, snippets: Mapping[str, str], *, setup: str | Mapping[str, str] = "",
            extra: str = "", rss: bool = False, **options: Any) -> Row:
        """A row timed around per-implementation snippets (keyed by implementation name)."""
        programs = {}
        for name, code in snippets.items():
            pre = setup.get(name, "") if isinstance(setup, Mapping) else setup
            programs[name] = snippet_program(code, setup=pre, extra=extra, rss=rss)
        return self._add(Row(label, programs, **options))

    def add_function(self, label: str, script: str | Path, func: str, kwargs: Mapping[str, Any] | None = None,
                     *, rss: bool = False, **options: Any) -> Row:
        """A row where `func(impl=<name>, **kwargs)` in `script` runs in each interpreter and returns figures."""
        programs = {impl.name: function_program(script, func, {"impl": impl.name, **(kwargs or {})}, rss=rss)
                    for impl in self.impls}
        return self._add(Row(label, programs, **options))

    def _add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def run(self, *, verbose: bool = True) -> list[Row]:
        for row in self.rows:
            for impl in self.impls:
                if impl.name not in row.programs:
                    continue
                if verbose:
                    print(f"  {row.label} [{impl.name}] x{row.repeats} ...", file=sys.stderr, flush=True)
                row.results[impl.name] = measure(impl, row.programs[impl.name], repeats=row.repeats,
                                                 warmup=row.warmup, env=row.env)
        return self.rows

    # ---------------------------------------------------------------------------------- reporting

    def table(self) -> str:
        names = [impl.name for impl in self.impls]
        header = ["benchmark", *names]
        ratio_pair = ("modelyard", "reference") if {"modelyard", "reference"} <= set(names) else None
        if ratio_pair:
            header.append("modelyard/reference")
        baseline_pair = ("modelyard", "baseline") if {"modelyard", "baseline"} <= set(names) else None
        if baseline_pair:
            header.append("modelyard/baseline")
        header.append("target")
        lines: list[list[str]] = [header]
        skipped: dict[tuple[str, str], list[str]] = {}  # (impl, reason) -> rows
        for row in self.rows:
            metrics = (row.metric, *row.extra_metrics)
            for m_i, metric in enumerate(metrics):
                unit = row.unit if m_i == 0 else ""
                cells = [row.label + ("" if m_i == 0 else f"  {metric}") + (f" ({unit})" if unit else "")]
                values: dict[str, Any] = {}
                for name in names:
                    result = row.results.get(name)
                    if result is None:
                        cells.append("-")
                    elif not result.ok:
                        cells.append("skipped")
                        labels = skipped.setdefault((name, result.skipped), [])
                        if row.label not in labels:
                            labels.append(row.label)
                    else:
                        value = result.median.get(metric)
                        values[name] = value
                        cells.append(_fmt(value))
                for pair in (ratio_pair, baseline_pair):
                    if pair:
                        a, b = (values.get(n) for n in pair)
                        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
                        cells.append(f"{a / b:.3f}x" if numeric and b else "-")
                cells.append(row.target if m_i == 0 else "")
                lines.append(cells)
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = [f"== {self.title}"]
        for n, line in enumerate(lines):
            out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        for (name, reason), labels in skipped.items():
            where = "every row" if len(labels) == len(self.rows) > 1 else ", ".join(repr(x) for x in labels)
            out.append(f"note: {name} skipped ({where}): {reason}")
        if ratio_pair:
            out.append("ratio < 1 means modelyard is lower (faster / smaller) than the reference; medians of "
                       "fresh processes")
        return "\n".join(out)

    def print_table(self) -> None:
        print(self.table())

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "python": {impl.name: str(impl.python) for impl in self.impls},
            "rows": [
                {"label": r.label, "metric": r.metric, "unit": r.unit, "target": r.target,
                 "results": {n: {"median": m.median, "samples": m.samples, "skipped": m.skipped}
                             for n, m in r.results.items()}}
                for r in self.rows
            ],
        }

    def save(self, name: str) -> Path:
        """Write the results to benchmarks/results/<name>.json (ignored by git)."""
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{name}.json"
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return path


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.3f}"
    if magnitude >= 1e-3:
        return f"{value:.4f}"
    return f"{value:.2e}"


if __name__ == "__main__":
    for impl in default_impls():
        state = "ok" if impl.available else f"missing ({REFERENCE_HINT if impl.name == 'reference' else 'make install'})"
        print(f"{impl.name:10s} {impl.python}  {state}")
