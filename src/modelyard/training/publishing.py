"""Publishing a run to a hub: the final model with a model card, and checkpoints to resume elsewhere.

``hub_strategy``: ``"end"`` pushes once at the end; ``"every_save"`` pushes the model at each save;
``"checkpoint"`` also pushes the latest checkpoint as ``last-checkpoint/`` (resume on another machine with
``resume_from_checkpoint=True``: it is fetched when the output folder has none); ``"all_checkpoints"``
pushes every checkpoint folder. Every upload goes through the library's one push path
(:class:`~modelyard.hub.push.PushTarget`), to the hub ``HF_ENDPOINT`` names, with its errors translated.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from modelyard._version import __version__
from modelyard.errors import HubConnectionError
from modelyard.hub.gateway import hub_client
from modelyard.hub.push import PushTarget
from modelyard.training.arguments import TrainingArguments
from modelyard.training.state import TrainerState

logger = logging.getLogger(__name__)

LAST_CHECKPOINT = "last-checkpoint"
CARD_NAME = "README.md"


def _repo_name(args: TrainingArguments) -> str:
    """``hub_model_id``, or the output folder's name (then in the token owner's namespace)."""
    return args.hub_model_id or args.output_path.resolve().name


def init_repo(args: TrainingArguments) -> PushTarget:
    """The run's repository, created when missing (``hub_private_repo`` says whether it is private)."""
    name = _repo_name(args)
    return PushTarget.prepare(name, action=f"push the training run to {name!r}", token=args.hub_token,
                              private=args.hub_private_repo)


def fetch_last_checkpoint(args: TrainingArguments) -> Path | None:
    """Download ``last-checkpoint/`` of the run's repository into the output folder; None when it has none.

    A hub that cannot be reached is an error (resuming would otherwise silently start over)."""
    name = _repo_name(args)
    client = hub_client(f"fetch the last checkpoint of {name!r}", repo_id=name, token=args.hub_token)
    try:
        folder = client.snapshot_download(client.full_repo_id(name), allow_patterns=[f"{LAST_CHECKPOINT}/*"],
                                          local_dir=args.output_dir)
    except HubConnectionError:
        raise
    except OSError as err:  # modelyard's HubError included: no repository, no access, nothing to fetch
        logger.info("No checkpoint to resume from on the hub: %s", err)
        return None
    candidate = Path(folder) / LAST_CHECKPOINT
    return candidate if candidate.is_dir() else None


# ------------------------------------------------------------------------------------------ model card
def _cell(value: Any) -> str:
    text = f"{value:.4f}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _results_table(log_history: list[dict[str, Any]]) -> str:
    """One row per evaluation: the last training loss logged before it, epoch, step and the eval metrics."""
    rows, train_loss = [], "No log"
    skip = {"epoch", "step", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second"}
    for record in log_history:
        if "loss" in record:
            train_loss = record["loss"]
        elif "eval_loss" in record or any(k.startswith("eval_") for k in record):
            metrics = {k[len("eval_"):]: v for k, v in record.items() if k.startswith("eval_") and k not in skip}
            rows.append({"Training Loss": train_loss, "Epoch": record.get("epoch"), "Step": record.get("step"), **metrics})
    if not rows:
        return ""
    header = list(rows[0])
    titles = [h if h[0].isupper() else ("Validation Loss" if h == "loss" else h.replace("_", " ").title()) for h in header]
    lines = ["| " + " | ".join(_cell(t) for t in titles) + " |", "|" + "|".join(":---:" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(h, "")) for h in header) + " |")
    return "\n".join(lines)


def model_card(
    args: TrainingArguments,
    state: TrainerState,
    *,
    model: Any,
    eval_metrics: dict[str, float] | None,
    num_processes: int,
    mixed_precision: str,
    total_train_batch_size: int,
    dataset_name: str | None = None,
    language: str | None = None,
    license: str | None = None,
    tags: list[str] | None = None,
    finetuned_from: str | None = None,
) -> str:
    """A README.md: metadata, evaluation results, the training settings and the results table."""
    import accelerate
    import torch
    from huggingface_hub import ModelCardData

    name = args.output_path.resolve().name if args.hub_model_id is None else args.hub_model_id.split("/")[-1]
    base = finetuned_from
    if base is None:
        candidate = getattr(model, "name_or_path", "") or ""
        base = candidate if candidate and not os.path.isdir(candidate) and "/" in candidate else None
    data = ModelCardData(
        library_name="modelyard", model_name=name, base_model=base, language=language, license=license,
        tags=sorted({"modelyard", "generated_from_trainer", *(tags or [])}), datasets=[dataset_name] if dataset_name else None,
    )
    lines = ["---", data.to_yaml(), "---", "", f"# {name}", ""]
    about = "This model was trained with modelyard's `Trainer`"
    about += f", fine-tuned from {base}," if base else ""
    about += f" on the {dataset_name} dataset." if dataset_name else "."
    lines += [about, ""]
    if eval_metrics:
        lines += ["It achieves the following results on the evaluation set:"]
        for key, value in eval_metrics.items():
            if key.endswith(("_runtime", "_per_second")) or key == "epoch":
                continue
            label = key.removeprefix("eval_").replace("_", " ").title()
            lines.append(f"- {label}: {_cell(value)}")
        lines.append("")
    optimizer = f"{args.optim} with betas=({args.adam_beta1}, {args.adam_beta2}) and epsilon={args.adam_epsilon}"
    settings_list = [
        ("learning_rate", args.learning_rate),
        ("train_batch_size", args.per_device_train_batch_size),
        ("eval_batch_size", args.per_device_eval_batch_size),
        ("seed", args.seed),
        ("num_devices", num_processes),
        ("gradient_accumulation_steps", args.gradient_accumulation_steps),
        ("total_train_batch_size", total_train_batch_size),
        ("optimizer", optimizer),
        ("weight_decay", args.weight_decay),
        ("lr_scheduler_type", args.lr_scheduler_type),
        ("lr_scheduler_warmup", args.warmup_steps or args.warmup_ratio),
        ("training_steps" if args.max_steps > 0 else "num_epochs", args.max_steps if args.max_steps > 0 else args.num_train_epochs),
        ("mixed_precision_training", mixed_precision),
    ]
    lines += ["## Training procedure", "", "### Training hyperparameters", "", "The following hyperparameters were used during training:"]
    lines += [f"- {key}: {_cell(value)}" for key, value in settings_list]
    table = _results_table(state.log_history)
    if table:
        lines += ["", "### Training results", "", table]
    lines += ["", "### Framework versions", "", f"- modelyard {__version__}", f"- PyTorch {torch.__version__}",
              f"- Accelerate {accelerate.__version__}", ""]
    return "\n".join(lines)
