"""Group (diverse) beam search (Vijayakumar et al., 2016): ``num_beams`` beams split into ``num_beam_groups``
groups that run beam search one after the other at each step; the diversity term
(:class:`~modelyard.generation.logits_process.HammingDiversityLogitsProcessor`, ``diversity_penalty``) makes
a group pay for the tokens the earlier groups picked at the same step.

This follows the reference library's algorithm (the one it kept in the library until 4.56 and now serves from
``transformers-community/group-beam-search``), finished hypotheses included: each group keeps its own
``num_beams // num_beam_groups`` best finished sequences, scored ``sum of log-probabilities / generated
length ** length_penalty``, and the returned sequences are the best over all groups. The bookkeeping of
``beam_indices`` keeps the reference's indexing, so it returns the same values.
"""

from __future__ import annotations

from typing import Any

import torch

from modelyard.errors import ConfigurationError
from modelyard.generation.assisted import call_model
from modelyard.generation.configuration_utils import GenerationConfig
from modelyard.generation.logits_process import LogitsProcessorList
from modelyard.generation.outputs import GenerateBeamDecoderOnlyOutput
from modelyard.generation.stopping_criteria import StoppingCriteriaList

Finished = tuple[float, torch.Tensor, "tuple[int, ...] | None"]


class Hypotheses:
    """The best ``size`` finished sequences of one prompt and group, with the early-stopping test."""

    def __init__(self, size: int, length_penalty: float, early_stopping: bool | str, max_length: int) -> None:
        self.size = size
        self.length_penalty = length_penalty
        self.early_stopping = early_stopping
        self.max_length = max_length
        self.beams: list[Finished] = []
        self.worst_score = 1e9

    def add(self, tokens: torch.Tensor, sum_logprobs: float, indices: tuple[int, ...] | None, generated: int) -> None:
        score = sum_logprobs / (generated ** self.length_penalty)
        if len(self.beams) < self.size or score > self.worst_score:
            self.beams.append((score, tokens, indices))
            if len(self.beams) > self.size:
                ranked = sorted((s, i) for i, (s, _, _) in enumerate(self.beams))
                del self.beams[ranked[0][1]]
                self.worst_score = ranked[1][0]
            else:
                self.worst_score = min(score, self.worst_score)

    def is_done(self, best_sum_logprobs: float, cur_len: int, prompt_len: int) -> bool:
        """Full, and no running beam can beat the worst kept one (``early_stopping=True``: full is enough)."""
        if len(self.beams) < self.size:
            return False
        if self.early_stopping is True:
            return True
        if self.early_stopping == "never" and self.length_penalty > 0.0:
            best = best_sum_logprobs / (self.max_length - prompt_len) ** self.length_penalty
        else:
            best = best_sum_logprobs / (cur_len - prompt_len) ** self.length_penalty
        return self.worst_score >= best


