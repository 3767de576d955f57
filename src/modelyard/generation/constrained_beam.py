"""Constrained beam search (``force_words_ids=`` / ``constraints=``, Hokamp & Liu 2017; Post & Vilar 2018):
beam search whose beams must contain given token sequences (:mod:`~modelyard.generation.beam_constraints`).

Each step, besides the best continuations, every beam is also extended by each token that advances its
constraints; the candidates are ranked by their progress ("bank") first and their score second, taken round
robin over the banks, so beams that made progress survive next to the most probable ones. A sequence is
finished only when it ends with an end token and fulfils every constraint (or, when too few do, at
``max_length``). This follows the reference library's algorithm (in the library until 4.56, now served from
``transformers-community/constrained-beam-search``), so the same model gives the same beams.
"""

from __future__ import annotations

from typing import Any

import torch

from modelyard.errors import ConfigurationError
from modelyard.generation.assisted import call_model
from modelyard.generation.beam_constraints import Constraint, ConstraintListState, constraints_from_config
from modelyard.generation.configuration_utils import GenerationConfig
from modelyard.generation.group_beam import Finished, Hypotheses, assemble_output, split_candidates
from modelyard.generation.logits_process import LogitsProcessorList
from modelyard.generation.stopping_criteria import StoppingCriteriaList


class _Constraints:
    """Fresh constraint states for beams, and the test a finished sequence must pass."""

    def __init__(self, constraints: list[Constraint]) -> None:
        self.constraints = constraints

    def states(self, n: int) -> list[ConstraintListState]:
        return [ConstraintListState([c.copy() for c in self.constraints]) for _ in range(n)]

    def fulfilled_by(self, tokens: list[int]) -> bool:
        state = self.states(1)[0]
        state.reset(tokens)
        return state.completed


def constrained_beam_search(model: Any, input_ids: torch.Tensor, processors: LogitsProcessorList,
                            criteria: StoppingCriteriaList, config: GenerationConfig, s: Any,
                            model_kwargs: dict[str, Any]) -> Any:
    """Constrained beam search over ``model`` (``input_ids`` repeated ``num_beams`` times per prompt)."""
    constraints = _Constraints(constraints_from_config(config.constraints, config.force_words_ids))
    if not constraints.constraints:
        raise ConfigurationError("Constrained beam search got no constraint: pass force_words_ids or constraints.")
    num_beams = config.num_beams
    flat, prompt_len = input_ids.shape
    batch = flat // num_beams
    eos_ids = set(s.eos.tolist()) if s.eos is not None else set()
    keep = max(2, 1 + len(eos_ids)) * num_beams
    hyps = [Hypotheses(num_beams, config.length_penalty, config.early_stopping, s.max_length) for _ in range(batch)]
    done = [False] * batch
    history: tuple[tuple[int, ...], ...] | None = tuple(() for _ in range(flat)) if s.output_scores else None
    beam_scores = torch.zeros((batch, num_beams), dtype=torch.float, device=input_ids.device)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    scores_out: list[torch.Tensor] | None = [] if s.output_scores else None
    logits_out: list[torch.Tensor] | None = [] if s.output_logits else None
    attentions: list[Any] | None = [] if s.output_attentions else None
    hidden: list[Any] | None = [] if s.output_hidden_states else None
    while True:
        model_inputs = model.prepare_inputs_for_generation(input_ids, **model_kwargs)
        outputs = call_model(model, model_inputs)
        model._update_model_kwargs_for_generation(outputs, model_kwargs)
        logits = outputs.logits[:, -1, :].to(copy=True, dtype=torch.float32, device=input_ids.device)
        processed = processors(input_ids, torch.nn.functional.log_softmax(logits, dim=-1))
        totals = processed + beam_scores[:, None].expand_as(processed)
        all_vocab = totals.clone()
        if scores_out is not None:
            scores_out.append(totals)  # the reference keeps the running totals here
        if logits_out is not None:
            logits_out.append(logits)
        if attentions is not None:
            attentions.append(getattr(outputs, "attentions", None))
        if hidden is not None:
            hidden.append(getattr(outputs, "hidden_states", None))
        vocab = totals.shape[-1]
        top_scores, top = torch.topk(totals.view(batch, num_beams * vocab), keep, dim=1, largest=True, sorted=True)
        sources = (top / vocab).long()
        tokens = top % vocab
        beam_scores, new_tokens, new_sources = _step(
            input_ids, top_scores, tokens, sources, all_vocab, hyps, done, constraints, num_beams=num_beams,
            eos_ids=eos_ids, pad=s.pad, prompt_len=prompt_len, history=history)
        input_ids = torch.cat([input_ids[new_sources, :], new_tokens.unsqueeze(-1)], dim=-1)
        del outputs
        past = model_kwargs.get("past_key_values")
        if past is not None:
            model_kwargs["past_key_values"] = model._reorder_cache(past, new_sources)
        if history is not None:
            history = tuple(history[int(i)] + (int(i),) for i in new_sources)
        stop = criteria(input_ids, tuple(scores_out) if scores_out is not None else None)
        if all(done) or bool(stop.all()):
            break

    n = config.num_return_sequences
    for b, hyp in enumerate(hyps):
        if done[b]:
            continue
        fulfilled = []
        for beam in range(num_beams):
            row = b * num_beams + beam
            if constraints.fulfilled_by(input_ids[row].tolist()):
                hyp.add(input_ids[row], float(beam_scores[row]), history[row] if history is not None else None,
                        input_ids.shape[-1] - prompt_len)
                fulfilled.append(beam)
        if len(fulfilled) < n:  # too few fulfil the constraints: the others compete too
            for beam in range(num_beams):
                if beam not in fulfilled:
                    row = b * num_beams + beam
                    hyp.add(input_ids[row], float(beam_scores[row]), None, input_ids.shape[-1] - prompt_len)
    chosen: list[Finished] = []
    for hyp in hyps:
        ranked = sorted(hyp.beams, key=lambda beam: beam[0])
        chosen.extend(ranked.pop() for _ in range(n))
    return assemble_output(chosen, input_ids, s, history is not None, scores_out, logits_out, attentions, hidden,
                           model_kwargs.get("past_key_values"))


