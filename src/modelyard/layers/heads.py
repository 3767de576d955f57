"""Loss computations shared by the task heads of every family.

The rules follow the reference library, so a fine-tuning script gets the same loss from the same labels:
sequence classification picks regression / single-label / multi-label from ``config.problem_type``, and
when that is unset decides it once from ``num_labels`` and the label dtype and records it on the config;
question answering clamps start/end positions to the sequence length and ignores positions outside it.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from modelyard.configuration import PROBLEM_TYPES, PretrainedConfig

IGNORE_INDEX = -100  # label value that cross-entropy skips (padding, unmasked tokens)


def infer_problem_type(num_labels: int, labels: torch.Tensor) -> str:
    """One label column -> regression; integer labels -> single-label; anything else -> multi-label."""
    if num_labels == 1:
        return "regression"
    if num_labels > 1 and labels.dtype in (torch.long, torch.int):
        return "single_label_classification"
    return "multi_label_classification"


def sequence_classification_loss(
    logits: torch.Tensor, labels: torch.Tensor, config: PretrainedConfig
) -> torch.Tensor:
    """Loss of (batch, num_labels) logits; sets ``config.problem_type`` the first time, as the reference does."""
    num_labels = config.num_labels
    if config.problem_type is None:
        config.problem_type = infer_problem_type(num_labels, labels)
    problem_type = config.problem_type
    if problem_type == "regression":
        if num_labels == 1:
            return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        return F.mse_loss(logits, labels.to(logits.dtype))
    if problem_type == "single_label_classification":
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    if problem_type == "multi_label_classification":
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    raise ValueError(f"config.problem_type must be one of {PROBLEM_TYPES} or None, got {problem_type!r}.")


def token_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over (batch, seq, num_labels) logits; label -100 marks positions to skip."""
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=IGNORE_INDEX)


def masked_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over (batch, seq, vocab) logits; label -100 marks tokens that were not masked."""
    return token_classification_loss(logits, labels)


def multiple_choice_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over (batch, num_choices) logits with the index of the right choice per example."""
    return F.cross_entropy(logits, labels.view(-1))


def question_answering_loss(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    start_positions: torch.Tensor,
    end_positions: torch.Tensor,
) -> torch.Tensor:
    """Mean of start and end cross-entropy over (batch, seq) logits.

    Positions outside the sequence are clamped to ``seq`` and ignored (an answer cut off by truncation
    contributes no loss instead of raising an index error).
    """
    if start_positions.dim() > 1:
        start_positions = start_positions.squeeze(-1)
    if end_positions.dim() > 1:
        end_positions = end_positions.squeeze(-1)
    ignored = start_logits.shape[1]
    start_positions = start_positions.clamp(0, ignored)
    end_positions = end_positions.clamp(0, ignored)
    start_loss = F.cross_entropy(start_logits, start_positions, ignore_index=ignored)
    end_loss = F.cross_entropy(end_logits, end_positions, ignore_index=ignored)
    return (start_loss + end_loss) / 2


__all__ = [
    "IGNORE_INDEX",
    "infer_problem_type",
    "masked_lm_loss",
    "multiple_choice_loss",
    "question_answering_loss",
    "sequence_classification_loss",
    "token_classification_loss",
]
