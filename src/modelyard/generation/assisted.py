"""Assisted decoding: a cheap drafter proposes several tokens, the model checks them all in one forward.

The drafter is either a smaller ``assistant_model`` with the same vocabulary (it runs its own ``generate()``,
keeping its own cache between rounds) or prompt lookup (``prompt_lookup_num_tokens``: the continuation of the
latest n-gram's earlier occurrence in the sequence). Each round the model scores the draft plus one position;
with greedy decoding the drafted tokens are kept up to the first one the model would not have picked, and the
model's own pick follows, so the output is the model's greedy output. With sampling, a drafter that gives
its distributions (an assistant) goes through the speculative-sampling test of Leviathan et al. (2023,
algorithm 1); prompt lookup's drafts are checked against tokens sampled from the model. The algorithm,
including how random numbers are drawn, follows the reference library (4.57), so a seed gives the same tokens.

How many tokens an assistant drafts comes from ``assistant_model.generation_config`` (as in the reference):
``num_assistant_tokens`` (default 20) with ``num_assistant_tokens_schedule`` ``"constant"``, ``"heuristic"``
(+2 after a fully accepted draft, -1 otherwise, down to 1; the value is written back to the assistant's
generation config and kept for the next call) or ``"heuristic_transient"`` (the same, forgotten after the
call); the draft also stops early when the assistant's probability for its own token falls below
``assistant_confidence_threshold`` (default 0.4). The reference adapts that threshold from an ROC curve when
scikit-learn is installed; modelyard keeps it fixed (the reference's behaviour without scikit-learn).

Supported as the reference supports it: one prompt at a time (``batch_size == 1``), ``use_cache=True``, a
dynamic cache (the model's cache is cropped back after each round), decoder-only models.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import torch

from modelyard.errors import ConfigurationError
from modelyard.generation.caches import Cache
from modelyard.generation.configuration_utils import GenerationConfig
from modelyard.generation.logits_process import LogitsProcessorList, MinLengthLogitsProcessor
from modelyard.generation.outputs import decoder_only_output
from modelyard.generation.stopping_criteria import StoppingCriteriaList

logger = logging.getLogger(__name__)

SCHEDULES = ("constant", "heuristic", "heuristic_transient")


class CandidateGenerator:
    """Drafts tokens to be checked by the model: ``get_candidates(input_ids)`` returns the sequence extended by
    the draft and, when the drafter has them, the draft's processed scores ``(1, draft, vocab)``."""

    def get_candidates(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_candidates(input_ids)")

    def update_candidate_strategy(self, input_ids: torch.Tensor, scores: torch.Tensor, num_matches: int) -> None:
        """Learn from the last round: ``num_matches`` drafted tokens were accepted."""


class AssistedCandidateGenerator(CandidateGenerator):
    """Drafts with a smaller model of the same vocabulary, through its own ``generate()``."""

    def __init__(self, assistant_model: Any, generation_config: GenerationConfig, model_kwargs: dict[str, Any],
                 logits_processor: LogitsProcessorList) -> None:
        self.assistant_model = assistant_model
        assistant_config = assistant_model.generation_config
        self.num_assistant_tokens: float = assistant_config.num_assistant_tokens
        schedule = assistant_config.num_assistant_tokens_schedule
        if schedule not in SCHEDULES:
            raise ConfigurationError(
                f"assistant_model.generation_config.num_assistant_tokens_schedule={schedule!r} is not one of "
                f"{SCHEDULES}; set it to one of them.")
        if not isinstance(self.num_assistant_tokens, (int, float)) or self.num_assistant_tokens < 1:
            raise ConfigurationError(
                f"assistant_model.generation_config.num_assistant_tokens must be a positive number of tokens, got "
                f"{self.num_assistant_tokens!r}.")
        # the drafts end where the model's sequences end
        assistant_config.eos_token_id = generation_config.eos_token_id
        device = getattr(assistant_model, "device", None)
        self.assistant_kwargs: dict[str, Any] = {}
        for key, value in model_kwargs.items():
            if key in ("past_key_values", "cache_position"):
                continue
            if isinstance(value, torch.Tensor):
                self.assistant_kwargs[key] = value.detach().to(device) if device is not None else value.detach()
            else:
                self.assistant_kwargs[key] = copy.deepcopy(value)
        forward = getattr(type(assistant_model), "forward", None)
        if "logits_to_keep" in self.assistant_kwargs and (
                forward is None or "logits_to_keep" not in inspect.signature(forward).parameters):
            del self.assistant_kwargs["logits_to_keep"]
        for processor in logits_processor:
            if isinstance(processor, MinLengthLogitsProcessor):
                raise ConfigurationError(
                    "Assisted decoding does not run with a MinLengthLogitsProcessor (min_length=N with an end token "
                    "makes one; the reference refuses it too): use min_new_tokens=N instead.")
        self.logits_processor = logits_processor
        config = copy.deepcopy(generation_config)
        config.return_dict_in_generate = True
        config.output_scores = True
        config.is_assistant = True
        config.assistant_confidence_threshold = assistant_config.assistant_confidence_threshold
        self.main_min_length = config.min_length
        config.min_length = 0
        config.min_new_tokens = None
        config.cache_implementation = "dynamic_full"  # drafts are cropped back: no sliding-window layers
        self.generation_config = config

    def get_candidates(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        input_ids = input_ids.to(getattr(self.assistant_model, "device", input_ids.device))
        length = input_ids.shape[-1]
        max_new = min(int(self.num_assistant_tokens), self.generation_config.max_length - length - 1)
        min_new = max(min(max_new, self.main_min_length - length), 0)
        if max_new <= 0:
            return input_ids, None
        past = self.assistant_kwargs.get("past_key_values")
        if past is not None:
            # the assistant re-reads the last two tokens: its own last draft token and the model's pick
            self.assistant_kwargs["past_key_values"] = crop_cache(past, length - 2)
            resize_inputs(self.assistant_kwargs, length)
            self.generation_config.cache_implementation = None
        output = self.assistant_model.generate(
            input_ids, generation_config=self.generation_config, logits_processor=self.logits_processor,
            max_new_tokens=max_new, min_new_tokens=min_new, **self.assistant_kwargs)
        self.assistant_kwargs["past_key_values"] = output.past_key_values
        return output.sequences, torch.stack(output.scores, dim=1)

    def update_candidate_strategy(self, input_ids: torch.Tensor, scores: torch.Tensor, num_matches: int) -> None:
        schedule = self.assistant_model.generation_config.num_assistant_tokens_schedule
        if schedule in ("heuristic", "heuristic_transient"):
            if num_matches == scores.shape[1] - 1:  # every drafted token was accepted
                self.num_assistant_tokens += 2.0
            else:
                self.num_assistant_tokens = max(1.0, self.num_assistant_tokens - 1.0)

    def finish(self) -> None:
        """A ``"heuristic"`` schedule keeps what it learnt for the assistant's next call."""
        config = self.assistant_model.generation_config
        if config.num_assistant_tokens_schedule == "heuristic":
            config.num_assistant_tokens = self.num_assistant_tokens


class PromptLookupCandidateGenerator(CandidateGenerator):
    """Drafts by prompt lookup: find the latest n-gram (``max_matching_ngram_size`` tokens down to one) earlier in
    the sequence and propose the up to ``num_output_tokens`` tokens that followed its first occurrence, cut
    before a token the logits processors forbid and before an end token."""

    def __init__(self, *, eos_token_id: torch.Tensor | None = None, num_output_tokens: int = 10,
                 max_matching_ngram_size: int | None = None, max_length: int = 20,
                 logits_processor: LogitsProcessorList | None = None, vocab_size: int | None = None) -> None:
        # the reference's defaults, for code that builds one itself
        max_matching_ngram_size = 2 if max_matching_ngram_size is None else max_matching_ngram_size
        if max_matching_ngram_size <= 0 or num_output_tokens <= 0:
            raise ConfigurationError(
                f"Prompt lookup needs positive sizes, got prompt_lookup_num_tokens={num_output_tokens} and "
                f"max_matching_ngram_size={max_matching_ngram_size}.")
        self.num_output_tokens = num_output_tokens
        self.max_matching_ngram_size = max_matching_ngram_size
        self.max_length = max_length
        self.eos_token_id = eos_token_id
        self.logits_processor = logits_processor
        self.vocab_size = vocab_size

    def get_candidates(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        length = input_ids.shape[1]
        if self.max_length == length + 1:  # room for the model's own token only
            return input_ids, None
        row = input_ids[0]
        for size in range(min(self.max_matching_ngram_size, length - 1), 0, -1):
            windows = input_ids.unfold(dimension=1, size=size, step=1)
            starts = (windows == row[-size:]).all(dim=2).nonzero(as_tuple=True)[1]
            for start in starts.tolist():
                begin = start + size
                end = min(begin + self.num_output_tokens, length, self.max_length)
                if begin >= end:
                    continue
                draft = self._allowed_prefix(input_ids, row[begin:end])
                if draft.shape[0] == 0:
                    continue  # every proposed token is forbidden: try the next occurrence
                if self.eos_token_id is not None:
                    ends = torch.isin(draft, self.eos_token_id.to(draft.device)).nonzero()
                    if ends.numel() > 0:
                        draft = draft[: int(ends[0])]
                if draft.shape[0] == 0:
                    return input_ids, None
                return torch.cat((input_ids, draft[None, :]), dim=1), None
        return input_ids, None

    def _allowed_prefix(self, input_ids: torch.Tensor, draft: torch.Tensor) -> torch.Tensor:
        """The draft up to its first token the processors would forbid (score -inf or the dtype's minimum)."""
        if self.logits_processor is None:
            return draft
        sequence = input_ids
        # scores wide enough for every token in play when the vocabulary size was not given
        width = self.vocab_size if self.vocab_size is not None else int(max(input_ids.max(), draft.max())) + 1
        neutral = torch.ones((input_ids.shape[0], width), device=input_ids.device, dtype=torch.float32)
        for index, token in enumerate(draft.tolist()):
            value = self.logits_processor(sequence, neutral)[0, token]
            if value == -float("inf") or value == torch.finfo(value.dtype).min:
                return draft[:index]
            sequence = torch.cat((input_ids, draft[None, : index + 1]), dim=1)
        return draft


def call_model(model: Any, model_inputs: dict[str, Any]) -> Any:
    """The forward's output, read by attribute (an older model's tuple output as ``(logits, past_key_values)``)."""
    outputs = model(**model_inputs, return_dict=True)
    if isinstance(outputs, (tuple, list)):
        return SimpleNamespace(logits=outputs[0], past_key_values=outputs[1] if len(outputs) > 1 else None)
    if isinstance(outputs, dict) and not hasattr(outputs, "logits"):
        return SimpleNamespace(**outputs)
    return outputs


def crop_cache(past: Any, length: int) -> Any:
    """The cache holding its first ``length`` positions (a :class:`Cache` is cropped in place; legacy tuples are
    sliced)."""
    if isinstance(past, Cache) or hasattr(past, "crop"):
        past.crop(length)
        return past
    return tuple(tuple(state[:, :, :length, ...] for state in layer) for layer in past)


# how each per-token input grows by n positions: the mask with ones, the token types with the last type
_EXTENSIONS: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "attention_mask": lambda mask, n: mask.new_ones((mask.shape[0], n)),
    "token_type_ids": lambda types, n: types[:, -1:].repeat(1, n),
}


def resize_inputs(kwargs: dict[str, Any], length: int) -> None:
    """Crop or extend (with ones / the last token type) ``attention_mask`` and ``token_type_ids`` to ``length``."""
    for name, extension in _EXTENSIONS.items():
        tensor = kwargs.get(name)
        if tensor is None:
            continue
        diff = length - tensor.shape[1]
        if diff < 0:
            kwargs[name] = tensor[:, :diff]
        elif diff > 0:
            kwargs[name] = torch.cat([tensor, extension(tensor, diff)], dim=-1)


def speculative_sampling(candidate_ids: torch.Tensor, candidate_scores: torch.Tensor, draft_length: int,
                         scores: torch.Tensor, draft_is_done: bool) -> tuple[torch.Tensor, int]:
    """Accept each drafted token with probability ``min(1, p/q)`` until the first rejection, then sample the next
    token from ``max(p - q, 0)`` (or from ``p`` after a fully accepted draft). Returns the new tokens ``(1, n)``
    and the number of accepted drafted tokens."""
    drafted = candidate_ids[:, -draft_length:]
    steps = torch.arange(draft_length)
    q = candidate_scores.softmax(dim=-1)
    p = scores.softmax(dim=-1)
    q_drafted = q[0, steps, drafted[0]]
    p_drafted = p[0, steps, drafted[0]]
    ratio = p_drafted / q_drafted
    accepted = torch.rand_like(ratio) <= ratio
    n_matches = int(((~accepted).cumsum(dim=-1) < 1).sum())
    if draft_is_done and n_matches == draft_length:
        # the draft ends the sequence (an end token or max_length): the model adds nothing after it
        n_matches -= 1
        return drafted[:, : n_matches + 1], n_matches
    p_next = p[:, n_matches, :]
    if n_matches < candidate_scores.shape[1]:
        residual = torch.clamp(p_next - q[:, n_matches, :], min=0)
        residual.div_(residual.sum())
    else:
        residual = p_next
    token = torch.multinomial(residual, num_samples=1).squeeze(1)[None, :]
    if n_matches > 0:
        return torch.cat((drafted[:, :n_matches], token), dim=-1), n_matches
    return token, n_matches


def _split_per_token(collected: list[Any], states: Any, length: int, added: int, *, attention: bool) -> None:
    """Append per-token slices of one forward's attentions / hidden states (the first round's entry also covers
    the prompt, as the other decoding loops give it)."""
    if states is None or (isinstance(states, (tuple, list)) and len(states) and states[0] is None):
        return
    if not collected:
        collected.append(tuple(layer[..., :length, : (length if attention else layer.shape[-1])]
                               for layer in states))
        length += 1
        added -= length
    for i in range(added):
        collected.append(tuple(layer[..., i : i + 1, : (length + i if attention else layer.shape[-1])]
                               for layer in states))


def assisted_decoding(model: Any, input_ids: torch.Tensor, processors: LogitsProcessorList,
                      criteria: StoppingCriteriaList, config: GenerationConfig, s: Any, model_kwargs: dict[str, Any],
                      generator: CandidateGenerator, streamer: Any) -> Any:
    """Greedy decoding or sampling with drafts from ``generator`` (see the module doc); returns what
    ``generate()`` returns."""
    scores_out: list[torch.Tensor] | None = [] if s.output_scores else None
    logits_out: list[torch.Tensor] | None = [] if s.output_logits else None
    attentions: list[Any] | None = [] if s.output_attentions else None
    hidden: list[Any] | None = [] if s.output_hidden_states else None
    unfinished = True
    while unfinished:
        length = input_ids.shape[1]
        candidate_ids, candidate_scores = generator.get_candidates(input_ids)
        candidate_ids = candidate_ids.to(input_ids.device)
        if candidate_scores is not None:
            candidate_scores = candidate_scores.to(input_ids.device)
        draft_length = candidate_ids.shape[1] - length
        draft_is_done = bool(criteria(candidate_ids, None).any())

        # the model scores the draft and one more position in one forward
        step_kwargs = copy.copy(model_kwargs)
        resize_inputs(step_kwargs, candidate_ids.shape[1])
        position = step_kwargs.get("cache_position")
        if position is not None:
            step_kwargs["cache_position"] = torch.cat(
                (position, torch.arange(length, length + draft_length, device=input_ids.device, dtype=torch.long)))
        model_inputs = model.prepare_inputs_for_generation(candidate_ids, **step_kwargs)
        if "logits_to_keep" in model_inputs:
            model_inputs["logits_to_keep"] = draft_length + 1
        outputs = call_model(model, model_inputs)
        full = outputs.logits
        raw = full[:, -draft_length - 1 :].to(dtype=torch.float32, device=input_ids.device)
        scores = raw.clone()
        if len(processors) > 0:
            for i in range(draft_length + 1):
                scores[:, i, :] = processors(candidate_ids[:, : length + i], scores[:, i, :])

        if s.do_sample and candidate_scores is not None:
            new_tokens, n_matches = speculative_sampling(candidate_ids, candidate_scores, draft_length, scores,
                                                         draft_is_done)
        else:
            if s.do_sample:
                chosen = torch.multinomial(scores.softmax(dim=-1)[0, :, :], num_samples=1).squeeze(1)[None, :]
            else:
                chosen = scores.argmax(dim=-1)
            drafted = candidate_ids[:, length:]
            n_matches = int(((~(drafted == chosen[:, :-1])).cumsum(dim=-1) < 1).sum())
            if draft_is_done and n_matches == draft_length:
                n_matches -= 1
            new_tokens = chosen[:, : n_matches + 1]

        input_ids = torch.cat((input_ids, new_tokens), dim=-1)
        if streamer is not None:
            streamer.put(new_tokens.cpu())
        new_length = input_ids.shape[1]
        generator.update_candidate_strategy(input_ids, scores, n_matches)
        model._update_model_kwargs_for_generation(outputs, model_kwargs, num_new_tokens=n_matches + 1)
        # the states of the rejected drafted tokens go; the model's own last token is fed next round
        model_kwargs["past_key_values"] = crop_cache(model_kwargs["past_key_values"], new_length - 1)

        added = n_matches + 1
        if scores_out is not None:
            scores_out.extend(scores[:, i, :] for i in range(added))
        if logits_out is not None:
            logits_out.extend(raw[:, i, :] for i in range(added))
        if attentions is not None:
            _split_per_token(attentions, getattr(outputs, "attentions", None), length,
                             new_length if not attentions else added, attention=True)
        if hidden is not None:
            _split_per_token(hidden, getattr(outputs, "hidden_states", None), length,
                             new_length if not hidden else added, attention=False)
        del outputs
        done = criteria(input_ids, tuple(scores_out) if scores_out is not None else None)
        unfinished = not bool(done.all())

    if streamer is not None:
        streamer.end()
    if isinstance(generator, AssistedCandidateGenerator):
        generator.finish()
    if not s.return_dict:
        return input_ids
    return decoder_only_output(input_ids, scores=scores_out, logits=logits_out, attentions=attentions,
                               hidden_states=hidden, past_key_values=model_kwargs.get("past_key_values"))


def check_assistant(model: Any, assistant_model: Any, assistant_tokenizer: Any) -> None:
    """Refuse an assistant that cannot draft for ``model``: another vocabulary, or an encoder-decoder."""
    if not hasattr(assistant_model, "generate") or getattr(assistant_model, "config", None) is None:
        raise ConfigurationError(
            f"assistant_model must be a model with generate() (a smaller causal LM), got "
            f"{type(assistant_model).__name__}.")
    main_vocab = _vocab_size(model.config)
    assistant_vocab = _vocab_size(assistant_model.config)
    if main_vocab == assistant_vocab:
        if assistant_tokenizer is not None:
            raise ConfigurationError(
                "`assistant_tokenizer` is not required when the main and assistant models use the same tokenizer "
                f"(both have {main_vocab} tokens); omit assistant_tokenizer from generate().")
        return
    raise ConfigurationError(
        f"The assistant has another vocabulary ({assistant_vocab} tokens, the model {main_vocab}): its token ids "
        "mean other tokens. Use an assistant trained with the model's tokenizer (same vocab_size); drafting across "
        "tokenizers (the reference's universal assisted decoding, with tokenizer= and assistant_tokenizer=) is "
        "not supported by modelyard.")


def _vocab_size(config: Any) -> Any:
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return getattr(text, "vocab_size", None)


__all__ = [
    "AssistedCandidateGenerator",
    "CandidateGenerator",
    "PromptLookupCandidateGenerator",
    "assisted_decoding",
]