def group_beam_search(model: Any, input_ids: torch.Tensor, processors: LogitsProcessorList,
                      criteria: StoppingCriteriaList, config: GenerationConfig, s: Any,
                      model_kwargs: dict[str, Any]) -> Any:
    """Group beam search over ``model`` (``input_ids`` already repeated ``num_beams`` times per prompt); returns
    what ``generate()`` returns."""
    num_beams, groups = config.num_beams, config.num_beam_groups
    size = num_beams // groups
    flat, prompt_len = input_ids.shape
    batch = flat // num_beams
    device = input_ids.device
    eos, pad = s.eos, s.pad
    eos_ids = set(eos.tolist()) if eos is not None else set()
    keep = max(2, 1 + len(eos_ids)) * size
    hyps = [Hypotheses(size, config.length_penalty, config.early_stopping, s.max_length) for _ in range(batch * groups)]
    done = [False] * (batch * groups)
    track = bool(s.output_scores)
    # per group: for each of its (batch * size) rows, the beam it came from at each step (the reference's layout)
    history: list[tuple[tuple[int, ...], ...]] = [tuple(() for _ in range(batch * size)) for _ in range(groups)]
    beam_scores = torch.full((batch, num_beams), -1e9, dtype=torch.float, device=device)
    beam_scores[:, ::size] = 0  # the first beam of each group starts; the others would only copy it
    beam_scores = beam_scores.view(-1)
    group_rows = [torch.tensor([b * num_beams + i for b in range(batch) for i in range(g * size, (g + 1) * size)],
                               device=device) for g in range(groups)]

    scores_out: list[torch.Tensor] | None = [] if s.output_scores else None
    logits_out: list[torch.Tensor] | None = [] if s.output_logits else None
    attentions: list[Any] | None = [] if s.output_attentions else None
    hidden: list[Any] | None = [] if s.output_hidden_states else None
    while True:
        current_tokens = torch.zeros(flat, dtype=input_ids.dtype, device=device)
        reordering = torch.zeros(flat, dtype=torch.long, device=device)
        model_inputs = model.prepare_inputs_for_generation(input_ids, **model_kwargs)
        outputs = call_model(model, model_inputs)
        model._update_model_kwargs_for_generation(outputs, model_kwargs)
        last_logits = outputs.logits[:, -1, :]
        processed_step = torch.zeros_like(last_logits, dtype=torch.float32) if scores_out is not None else None
        if logits_out is not None:
            logits_out.append(last_logits.to(dtype=torch.float32, copy=True))
        for group in range(groups):
            rows = group_rows[group]
            group_ids = input_ids[rows]
            log_probs = torch.nn.functional.log_softmax(last_logits[rows].to(torch.float32), dim=-1)
            vocab = log_probs.shape[-1]
            processed = processors(group_ids, log_probs, current_tokens=current_tokens, beam_group_idx=group)
            if processed_step is not None:
                processed_step[rows] = processed
            totals = (processed + beam_scores[rows].unsqueeze(-1)).view(batch, size * vocab)
            top_scores, top = torch.topk(totals, keep, dim=1, largest=True, sorted=True)
            sources, tokens = top // vocab, top % vocab
            flat_history = sum(history, ())
            new_scores, new_tokens, new_sources = _step_group(
                group_ids, top_scores, tokens, sources, hyps, done, group=group, groups=groups, size=size,
                eos_ids=eos_ids, pad=pad, prompt_len=prompt_len, history=flat_history if track else None)
            beam_scores[rows] = new_scores
            if track:
                history[group] = tuple(history[group][int(i)] + (int(i),) for i in new_sources)
            input_ids[rows] = group_ids[new_sources]
            current_tokens[rows] = new_tokens
            reordering[rows] = num_beams * torch.div(new_sources, size, rounding_mode="floor") + group * size + (
                new_sources % size)
        if processed_step is not None and scores_out is not None:
            scores_out.append(processed_step)
        if attentions is not None:
            attentions.append(getattr(outputs, "attentions", None))
        if hidden is not None:
            hidden.append(getattr(outputs, "hidden_states", None))
        input_ids = torch.cat([input_ids, current_tokens.unsqueeze(-1)], dim=-1)
        del outputs
        past = model_kwargs.get("past_key_values")
        if past is not None:
            model_kwargs["past_key_values"] = model._reorder_cache(past, reordering)
        stop = criteria(input_ids, tuple(scores_out) if scores_out is not None else None)
        if all(done) or bool(stop.all()):
            break

    return _finalize(input_ids, beam_scores, hyps, done, config, s, prompt_len, groups, size,
                     sum(history, ()) if track else None, scores_out, logits_out, attentions, hidden,
                     model_kwargs.get("past_key_values"))


def split_candidates(top_scores: torch.Tensor, tokens: torch.Tensor, sources: torch.Tensor, *, width: int,
                     finished: list[bool], eos_ids: set[int], pad: int | None, finishing: str
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[int], list[list[tuple[int, torch.Tensor]]]]:
    """One beam-search step's ranked candidates of every prompt (row ``b``: ``top_scores``, ``tokens`` and source
    beams, counted from row ``b * width``) split into those that end and those that run on. Returns the running
    slots (batch, width) — scores, tokens, source rows —, how many of them each prompt filled with its best
    candidates that do not end, and per prompt the ``(row, score)`` of the candidates ending in an end token among
    its best ``width``. A ``finished`` prompt's slots run on padding (scores and rows 0, as the reference);
    ``finishing`` names that event in the error when there is no padding ("Group beam search finished a group")."""
    batch = top_scores.shape[0]
    new_scores = torch.zeros((batch, width), dtype=top_scores.dtype, device=top_scores.device)
    new_tokens = torch.zeros((batch, width), dtype=tokens.dtype, device=tokens.device)
    new_sources = torch.zeros((batch, width), dtype=sources.dtype, device=sources.device)
    kept_counts: list[int] = []
    ended: list[list[tuple[int, torch.Tensor]]] = []
    for b in range(batch):
        kept = 0
        ends: list[tuple[int, torch.Tensor]] = []
        if finished[b]:
            if not eos_ids or pad is None:
                raise ConfigurationError(f"{finishing} early: it needs eos_token_id and pad_token_id to pad it.")
            new_tokens[b, :] = pad
        else:
            for rank, (token, score, source) in enumerate(zip(tokens[b].tolist(), top_scores[b], sources[b].tolist(),
                                                              strict=True)):
                row = b * width + source
                if token in eos_ids:
                    if rank < width:
                        ends.append((row, score))
                    continue
                new_scores[b, kept] = score
                new_tokens[b, kept] = token
                new_sources[b, kept] = row
                kept += 1
                if kept == width:
                    break
        kept_counts.append(kept)
        ended.append(ends)
    return new_scores, new_tokens, new_sources, kept_counts, ended


