"""Contrastive search (Su et al., 2022): at each step, of the ``top_k`` most probable next tokens take the one
that maximises ``(1 - penalty_alpha) * probability - penalty_alpha * degeneration``, where the degeneration
penalty is the largest cosine similarity between the candidate's last hidden state and those of the tokens
already in the sequence (padding excluded). Every candidate is run through the model (one forward of
``batch * top_k`` rows over the cache repeated ``top_k`` times); the chosen one's cache rows, hidden state and
next-token logits are kept, so each step costs one forward.

The algorithm, the order of its operations and its outputs follow the reference library's (the code it kept in
the library until 4.55 and now serves from ``transformers-community/contrastive-search``). It reads the model's
final hidden states (``output_hidden_states=True``) and needs the cache (``use_cache=True``).
"""

from __future__ import annotations

from typing import Any

import torch

from modelyard.errors import ConfigurationError
from modelyard.generation.assisted import call_model, crop_cache
from modelyard.generation.caches import Cache
from modelyard.generation.configuration_utils import GenerationConfig
from modelyard.generation.logits_process import LogitsProcessorList
from modelyard.generation.outputs import decoder_only_output
from modelyard.generation.stopping_criteria import StoppingCriteriaList


def contrastive_search(model: Any, input_ids: torch.Tensor, processors: LogitsProcessorList,
                       criteria: StoppingCriteriaList, config: GenerationConfig, s: Any, model_kwargs: dict[str, Any],
                       streamer: Any) -> Any:
    """Contrastive search over ``model``; returns what ``generate()`` returns."""
    top_k = int(config.top_k)
    alpha = float(config.penalty_alpha or 0.0)  # set: it is what selects contrastive search
    batch = input_ids.shape[0]
    mask = model_kwargs.get("attention_mask")
    cosine_mask = (mask if mask is not None else torch.ones_like(input_ids)).repeat_interleave(top_k, dim=0)
    unfinished = torch.ones(batch, dtype=torch.long, device=input_ids.device)
    rows = torch.arange(batch)
    scores_out: list[torch.Tensor] | None = [] if s.output_scores else None
    logits_out: list[torch.Tensor] | None = [] if s.output_logits else None
    attentions: list[Any] | None = [] if s.output_attentions else None
    hidden: list[Any] | None = [] if s.output_hidden_states else None

    model_kwargs["use_cache"] = True
    outputs = _forward(model, input_ids, model_kwargs, s.output_attentions)
    context = _last_hidden(model, outputs)
    next_logits = outputs.logits[:, -1, :].to(dtype=torch.float32, copy=True)
    model._update_model_kwargs_for_generation(outputs, model_kwargs)
    _repeat_inputs(model_kwargs, top_k)
    step_attentions = getattr(outputs, "attentions", None)
    step_hidden = getattr(outputs, "hidden_states", None)
    while True:
        processed = processors(input_ids, next_logits) if processors else next_logits
        top_probs, top_ids = torch.topk(torch.softmax(processed, dim=-1), dim=-1, k=top_k)
        if logits_out is not None:
            logits_out.append(next_logits)
        if scores_out is not None:
            scores_out.append(processed)
        if attentions is not None:
            attentions.append(step_attentions)
        if hidden is not None:
            hidden.append(step_hidden)

        # every candidate through the model, over the cache repeated top_k times
        model_kwargs["past_key_values"] = _repeat_cache(model_kwargs["past_key_values"], top_k)
        outputs = _forward(model, top_ids.view(-1, 1), model_kwargs, s.output_attentions)
        candidate_hidden = _last_hidden(model, outputs)
        candidate_logits = outputs.logits[:, -1, :].float()
        selected = _rank(context.repeat_interleave(top_k, dim=0), candidate_hidden, top_probs, cosine_mask, alpha,
                         top_k).to("cpu")
        cosine_mask = torch.cat([cosine_mask, cosine_mask.new_ones((cosine_mask.shape[0], 1))], dim=-1)
        kept_rows = torch.tensor([int(choice) + i * top_k for i, choice in enumerate(selected)])

        next_tokens = top_ids[rows, selected]
        chosen_hidden = torch.stack(torch.split(candidate_hidden.squeeze(dim=1), top_k))[rows, selected, :]
        context = torch.cat([context, chosen_hidden.unsqueeze(1)], dim=1)
        next_logits = torch.stack(torch.split(candidate_logits, top_k))[rows, selected, :].to(input_ids.device)
        step_hidden = _select_rows(getattr(outputs, "hidden_states", None), top_k, rows, selected)
        step_attentions = _select_rows(getattr(outputs, "attentions", None), top_k, rows, selected)
        past = _select_cache(_cache_of(outputs), kept_rows)
        del outputs
        model._update_model_kwargs_for_generation(_Step(past), model_kwargs)

        if s.eos is not None:
            pad = s.pad if s.pad is not None else 0
            next_tokens = next_tokens * unfinished + pad * (1 - unfinished)
        input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        if streamer is not None:
            streamer.put(next_tokens.cpu())
        done = criteria(input_ids, tuple(scores_out) if scores_out is not None else None)
        unfinished = unfinished & ~done
        if int(unfinished.max()) == 0:
            break

    if streamer is not None:
        streamer.end()
    # the cache looked one token ahead: drop it, so it holds the sequence but its last token (as other modes leave it)
    model_kwargs["past_key_values"] = crop_cache(model_kwargs["past_key_values"], -1)
    if not s.return_dict:
        return input_ids
    return decoder_only_output(input_ids, scores=scores_out, logits=logits_out, attentions=attentions,
                               hidden_states=hidden, past_key_values=model_kwargs.get("past_key_values"))


