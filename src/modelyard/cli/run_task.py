"""``modelyard run TASK --model ID [INPUT ...]``: a pipeline from the command line, its outputs as JSON.

Inputs are the positional arguments (a text, or a local image / .wav path for those tasks; an argument that
is a JSON object, such as ``{"question": ..., "context": ...}``, is passed as that object), or the lines of
``--input-file`` (``-`` for standard input; with ``--column``, each line is a JSON object and the column is
the input). Several inputs show a progress bar on standard error (``--no-progress`` hides it). Task options
come as ``--option name=value`` (the value read as JSON when it parses, else as a string), e.g.
``--option top_k=3`` or ``--option candidate_labels='["sports", "politics"]'``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any


class _IntermixedParser(argparse.ArgumentParser):
    """Options and inputs in any order (``run TASK --model ID INPUT ...``): a plain parser gives the
    positionals one slot, so inputs after ``--model`` would be refused."""

    _parsing = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._parsing:  # the intermixed parse calls back in for its two passes
            return super().parse_known_args(args, namespace)
        self._parsing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._parsing = False


def add_commands(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="run a pipeline task on inputs and print the outputs as JSON",
                              description=__doc__.split("\n\n")[1] if __doc__ else None)
    run.__class__ = _IntermixedParser  # the sub-command parser is made by the main one's add_subparsers
    run.add_argument("task", help="e.g. text-classification, ner, fill-mask, question-answering")
    run.add_argument("inputs", nargs="*", help="inputs: texts, local image or .wav paths, or JSON objects")
    run.add_argument("--model", required=True, help="hub id or local folder of the model")
    run.add_argument("--input-file", default=None, help="read inputs from this file, one per line ('-': stdin)")
    run.add_argument("--column", default=None, help="with --input-file: JSON lines, this key is the input")
    run.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                     help="a task option (repeatable), e.g. top_k=3 or aggregation_strategy=simple")
    run.add_argument("--batch-size", type=int, default=None)
    run.add_argument("--device", default=None, help="cpu, cuda, cuda:0, or a GPU index")
    run.add_argument("--dtype", default=None, help="e.g. float32, bfloat16, float16")
    run.add_argument("--revision", default=None, help="branch, tag or commit of the model")
    run.add_argument("--trust-remote-code", action="store_true", help="run the repository's own code")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--indent", type=int, default=2, help="JSON indentation (0: one line)")
    run.set_defaults(handler=_run)


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _options(pairs: list[str]) -> dict[str, Any]:
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--option takes NAME=VALUE (e.g. top_k=3); got {pair!r}.")
        options[name.strip().replace("-", "_")] = _value(value)
    return options


def _argument_input(text: str) -> Any:
    return _value(text) if text.lstrip().startswith("{") else text


def _file_inputs(path: str, column: str | None) -> list[Any]:
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        lines = [line.rstrip("\n") for line in stream if line.strip()]
    finally:
        if stream is not sys.stdin:
            stream.close()
    if column is None:
        return lines
    rows = []
    for number, line in enumerate(lines, 1):
        row = json.loads(line)
        if not isinstance(row, dict) or column not in row:
            raise ValueError(f"{path} line {number} has no {column!r} key (--column); keys: {sorted(row)}.")
        rows.append(row[column])
    return rows


def _tolist(value: Any) -> Any:
    """What ``json`` cannot write by itself (its ``default``): tensors and NumPy arrays or scalars, as lists and
    numbers."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"a {type(value).__name__} in the pipeline's output cannot be written as JSON")


def _progress(results: Iterator[Any], total: int, enabled: bool) -> Iterator[Any]:
    from modelyard.logging import progress_bars_enabled

    if not enabled or not progress_bars_enabled():
        return results
    from tqdm.auto import tqdm

    return iter(tqdm(results, total=total, unit="input", file=sys.stderr))


def _run(args: argparse.Namespace) -> int:
    from modelyard.errors import ModelyardError

    try:
        inputs: list[Any] = [_argument_input(text) for text in args.inputs]
        if args.input_file is not None:
            inputs += _file_inputs(args.input_file, args.column)
        options = _options(args.option)
        if not inputs and not ("question" in options and "context" in options):
            raise ValueError("Give inputs as arguments or with --input-file (or --option question=... and context=...).")
        from modelyard.pipelines import pipeline

        pipe = pipeline(args.task, model=args.model, revision=args.revision, device=_device(args.device),
                        dtype=args.dtype, trust_remote_code=True if args.trust_remote_code else None,
                        batch_size=args.batch_size)
        if not inputs:  # question answering from options alone
            output = pipe(**options)
        elif len(inputs) == 1:
            output = pipe(inputs[0], **options)
        else:
            output = list(_progress(pipe(iter(inputs), **options), len(inputs), not args.no_progress))
    except (ModelyardError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(output, default=_tolist, indent=args.indent or None, ensure_ascii=False))
    return 0


def _device(text: str | None) -> int | str | None:
    if text is None:
        return None
    return int(text) if text.lstrip("-").isdigit() else text
