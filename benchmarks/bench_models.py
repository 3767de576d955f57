"""Model benchmarks, modelyard (.venv) side by side with the reference (.venv-ref) in one run.

1. Forward latency of base-size BERT (110M) and DistilBERT (66M), batch 8 x 128 and 1 x 16, eval mode,
   ``torch.inference_mode``, the same checkpoint and inputs (and thread count) on both sides.
   Target: modelyard <= 0.95x the reference's median latency. The ``checksum`` row shows both compute
   the same output.
2. ``from_pretrained`` of a ~335M-parameter BERT (large-size config, random weights written once into a
   temp folder), then reading every weight, against a bare ``safetensors.torch.load_file`` + read of the
   same file. Targets: time <= 1.03x the bare load; peak RSS above the interpreter's (measured after
   imports, before loading) <= 1.05x the checkpoint size.

Every figure is the median over fresh processes (harness.py); each forward process itself reports the
median of ``--iters`` timed calls after warm-up calls. The processes of the two implementations alternate
(A B, B A, A B, ...) so that a change in machine load during the run hits both sides alike.

    .venv/bin/python benchmarks/bench_models.py [--repeats 5] [--iters 10] [--threads N] [--skip-load]
        [--skip-forward] [--save]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Bench, Measurement, measure, summarize  # noqa: E402

LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)


# ------------------------------------------------------------------------------------ child functions
def _model_class(impl: str, family: str) -> Any:
    name = "BertModel" if family == "bert" else "DistilBertModel"
    if impl == "reference":
        import transformers

        transformers.logging.set_verbosity_error()
        return getattr(transformers, name)
    import modelyard

    return getattr(modelyard, name)


def forward(impl: str, family: str, checkpoint: str, batch: int, seq: int, iters: int, threads: int) -> dict:
    """Median latency of ``model(input_ids, attention_mask)`` in milliseconds."""
    import statistics

    import torch

    torch.set_num_threads(threads)
    model = _model_class(impl, family).from_pretrained(checkpoint).eval()
    if hasattr(model, "optimize_for_inference"):  # modelyard's CPU inference fast paths (off by default)
        model.optimize_for_inference()
    g = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1000, 30000, (batch, seq), generator=g)
    attention_mask = torch.ones(batch, seq, dtype=torch.long)
    times = []
    with torch.inference_mode():
        out = model(input_ids=input_ids, attention_mask=attention_mask)
        for _ in range(max(2, iters // 4)):  # warm-up: allocator, kernels, caches
            model(input_ids=input_ids, attention_mask=attention_mask)
        for _ in range(iters):
            start = time.perf_counter()
            model(input_ids=input_ids, attention_mask=attention_mask)
            times.append(time.perf_counter() - start)
    # |output| summed: equal on both sides when both compute the same thing
    return {"ms": statistics.median(times) * 1000, "checksum": float(out.last_hidden_state.double().abs().sum())}


def _peak_rss_mb() -> float:
    """Peak resident memory of this process image, in MiB (``VmHWM``).

    Not ``ru_maxrss``: on Linux it survives ``exec``, so a child started by a large parent reports at least
    the parent's size at fork time (a benchmark script holding torch and the checkpoints it just wrote).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    from harness import peak_rss_mb

    return peak_rss_mb()


def bare_load_and_read(impl: str, checkpoint: str, threads: int, cold: bool = False) -> dict:
    """The baseline: ``safetensors.torch.load_file`` of the same file, then the same read."""
    return load_and_read("bare", checkpoint, threads, cold)


def load_and_read(impl: str, checkpoint: str, threads: int, cold: bool = False) -> dict:
    """``BertModel.from_pretrained`` then a read of every weight (modelyard / reference), or a bare
    ``safetensors.torch.load_file`` + read (impl ``bare``).

    ``cold``: the file is first dropped from the OS page cache (``POSIX_FADV_DONTNEED``), as after a
    download or a reboot, so the disk is read. Before the clock starts, a full garbage collection pays
    what the imports left due (as ``timeit`` does by switching the collector off): otherwise whichever
    side happens to cross the collector's threshold first is billed ~50 ms for objects torch created.
    """
    import gc

    import torch
    from harness import current_rss_mb

    torch.set_num_threads(threads)
    path = Path(checkpoint) / "model.safetensors"
    if impl != "bare":
        model_class = _model_class(impl, "bert")
    else:
        from safetensors.torch import load_file
    if cold:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    gc.collect()
    base_rss = current_rss_mb()
    start = time.perf_counter()
    if impl == "bare":
        tensors = list(load_file(str(path)).values())
    else:
        model = model_class.from_pretrained(checkpoint)
        tensors = list(model.state_dict().values())
    total = 0.0
    for tensor in tensors:  # touch every byte
        total += float(tensor.sum())
    seconds = time.perf_counter() - start
    size_mb = path.stat().st_size / 2**20
    above = _peak_rss_mb() - base_rss
    return {"seconds": seconds, "rss_above_mb": above, "rss_over_size": above / size_mb, "size_mb": size_mb,
            "checksum": total}


