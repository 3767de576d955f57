"""Training checkpoints: ``<output_dir>/checkpoint-<step>/``, written whole or not at all.

A checkpoint holds the model in the ``save_pretrained`` format (so ``from_pretrained`` loads any
checkpoint), the processing class, ``optimizer.pt``, ``scheduler.pt``, ``scaler.pt`` (mixed precision),
``rng_state.pth`` (``rng_state_<rank>.pth`` with several processes), ``trainer_state.json`` (which also
records the position in the data stream), ``training_args.json`` and the reference's ``training_args.bin``.

Everything is written into ``tmp-checkpoint-<step>`` first and renamed into place last: a process killed
mid-save leaves the previous checkpoints whole, and only folders named ``checkpoint-<step>`` that hold a
``trainer_state.json`` count as checkpoints. Every file is plain data: optimizer and RNG states are read
back with ``torch.load(weights_only=True)``, the settings are read from JSON. ``training_args.bin`` (the
settings pickled with ``torch.save``, as the reference writes them for the tools that expect the file) is
written only: unpickling it could run code, so modelyard never loads it.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from modelyard.training.errors import CheckpointError
from modelyard.training.state import TRAINER_STATE_NAME
from modelyard.weights.checkpoint import check_shard_name

logger = logging.getLogger(__name__)

PREFIX = "checkpoint"
OPTIMIZER_NAME = "optimizer.pt"
SCHEDULER_NAME = "scheduler.pt"
SCALER_NAME = "scaler.pt"
ARGS_NAME = "training_args.json"
ARGS_PICKLE_NAME = "training_args.bin"  # the reference's; written, never read
WEIGHTS_NAME = "model.safetensors"
WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
# with save_safetensors=False: torch.save's format (read back with weights_only=True: tensors only)
PT_WEIGHTS_NAME = "pytorch_model.bin"
PT_WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"
_CHECKPOINT_RE = re.compile(rf"^{PREFIX}-(\d+)$")


def checkpoint_name(step: int) -> str:
    return f"{PREFIX}-{step}"


def temporary_folder(output_dir: str | os.PathLike[str], step: int) -> Path:
    return Path(output_dir) / f"tmp-{checkpoint_name(step)}"


def rng_file_name(process_index: int, num_processes: int) -> str:
    return "rng_state.pth" if num_processes == 1 else f"rng_state_{process_index}.pth"


def sorted_checkpoints(
    output_dir: str | os.PathLike[str], *, complete_only: bool = True, use_mtime: bool = False
) -> list[Path]:
    """Checkpoints in ``output_dir``, oldest step (or, with ``use_mtime``, oldest modification) first;
    ``complete_only=False`` also lists ``checkpoint-<step>`` folders without a ``trainer_state.json``."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _CHECKPOINT_RE.match(child.name)
        if match and child.is_dir() and (not complete_only or (child / TRAINER_STATE_NAME).is_file()):
            found.append((child.stat().st_mtime if use_mtime else int(match.group(1)), child))
    return [path for _, path in sorted(found)]


def get_last_checkpoint(output_dir: str | os.PathLike[str]) -> Path | None:
    checkpoints = sorted_checkpoints(output_dir)
    return checkpoints[-1] if checkpoints else None


def commit_folder(temporary: Path, final: Path) -> None:
    """Rename the finished ``temporary`` folder to ``final`` (replacing an older save of the same step)."""
    if final.exists():
        stale = final.with_name(f"{final.name}.replaced")
        shutil.rmtree(stale, ignore_errors=True)
        os.replace(final, stale)
        os.replace(temporary, final)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        os.replace(temporary, final)


def rotate_checkpoints(
    output_dir: str | os.PathLike[str], limit: int | None, *, keep: list[str | None], use_mtime: bool = False
) -> list[Path]:
    """Delete the oldest checkpoints beyond ``limit``; those in ``keep`` (the best one) and the newest stay, so
    with ``limit=1`` and a best checkpoint older than the newest, two remain (the newest is needed to resume).
    Every ``checkpoint-<step>`` folder counts, complete or not (as the reference's rotation)."""
    if limit is None:
        return []
    checkpoints = sorted_checkpoints(output_dir, complete_only=False, use_mtime=use_mtime)
    protected = {Path(p).resolve() for p in keep if p} | ({checkpoints[-1].resolve()} if checkpoints else set())
    deleted = []
    excess = len(checkpoints) - limit
    for path in checkpoints:
        if excess <= 0:
            break
        if path.resolve() in protected:
            continue
        logger.info("Deleting %s (save_total_limit=%d)", path, limit)
        shutil.rmtree(path, ignore_errors=True)
        deleted.append(path)
        excess -= 1
    return deleted