class _Step:
    """What the chosen candidates leave for the next step: their cache rows."""

    def __init__(self, past_key_values: Any) -> None:
        self.past_key_values = past_key_values


def _forward(model: Any, input_ids: torch.Tensor, model_kwargs: dict[str, Any], attentions: bool) -> Any:
    model_inputs = model.prepare_inputs_for_generation(input_ids, **model_kwargs)
    model_inputs["output_hidden_states"] = True
    if attentions:
        model_inputs["output_attentions"] = True
    return call_model(model, model_inputs)


def _last_hidden(model: Any, outputs: Any) -> torch.Tensor:
    states = getattr(outputs, "hidden_states", None)
    if not states:
        raise ConfigurationError(
            f"Contrastive search reads the model's last hidden states, but {type(model).__name__} returned none with "
            "output_hidden_states=True; use greedy decoding or beam search with this model.")
    return states[-1]


def _cache_of(outputs: Any) -> Any:
    past = getattr(outputs, "past_key_values", None)
    if past is None:
        raise ConfigurationError("Contrastive search needs the model to return its cache (past_key_values).")
    return past


def _repeat_inputs(model_kwargs: dict[str, Any], times: int) -> None:
    """Repeat every per-row input ``times`` times (the cache is repeated at each step instead)."""
    for key, value in model_kwargs.items():
        if key != "cache_position" and isinstance(value, torch.Tensor) and value.dim() > 0:
            model_kwargs[key] = value.repeat_interleave(times, dim=0)


def _repeat_cache(past: Any, times: int) -> Any:
    if isinstance(past, Cache) or hasattr(past, "batch_repeat_interleave"):
        past.batch_repeat_interleave(times)
        return past
    return tuple(tuple(state.repeat_interleave(times, dim=0) for state in layer) for layer in past)


def _select_cache(past: Any, indices: torch.Tensor) -> Any:
    if isinstance(past, Cache) or hasattr(past, "batch_select_indices"):
        past.batch_select_indices(indices)
        return past
    return tuple(tuple(state[indices, ...] for state in layer) for layer in past)


def _select_rows(states: Any, top_k: int, rows: torch.Tensor, selected: torch.Tensor) -> Any:
    """Per layer, the chosen candidate's rows of a candidate forward's hidden states or attentions."""
    if not states or states[0] is None:
        return None
    return tuple(torch.stack(torch.split(layer, top_k))[rows, selected, ...] for layer in states)


def _rank(context: torch.Tensor, candidates: torch.Tensor, top_probs: torch.Tensor, cosine_mask: torch.Tensor,
          alpha: float, top_k: int) -> torch.Tensor:
    """The index (among ``top_k``) of each row's best candidate: probability minus the degeneration penalty (the
    largest cosine similarity with a non-padding context position)."""
    context_unit = context / context.norm(dim=2, keepdim=True)
    candidate_unit = candidates / candidates.norm(dim=2, keepdim=True)
    cosine = torch.matmul(context_unit, candidate_unit.transpose(1, 2)).squeeze(-1)  # (batch * top_k, context)
    cosine = cosine + (1 - cosine_mask.to(dtype=cosine.dtype)) * torch.finfo(cosine.dtype).min
    degeneration, _ = torch.max(cosine, dim=-1)
    score = (1.0 - alpha) * top_probs.view(-1) - alpha * degeneration
    _, chosen = torch.stack(torch.split(score, top_k)).max(dim=-1)
    return chosen


__all__ = ["contrastive_search"]
