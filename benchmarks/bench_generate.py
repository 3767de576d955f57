"""Generation benchmarks, modelyard (.venv) side by side with the reference (.venv-ref) in one run.

GPT-2 124M (the reference's default GPT2Config) and a ~110M Llama-architecture model (hidden 768, 12 layers, 12
heads, 4 KV heads, SwiGLU 2048, vocab 32000, tied embeddings), random weights saved once by modelyard and loaded
by both sides. Greedy decoding of 128 new tokens from a 32-token prompt (no end token: every run makes all 128),
batch 1 and batch 8, ``torch.inference_mode``, the same thread count on both sides. Figures per process:

- ``tokens_per_s``: new tokens (batch x 128) per second of ``generate()``; target >= 1.3x the reference;
- ``ttft_ms``: time to first token (``generate(max_new_tokens=1)``: the prefill and one step); target <= 1x;
- ``peak_rss_mb``: the process's peak resident memory (model loaded, both generate calls); target <= 1x.

modelyard runs with its CPU inference switch on (``optimize_for_inference()``, as in the other benchmarks): its
measured choices (one-row products over a column-major weight for the vocabulary projection) are what a user
who asks for speed gets. The checksum column (sum of the generated ids) shows both sides generate the same tokens. Every figure is
the median over fresh processes (harness.py); the processes of the two implementations alternate round by round.

    .venv/bin/python benchmarks/bench_generate.py [--repeats 3] [--threads N] [--only gpt2,llama] [--save]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Bench  # noqa: E402

PROMPT = 32
NEW_TOKENS = 128
LLAMA_110M = dict(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                  num_attention_heads=12, num_key_value_heads=4, max_position_embeddings=2048,
                  tie_word_embeddings=True)
CLASSES = {"gpt2": "GPT2LMHeadModel", "llama": "LlamaForCausalLM"}


# ------------------------------------------------------------------------------------ child function
def generate(impl: str, family: str, checkpoint: str, batch: int, threads: int) -> dict:
    """Load the checkpoint, then time generate(): one new token (time to first token), then 128."""
    import torch

    torch.set_num_threads(threads)
    if impl == "reference":
        import transformers

        transformers.logging.set_verbosity_error()
        model_class = getattr(transformers, CLASSES[family])
    else:
        import modelyard

        model_class = getattr(modelyard, CLASSES[family])
    model = model_class.from_pretrained(checkpoint).eval()
    if hasattr(model, "optimize_for_inference"):  # modelyard's CPU inference fast paths (off by default)
        model.optimize_for_inference()
    model.generation_config.eos_token_id = None  # all 128 tokens every time
    model.generation_config.pad_token_id = 0
    g = torch.Generator().manual_seed(0)
    input_ids = torch.randint(10, 1000, (batch, PROMPT), generator=g)
    attention_mask = torch.ones_like(input_ids)
    options = {"attention_mask": attention_mask, "do_sample": False}
    with torch.inference_mode():
        model.generate(input_ids, max_new_tokens=4, **options)  # warm-up: allocator, kernels
        start = time.perf_counter()
        model.generate(input_ids, max_new_tokens=1, **options)
        ttft = time.perf_counter() - start
        start = time.perf_counter()
        out = model.generate(input_ids, max_new_tokens=NEW_TOKENS, **options)
        seconds = time.perf_counter() - start
    new = out.shape[1] - PROMPT
    from harness import peak_rss_mb

    return {"tokens_per_s": batch * new / seconds, "ttft_ms": ttft * 1000, "seconds": seconds,
            "peak_rss_mb": peak_rss_mb(), "checksum": int(out[:, PROMPT:].sum())}


# ------------------------------------------------------------------------------------ checkpoints
def make_checkpoints(root: Path, families: list[str]) -> dict[str, Path]:
    import torch

    from modelyard import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    paths = {}
    if "gpt2" in families:
        paths["gpt2"] = root / "gpt2-124m"
        GPT2LMHeadModel(GPT2Config()).save_pretrained(paths["gpt2"])
    if "llama" in families:
        paths["llama"] = root / "llama-110m"
        LlamaForCausalLM(LlamaConfig(**LLAMA_110M)).save_pretrained(paths["llama"])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", default="gpt2,llama", help="comma-separated families: gpt2, llama")
    parser.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    parser.add_argument("--save", action="store_true", help="also write benchmarks/results/generate.json")
    args = parser.parse_args()
    families = [f for f in args.only.split(",") if f]
    batches = [int(b) for b in args.batches.split(",") if b]
    from bench_models import run_together

    with tempfile.TemporaryDirectory(prefix="modelyard-bench-generate-") as tmp:
        print("writing checkpoints ...", file=sys.stderr, flush=True)
        paths = make_checkpoints(Path(tmp), families)
        bench = Bench(f"greedy generate(), {PROMPT}-token prompt + {NEW_TOKENS} new tokens ({args.threads} threads)")
        for family in families:
            for batch in batches:
                bench.add_function(
                    f"{family} batch {batch} tokens/s", __file__, "generate",
                    {"family": family, "checkpoint": str(paths[family]), "batch": batch, "threads": args.threads},
                    repeats=args.repeats, warmup=0, metric="tokens_per_s", unit="tok/s", lower_is_better=False,
                    target=">= 1.3x",
                    extra_metrics=("ttft_ms", "peak_rss_mb", "checksum"),
                )
        for row in bench.rows:
            run_together([(row, impl) for impl in bench.impls if impl.name in row.programs])
        bench.print_table()
        if args.save:
            print(f"saved {bench.save('generate')}")


if __name__ == "__main__":
    main()