# --------------------------------------------------------------------------------------- model weights
def save_model_files(model: nn.Module, folder: Path, *, processing_class: Any = None, safetensors: bool = True) -> None:
    """The model in the ``save_pretrained`` format (plain modules: ``model.safetensors``); ``safetensors=False``:
    ``pytorch_model.bin`` instead (the reference's ``save_safetensors=False``)."""
    save_pretrained = getattr(model, "save_pretrained", None)
    if callable(save_pretrained):
        if safetensors:
            save_pretrained(folder)
        else:
            save_pretrained(folder, safe_serialization=False)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        if safetensors:
            from safetensors.torch import save_model

            save_model(model, str(folder / WEIGHTS_NAME))
        else:
            torch.save(model.state_dict(), folder / PT_WEIGHTS_NAME)
    if processing_class is not None and callable(getattr(processing_class, "save_pretrained", None)):
        processing_class.save_pretrained(folder)


def save_training_args(args: Any, folder: Path) -> None:
    """The run's settings as ``training_args.json`` (plain data: the hub shows it without unpickling anything)
    and, as the reference saves them, pickled into ``training_args.bin`` (never read back by modelyard)."""
    (folder / ARGS_NAME).write_text(args.to_json_string() + "\n", encoding="utf-8")
    torch.save(_without_tokens(args), folder / ARGS_PICKLE_NAME)


def _without_tokens(args: Any) -> Any:
    """A copy of ``args`` with the access tokens (``hub_token``, ...) cleared: the file is pushed with the model,
    and a token in it would publish the account's credentials (the reference pickles its arguments as they are)."""
    safe = copy.copy(args)
    for name, value in vars(args).items():
        if name.endswith("_token") and value is not None:
            setattr(safe, name, None)
    return safe


def _aliased_keys(model: nn.Module) -> set[str]:
    """State-dict keys that share storage with another key (tied weights are saved once)."""
    seen: dict[tuple[int, int, tuple[int, ...]], str] = {}
    aliased: set[str] = set()
    for key, tensor in model.state_dict(keep_vars=True).items():
        ident = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if ident in seen:
            aliased.update((key, seen[ident]))
        else:
            seen[ident] = key
    return aliased


def load_model_files(model: nn.Module, folder: Path) -> None:
    """Load a checkpoint's weights into ``model`` in place (bit for bit)."""
    state: dict[str, torch.Tensor] = {}
    for index_name, single_name, read in (
        (WEIGHTS_INDEX_NAME, WEIGHTS_NAME, lambda path: load_file(str(path))),
        (PT_WEIGHTS_INDEX_NAME, PT_WEIGHTS_NAME, load_torch_file),
    ):
        index = folder / index_name
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
                shards = sorted({check_shard_name(name, str(index)) for name in weight_map.values()})
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                raise CheckpointError(f"{index} is not a usable checkpoint index: {err}. Resume from another "
                                      "checkpoint, or save this one again.") from err
            for shard in shards:
                state.update(read(folder / shard))
            break
        if (folder / single_name).is_file():
            state = read(folder / single_name)
            break
    else:
        raise CheckpointError(
            f"{folder} holds no model weights ({WEIGHTS_NAME}, {PT_WEIGHTS_NAME} or their shard index); it is not a "
            "complete checkpoint. Resume from another one, or pass resume_from_checkpoint=True to pick the latest "
            "complete one."
        )
    result = model.load_state_dict(state, strict=False)
    missing = set(result.missing_keys) - _aliased_keys(model)
    if missing or result.unexpected_keys:
        raise CheckpointError(
            f"The weights in {folder} do not fit {type(model).__name__}: missing {sorted(missing)[:8]}, unexpected "
            f"{sorted(result.unexpected_keys)[:8]}. Resume with the model the checkpoint was trained from."
        )


def load_torch_file(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: say which one
        raise CheckpointError(f"Cannot read {path}: {err}. The checkpoint is damaged; resume from another one.") from err
