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