# ------------------------------------------------------------------------------------ checkpoints
def make_checkpoints(root: Path) -> dict[str, Path]:
    """Base-size BERT and DistilBERT (random weights) and a large BERT written tensor by tensor."""
    import torch

    from modelyard.models.bert import BertConfig, BertModel
    from modelyard.models.distilbert import DistilBertConfig, DistilBertModel

    torch.manual_seed(0)
    paths = {"bert": root / "bert-base", "distilbert": root / "distilbert-base", "large": root / "bert-large"}
    BertModel(BertConfig()).save_pretrained(paths["bert"])
    DistilBertModel(DistilBertConfig()).save_pretrained(paths["distilbert"])
    large = BertConfig(**LARGE)
    with torch.device("meta"):  # names and shapes only; the values are generated below
        shapes = {k: v.shape for k, v in BertModel(large).state_dict().items()}
    g = torch.Generator().manual_seed(0)
    state = {k: (torch.randn(s, generator=g) * 0.02) for k, s in sorted(shapes.items())}
    from safetensors.torch import save_file

    paths["large"].mkdir(parents=True)
    large.save_pretrained(paths["large"])
    save_file(state, str(paths["large"] / "model.safetensors"), metadata={"format": "pt"})
    return paths


# ------------------------------------------------------------------------------------ main
def build(paths: dict[str, Path], *, repeats: int, iters: int, threads: int, skip_load: bool,
          skip_forward: bool = False) -> Bench:
    bench = Bench(f"model benchmarks ({threads} threads)")
    for family in () if skip_forward else ("distilbert", "bert"):
        for batch, seq in ((8, 128), (1, 16)):
            n = iters if batch == 8 else iters * 10
            bench.add_function(
                f"{family} forward {batch}x{seq}", __file__, "forward",
                {"family": family, "checkpoint": str(paths[family]), "batch": batch, "seq": seq, "iters": n,
                 "threads": threads},
                repeats=repeats, metric="ms", unit="ms", target="<= 0.95x", extra_metrics=("checksum",),
            )
    if not skip_load:
        for cache in ("warm", "cold"):
            bench.add_function(
                f"from_pretrained 335M + read, {cache} cache", __file__, "load_and_read",
                {"checkpoint": str(paths["large"]), "threads": threads, "cold": cache == "cold"},
                repeats=repeats, target="<= 1.03x bare", extra_metrics=("rss_above_mb", "rss_over_size"),
            )
    return bench


def run_together(cells: list[tuple[Any, Any]], *, verbose: bool = True) -> None:
    """Measure several (row, implementation) cells round by round, the order reversed every other round,
    so that a change in machine load hits every cell alike."""
    samples: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(cells))}
    skipped: dict[int, str] = {}
    rounds = max(row.warmup + row.repeats for row, _ in cells)
    for round_ in range(rounds):
        order = list(range(len(cells))) if round_ % 2 == 0 else list(range(len(cells)))[::-1]
        for i in order:
            row, impl = cells[i]
            if i in skipped or round_ >= row.warmup + row.repeats:
                continue
            if verbose:
                print(f"  {row.label} [{impl.name}] {round_ + 1}/{row.warmup + row.repeats}", file=sys.stderr,
                      flush=True)
            result = measure(impl, row.programs[impl.name], repeats=1, warmup=0, env=row.env)
            if not result.ok:
                skipped[i] = result.skipped
            elif round_ >= row.warmup:
                samples[i].extend(result.samples)
    for i, (row, impl) in enumerate(cells):
        row.results[impl.name] = (Measurement(impl.name, skipped=skipped[i]) if i in skipped else
                                  Measurement(impl.name, median=summarize(samples[i]), samples=samples[i]))


def bare_row(paths: dict[str, Path], *, repeats: int, threads: int) -> Bench:
    from harness import default_impls

    bench = Bench("bare safetensors load_file + read (same file)", impls=default_impls()[:1])
    for cache in ("warm", "cold"):
        bench.add_function(f"load_file 335M + read, {cache} cache", __file__, "bare_load_and_read",
                           {"checkpoint": str(paths["large"]), "threads": threads, "cold": cache == "cold"},
                           repeats=repeats, extra_metrics=("rss_above_mb", "rss_over_size"))
    return bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iters", type=int, default=10, help="timed calls per process at 8x128 (x10 at 1x16)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-load", action="store_true", help="skip the 335M from_pretrained rows")
    parser.add_argument("--skip-forward", action="store_true", help="skip the forward latency rows")
    parser.add_argument("--save", action="store_true", help="also write benchmarks/results/models.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp:
        print("writing checkpoints ...", file=sys.stderr, flush=True)
        paths = make_checkpoints(Path(tmp))
        bench = build(paths, repeats=args.repeats, iters=args.iters, threads=args.threads, skip_load=args.skip_load,
                      skip_forward=args.skip_forward)
        bare = bare_row(paths, repeats=args.repeats, threads=args.threads) if not args.skip_load else None
        load_rows = [row for row in bench.rows if row.label.startswith("from_pretrained")]
        for row in bench.rows:
            if row not in load_rows:
                run_together([(row, impl) for impl in bench.impls if impl.name in row.programs])
        if bare is not None:
            # each cache state: modelyard, reference and the bare load, round by round
            for load_row, bare_load_row in zip(load_rows, bare.rows):
                cells = [(load_row, impl) for impl in bench.impls if impl.name in load_row.programs]
                run_together(cells + [(bare_load_row, bare.impls[0])])
        bench.print_table()
        if bare is not None:
            bare.print_table()
            for ours_row, bare_load_row in zip(load_rows, bare.rows):
                ours, base = ours_row.results["modelyard"].median, bare_load_row.results["modelyard"].median
                if ours and base:
                    print(f"{ours_row.label} vs bare: time {ours['seconds'] / base['seconds']:.3f}x "
                          f"(target <= 1.03x); peak RSS above interpreter {ours['rss_over_size']:.3f}x the "
                          f"{ours['size_mb']:.0f} MiB checkpoint (target <= 1.05x; bare: {base['rss_over_size']:.3f}x)")
        if args.save:
            print(f"saved {bench.save('models')}")


if __name__ == "__main__":
    main()
