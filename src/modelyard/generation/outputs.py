"""What ``generate()`` returns with ``return_dict_in_generate=True`` (the reference's classes and names)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from modelyard.outputs import ModelOutput


@dataclass
class GenerateDecoderOnlyOutput(ModelOutput):
    """Greedy or sampled generation: ``sequences`` (prompt + new tokens); per step, the processed ``scores``
    (``output_scores``) and raw ``logits`` (``output_logits``), each a tuple of ``(batch, vocab)``."""

    sequences: torch.Tensor | None = None
    scores: tuple[torch.Tensor, ...] | None = None
    logits: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[tuple[torch.Tensor, ...], ...] | None = None
    hidden_states: tuple[tuple[torch.Tensor, ...], ...] | None = None
    past_key_values: Any = None


def decoder_only_output(
    sequences: torch.Tensor,
    *,
    scores: list[torch.Tensor] | None,
    logits: list[torch.Tensor] | None,
    attentions: list[Any] | None,
    hidden_states: list[Any] | None,
    past_key_values: Any,
) -> GenerateDecoderOnlyOutput:
    """The output of a decoder-only loop from what it recorded per step (lists; None where not asked for)."""
    return GenerateDecoderOnlyOutput(
        sequences=sequences,
        scores=tuple(scores) if scores is not None else None,
        logits=tuple(logits) if logits is not None else None,
        attentions=tuple(attentions) if attentions is not None else None,
        hidden_states=tuple(hidden_states) if hidden_states is not None else None,
        past_key_values=past_key_values,
    )


@dataclass
class GenerateBeamDecoderOnlyOutput(ModelOutput):
    """Beam search: also ``sequences_scores`` (each returned beam's length-penalised score, with
    ``output_scores``) and ``beam_indices`` (which beam each step's token came from)."""

    sequences: torch.Tensor | None = None
    sequences_scores: torch.Tensor | None = None
    scores: tuple[torch.Tensor, ...] | None = None
    logits: tuple[torch.Tensor, ...] | None = None
    beam_indices: torch.Tensor | None = None
    attentions: tuple[tuple[torch.Tensor, ...], ...] | None = None
    hidden_states: tuple[tuple[torch.Tensor, ...], ...] | None = None
    past_key_values: Any = None


# The reference's older names for the same outputs.
GreedySearchDecoderOnlyOutput = GenerateDecoderOnlyOutput
SampleDecoderOnlyOutput = GenerateDecoderOnlyOutput
BeamSearchDecoderOnlyOutput = GenerateBeamDecoderOnlyOutput
BeamSampleDecoderOnlyOutput = GenerateBeamDecoderOnlyOutput
GenerateOutput = GenerateDecoderOnlyOutput | GenerateBeamDecoderOnlyOutput
