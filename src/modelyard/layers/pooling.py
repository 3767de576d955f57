"""Poolers: one vector per sequence from a base model's hidden states (the reference's ``pooler`` modules)."""

from __future__ import annotations

import torch
from torch import nn

from modelyard.errors import ConfigurationError
from modelyard.layers.activations import get_activation


class FirstTokenPooler(nn.Module):
    """``activation(dense(hidden_states[:, 0]))``: the first ([CLS]) token projected, the sentence summary that
    BERT-style classification heads read (checkpoint keys ``pooler.dense.*``)."""

    def __init__(self, hidden_size: int, output_size: int | None = None, activation: str = "tanh") -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, output_size or hidden_size)
        self.activation = get_activation(activation)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))


SUMMARY_TYPES = ("last", "first", "mean", "cls_index")


class SequenceSummary(nn.Module):
    """One vector per sequence as the reference's ``SequenceSummary`` heads read it (GPT-2's multiple-choice
    head): the token a config's ``summary_type`` names (``last``, ``first``, ``mean`` of all, or ``cls_index``: a
    given position per sequence, the last by default), then dropout, an optional projection ``summary`` (to
    ``num_labels`` with ``summary_proj_to_labels``, else to the hidden size), an optional activation and dropout.
    Leading dimensions (batch, choices, ...) are kept."""

    def __init__(self, config: object) -> None:
        super().__init__()
        self.summary_type = getattr(config, "summary_type", "last")
        if self.summary_type not in SUMMARY_TYPES:
            raise ConfigurationError(
                f"summary_type={self.summary_type!r} is not supported; use one of {', '.join(SUMMARY_TYPES)} "
                "(the reference has no implementation of 'attn' either).")
        hidden = int(config.hidden_size)
        self.summary: nn.Module = nn.Identity()
        if getattr(config, "summary_use_proj", False):
            num_labels = int(getattr(config, "num_labels", 0))
            to_labels = getattr(config, "summary_proj_to_labels", False) and num_labels > 0
            self.summary = nn.Linear(hidden, num_labels if to_labels else hidden)
        activation = getattr(config, "summary_activation", None)
        self.activation: nn.Module = get_activation(activation) if activation else nn.Identity()
        first, last = getattr(config, "summary_first_dropout", 0.0), getattr(config, "summary_last_dropout", 0.0)
        self.first_dropout: nn.Module = nn.Dropout(first) if first and first > 0 else nn.Identity()
        self.last_dropout: nn.Module = nn.Dropout(last) if last and last > 0 else nn.Identity()

    def forward(self, hidden_states: torch.Tensor, cls_index: torch.Tensor | None = None) -> torch.Tensor:
        """``hidden_states``: (..., seq, hidden); ``cls_index``: (...) positions for ``cls_index``."""
        if self.summary_type == "last":
            output = hidden_states[..., -1, :]
        elif self.summary_type == "first":
            output = hidden_states[..., 0, :]
        elif self.summary_type == "mean":
            output = hidden_states.mean(dim=-2)
        else:
            if cls_index is None:
                index = torch.full(hidden_states.shape[:-2], hidden_states.shape[-2] - 1, dtype=torch.long,
                                   device=hidden_states.device)
            else:
                index = cls_index.to(hidden_states.device).long()
            gather = index[..., None, None].expand(*index.shape, 1, hidden_states.shape[-1])
            output = hidden_states.gather(-2, gather).squeeze(-2)
        return self.last_dropout(self.activation(self.summary(self.first_dropout(output))))


__all__ = ["FirstTokenPooler", "SequenceSummary"]
