"""``make reference-suite``: the reference's own tests, run against the reference and against modelyard.

Runs the selected files (``selection.py``) twice in the same assembled work tree (``sources.py``):
(a) in ``.venv-ref`` against transformers itself, which gives the denominator (cached per tree: the reference
does not change), and (b) in modelyard's ``.venv`` with ``transformers`` redirected to
``modelyard.compat.transformers`` under the fairness rule of ``redirect_plugin.py``. Both runs are offline
(``HF_HUB_OFFLINE=1``, an empty ``HF_HOME``). Prints per file: tests the reference passes, of those how many
modelyard passes / fails / skips, and the reference's network-only and skipped tests counted apart.

Without the reference's test files it prints how to provide them and exits 0 (skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

import selection
import sources

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def _link_reference_source(python: Path, tree: sources.Tree) -> None:
    """The pipeline mixin loads ``<repo>/src/transformers`` with ``direct_transformers_import``: for the reference
    run that is the installed reference package (the modelyard run's compat namespace ignores the path)."""
    found = subprocess.run([str(python), "-c", "import os, transformers; print(os.path.dirname(transformers.__file__))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    link = tree.root / "src" / "transformers"
    link.parent.mkdir(exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(found, target_is_directory=True)


def _run_side(side: str, python: Path, tree: sources.Tree, out: Path, extra: list[str],
              paths: tuple[str, ...] = selection.TEST_PATHS, *, only: list[str] | None = None) -> float:
    """Run ``paths`` on one side; results for those paths replace earlier ones in ``out``. ``only``: run just
    these node ids (the modelyard run takes the tests the reference passes, the only ones the score counts)."""
    fresh = out.with_suffix(f".part-{os.getpid()}.json")  # runs of other paths may go on beside this one
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        TOKENIZERS_PARALLELISM="false",
        REFSUITE_RESULTS=str(fresh),
        REFSUITE_HELPERS=str(tree.helpers.resolve()),
        PYTHONDONTWRITEBYTECODE="1",
    )
    python_path = [str(HERE)]
    plugins = ["-p", "record_plugin"]
    if side == "modelyard":
        python_path.append(str(REPO / "src"))
        plugins += ["-p", "redirect_plugin"]
    env["PYTHONPATH"] = os.pathsep.join(python_path)
    if only is not None:
        listing = tree.root / f"{side}-only-{os.getpid()}.txt"
        listing.write_text("".join(f"{nodeid}\n" for nodeid in only))
        env["REFSUITE_ONLY"] = str(listing)
    with tempfile.TemporaryDirectory(prefix=f"refsuite-{side}-") as home:
        env["HF_HOME"] = home
        command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *plugins,
                   "--timeout=300", "--continue-on-collection-errors", "-o", "addopts=", "--rootdir", str(tree.root), "-rN", "--tb=no", "--no-header",
                   *extra, *paths]
        started = time.monotonic()
        print(f"== {side}: {' '.join(command[1:])}", flush=True)
        with open(tree.root / f"{side}-{os.getpid()}.log", "w") as log:  # pytest's own progress lines, for a look while it runs
            subprocess.run(command, cwd=tree.root, env=env, check=False, stdout=log, stderr=subprocess.STDOUT)
        seconds = time.monotonic() - started
    earlier = {k: v for k, v in _load(out).items() if not any(k.startswith(p) for p in paths)}  # read late, for those
    out.write_text(json.dumps({**earlier, **_load(fresh)}, indent=0, sort_keys=True))
    fresh.unlink(missing_ok=True)
    return seconds


def _load(path: Path) -> dict[str, dict[str, str]]:
    return json.loads(path.read_text()) if path.is_file() else {}


# The columns of a file's row: the reference's outcomes, then modelyard's on the tests the reference passes.
COLUMNS = ("ref_passed", "passed", "failed", "skipped", "ref_skipped", "ref_network", "ref_failed")


def modelyard_outcome(nodeid: str, modelyard: dict[str, dict[str, str]]) -> dict[str, str]:
    """modelyard's result for a test; one it never ran (its file failed to import) is a failure naming why."""
    ours = modelyard.get(nodeid)
    if ours is not None:
        return ours
    collection = modelyard.get(f"{selection.file_of(nodeid)}::<collection>")
    return {"outcome": "failed", "reason": f"not collected: {collection['reason'] if collection else 'not run'}"}


def tabulate(reference: dict[str, dict[str, str]], modelyard: dict[str, dict[str, str]],
             excluded: Iterable[str] = ()) -> dict[str, Counter[str]]:
    """Per file: how many tests the reference passes, and of those how many modelyard passes, fails or skips;
    the reference's own skips, network-only tests and failures apart (they are outside the score). A test the
    reference passes offline and modelyard fails with a network error counts as failed: modelyard reached for the
    network where the reference did not. Tests of the exclusion list are left out of both sides."""
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    left_out = set(excluded)
    for nodeid, entry in reference.items():
        if nodeid.endswith("::<collection>") or nodeid in left_out:
            continue
        counts = rows[selection.file_of(nodeid)]
        if entry["outcome"] != "passed":
            counts[f"ref_{entry['outcome']}"] += 1
            continue
        counts["ref_passed"] += 1
        outcome = modelyard_outcome(nodeid, modelyard)["outcome"]
        counts[outcome if outcome in ("passed", "skipped") else "failed"] += 1
    return dict(rows)


def share(passed: int, of: int) -> float:
    return 100.0 * passed / of if of else 100.0


def format_table(rows: dict[str, Counter[str]]) -> list[str]:
    lines = [f"{'file':58} {'ref passed':>10} {'modelyard':>9} {'failed':>6} {'skipped':>7} {'%':>5}"
             f"   ref: {'skipped':>7} {'network':>7} {'failed':>6}"]
    total: Counter[str] = Counter()

    def line(name: str, c: Counter[str]) -> str:
        return (f"{name:58} {c['ref_passed']:10} {c['passed']:9} {c['failed']:6} {c['skipped']:7} "
                f"{share(c['passed'], c['ref_passed']):5.1f}        {c['ref_skipped']:7} {c['ref_network']:7} "
                f"{c['ref_failed']:6}")

    for file in sorted(rows):
        total.update(rows[file])
        lines.append(line(file, rows[file]))
    lines.append(line("TOTAL", total))
    return lines


def report(reference: dict[str, dict[str, str]], modelyard: dict[str, dict[str, str]], *, causes: int) -> tuple[int, int]:
    exclusions = selection.exclusions()
    rows = tabulate(reference, modelyard, exclusions)
    print("\n".join(format_table(rows)))
    excluded = len(exclusions)
    selected = sum(1 for n in reference if not n.endswith("::<collection>"))
    print(f"excluded (exclusions.txt): {excluded} of {selected} selected tests ({share(excluded, selected):.1f}%)")
    if causes:
        reasons = Counter(
            modelyard_outcome(n, modelyard)["reason"][:160]
            for n, e in reference.items()
            if e["outcome"] == "passed" and n not in exclusions and modelyard_outcome(n, modelyard)["outcome"] != "passed"
        )
        print(f"\nmost common failure causes on modelyard (top {causes}):")
        for reason, count in reasons.most_common(causes):
            print(f"{count:5}  {reason}")
    passed = sum(c["passed"] for c in rows.values())
    return passed, sum(c["ref_passed"] for c in rows.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=REPO / ".reference-suite")
    parser.add_argument("--reference-python", type=Path, default=REPO / ".venv-ref" / "bin" / "python")
    parser.add_argument("--modelyard-python", type=Path, default=Path(sys.executable))
    parser.add_argument("--rerun-reference", action="store_true", help="run the reference again (else cached)")
    parser.add_argument("--report-only", action="store_true", help="print the table from the last results")
    parser.add_argument("--only", choices=("reference", "modelyard"), help="run one side only")
    parser.add_argument("--paths", nargs="+", default=list(selection.TEST_PATHS),
                        help="run only these of the suite's paths (their results replace the earlier ones)")
    parser.add_argument("--all-tests", action="store_true",
                        help="modelyard run: every selected test, not only those the reference passes")
    parser.add_argument("--causes", type=int, default=15, help="list this many failure causes")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments for both runs (e.g. -n 2)")
    args = parser.parse_args(argv)
    try:
        tree = sources.assemble(args.cache.resolve())  # pytest runs with --rootdir from another folder
    except sources.SourcesMissing as missing:
        print(f"reference suite skipped: {missing}")
        return 0
    print(f"reference tests from {tree.origin} (+ the {sources.REFERENCE_VERSION} sdist), tree {tree.root}")
    reference_out, modelyard_out = tree.root / "reference-results.json", tree.root / "modelyard-results.json"
    paths = tuple(args.paths)
    if not args.report_only:
        if args.only != "modelyard" and (args.rerun_reference or args.only == "reference" or not reference_out.is_file()):
            if not args.reference_python.is_file():
                print(f"reference suite skipped: {args.reference_python} is missing; run `make reference` first")
                return 0
            _link_reference_source(args.reference_python, tree)
            seconds = _run_side("reference", args.reference_python, tree, reference_out, args.pytest_args, paths)
            print(f"reference run: {seconds:.0f} s")
        if args.only != "reference":
            passed = None if args.all_tests else [n for n, e in _load(reference_out).items() if e["outcome"] == "passed"]
            seconds = _run_side("modelyard", args.modelyard_python, tree, modelyard_out, args.pytest_args, paths,
                                only=passed)
            print(f"modelyard run: {seconds:.0f} s")
    report(_load(reference_out), _load(modelyard_out), causes=args.causes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