def _step_group(group_ids: torch.Tensor, top_scores: torch.Tensor, tokens: torch.Tensor, sources: torch.Tensor,
                hyps: list[Hypotheses], done: list[bool], *, group: int, groups: int, size: int, eos_ids: set[int],
                pad: int | None, prompt_len: int, history: tuple[tuple[int, ...], ...] | None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One group's step for every prompt: candidates ending in an end token (among the best ``size``) become
    finished hypotheses, the best ``size`` others keep running. Returns their scores, tokens and source rows."""
    cur_len = group_ids.shape[-1] + 1
    slots = [b * groups + group for b in range(top_scores.shape[0])]
    new_scores, new_tokens, new_sources, _, ended = split_candidates(
        top_scores, tokens, sources, width=size, finished=[done[slot] for slot in slots], eos_ids=eos_ids, pad=pad,
        finishing="Group beam search finished a group")
    for b, slot in enumerate(slots):
        for row, score in ended[b]:
            indices = history[row] + (row,) if history is not None else None
            hyps[slot].add(group_ids[row].clone(), float(score), indices, cur_len - prompt_len)
        done[slot] = done[slot] or hyps[slot].is_done(float(top_scores[b].max()), cur_len, prompt_len)
    return new_scores.view(-1), new_tokens.view(-1), new_sources.view(-1)


def _finalize(input_ids: torch.Tensor, beam_scores: torch.Tensor, hyps: list[Hypotheses], done: list[bool],
              config: GenerationConfig, s: Any, prompt_len: int, groups: int, size: int,
              history: tuple[tuple[int, ...], ...] | None, scores_out: list[torch.Tensor] | None,
              logits_out: list[torch.Tensor] | None, attentions: list[Any] | None, hidden: list[Any] | None,
              past: Any) -> Any:
    """The running beams join the finished ones; the best ``num_return_sequences`` of all groups per prompt."""
    for slot, hyp in enumerate(hyps):
        if done[slot]:
            continue
        for i in range(size):
            row = slot * size + i
            indices = history[row] if history is not None else None
            hyp.add(input_ids[row], float(beam_scores[row]), indices, input_ids.shape[-1] - prompt_len)
    n = config.num_return_sequences
    batch = len(hyps) // groups
    chosen: list[Finished] = []
    for b in range(batch):
        candidates = [beam for hyp in hyps[b * groups : (b + 1) * groups] for beam in hyp.beams]
        ranked = sorted(candidates, key=lambda beam: beam[0])
        chosen.extend(ranked.pop() for _ in range(n))
    return assemble_output(chosen, input_ids, s, history is not None, scores_out, logits_out, attentions, hidden,
                           past)


def assemble_output(chosen: list[Finished], input_ids: torch.Tensor, s: Any, with_indices: bool,
                    scores_out: list[torch.Tensor] | None, logits_out: list[torch.Tensor] | None,
                    attentions: list[Any] | None, hidden: list[Any] | None, past: Any) -> Any:
    """The chosen finished sequences as ``generate()`` returns them: padded (an end token right after a shorter
    one, then the pad token), with their scores and beam indices when asked for."""
    lengths = [len(tokens) for _, tokens, _ in chosen]
    width = min(max(lengths) + 1, s.max_length)
    if min(lengths) != max(lengths) and s.pad is None:
        raise ConfigurationError("Beam search returned sequences of different lengths: set pad_token_id.")
    fill = s.pad if min(lengths) != max(lengths) else 0
    sequences = input_ids.new_full((len(chosen), width), fill)
    indices_out = None
    if with_indices and chosen and chosen[0][2] is not None:
        indices_out = torch.full((len(chosen), width), -1, dtype=torch.long, device=input_ids.device)
    for i, (_, tokens, indices) in enumerate(chosen):
        sequences[i, : lengths[i]] = tokens
        if indices_out is not None and indices is not None:
            indices_out[i, : len(indices)] = torch.tensor(indices, dtype=torch.long)
        if lengths[i] < width:
            sequences[i, lengths[i]] = int(s.eos[0])
    if not s.return_dict:
        return sequences
    sequence_scores = torch.tensor([score for score, _, _ in chosen], dtype=torch.float32, device=input_ids.device)
    fields: dict[str, Any] = dict(
        sequences=sequences,
        sequences_scores=sequence_scores if s.output_scores else None,
        scores=tuple(scores_out) if scores_out is not None else None,
        logits=tuple(logits_out) if logits_out is not None else None,
        beam_indices=indices_out,
        attentions=tuple(attentions) if attentions is not None else None,
        hidden_states=tuple(hidden) if hidden is not None else None,
        past_key_values=past,
    )
    return GenerateBeamDecoderOnlyOutput(**fields)


__all__ = ["Hypotheses", "assemble_output", "group_beam_search", "split_candidates"]
