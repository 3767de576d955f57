"""Trainer benchmarks: modelyard's Trainer side by side with the reference's (transformers 4.57.6) and with a
bare hand-written PyTorch loop doing the same work, in one run.

1. Per-step overhead: a tiny MLP (32 -> 64 -> 2, batch 8) where the trainer, not the math, is the cost;
   the same data (a list of dicts), collator (the library's default_data_collator), fused AdamW over the same
   two parameter groups, linear schedule, gradient clipping at 1.0 (of a parameter list made once),
   zero_grad(set_to_none=True), no loss sync, no logging, saving or progress bar, 1 thread. Steps/s over steps 100..N (steady state, timed by
   a callback at step ends; the bare loop times the same span). Targets: >= 1.5x the reference's steps/s,
   and >= 1/1.10 of the bare loop's.
2. DistilBERT-base (6 layers, random weights) sequence-classification fine-tuning, batch 8 x 128, CPU:
   samples/s over steps 2..N and the process's peak RSS. Targets: samples/s >= reference, RSS <= reference.
3. Saving a checkpoint of a 110M-parameter BERT (AdamW state filled by one step): the trainer's checkpoint
   save against writing the same bytes with ``safetensors.torch.save_file`` + ``torch.save`` of the
   optimizer state, interleaved round by round in one process. Target: <= 1.2x.

Each row runs its implementations' processes alternately (A B, B A, ...), so a change in machine load hits
both sides alike.

    .venv/bin/python benchmarks/bench_trainer.py [--repeats 5] [--steps 600] [--skip-distilbert]
        [--skip-save] [--save]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Bench, default_impls  # noqa: E402


# ------------------------------------------------------------------------------------ child functions
def _library(impl: str) -> Any:
    if impl == "reference":
        import transformers

        transformers.logging.set_verbosity_error()
        return transformers
    import modelyard

    return modelyard


def _tiny_setup(seed: int = 0) -> tuple[Any, list[dict]]:
    import torch
    from torch import nn

    class TinyMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 2))

        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict:
            logits = self.net(x)
            out = {"logits": logits}
            if labels is not None:
                out["loss"] = nn.functional.cross_entropy(logits, labels)
            return out

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(8192, 32, generator=g)
    data = [{"x": features[i], "labels": int(features[i, 0] > 0)} for i in range(len(features))]
    return TinyMLP(), data


def tiny_steps(impl: str, steps: int, rounds: int, warm: int = 100) -> dict:
    """Steps/s of the trainer and of the bare loop, alternating in this process round by round (a change in
    machine load hits both), between the end of step ``warm`` and the end of step ``steps``."""
    import statistics

    import torch

    torch.set_num_threads(1)
    trainer_rates, bare_rates = [], []
    for round_ in range(rounds):
        for kind in ("trainer", "bare") if round_ % 2 == 0 else ("bare", "trainer"):
            model, data = _tiny_setup()
            if kind == "bare":
                bare_rates.append(_bare_tiny(impl, model, data, steps, warm))
            else:
                trainer_rates.append(_trainer_tiny(impl, model, data, steps, warm))
    ratios = [t / b for t, b in zip(trainer_rates, bare_rates)]
    return {"steps_per_s": statistics.median(trainer_rates), "bare_steps_per_s": statistics.median(bare_rates),
            "over_bare": statistics.median(ratios)}


def _trainer_tiny(impl: str, model: Any, data: list[dict], steps: int, warm: int) -> float:
    lib = _library(impl)
    marks: dict[int, float] = {}

    class Clock(lib.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN201
            if state.global_step in (warm, steps):
                marks[state.global_step] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        args = lib.TrainingArguments(
            output_dir=tmp, max_steps=steps, per_device_train_batch_size=8, learning_rate=1e-3,
            optim="adamw_torch_fused", lr_scheduler_type="linear", max_grad_norm=1.0, logging_strategy="no",
            save_strategy="no", report_to="none", disable_tqdm=True, dataloader_pin_memory=False, seed=0,
        )
        trainer = lib.Trainer(model=model, args=args, train_dataset=data, callbacks=[Clock()],
                              data_collator=lib.default_data_collator)
        trainer.train()
    return (steps - warm) / (marks[steps] - marks[warm])


def _bare_tiny(impl: str, model: Any, data: list[dict], steps: int, warm: int) -> float:
    """The floor: what every trainer must do for this run, written out by hand and without waste: the same
    data loading (a DataLoader with a random sampler and the library's default_data_collator, as the trainer
    is given), AdamW over the same two parameter groups, the same linear schedule stepped each step, clipping
    of a parameter list made once, zero_grad(set_to_none=True), no loss sync."""
    import torch
    from torch.utils.data import DataLoader, RandomSampler

    collate = _library(impl).default_data_collator
    loader = DataLoader(data, batch_size=8, sampler=RandomSampler(data, generator=torch.Generator().manual_seed(0)),
                        collate_fn=collate)
    decay = [p for n, p in model.named_parameters() if not n.endswith("bias")]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias")]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.0}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-3, fused=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (steps - s) / steps))
    model.train()
    params = list(model.parameters())
    step, start, end = 0, 0.0, 0.0
    while step < steps:
        for batch in loader:
            loss = model(**batch)["loss"]
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if step == warm:
                start = time.perf_counter()
            if step == steps:
                end = time.perf_counter()
                break
    return (steps - warm) / (end - start)


def distilbert_finetune(impl: str, steps: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    lib = _library(impl)
    torch.manual_seed(0)
    model = lib.DistilBertForSequenceClassification(lib.DistilBertConfig(num_labels=2))
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 30000, (steps * 8, 128), generator=g)
    data = [{"input_ids": ids[i], "attention_mask": torch.ones(128, dtype=torch.long), "labels": i % 2}
            for i in range(len(ids))]
    marks: dict[int, float] = {}
    warm = 1

    class Clock(lib.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN201
            if state.global_step in (warm, steps):
                marks[state.global_step] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        args = lib.TrainingArguments(
            output_dir=tmp, max_steps=steps, per_device_train_batch_size=8, learning_rate=5e-5,
            logging_strategy="no", save_strategy="no", report_to="none", disable_tqdm=True,
            dataloader_pin_memory=False, seed=0,
        )
        trainer = lib.Trainer(model=model, args=args, train_dataset=data, callbacks=[Clock()],
                              data_collator=lib.default_data_collator)
        trainer.train()
    return {"samples_per_s": 8 * (steps - warm) / (marks[steps] - marks[warm])}


def checkpoint_save(impl: str, rounds: int) -> dict:
    """Median seconds of the trainer's checkpoint save and of the bare write of the same bytes."""
    import torch
    from safetensors.torch import save_file

    torch.set_num_threads(2)
    lib = _library(impl)
    torch.manual_seed(0)
    model = lib.BertForSequenceClassification(lib.BertConfig(num_labels=2))
    data = [{"input_ids": torch.randint(1000, 30000, (16,)), "labels": i % 2} for i in range(8)]
    ours, bare = [], []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        args = lib.TrainingArguments(output_dir=tmp, max_steps=1, per_device_train_batch_size=8,
                                     save_strategy="no", report_to="none", disable_tqdm=True,
                                     dataloader_pin_memory=False)
        trainer = lib.Trainer(model=model, args=args, train_dataset=data, data_collator=lib.default_data_collator)
        trainer.train()  # fills the AdamW state
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        state.pop("bert.embeddings.position_ids", None)
        for index in range(rounds):
            for kind in ("trainer", "bare") if index % 2 == 0 else ("bare", "trainer"):
                target = Path(tmp) / f"{kind}-{index}"
                start = time.perf_counter()
                if kind == "bare":
                    target.mkdir()
                    save_file(state, str(target / "model.safetensors"))
                    torch.save(trainer.optimizer.state_dict(), target / "optimizer.pt")
                    bare.append(time.perf_counter() - start)
                else:
                    trainer.state.global_step = index + 10
                    if impl == "reference":
                        trainer._save_checkpoint(trainer.model, trial=None)
                    else:
                        trainer._save_checkpoint()
                    ours.append(time.perf_counter() - start)
                import shutil

                for leftover in Path(tmp).iterdir():
                    shutil.rmtree(leftover)
    # the ratio of each round's pair: a change in load or page-cache state hits both alike
    return {"save_s": statistics.median(ours), "bare_s": statistics.median(bare),
            "save_over_bare": statistics.median(o / b for o, b in zip(ours, bare))}


