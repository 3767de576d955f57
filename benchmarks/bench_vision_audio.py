"""Forward latency of the vision and audio families, modelyard vs the reference library, in one run.

    ViT-base/16      224x224 images, batch 8          (ViTForImageClassification, 1000 labels)
    Wav2Vec2-base    4 clips x 5 s of 16 kHz audio    (Wav2Vec2ForCTC, 32 characters)
    ResNet-50        224x224 images, batch 8          (ResNetForImageClassification, 1000 labels)

Each figure is the median over fresh processes (`--processes`, run round-robin across the libraries) of the per-process median of `--iters` timed
forwards (after `--warmup` untimed ones), in eval mode under ``torch.inference_mode()``, randomly
initialised weights (the architecture, not the values, sets the cost), both libraries with the same
torch thread count. Target: modelyard not slower than the reference (ratio <= 1.0 within noise).

``cpu_seconds`` is the process CPU time of a forward (all threads). On a machine shared with other work,
wall-clock figures swing by several x from one process to the next; with ``--threads 1`` the CPU time
measures the work itself and is the figure to compare there.

    .venv/bin/python benchmarks/bench_vision_audio.py [--only vit,wav2vec2,resnet] [--iters 5] [--save]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Bench, ChildError, Measurement, run_child, summarize  # noqa: E402

FAMILIES: dict[str, dict[str, Any]] = {
    "vit": {
        "label": "ViT-base/16 224x224 x8",
        "cls": "ViTForImageClassification",
        "config_cls": "ViTConfig",
        "config": {"num_labels": 1000},
        "inputs": {"pixel_values": [8, 3, 224, 224]},
    },
    "wav2vec2": {
        "label": "Wav2Vec2-base 4 x 5 s",
        "cls": "Wav2Vec2ForCTC",
        "config_cls": "Wav2Vec2Config",
        "config": {},
        "inputs": {"input_values": [4, 5 * 16000]},
    },
    "resnet": {
        "label": "ResNet-50 224x224 x8",
        "cls": "ResNetForImageClassification",
        "config_cls": "ResNetConfig",
        "config": {"num_labels": 1000},
        "inputs": {"pixel_values": [8, 3, 224, 224]},
    },
}


def forward_latency(impl: str, family: str, iters: int, warmup: int, threads: int) -> dict[str, float]:
    """Runs in the child interpreter: build the model, time `iters` forwards, report the median (seconds)."""
    import statistics
    import time

    import torch

    lib = __import__("transformers" if impl == "reference" else "modelyard")  # "baseline": older modelyard
    spec = FAMILIES[family]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = getattr(lib, spec["config_cls"])(**spec["config"])
    model = getattr(lib, spec["cls"])(config).eval()
    if hasattr(model, "optimize_for_inference"):  # modelyard's CPU inference fast paths (off by default)
        model.optimize_for_inference()
    inputs = {name: torch.randn(*shape) for name, shape in spec["inputs"].items()}
    times, cpu_times = [], []
    with torch.inference_mode():
        for i in range(warmup + iters):
            start, cpu_start = time.perf_counter(), time.process_time()
            model(**inputs)
            if i >= warmup:
                times.append(time.perf_counter() - start)
                cpu_times.append(time.process_time() - cpu_start)
    return {"seconds": statistics.median(times), "min_seconds": min(times), "cpu_seconds": statistics.median(cpu_times)}


def build(families: list[str], *, iters: int, warmup: int, processes: int, threads: int) -> Bench:
    bench = Bench(f"forward latency, eval, inference_mode, {threads} torch threads")
    for family in families:
        bench.add_function(
            FAMILIES[family]["label"],
            __file__,
            "forward_latency",
            {"family": family, "iters": iters, "warmup": warmup, "threads": threads},
            repeats=processes,
            warmup=0,
            target="not slower",
            extra_metrics=("min_seconds", "cpu_seconds"),
        )
    return bench


def run_interleaved(bench: Bench, rounds: int) -> None:
    """Like ``Bench.run``, but round-robin: each round runs one fresh process per row and implementation, so a
    burst of load on a shared machine hits both libraries alike instead of one row of one library."""
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    failed: dict[tuple[str, str], str] = {}
    available = [impl for impl in bench.impls if impl.available]
    for round_index in range(rounds):
        for row in bench.rows:
            for impl in available:
                key = (row.label, impl.name)
                if key in failed:
                    continue
                print(f"  round {round_index + 1}/{rounds}: {row.label} [{impl.name}] ...", file=sys.stderr, flush=True)
                try:
                    result = run_child(impl.python, row.programs[impl.name], env=impl.env)
                except ChildError as err:
                    failed[key] = f"failed: {str(err).strip().splitlines()[-1][:300]}"
                    continue
                samples.setdefault(key, []).append(result)
    for row in bench.rows:
        for impl in bench.impls:
            key = (row.label, impl.name)
            if not impl.available:
                row.results[impl.name] = Measurement(impl.name, skipped=f"{impl.python} is missing")
            elif key in failed:
                row.results[impl.name] = Measurement(impl.name, skipped=failed[key])
            else:
                row.results[impl.name] = Measurement(impl.name, median=summarize(samples[key]), samples=samples[key])


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(FAMILIES), help=f"comma-separated subset of {list(FAMILIES)}")
    parser.add_argument("--iters", type=int, default=5, help="timed forwards per process")
    parser.add_argument("--warmup", type=int, default=1, help="untimed forwards per process")
    parser.add_argument("--processes", type=int, default=3, help="fresh processes per implementation")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads in both libraries")
    parser.add_argument("--save", action="store_true", help="also write benchmarks/results/vision_audio.json")
    args = parser.parse_args()
    families = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {list(FAMILIES)}")
    bench = build(families, iters=args.iters, warmup=args.warmup, processes=args.processes, threads=args.threads)
    run_interleaved(bench, args.processes)
    bench.print_table()
    if args.save:
        print(f"saved {bench.save('vision_audio')}")


if __name__ == "__main__":
    main()
