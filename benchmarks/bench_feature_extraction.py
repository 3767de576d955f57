"""Feature-extractor throughput, modelyard vs the reference library, in one run (issue 4, item 7).

    ViT extractor     64 RGB 480x640 images -> pixel_values (64, 3, 224, 224), return_tensors="np"
                      (PIL images, and uint8 HWC numpy arrays)            target: >= 2x the reference's images/s
    Wav2Vec2 extractor 32 clips of 1-10 s at 16 kHz, padding=True + attention mask, return_tensors="np"
                                                                         target: >= 3x the reference's clips/s

Both libraries get the same seeded inputs. Each figure is the median over `--processes` rounds (each round runs
one fresh process per library, alternating) of the per-process median of `--iters` timed calls (after one
warm-up call). Every child also saves a slice of
its output; the run fails unless modelyard's equals the reference's (max |diff| <= 1e-6, masks identical).

    .venv/bin/python benchmarks/bench_feature_extraction.py [--iters 5] [--processes 3] [--save]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Bench, summarize  # noqa: E402

N_IMAGES, IMAGE_HW = 64, (480, 640)
N_CLIPS, SAMPLE_RATE = 32, 16000


def _library(impl: str) -> Any:
    import warnings

    warnings.simplefilter("ignore")  # the reference's ViTFeatureExtractor deprecation notice
    return __import__("transformers" if impl == "reference" else "modelyard")  # "baseline": older modelyard


def _time(call: Any, iters: int) -> tuple[float, Any]:
    import statistics
    import time

    out = call()  # warm-up: thread pools, lazy imports, caches
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def vit_extractor(impl: str, input_format: str, iters: int, out_dir: str) -> dict[str, Any]:
    """Runs in the child interpreter."""
    import numpy as np
    import PIL.Image

    lib = _library(impl)
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (*IMAGE_HW, 3), dtype=np.uint8) for _ in range(N_IMAGES)]
    images = [PIL.Image.fromarray(a) for a in arrays] if input_format == "pil" else arrays
    extractor = lib.ViTFeatureExtractor()
    seconds, out = _time(lambda: extractor(images, return_tensors="np"), iters)
    pixels = np.asarray(out["pixel_values"])
    assert pixels.shape == (N_IMAGES, 3, 224, 224), pixels.shape
    np.save(Path(out_dir) / f"vit-{input_format}-{impl}.npy", pixels[::8])
    return {"seconds": seconds, "images_per_s": N_IMAGES / seconds}


def wav2vec2_extractor(impl: str, iters: int, out_dir: str) -> dict[str, Any]:
    """Runs in the child interpreter."""
    import numpy as np

    lib = _library(impl)
    rng = np.random.default_rng(0)
    clips = [
        (0.1 * rng.standard_normal(int(rng.uniform(1, 10) * SAMPLE_RATE))).astype(np.float32) for _ in range(N_CLIPS)
    ]
    extractor = lib.Wav2Vec2FeatureExtractor(return_attention_mask=True)

    def call() -> Any:
        return extractor(clips, padding=True, return_attention_mask=True, return_tensors="np", sampling_rate=SAMPLE_RATE)

    seconds, out = _time(call, iters)
    np.save(Path(out_dir) / f"w2v-{impl}.npy", np.asarray(out["input_values"])[::4])
    np.save(Path(out_dir) / f"w2v-mask-{impl}.npy", np.asarray(out["attention_mask"]))
    return {"seconds": seconds, "clips_per_s": N_CLIPS / seconds}


def check_equal_outputs(out_dir: Path) -> list[str]:
    """Compare what the two libraries' children saved; returns lines to print (raises on a mismatch)."""
    import numpy as np

    lines = []
    for stem in ("vit-pil", "vit-np", "w2v", "w2v-mask"):
        ours, theirs = out_dir / f"{stem}-modelyard.npy", out_dir / f"{stem}-reference.npy"
        if not (ours.exists() and theirs.exists()):
            lines.append(f"{stem}: not compared (an implementation was skipped)")
            continue
        a, b = np.load(ours), np.load(theirs)
        if a.shape != b.shape:
            raise SystemExit(f"{stem}: output shapes differ: modelyard {a.shape}, reference {b.shape}")
        diff = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())
        if diff > 1e-6:
            raise SystemExit(f"{stem}: outputs differ by up to {diff:.3g} (> 1e-6)")
        lines.append(f"{stem}: equal outputs (max |diff| {diff:.2g}, shape {a.shape})")
    return lines


def build(out_dir: str, *, iters: int, processes: int) -> Bench:
    bench = Bench(f"feature extraction throughput (median of {processes} rounds of fresh processes x {iters} calls)")
    for input_format, label in (("pil", "ViT 64 x 480x640 PIL"), ("np", "ViT 64 x 480x640 numpy")):
        bench.add_function(label, __file__, "vit_extractor",
                           {"input_format": input_format, "iters": iters, "out_dir": out_dir},
                           repeats=1, warmup=0, metric="images_per_s", unit="1/s", lower_is_better=False,
                           target=">= 2x reference", extra_metrics=("seconds",))
    bench.add_function("Wav2Vec2 32 x 1-10 s, pad+mask", __file__, "wav2vec2_extractor",
                       {"iters": iters, "out_dir": out_dir}, repeats=1, warmup=0, metric="clips_per_s",
                       unit="1/s", lower_is_better=False, target=">= 3x reference", extra_metrics=("seconds",))
    return bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=5, help="timed calls per process")
    parser.add_argument("--processes", type=int, default=3, help="rounds (one fresh process per implementation each)")
    parser.add_argument("--save", action="store_true", help="also write benchmarks/results/feature_extraction.json")
    args = parser.parse_args()
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-fe-") as out_dir:
        bench = build(out_dir, iters=args.iters, processes=args.processes)
        # Rounds alternate the two libraries process by process, so a busy machine slows both alike.
        for _ in range(args.processes):
            bench.run()
            for row in bench.rows:
                for name, measurement in row.results.items():
                    merged = samples.setdefault((row.label, name), [])
                    merged.extend(measurement.samples)
                    if measurement.ok:
                        measurement.samples = list(merged)
                        measurement.median = summarize(merged)
        bench.print_table()
        print("ratio > 1 above means modelyard processes more per second than the reference")
        for line in check_equal_outputs(Path(out_dir)):
            print(line)
    if args.save:
        print(f"saved {bench.save('feature_extraction')}")


if __name__ == "__main__":
    main()
