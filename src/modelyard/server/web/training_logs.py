"""The training metrics of a repository: where its logs are, what they hold, and the charts of the metrics tab.

Two kinds of logs are read. The Trainer's ``trainer_state.json`` (at the top of the repository, as
``Trainer.save_state()`` writes it, or in a ``checkpoint-<step>/`` or ``last-checkpoint/`` folder), whose
``log_history`` holds one record per logging step (``loss``, ``learning_rate``, ``grad_norm``), per evaluation
(``eval_*``) and a final summary (``train_runtime``...); of several, the one that got furthest
(``global_step``) is shown. And TensorBoard event files (``events.out.tfevents.*``), one run per folder.

Everything here reads untrusted files within bounds: the bytes read per log (a long ``trainer_state.json`` is
read from its head, plus its tail for the fields after ``log_history``), the number of metrics, charts and
drawn points; non-finite values are left out and counted. ``training_args.bin`` is a pickle and is never
unpickled: the run's arguments are read from ``training_args.json``, TensorBoard's "args" text or the model
card's "Training hyperparameters" list instead.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

from modelyard.server import bounded
from modelyard.server.gitobjects import FileEntry
from modelyard.server.service import Hub
from modelyard.server.web import charts, tfevents
from modelyard.server.web.render import filesize

logger = logging.getLogger(__name__)

TRAINER_STATE = "trainer_state.json"
TRAINING_ARGS_JSON = "training_args.json"
TRAINING_ARGS_BIN = "training_args.bin"
STATE_HEAD = 8 * 1024 * 1024  # bytes of a trainer_state.json parsed from its start
STATE_TAIL = 256 * 1024  # and from its end, when it is longer (the fields sorted after log_history)
CUT_WINDOW = 64 * 1024  # a parse error this close to the end of a cut head is the cut (no record is longer)
EVENTS_LIMIT = 4 * 1024 * 1024  # bytes read from the event files of one run (about 75,000 scalar events)
MAX_RUNS = 8  # TensorBoard runs offered (folders holding event files)
MAX_EVENT_FILES = 16  # event files read per run
MAX_METRICS = 64  # distinct metric names kept per log
MAX_CHARTS = 24
POINTS = 400  # points drawn per series at most (min/max buckets keep the spikes)
MAX_ROWS = 150  # rows of one hyperparameter table
MAX_TEXT = 200  # characters of a shown value or name
_CHECKPOINT = re.compile(r"(?:checkpoint-(\d+)|last-checkpoint)")
# The final record of a run (Trainer.train's summary): a table, not a chart.
SUMMARY_KEYS = frozenset({"train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos",
                          "train_loss"})
# Evaluation timings: charted after the quality metrics.
EVAL_TIMINGS = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second")
# trainer_state.json fields shown as the run's settings, in this order.
STATE_FIELDS = ("train_batch_size", "num_train_epochs", "max_steps", "global_step", "epoch", "logging_steps",
                "eval_steps", "save_steps", "num_input_tokens_seen", "total_flos", "best_metric",
                "best_global_step", "best_model_checkpoint", "trial_name", "trial_params")


# -- where the logs are -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """One log to chart: the Trainer's state (``trainer_state.json`` candidates) or a TensorBoard run."""

    id: str  # "trainer_state" or "tensorboard:<folder>" (the ?source= value)
    kind: str  # trainer_state | tensorboard
    label: str
    paths: tuple[str, ...]


def find_sources(paths: Iterable[str]) -> list[Source]:
    """The logs among a tree's ``paths``: the Trainer's state first, then up to :data:`MAX_RUNS` TensorBoard runs."""
    states: list[tuple[int, str]] = []
    runs: dict[str, list[str]] = {}
    for path in paths:
        folder, _, name = path.rpartition("/")
        if name == TRAINER_STATE:
            parent = folder.rpartition("/")[2]
            match = _CHECKPOINT.fullmatch(parent)
            if not folder:
                states.append((-1, path))  # save_state()'s copy: preferred on a tie
            elif match:
                states.append((int(match.group(1)) if match.group(1) else 1 << 62, path))
        elif name.startswith("events.out.tfevents."):
            runs.setdefault(folder, []).append(path)
    sources = []
    if states:
        ordered = tuple(p for _, p in sorted(states, key=lambda item: (item[0] != -1, -item[0], item[1])))
        sources.append(Source("trainer_state", "trainer_state", "Trainer state", ordered))
    for folder in sorted(runs)[:MAX_RUNS]:
        files = tuple(sorted(runs[folder], key=_event_file_order)[:MAX_EVENT_FILES])
        sources.append(Source(f"tensorboard:{folder}", "tensorboard", f"TensorBoard: {folder or '(top folder)'}",
                              files))
    return sources


