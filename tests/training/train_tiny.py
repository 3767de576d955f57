"""A small, complete training script that the tests run in fresh processes, alone or under ``torchrun`` /
``accelerate launch`` (the same file, unchanged, as a user would).

    python train_tiny.py OUT [--task mlm|cls] [--max-steps N] [--batch B] [--accumulation K] [--save-steps S]
        [--resume] [--kill-after-save STEP] [--kill-mid-save STEP] [--optim sgd] [--dropout P] [--eval-size N]

``--task mlm`` trains a tiny BERT masked-language model on generated sentences with our BERT tokenizer and
``DataCollatorForLanguageModeling`` (random masking and dropout: both must replay exactly on resume);
``--task cls`` a tiny BERT sequence classifier. At the end, the main process saves the model to
``OUT/final`` and writes ``OUT/report.json`` (evaluation metrics, process count, step). ``--kill-after-save``
SIGKILLs every process right after the checkpoint of that step is committed; ``--kill-mid-save`` SIGKILLs
it after the checkpoint's files are written but before the folder is renamed into place.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
from pathlib import Path

import torch

from modelyard import (
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertTokenizer,
    DataCollatorForLanguageModeling,
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

WORDS = [f"w{i}" for i in range(40)]


def build_tokenizer(folder: Path) -> BertTokenizer:
    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    if not vocab.exists():
        vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n", encoding="utf-8")
    return BertTokenizer(str(vocab))


def sentences(count: int, seed: int) -> list[tuple[str, int]]:
    """Sentences of 4-10 words; the label says whether the first word's number is even."""
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 10))]
        result.append((" ".join(words), int(words[0][1:]) % 2))
    return result


class KillSwitch(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_save(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("--task", choices=["mlm", "cls"], default="mlm")
    parser.add_argument("--max-steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--accumulation", type=int, default=2)
    parser.add_argument("--save-steps", type=int, default=4)
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--kill-after-save", type=int, default=0)
    parser.add_argument("--kill-mid-save", type=int, default=0)
    parser.add_argument("--optim", default="adamw_torch")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--eval-size", type=int, default=0)
    options = parser.parse_args()
    out = Path(options.output)

    tokenizer = build_tokenizer(out.parent / "tokenizer")
    texts = sentences(options.examples, seed=1)
    encoded = [dict(tokenizer(text), label=label) for text, label in texts]
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=16, hidden_dropout_prob=options.dropout, attention_probs_dropout_prob=options.dropout,
        num_labels=2,
    )
    torch.manual_seed(0)  # the same initial weights in every process and every run
    if options.task == "mlm":
        model = BertForMaskedLM(config)
        collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)
        for example in encoded:
            example.pop("label")
    else:
        model = BertForSequenceClassification(config)
        collator = DataCollatorWithPadding(tokenizer)

    if options.kill_mid_save:
        from modelyard.training import checkpointing

        commit = checkpointing.commit_folder

        def commit_or_die(temporary: Path, final: Path) -> None:
            if final.name == f"checkpoint-{options.kill_mid_save}":
                os.kill(os.getpid(), signal.SIGKILL)
            commit(temporary, final)

        checkpointing.commit_folder = commit_or_die

    args = TrainingArguments(
        output_dir=str(out), max_steps=options.max_steps, per_device_train_batch_size=options.batch,
        per_device_eval_batch_size=2, gradient_accumulation_steps=options.accumulation, learning_rate=5e-3,
        warmup_steps=2, weight_decay=0.01, save_steps=options.save_steps, logging_steps=2, seed=7,
        optim=options.optim, disable_tqdm=True,
    )
    callbacks = [KillSwitch(options.kill_after_save)] if options.kill_after_save else []
    eval_data = encoded[: options.eval_size] if options.eval_size else None
    trainer = Trainer(model, args, data_collator=collator, train_dataset=encoded, eval_dataset=eval_data,
                      processing_class=tokenizer, callbacks=callbacks)
    trainer.train(resume_from_checkpoint=True if options.resume else None)
    report = {"global_step": trainer.state.global_step, "processes": trainer.accelerator.num_processes}
    if eval_data is not None:
        metrics = trainer.evaluate()
        predictions = trainer.predict(eval_data)
        report["eval"] = metrics
        report["predicted_rows"] = int(predictions.predictions.shape[0])
        report["label_rows"] = int(predictions.label_ids.shape[0])
    trainer.save_model(out / "final")
    if trainer.is_world_process_zero:
        (out / "report.json").write_text(json.dumps(report), encoding="utf-8")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
