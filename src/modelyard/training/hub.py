"""Pushing a run to a hub: the final model with a model card, and checkpoints to resume elsewhere.

``hub_strategy``: ``"end"`` pushes once at the end; ``"every_save"`` pushes the model at each save;
``"checkpoint"`` also pushes the latest checkpoint as ``last-checkpoint/`` (resume on another machine with
``resume_from_checkpoint=True``: it is fetched when the output folder has none); ``"all_checkpoints"``
pushes every checkpoint folder. Uploads go through ``huggingface_hub`` to the hub ``HF_ENDPOINT`` names.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from modelyard.hub import settings
from modelyard.hub.xet import xet_only_if_supported
from modelyard.training.arguments import TrainingArguments
from modelyard.training.state import TrainerState

logger = logging.getLogger(__name__)

LAST_CHECKPOINT = "last-checkpoint"
CARD_NAME = "README.md"


def _api() -> Any:
    from huggingface_hub import HfApi

    return HfApi(endpoint=settings.endpoint(), library_name="modelyard")


def resolve_repo_id(args: TrainingArguments) -> str:
    """``hub_model_id``, or the output folder's name, in the token owner's namespace when none is given."""
    name = args.hub_model_id or Path(args.output_dir).resolve().name  # type: ignore[arg-type]
    if "/" in name:
        return name
    token = settings.get_token(args.hub_token)
    return f"{_api().whoami(token=token)['name']}/{name}"


def init_repo(args: TrainingArguments) -> str:
    repo_id = resolve_repo_id(args)
    _api().create_repo(repo_id, token=settings.get_token(args.hub_token), private=args.hub_private_repo, exist_ok=True)
    return repo_id


def upload(args: TrainingArguments, repo_id: str, folder: Path, *, path_in_repo: str | None = None,
           message: str, ignore_patterns: list[str] | None = None, delete_patterns: list[str] | None = None) -> Any:
    token = settings.get_token(args.hub_token)
    with xet_only_if_supported(settings.endpoint(), repo_id, token=token):  # Xet where the hub takes it, else LFS
        return _api().upload_folder(
            repo_id=repo_id, folder_path=folder, path_in_repo=path_in_repo, commit_message=message,
            token=token, ignore_patterns=ignore_patterns, delete_patterns=delete_patterns,
        )


def fetch_last_checkpoint(args: TrainingArguments) -> Path | None:
    """Download ``last-checkpoint/`` of the run's repository into the output folder; None when it has none."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        repo_id = resolve_repo_id(args)
        folder = snapshot_download(
            repo_id, allow_patterns=[f"{LAST_CHECKPOINT}/*"], local_dir=args.output_dir,
            token=settings.get_token(args.hub_token), endpoint=settings.endpoint(),
        )
    except (RepositoryNotFoundError, HfHubHTTPError, OSError) as err:
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

    import modelyard

    name = Path(args.output_dir).resolve().name if args.hub_model_id is None else args.hub_model_id.split("/")[-1]  # type: ignore[arg-type]
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
    lines += ["", "### Framework versions", "", f"- modelyard {modelyard.__version__}", f"- PyTorch {torch.__version__}",
              f"- Accelerate {accelerate.__version__}", ""]
    return "\n".join(lines)