def _event_file_order(path: str) -> tuple[int, str]:
    """Event files of a run in the order they were written (the creation time follows ``tfevents.``)."""
    stamp = path.rpartition("/")[2][len("events.out.tfevents."):].partition(".")[0]
    return (int(stamp) if stamp.isdigit() else 0, path)


def state_candidates(source: Source) -> list[str]:
    """The ``trainer_state.json`` files worth reading: the top one, the newest numbered checkpoint and
    ``last-checkpoint`` (a later checkpoint's log holds every earlier record)."""
    chosen: dict[str, str] = {}
    for path in source.paths:  # newest first
        chosen.setdefault(_kind(path), path)
    return list(chosen.values())


def _kind(path: str) -> str:
    folder = path.rpartition("/")[0].rpartition("/")[2]
    return "top" if "/" not in path else "last" if folder == "last-checkpoint" else "numbered"


# -- what a log holds ---------------------------------------------------------------------------------
@dataclass
class Log:
    """Metrics of one log, by name: ``step -> value`` (the last value logged for a step wins)."""

    series: dict[str, dict[float, float]] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)  # trainer_state.json's other top-level fields
    texts: dict[str, str] = field(default_factory=dict)  # TensorBoard text summaries (the "args" of a run)
    records: int = 0
    not_finite: int = 0
    dropped_metrics: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, step: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, Real):
            return
        if not (_is_finite(step) and _is_finite(value)):
            self.not_finite += 1
            return
        if name not in self.series:
            if len(self.series) >= MAX_METRICS:
                if len(self.dropped_metrics) < 1000:
                    self.dropped_metrics.add(name[:MAX_TEXT])
                return
            self.series[name] = {}
        self.series[name][float(step)] = float(value)

    def add_record(self, record: Mapping[str, Any]) -> None:
        """One ``log_history`` record: the final summary, or values at ``record["step"]``."""
        self.records += 1
        if SUMMARY_KEYS & record.keys():
            for key, value in list(record.items())[:50]:
                if key != "step" and isinstance(value, Real) and not isinstance(value, bool) and _is_finite(value):
                    self.summary[str(key)[:MAX_TEXT]] = float(value)
            return
        step = record.get("step")
        for key, value in record.items():
            if key not in ("step", "epoch"):
                self.add(str(key), step, value)


