"""Learned absolute position embeddings (BERT-style tables), the check that an input fits them, and the check
that a text model got its tokens one way (ids or embeddings)."""

from __future__ import annotations

import torch
from torch import nn


def absolute_positions(
    table: nn.Embedding, seq_length: int, position_ids: torch.Tensor | None = None, *, offset: int = 0
) -> torch.Tensor:
    """The position embeddings to add to a (batch, seq, hidden) input: ``table(position_ids)``, or without ids
    the rows offset..offset+seq-1 (the same values as a lookup, without building an index tensor or gathering).
    ``offset``: the tokens before these (a decoder's cached tokens)."""
    if position_ids is not None:
        return table(position_ids)
    max_positions = table.num_embeddings
    if offset + seq_length > max_positions:
        raise ValueError(
            f"Sequence length {offset + seq_length} exceeds max_position_embeddings={max_positions} of this model; "
            f"truncate the input to at most {max_positions} tokens (tokenizer: truncation=True)."
        )
    return table.weight[offset : offset + seq_length]


def check_one_input(input_ids: torch.Tensor | None, inputs_embeds: torch.Tensor | None, *, model: str) -> None:
    """A text model takes its tokens as ``input_ids`` or as ``inputs_embeds``, exactly one of the two."""
    if (input_ids is None) == (inputs_embeds is None):
        raise ValueError(f"Pass exactly one of input_ids or inputs_embeds to {model}.")


__all__ = ["absolute_positions", "check_one_input"]