# ----------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--distilbert-steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-tiny", action="store_true")
    parser.add_argument("--skip-distilbert", action="store_true")
    parser.add_argument("--skip-save", action="store_true")
    parser.add_argument("--save", action="store_true")
    options = parser.parse_args()

    impls = default_impls()
    bench = Bench("Trainer", impls)
    if not options.skip_tiny:
        bench.add_function("tiny MLP steps/s", __file__, "tiny_steps", {"steps": options.steps, "rounds": 3},
                           repeats=options.repeats, metric="steps_per_s", unit="1/s", lower_is_better=False,
                           target=">= 1.5x reference", extra_metrics=("bare_steps_per_s", "over_bare"))
    if not options.skip_distilbert:
        trainers = Bench("DistilBERT", impls[:2])
        row = trainers.add_function("DistilBERT-base 8x128 fine-tune", __file__, "distilbert_finetune",
                                    {"steps": options.distilbert_steps, "threads": options.threads},
                                    repeats=max(3, options.repeats // 2), rss=True, metric="samples_per_s",
                                    unit="1/s", lower_is_better=False, target=">= reference, RSS <= reference",
                                    extra_metrics=("peak_rss_mb",))
        bench.rows.append(row)
    if not options.skip_save:
        save_bench = Bench("save", impls[:2])
        row = save_bench.add_function("checkpoint save, BERT-base 110M", __file__, "checkpoint_save", {"rounds": 7},
                                      repeats=max(3, options.repeats // 2), metric="save_over_bare", unit="x",
                                      target="<= 1.2x bare", extra_metrics=("save_s", "bare_s"))
        bench.rows.append(row)
    from bench_models import run_together  # alternates the implementations round by round

    for row in bench.rows:
        run_together([(row, impl) for impl in impls if impl.name in row.programs])
    bench.print_table()
    tiny = bench.rows[0].results if not options.skip_tiny else {}
    if all(name in tiny and tiny[name].ok for name in ("modelyard", "reference")):
        ours, ref = tiny["modelyard"].median["over_bare"], tiny["reference"].median["over_bare"]
        print(f"tiny MLP, each trainer against the bare loop in its own process: modelyard {ours:.3f} "
              f"(target >= {1 / 1.10:.3f}), reference {ref:.3f}; load-normalised modelyard/reference "
              f"{ours / ref:.2f}x (target >= 1.5x)")
    if options.save:
        print("saved", bench.save("trainer"))


if __name__ == "__main__":
    main()