def _is_finite(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


_SPACE = re.compile(r"\s*")


def parse_trainer_state(head: str, tail: str | None, on_record: Callable[[Mapping[str, Any]], None]
                        ) -> tuple[dict[str, Any], bool]:
    """Read a ``trainer_state.json`` from its ``head`` (the whole file, or its first bytes), one value at a time so
    that a cut log still gives its records: each ``log_history`` record goes to ``on_record``. Returns the other
    top-level fields and whether the log was read to its end. With a cut head, the fields after
    ``log_history`` are recovered from ``tail`` (the file's last bytes) where it parses."""
    decoder = json.JSONDecoder()
    fields: dict[str, Any] = {}
    pos = _skip(head, 0)
    if head[pos:pos + 1] != "{":
        raise ValueError("trainer_state.json is not a JSON object")
    pos += 1
    complete = False
    try:
        while True:
            pos = _skip(head, pos)
            if head[pos:pos + 1] == "}":
                complete = True
                break
            key, pos = decoder.raw_decode(head, pos)
            pos = _skip(head, pos)
            if head[pos:pos + 1] != ":" or not isinstance(key, str):
                raise ValueError(f"trainer_state.json: expected a key and ':' at character {pos}")
            pos = _skip(head, pos + 1)
            if key == "log_history" and head[pos:pos + 1] == "[":
                pos = _records(head, pos + 1, decoder, on_record)
            else:
                fields[key], pos = decoder.raw_decode(head, pos)
            pos = _skip(head, pos)
            if head[pos:pos + 1] == ",":
                pos += 1
            elif head[pos:pos + 1] != "}":
                raise ValueError(f"trainer_state.json: expected ',' or '}}' at character {pos}")
    except _Cut:
        pass
    except json.JSONDecodeError as err:
        # A head cut from a longer file (or a file cut short) ends inside a value: an error that close to the
        # end is the cut, and the records before it are kept; an error earlier is damage.
        if err.pos < len(head.rstrip()) - CUT_WINDOW:
            raise ValueError(f"trainer_state.json does not parse: {err}") from None
    if not complete and tail is not None:
        fields.update({k: v for k, v in _tail_fields(tail).items() if k not in fields and k != "log_history"})
    return fields, complete


class _Cut(Exception):
    """The head ended inside the log (a long file read from its start)."""


def _skip(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _records(text: str, pos: int, decoder: json.JSONDecoder, on_record: Callable[[Mapping[str, Any]], None]) -> int:
    while True:
        pos = _skip(text, pos)
        if pos >= len(text):
            raise _Cut
        if text[pos] == "]":
            return pos + 1
        record, end = decoder.raw_decode(text, pos)
        if isinstance(record, dict):
            on_record(record)
        pos = _skip(text, end)
        if text[pos:pos + 1] == ",":
            pos += 1
        elif pos >= len(text):
            raise _Cut
        elif text[pos] != "]":
            raise ValueError(f"trainer_state.json: expected ',' or ']' in log_history at character {pos}")


_TAIL_START = re.compile(r"\]\s*,\s*\"")


def _tail_fields(tail: str) -> dict[str, Any]:
    """The top-level fields after ``log_history`` in the last bytes of a long file: after the ``],`` that closes
    the log, what remains parses as the rest of the object (tried at the first few ``],`` found)."""
    for attempt, match in enumerate(_TAIL_START.finditer(tail)):
        if attempt >= 20:
            break
        try:
            value = bounded.load_json("{" + tail[match.end() - 1:])
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


# -- reading a source from the hub --------------------------------------------------------------------
@dataclass
class Table:
    title: str
    rows: list[tuple[str, str]]
    origin: str = ""  # the file it came from


@dataclass
class Chart:
    title: str
    svg: str
    names: list[str]


@dataclass
class Metrics:
    """What the metrics tab shows for one source."""

    source: Source
    files: list[str]  # the files read
    charts: list[Chart]
    tables: list[Table]
    summary: list[tuple[str, str]]
    notes: list[str]
    records: int


def shown(value: Any) -> str:
    """A value in a table: numbers as they are, text cut to :data:`MAX_TEXT`, anything else as JSON."""
    if isinstance(value, bool) or value is None:
        text = json.dumps(value)  # true, false, null: the files are JSON
    elif isinstance(value, float):
        text = charts.format_value(value) if math.isfinite(value) else str(value)
    elif isinstance(value, (str, int)):
        text = str(value)
    else:
        try:
            text = json.dumps(value, sort_keys=True, default=str)
        except (ValueError, RecursionError):
            text = "(not shown)"
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def read_trainer_state(hub: Hub, entry: FileEntry) -> tuple[Log, bool]:
    """The log of one stored ``trainer_state.json`` (head and, when longer, tail) and whether it was whole."""
    log = Log()
    with hub.open_content(entry) as fh:
        head_bytes = fh.read(STATE_HEAD)
        tail_bytes = None
        if entry.size > STATE_HEAD:
            fh.seek(max(0, entry.size - STATE_TAIL))  # may overlap the head: the end of the log must be in it
            tail_bytes = fh.read(STATE_TAIL)
    head = head_bytes.decode("utf-8", "ignore")  # a cut head may end inside a character
    if bounded.json_depth(head) > bounded.MAX_DEPTH:
        raise ValueError(f"trainer_state.json nests deeper than {bounded.MAX_DEPTH} levels")
    tail = tail_bytes.decode("utf-8", "ignore") if tail_bytes is not None else None
    log.fields, complete = parse_trainer_state(head, tail, log.add_record)
    whole = complete and entry.size <= STATE_HEAD
    last = max((max(points) for points in log.series.values() if points), default=None)
    up_to = f" (up to step {last:g})" if last is not None else ""
    if entry.size > STATE_HEAD:
        log.notes.append(f"The log is {filesize(entry.size)}: its first {filesize(STATE_HEAD)} are drawn{up_to}.")
    elif not complete:
        log.notes.append(f"The log ends before its last record (the file is cut short): the records before are drawn{up_to}.")
    return log, whole


def read_tensorboard(hub: Hub, entries: list[tuple[str, FileEntry]]) -> Log:
    """The scalars and texts of a run's event files, oldest first, within :data:`EVENTS_LIMIT` bytes in all."""
    log = Log()
    budget = EVENTS_LIMIT
    for path, entry in entries:
        if budget < 12:
            log.notes.append(f"{path} was not read: the run's event files are read up to "
                             f"{filesize(EVENTS_LIMIT)} in all.")
            continue
        stats = tfevents.RecordStats()
        try:
            with hub.open_content(entry) as fh:
                for payload in tfevents.records(fh, limit=budget, stats=stats):
                    event = tfevents.parse_event(payload)
                    log.records += 1
                    for tag, value in event.scalars:
                        name = tensorboard_name(tag)
                        if name in SUMMARY_KEYS:
                            if math.isfinite(value):
                                log.summary[name] = value
                        elif name != "epoch":
                            log.add(name, event.step, value)
                    for tag, text in event.texts:
                        if len(log.texts) < 20:
                            log.texts[tag[:MAX_TEXT]] = text
        except (OSError, ValueError) as err:  # tfevents.EventFileError is a ValueError
            log.notes.append(f"{path} could not be read to its end: {err}.")
        budget -= stats.read
        if stats.stopped:
            log.notes.append(f"{path} {stats.stopped}.")
        if stats.skipped:
            log.notes.append(f"{path}: {stats.skipped} large records (images, histograms, graphs) were skipped.")
    return log


def tensorboard_name(tag: str) -> str:
    """A TensorBoard tag as the Trainer's log calls it: ``train/loss`` -> ``loss``, ``eval/loss`` ->
    ``eval_loss`` (the layout the Trainers' TensorBoard callbacks write); other tags stay as they are."""
    for prefix, replacement in (("train/", ""), ("eval/", "eval_"), ("test/", "test_")):
        if tag.startswith(prefix) and len(tag) > len(prefix):
            return replacement + tag[len(prefix):]
    return tag


def card_hyperparameters(text: str | None) -> list[tuple[str, str]]:
    """The "- name: value" list under a model card's "Training hyperparameters" heading (what the Trainers'
    generated cards hold)."""
    if not text:
        return []
    rows: list[tuple[str, str]] = []
    inside = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            if inside:
                break
            inside = stripped.lstrip("#").strip().lower() == "training hyperparameters"
            continue
        if inside:
            match = re.fullmatch(r"[-*+]\s+([^:]{1,100}):\s*(.*)", stripped)
            if match:
                rows.append((match.group(1).strip()[:MAX_TEXT], shown(match.group(2).strip())))
                if len(rows) >= MAX_ROWS:
                    break
    return rows


def _args_table(value: Any, title: str, origin: str) -> Table | None:
    if not isinstance(value, dict) or not value:
        return None
    rows = [(str(k)[:MAX_TEXT], shown(v)) for k, v in list(value.items())[:MAX_ROWS]]
    return Table(title, rows, origin)


def _text_args(text: str) -> Any:
    """The JSON of TensorBoard's "args" text (the Trainers write ``args.to_json_string()``, in a code fence or not)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0]
    try:
        return bounded.load_json(body)
    except ValueError:
        return None


def read_metrics(hub: Hub, manifest: Mapping[str, FileEntry], source: Source, *, card: str | None) -> Metrics:
    """Everything the tab shows for ``source``: charts, the run's settings, the final summary, notes."""
    notes: list[str] = []
    tables: list[Table] = []
    files: list[str] = []
    if source.kind == "trainer_state":
        log, path = _best_state(hub, manifest, source, notes)
        files.append(path)
        state_rows = [(name, shown(log.fields[name])) for name in STATE_FIELDS
                      if log.fields.get(name) not in (None, {}, [])]
        if state_rows:
            tables.append(Table("Trainer state", state_rows, path))
        # The run's arguments: beside the state shown, at the top, or beside a checkpoint's state (the same run).
        folders = [path.rpartition("/")[0], "", *(p.rpartition("/")[0] for p in source.paths)]
        for candidate in dict.fromkeys(f"{f}/{TRAINING_ARGS_JSON}" if f else TRAINING_ARGS_JSON for f in folders):
            if candidate in manifest:
                table = _args_table(hub.small_json(manifest[candidate]), "Training arguments", candidate)
                if table:
                    tables.append(table)
                    files.append(candidate)
                break
    else:
        log = read_tensorboard(hub, [(p, manifest[p]) for p in source.paths])
        files.extend(source.paths)
        notes.extend(log.notes)
        for tag, text in log.texts.items():
            if tag.split("/")[0] == "args":
                table = _args_table(_text_args(text), "Training arguments (TensorBoard text)", tag)
                if table:
                    tables.append(table)
                    break
    card_rows = card_hyperparameters(card)
    if card_rows:
        tables.append(Table("Training hyperparameters (model card)", card_rows, "README.md"))
    if any(p.rpartition("/")[2] == TRAINING_ARGS_BIN for p in manifest):
        notes.append("training_args.bin is a pickle of the run's TrainingArguments: the hub never unpickles "
                     "repository files, so its values are not shown (a training_args.json or the model card's "
                     "hyperparameter list is shown when the repository has one).")
    if log.not_finite:
        notes.append(f"{log.not_finite} values were not finite numbers (NaN or infinity) and are not drawn.")
    if log.dropped_metrics:
        notes.append(f"Only the first {MAX_METRICS} metrics are kept; {len(log.dropped_metrics)} more were "
                     "left out.")
    drawn = build_charts(log.series, notes)
    summary = [(k, shown(v)) for k, v in log.summary.items()]
    return Metrics(source, files, drawn, tables, summary, notes, log.records)


def _best_state(hub: Hub, manifest: Mapping[str, FileEntry], source: Source, notes: list[str]) -> tuple[Log, str]:
    """Of the candidate states, the one that got furthest (``global_step``, then more records; the top file on
    a tie)."""
    best: tuple[tuple[float, int], Log, str] | None = None
    problems = []
    for path in state_candidates(source):
        try:
            log, _ = read_trainer_state(hub, manifest[path])
        except (OSError, ValueError) as err:
            problems.append(f"{path} could not be read: {err}")
            continue
        step = log.fields.get("global_step")
        rank = (float(step) if isinstance(step, Real) and _is_finite(step) else -1.0, log.records)
        if best is None or rank > best[0]:
            best = (rank, log, path)
    notes.extend(problems)
    if best is None:
        return Log(), source.paths[0]
    notes.extend(best[1].notes)
    return best[1], best[2]


def chart_groups(names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """(title, metric names) of the charts for these metrics: the training and evaluation losses together,
    the learning rate, the gradient norm, each other ``eval_*`` metric (timings last), then the rest."""
    remaining = set(names)
    groups: list[tuple[str, list[str]]] = []

    def take(title: str, wanted: list[str]) -> None:
        present = [n for n in wanted if n in remaining]
        if present:
            groups.append((title, present))
            remaining.difference_update(present)

    take("Loss", ["loss", "eval_loss"])
    take("Learning rate", ["learning_rate"])
    take("Gradient norm", ["grad_norm"])
    evals = sorted((n for n in remaining if n.startswith("eval_")), key=lambda n: (n in EVAL_TIMINGS, n))
    for name in evals:
        take(name, [name])
    for name in sorted(remaining):
        take(name, [name])
    return groups


def build_charts(series: Mapping[str, Mapping[float, float]], notes: list[str]) -> list[Chart]:
    groups = chart_groups(series)
    if len(groups) > MAX_CHARTS:
        notes.append(f"{len(groups)} metrics: the first {MAX_CHARTS} charts are drawn.")
        groups = groups[:MAX_CHARTS]
    out = []
    thinned = False
    for number, (title, names) in enumerate(groups):
        lines = []
        for name in names:
            points = sorted(series[name].items())
            thinned = thinned or len(points) > POINTS
            lines.append(charts.Series(name[:MAX_TEXT], charts.downsample(points, POINTS)))
        y_label = (names[0] if len(names) == 1 else title.lower())[:40]
        svg = charts.line_chart(title[:MAX_TEXT], lines, chart_id=f"chart-{number}", x_label="step", y_label=y_label)
        out.append(Chart(title[:MAX_TEXT], svg, [n[:MAX_TEXT] for n in names]))
    if thinned:
        notes.append(f"Long series are drawn with at most {POINTS} points: the lowest and highest value of each "
                     "stretch of steps, so spikes stay visible.")
    return out
