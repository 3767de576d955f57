"""Beam search, the reference library's vectorised algorithm (4.57), so the same model gives the same beams.

Each step scores every continuation of every running beam, keeps the best ``2 * num_beams`` (more with several
end tokens), moves those that hit a stopping criterion into the finished set (scored with the length penalty)
and keeps the best ``num_beams`` others running. It ends when no running beam can beat the finished ones
(``early_stopping``), every candidate hits a criterion, or ``max_length`` is reached.
"""

from __future__ import annotations

from typing import Any

import torch

from modelyard.generation.configuration_utils import GenerationConfig
from modelyard.generation.logits_process import LogitsProcessorList
from modelyard.generation.outputs import GenerateBeamDecoderOnlyOutput
from modelyard.generation.stopping_criteria import StoppingCriteriaList


def beam_search(model: Any, input_ids: torch.Tensor, processors: LogitsProcessorList, criteria: StoppingCriteriaList,
                config: GenerationConfig, s: Any, model_kwargs: dict[str, Any]) -> Any:
    """Beam search over ``model`` (``config.do_sample``: beam sampling); returns what ``generate()`` returns."""
    num_beams = config.num_beams
    length_penalty = config.length_penalty
    early_stopping = config.early_stopping
    max_length = s.max_length
    flat_batch, cur_len = input_ids.shape
    batch = flat_batch // num_beams
    prompt_len = cur_len
    device = input_ids.device
    eos = s.eos
    beams_to_keep = max(2, 1 + (eos.shape[0] if eos is not None else 0)) * num_beams
    top_beam_mask = torch.arange(beams_to_keep, device=device) < num_beams

    scores_out: list[torch.Tensor] | None = [] if s.output_scores else None
    logits_out: list[torch.Tensor] | None = [] if s.output_logits else None
    attentions: list[Any] | None = [] if s.output_attentions else None
    hidden: list[Any] | None = [] if s.output_hidden_states else None

    # the reference fills unused positions with the pad token (or the first end token; -1 with neither)
    fill = (s.pad or int(eos[0])) if eos is not None else -1
    running = torch.full((batch, num_beams, max_length), fill, dtype=torch.long, device=device)
    running[:, :, :cur_len] = input_ids.view(batch, num_beams, cur_len)
    finished_sequences = running.clone()
    running_scores = torch.zeros((batch, num_beams), dtype=torch.float, device=device)
    running_scores[:, 1:] = -1e9  # all beams start equal: only the first may expand at step one
    finished_scores = torch.full((batch, num_beams), -1e9, dtype=torch.float, device=device)
    is_finished = torch.zeros((batch, num_beams), dtype=torch.bool, device=device)
    can_improve = torch.ones((batch, 1), dtype=torch.bool, device=device)
    hits = torch.zeros((batch, num_beams), dtype=torch.bool, device=device)
    running_indices = torch.full((batch, num_beams, max_length - cur_len), -1, dtype=torch.int32, device=device)
    finished_indices = running_indices.clone()
    batch_offset = torch.arange(batch, device=device).view(-1, 1) * num_beams

    while True:
        flat_running = running[:, :, :cur_len].reshape(batch * num_beams, cur_len)
        outputs, logits = model._step_logits(flat_running, model_kwargs)
        log_probs = torch.nn.functional.log_softmax(logits, dim=-1)
        log_probs = processors(flat_running, log_probs) if processors else log_probs
        if logits_out is not None:
            logits_out.append(logits.clone())
        if scores_out is not None:
            scores_out.append(log_probs.clone())
        if attentions is not None:
            attentions.append(getattr(outputs, "attentions", None))
        if hidden is not None:
            hidden.append(getattr(outputs, "hidden_states", None))
        del outputs
        vocab = log_probs.shape[-1]
        totals = (log_probs.view(batch, num_beams, vocab) + running_scores[:, :, None]).view(batch, num_beams * vocab)

        # 1. the best continuations over all beams
        if config.do_sample:
            top_flat = torch.multinomial(torch.softmax(totals, dim=-1), num_samples=beams_to_keep)
            top_scores = torch.gather(totals, 1, top_flat)
        else:
            top_scores, top_flat = torch.topk(totals, k=beams_to_keep)
        source_beam = top_flat // vocab
        top_tokens = top_flat % vocab
        top_sequences = _gather_beams(running, source_beam)
        top_sequences[:, :, cur_len] = top_tokens
        top_indices = _gather_beams(running_indices, source_beam)
        top_indices[:, :, cur_len - prompt_len] = (source_beam + batch_offset).to(top_indices.dtype)

        # 2. which of them end here
        hits = criteria(top_sequences[:, :, : cur_len + 1].reshape(batch * beams_to_keep, cur_len + 1),
                        scores_out).view(batch, beams_to_keep)

        # 3. the best num_beams that do not end keep running
        still_running_scores = top_scores + hits.to(torch.float32) * -1.0e9
        keep = torch.topk(still_running_scores, k=num_beams)[1]
        running = _gather_beams(top_sequences, keep)
        running_scores = _gather_beams(still_running_scores, keep)
        running_indices = _gather_beams(top_indices, keep)

        # 4. those that end (among the top num_beams candidates) join the finished set, length-penalised
        just_finished = hits & top_beam_mask[None, :]
        penalised = top_scores / ((cur_len + 1 - prompt_len) ** length_penalty)
        batch_full = torch.all(is_finished, dim=-1, keepdim=True) & (early_stopping is True)
        penalised = penalised + batch_full.to(torch.float32) * -1.0e9
        penalised = penalised + (~can_improve).to(torch.float32) * -1.0e9
        penalised = penalised + (~just_finished).to(torch.float32) * -1.0e9
        merged_scores = torch.cat((finished_scores, penalised), dim=1)
        best = torch.topk(merged_scores, k=num_beams)[1]
        finished_sequences = _gather_beams(torch.cat((finished_sequences, top_sequences), dim=1), best)
        finished_scores = _gather_beams(merged_scores, best)
        finished_indices = _gather_beams(torch.cat((finished_indices, top_indices), dim=1), best)
        is_finished = _gather_beams(torch.cat((is_finished, just_finished), dim=1), best)

        # 5. the cache follows the running beams
        past = model_kwargs.get("past_key_values")
        if past is not None:
            beam_idx = running_indices[..., cur_len - prompt_len].reshape(-1).long()
            model_kwargs["past_key_values"] = model._reorder_cache(past, beam_idx)
        cur_len += 1

        # 6. can a running beam still beat the worst finished one?
        if early_stopping == "never" and length_penalty > 0.0:
            best_length = max_length - prompt_len
        else:
            best_length = cur_len - prompt_len
        best_running = running_scores[:, :1] / (best_length ** length_penalty)
        worst_finished = torch.where(is_finished, finished_scores.min(dim=1, keepdim=True).values,
                                     torch.tensor(-1.0e9, device=device))
        can_improve = can_improve & torch.any(best_running > worst_finished, dim=-1, keepdim=True)
        open_beams = not (bool(torch.all(is_finished)) and early_stopping is True)
        if not (bool(can_improve.any()) and open_beams and not bool(torch.all(hits))) or cur_len >= max_length:
            break

    n = config.num_return_sequences
    sequences = finished_sequences[:, :n].reshape(batch * n, -1)
    sequence_scores = finished_scores[:, :n].reshape(batch * n)
    indices = finished_indices[:, :n].reshape(batch * n, -1)
    generated = int((indices + 1).bool().sum(dim=1).max())
    sequences = sequences[:, : prompt_len + generated]
    indices = indices[:, :generated]
    if not s.return_dict:
        return sequences
    return GenerateBeamDecoderOnlyOutput(
        sequences=sequences,
        sequences_scores=sequence_scores if s.output_scores else None,
        scores=tuple(scores_out) if scores_out is not None else None,
        logits=tuple(logits_out) if logits_out is not None else None,
        beam_indices=indices.long(),
        attentions=tuple(attentions) if attentions is not None else None,
        hidden_states=tuple(hidden) if hidden is not None else None,
        past_key_values=model_kwargs.get("past_key_values"),
    )


def _gather_beams(tensor: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """``tensor[b, indices[b, k], ...]`` for every row ``b`` and chosen beam ``k``."""
    while indices.dim() < tensor.dim():
        indices = indices.unsqueeze(-1)
    return torch.take_along_dim(tensor, indices, dim=1)