def _step(input_ids: torch.Tensor, top_scores: torch.Tensor, tokens: torch.Tensor, sources: torch.Tensor,
          all_vocab: torch.Tensor, hyps: list[Hypotheses], done: list[bool], constraints: _Constraints, *,
          num_beams: int, eos_ids: set[int], pad: int | None, prompt_len: int,
          history: tuple[tuple[int, ...], ...] | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Finished candidates (an end token, constraints fulfilled) join the hypotheses; the beams that keep
    running are the best candidates merged with the constraint-advancing ones, by bank."""
    cur_len = input_ids.shape[-1] + 1
    new_scores, new_tokens, new_sources, kept, ended = split_candidates(
        top_scores, tokens, sources, width=num_beams, finished=list(done), eos_ids=eos_ids, pad=pad,
        finishing="Constrained beam search finished a prompt")
    for b in range(top_scores.shape[0]):
        if done[b]:
            continue
        for row, score in ended[b]:
            if constraints.fulfilled_by(input_ids[row].tolist()):
                indices = history[row] + (row,) if history is not None else None
                hyps[b].add(input_ids[row].clone(), score.item(), indices, cur_len - prompt_len)
        new_scores[b], new_tokens[b], new_sources[b] = _merge_advancing(
            b, input_ids, all_vocab, new_scores[b], new_tokens[b], new_sources[b], constraints)
        if kept[b] < num_beams:
            raise ConfigurationError(
                f"At most {num_beams} of the best candidates may be end tokens; got {tokens[b].tolist()}.")
        done[b] = done[b] or hyps[b].is_done(top_scores[b].max().item(), cur_len, prompt_len)
    return new_scores.view(-1), new_tokens.view(-1), new_sources.view(-1)


def _merge_advancing(b: int, input_ids: torch.Tensor, all_vocab: torch.Tensor, scores: torch.Tensor,
                     tokens: torch.Tensor, sources: torch.Tensor, constraints: _Constraints
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Add, for every beam of prompt ``b``, its continuations by each constraint-advancing token (new sequences
    only), then keep ``num_beams`` of all: sorted by bank and score, taking the best of each bank in turn."""
    width = sources.size(0)
    device = sources.device
    chosen_states = constraints.states(width)
    start = b * width
    prefixes = input_ids[start : start + width]
    vocab_scores = all_vocab[start : start + width]
    chosen = torch.cat((input_ids[sources], tokens.unsqueeze(-1)), dim=-1)
    seen = chosen.tolist()
    extra_states: list[ConstraintListState] = []
    extra_rows: list[int] = []
    extra_tokens: list[torch.Tensor] = []
    extra_scores: list[torch.Tensor] = []
    for i, prefix in enumerate(prefixes):
        chosen_states[i].reset(chosen[i].tolist())
        state = constraints.states(1)[0]
        state.reset(prefix.tolist())
        if state.completed:
            continue
        for token in torch.tensor(state.advance(), dtype=torch.long, device=device):
            advanced = state.copy(stateful=True)
            advanced.add(int(token))
            sequence = torch.cat((prefix, token.unsqueeze(0)), -1).tolist()
            if sequence not in seen:
                seen.append(sequence)
                extra_rows.append(start + i)
                extra_tokens.append(token)
                extra_scores.append(vocab_scores[i].take(token))
                extra_states.append(advanced)
    if not extra_rows:
        return scores, tokens, sources
    all_tokens = torch.cat((tokens, torch.stack(extra_tokens).to(device)), -1)
    all_scores = torch.cat((scores, torch.stack(extra_scores).to(device)), -1)
    banks = torch.tensor([st.get_bank() for st in chosen_states + extra_states], device=device)
    order = (banks * 100 + all_scores).sort(descending=True).indices
    # the rank of each candidate within its bank, so the first of every bank comes first, then the second, ...
    ranks: list[int] = []
    current, count = banks[order][0], -1
    for bank in banks[order]:
        if bank == current:
            count += 1
        else:
            current, count = bank, 0
        ranks.append(count)
    round_robin = torch.tensor(sorted(range(len(ranks)), key=ranks.__getitem__))
    order = order[round_robin][:width]
    all_sources = torch.cat((sources, torch.tensor(extra_rows, device=device)))
    return all_scores[order], all_tokens[order], all_sources[order]


__all__ = ["constrained_beam_search"]
