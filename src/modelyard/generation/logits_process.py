"""Logits processors: each takes ``(input_ids, scores)`` and returns the next-token scores changed.

``input_ids`` is ``(batch, seq)``, every token so far (prompt included); ``scores`` is ``(batch, vocab)``, the
last position's logits (or what earlier processors made of them). Names, arguments and arithmetic are the
reference library's, so the same processors give the same scores; ``generate()`` builds only the ones its
settings ask for, in the reference's order (penalties and bans first, then the sampling warpers).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from typing import Any

import torch

from modelyard.errors import ConfigurationError

NEG_INF = -math.inf


def _token_tensor(token_ids: int | Iterable[int] | torch.Tensor, device: Any = None) -> torch.Tensor:
    if isinstance(token_ids, torch.Tensor):
        return token_ids.to(device) if device is not None else token_ids
    if isinstance(token_ids, int):
        token_ids = [token_ids]
    return torch.tensor(list(token_ids), dtype=torch.long, device=device)


def _vocab_mask(token_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """``(vocab,)`` bools, true at ``token_ids``."""
    mask = torch.zeros(scores.shape[-1], dtype=torch.bool, device=scores.device)
    ids = token_ids.to(scores.device)
    mask[ids[(ids >= 0) & (ids < scores.shape[-1])]] = True
    return mask


def _check_min_tokens(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"`min_tokens_to_keep` has to be a positive integer, but is {value!r}")
    return value


class LogitsProcessor:
    """Base class: subclasses implement ``__call__(input_ids, scores) -> scores``."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(input_ids, scores)")


LogitsWarper = LogitsProcessor  # the older name of the sampling processors' base


class LogitsProcessorList(list):  # type: ignore[type-arg]
    """Processors applied in order; extra keyword arguments reach the processors whose ``__call__`` takes them."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.FloatTensor:
        for processor in self:
            extra = _extra_parameters(processor)
            if extra:
                missing = [name for name in extra if name not in kwargs]
                if missing:
                    raise ConfigurationError(
                        f"{type(processor).__name__} needs the keyword arguments {missing}; pass them to the "
                        "LogitsProcessorList call."
                    )
                scores = processor(input_ids, scores, **kwargs)
            else:
                scores = processor(input_ids, scores)
        return scores


def _extra_parameters(processor: Any) -> list[str]:
    """Required parameters of ``processor.__call__`` past ``(input_ids, scores)``."""
    cached = type(processor).__dict__.get("_extra_call_parameters")
    if isinstance(cached, list):
        return cached
    params = list(inspect.signature(processor.__call__).parameters.values())[2:]
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty]
    try:
        type(processor)._extra_call_parameters = names
    except (AttributeError, TypeError):
        pass
    return names


# -- sampling warpers ------------------------------------------------------------------------------------------
class TemperatureLogitsWarper(LogitsProcessor):
    """Divide the scores by ``temperature`` (above 1 flattens the distribution, below 1 sharpens it)."""

    def __init__(self, temperature: float) -> None:
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature > 0:
            hint = " For greedy decoding, set do_sample=False." if temperature == 0 else ""
            raise ConfigurationError(
                f"`temperature` (={temperature!r}) has to be a strictly positive float, otherwise your next token "
                f"scores will be invalid.{hint}"
            )
        self.temperature = float(temperature)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return scores / self.temperature


class TopKLogitsWarper(LogitsProcessor):
    """Keep the ``top_k`` highest scores (ties with the k-th kept); the rest become ``filter_value``."""

    def __init__(self, top_k: int, filter_value: float = NEG_INF, min_tokens_to_keep: int = 1) -> None:
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k <= 0:
            raise ConfigurationError(f"`top_k` has to be a strictly positive integer, but is {top_k!r}")
        self.top_k = max(top_k, min_tokens_to_keep)
        self.filter_value = filter_value

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        k = min(self.top_k, scores.shape[-1])
        kth = torch.topk(scores, k).values[..., -1:]
        return scores.masked_fill(scores < kth, self.filter_value)


class TopPLogitsWarper(LogitsProcessor):
    """Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches ``top_p``."""

    def __init__(self, top_p: float, filter_value: float = NEG_INF, min_tokens_to_keep: int = 1) -> None:
        top_p = float(top_p)
        if not 0 <= top_p <= 1.0:
            raise ConfigurationError(f"`top_p` has to be a float in [0, 1], but is {top_p}")
        self.top_p = top_p
        self.filter_value = filter_value
        self.min_tokens_to_keep = _check_min_tokens(min_tokens_to_keep)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        ascending, order = torch.sort(scores, descending=False)
        cumulative = ascending.softmax(dim=-1).cumsum(dim=-1)
        # the low tail whose mass stays within 1 - top_p goes; the most likely tokens always stay
        drop_sorted = cumulative <= (1 - self.top_p)
        drop_sorted[..., -self.min_tokens_to_keep :] = False
        drop = drop_sorted.scatter(1, order, drop_sorted)
        return scores.masked_fill(drop, self.filter_value)


class MinPLogitsWarper(LogitsProcessor):
    """Keep tokens whose probability is at least ``min_p`` times the most likely token's."""

    def __init__(self, min_p: float, filter_value: float = NEG_INF, min_tokens_to_keep: int = 1) -> None:
        if not isinstance(min_p, (int, float)) or not 0 <= min_p <= 1.0:
            raise ConfigurationError(f"`min_p` has to be a float in the [0, 1] interval, but is {min_p!r}")
        self.min_p = min_p
        self.filter_value = filter_value
        self.min_tokens_to_keep = _check_min_tokens(min_tokens_to_keep)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = torch.softmax(scores, dim=-1)
        threshold = self.min_p * probs.max(dim=-1, keepdim=True).values
        drop = probs < threshold
        order = torch.argsort(scores, descending=True, dim=-1)
        drop_sorted = torch.gather(drop, -1, order)
        drop_sorted[..., : self.min_tokens_to_keep] = False
        drop = drop_sorted.scatter(1, order, drop_sorted)
        return scores.masked_fill(drop, self.filter_value)


class TypicalLogitsWarper(LogitsProcessor):
    """Locally typical sampling: keep the tokens whose information is closest to the distribution's entropy,
    up to ``mass`` of probability."""

    def __init__(self, mass: float = 0.9, filter_value: float = NEG_INF, min_tokens_to_keep: int = 1) -> None:
        mass = float(mass)
        if not 0 < mass < 1:
            raise ConfigurationError(f"`typical_p` has to be a float > 0 and < 1, but is {mass}")
        self.mass = mass
        self.filter_value = filter_value
        self.min_tokens_to_keep = _check_min_tokens(min_tokens_to_keep)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        log_probs = torch.nn.functional.log_softmax(scores, dim=-1)
        probs = torch.exp(log_probs)
        entropy = -(log_probs * probs).nansum(-1, keepdim=True)
        distance = torch.abs(-log_probs - entropy)
        sorted_distance, order = torch.sort(distance, descending=False)
        cumulative = scores.gather(-1, order).softmax(dim=-1).cumsum(dim=-1)
        last = (cumulative < self.mass).sum(dim=1)
        last.clamp_(max=sorted_distance.shape[-1] - 1)
        drop_sorted = sorted_distance > sorted_distance.gather(1, last.view(-1, 1))
        drop_sorted[..., : self.min_tokens_to_keep] = False
        drop = drop_sorted.scatter(1, order, drop_sorted)
        return scores.masked_fill(drop, self.filter_value)


class EpsilonLogitsWarper(LogitsProcessor):
    """Drop tokens whose probability is below ``epsilon`` (keeping at least ``min_tokens_to_keep``)."""

    def __init__(self, epsilon: float, filter_value: float = NEG_INF, min_tokens_to_keep: int = 1) -> None:
        epsilon = float(epsilon)
        if not 0 < epsilon < 1:
            raise ConfigurationError(f"`epsilon_cutoff` has to be a float > 0 and < 1, but is {epsilon}")
        self.epsilon = epsilon
        self.filter_value = filter_value
        self.min_tokens_to_keep = _check_min_tokens(int(min_tokens_to_keep))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        drop = scores.softmax(dim=-1) < self.epsilon
        k = min(self.min_tokens_to_keep, scores.shape[-1])
        drop &= scores < torch.topk(scores, k).values[..., -1:]
        return scores.masked_fill(drop, self.filter_value)


class EtaLogitsWarper(LogitsProcessor):
    """Eta sampling: the cutoff is ``min(epsilon, sqrt(epsilon) * exp(-entropy))``."""

    def __init__(self, epsilon: float, filter_value: float = NEG_INF, min_tokens_to_keep: int = 1,
                 device: str | torch.device = "cpu") -> None:
        epsilon = float(epsilon)
        if not 0 < epsilon < 1:
            raise ConfigurationError(f"`eta_cutoff` has to be a float > 0 and < 1, but is {epsilon}")
        self.epsilon = torch.tensor(epsilon, device=device)
        self.filter_value = filter_value
        self.min_tokens_to_keep = _check_min_tokens(int(min_tokens_to_keep))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = scores.softmax(dim=-1)
        entropy = torch.distributions.Categorical(logits=scores).entropy()
        epsilon = self.epsilon.to(scores.device)
        eta = torch.min(epsilon, torch.sqrt(epsilon) * torch.exp(-entropy))[..., None]
        drop = probs < eta
        k = min(self.min_tokens_to_keep, scores.shape[-1])
        drop &= scores < torch.topk(scores, k).values[..., -1:]
        return scores.masked_fill(drop, self.filter_value)


# -- penalties and bans ----------------------------------------------------------------------------------------
class RepetitionPenaltyLogitsProcessor(LogitsProcessor):
    """Make tokens already in the sequence less likely: a positive score is divided by ``penalty``, a negative
    one multiplied (``penalty`` above 1 discourages repeats, below 1 encourages them)."""

    def __init__(self, penalty: float, prompt_ignore_length: int | None = None) -> None:
        if not isinstance(penalty, (int, float)) or isinstance(penalty, bool) or not penalty > 0:
            raise ConfigurationError(f"`penalty` has to be a strictly positive float, but is {penalty!r}")
        if prompt_ignore_length is not None and (not isinstance(prompt_ignore_length, int) or prompt_ignore_length < 0):
            raise ConfigurationError(
                f"`prompt_ignore_length` has to be a non-negative integer, but is {prompt_ignore_length!r}")
        self.penalty = float(penalty)
        self.prompt_ignore_length = prompt_ignore_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prompt_ignore_length:
            input_ids = input_ids[:, self.prompt_ignore_length :]
        if input_ids.dim() == 1:
            input_ids = input_ids.unsqueeze(1)
        seen = torch.gather(scores, 1, input_ids)
        seen = torch.where(seen < 0, seen * self.penalty, seen / self.penalty)
        return scores.scatter(1, input_ids, seen)


class NoRepeatNGramLogitsProcessor(LogitsProcessor):
    """Ban every token that would repeat an n-gram of ``ngram_size`` tokens already in the sequence."""

    def __init__(self, ngram_size: int) -> None:
        if not isinstance(ngram_size, int) or isinstance(ngram_size, bool) or ngram_size <= 0:
            raise ConfigurationError(f"`ngram_size` has to be a strictly positive integer, but is {ngram_size!r}")
        self.ngram_size = ngram_size

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        n = self.ngram_size
        length = input_ids.shape[-1]
        if length + 1 < n or length < n:
            return scores.clone()
        windows = input_ids.unfold(1, n, 1)  # (batch, length - n + 1, n): every n-gram so far
        if n == 1:
            hits = torch.ones(windows.shape[:2], dtype=torch.bool, device=input_ids.device)
        else:
            prefix = input_ids[:, length - n + 1 :]  # the last n - 1 tokens
            hits = (windows[:, :, :-1] == prefix[:, None, :]).all(dim=-1)  # n-grams starting like the next one
        rows, cols = hits.nonzero(as_tuple=True)
        out = scores.clone()
        out[rows, windows[rows, cols, -1]] = NEG_INF
        return out


class SequenceBiasLogitsProcessor(LogitsProcessor):
    """Add a bias to a token's score when it would complete a given sequence.

    ``sequence_bias`` maps token-id tuples to biases (``{(12,): -1.0, (5, 6): 2.0}``; a list of
    ``[[ids], bias]`` pairs works too): the bias goes to the sequence's last token when the tokens before it end
    the current sequence (a one-token sequence is biased always)."""

    def __init__(self, sequence_bias: dict[tuple[int, ...], float] | list[list[Any]]) -> None:
        self.sequence_bias = self._normalise(sequence_bias)
        self._single: torch.Tensor | None = None

    @staticmethod
    def _normalise(sequence_bias: Any) -> dict[tuple[int, ...], float]:
        if isinstance(sequence_bias, list) and sequence_bias:
            try:
                sequence_bias = {tuple(ids): bias for ids, bias in sequence_bias}
            except (TypeError, ValueError) as err:
                raise ConfigurationError(
                    f"`sequence_bias` as a list must hold [token_ids, bias] pairs, but is {sequence_bias!r}") from err
        if not isinstance(sequence_bias, dict) or not sequence_bias:
            raise ConfigurationError(
                f"`sequence_bias` has to be a non-empty dict of token-id tuples to floats, but is {sequence_bias!r}.")
        for ids, bias in sequence_bias.items():
            if (not isinstance(ids, tuple) or not ids
                    or any(not isinstance(t, int) or isinstance(t, bool) or t < 0 for t in ids)):
                raise ConfigurationError(
                    f"Each key of `sequence_bias` has to be a non-empty tuple of non-negative token ids, got {ids!r}.")
            if not isinstance(bias, float):
                raise ConfigurationError(f"`sequence_bias` values have to be floats, got {bias!r} for {ids!r}.")
        return dict(sequence_bias)

    def _prepare(self, scores: torch.Tensor) -> None:
        vocab = scores.shape[-1]
        too_big = sorted({t for ids in self.sequence_bias for t in ids if t >= vocab})
        if too_big:
            raise ConfigurationError(
                f"The model's vocabulary has {vocab} tokens, but these biased token ids are outside it: {too_big}.")
        single = torch.zeros(vocab, dtype=torch.float, device=scores.device)
        for ids, bias in self.sequence_bias.items():
            if len(ids) == 1:
                single[ids[0]] = bias
        self._single = single

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self._single is None or self._single.device != scores.device:
            self._prepare(scores)
        bias = torch.zeros_like(scores)
        bias += self._single  # type: ignore[operator]
        for ids, value in self.sequence_bias.items():
            if len(ids) == 1 or len(ids) > input_ids.shape[1]:
                continue
            prefix = torch.tensor(ids[:-1], dtype=input_ids.dtype, device=input_ids.device)
            matching = torch.eq(input_ids[:, -(len(ids) - 1) :], prefix).all(dim=1)
            bias[:, ids[-1]] += torch.where(matching, torch.tensor(value, device=scores.device),
                                            torch.tensor(0.0, device=scores.device))
        return scores + bias


class NoBadWordsLogitsProcessor(SequenceBiasLogitsProcessor):
    """Never generate the token sequences in ``bad_words_ids`` (a list of token-id lists); a one-token entry
    equal to an end-of-sequence token is left out, so generation can still end."""

    def __init__(self, bad_words_ids: list[list[int]], eos_token_id: int | list[int] | torch.Tensor | None = None) -> None:
        if (not isinstance(bad_words_ids, list) or not bad_words_ids
                or any(not isinstance(w, list) for w in bad_words_ids)):
            raise ConfigurationError(f"`bad_words_ids` has to be a non-empty list of lists, but is {bad_words_ids!r}.")
        if any(any(not isinstance(t, int) or isinstance(t, bool) or t < 0 for t in w) for w in bad_words_ids):
            raise ConfigurationError(
                f"Each list in `bad_words_ids` has to be a list of non-negative token ids, but is {bad_words_ids!r}.")
        self.bad_word_ids = bad_words_ids
        if eos_token_id is not None:
            eos = set(_token_tensor(eos_token_id).tolist())
            bad_words_ids = [w for w in bad_words_ids if not (len(w) == 1 and w[0] in eos)]
        super().__init__({tuple(w): NEG_INF for w in bad_words_ids})


class MinLengthLogitsProcessor(LogitsProcessor):
    """Forbid the end-of-sequence tokens while the sequence (prompt included) is shorter than ``min_length``."""

    def __init__(self, min_length: int, eos_token_id: int | list[int] | torch.Tensor, device: Any = "cpu") -> None:
        if not isinstance(min_length, int) or isinstance(min_length, bool) or min_length < 0:
            raise ConfigurationError(f"`min_length` has to be a non-negative integer, but is {min_length!r}")
        self.min_length = min_length
        self.eos_token_id = _token_tensor(eos_token_id, device)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[-1] < self.min_length:
            return torch.where(_vocab_mask(self.eos_token_id, scores), NEG_INF, scores)
        return scores.clone()


class MinNewTokensLengthLogitsProcessor(LogitsProcessor):
    """Forbid the end-of-sequence tokens until ``min_new_tokens`` tokens follow the prompt."""

    def __init__(self, prompt_length_to_skip: int, min_new_tokens: int,
                 eos_token_id: int | list[int] | torch.Tensor, device: Any = "cpu") -> None:
        for name, value in (("prompt_length_to_skip", prompt_length_to_skip), ("min_new_tokens", min_new_tokens)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigurationError(f"`{name}` has to be a non-negative integer, but is {value!r}")
        self.prompt_length_to_skip = prompt_length_to_skip
        self.min_new_tokens = min_new_tokens
        self.eos_token_id = _token_tensor(eos_token_id, device)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[-1] - self.prompt_length_to_skip < self.min_new_tokens:
            return torch.where(_vocab_mask(self.eos_token_id, scores), NEG_INF, scores)
        return scores.clone()


class ForcedBOSTokenLogitsProcessor(LogitsProcessor):
    """Force ``bos_token_id`` as the first generated token (when the sequence is one token long)."""

    def __init__(self, bos_token_id: int) -> None:
        self.bos_token_id = bos_token_id

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[-1] == 1:
            forced = torch.full_like(scores, NEG_INF)
            forced[:, self.bos_token_id] = 0
            return forced
        return scores


class ForcedEOSTokenLogitsProcessor(LogitsProcessor):
    """Force an end-of-sequence token as the last token before ``max_length``."""

    def __init__(self, max_length: int, eos_token_id: int | list[int] | torch.Tensor, device: Any = "cpu") -> None:
        self.max_length = max_length
        self.eos_token_id = _token_tensor(eos_token_id, device)
        if torch.is_floating_point(self.eos_token_id) or (self.eos_token_id < 0).any():
            raise ConfigurationError(f"`eos_token_id` has to be a list of non-negative integers, but is {eos_token_id!r}")

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[-1] == self.max_length - 1:
            forced = torch.full_like(scores, NEG_INF)
            forced[:, self.eos_token_id.to(scores.device)] = 0
            return forced
        return scores


class SuppressTokensLogitsProcessor(LogitsProcessor):
    """Never generate the tokens in ``suppress_tokens``."""

    def __init__(self, suppress_tokens: Iterable[int], device: Any = "cpu") -> None:
        self.suppress_tokens = _token_tensor(list(suppress_tokens), device)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return torch.where(_vocab_mask(self.suppress_tokens, scores), NEG_INF, scores)


class SuppressTokensAtBeginLogitsProcessor(LogitsProcessor):
    """Never generate ``begin_suppress_tokens`` as the first new token (at sequence length ``begin_index``)."""

    def __init__(self, begin_suppress_tokens: Iterable[int], begin_index: int, device: Any = "cpu") -> None:
        self.begin_suppress_tokens = _token_tensor(list(begin_suppress_tokens), device)
        self.begin_index = begin_index

    def set_begin_index(self, begin_index: int) -> None:
        self.begin_index = begin_index

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[-1] == self.begin_index:
            return torch.where(_vocab_mask(self.begin_suppress_tokens, scores), NEG_INF, scores)
        return scores


class ExponentialDecayLengthPenalty(LogitsProcessor):
    """Raise the end-of-sequence scores exponentially once ``start`` tokens follow the prompt:
    ``exponential_decay_length_penalty = (start, decay_factor)``."""

    def __init__(self, exponential_decay_length_penalty: tuple[int, float],
                 eos_token_id: int | list[int] | torch.Tensor, input_ids_seq_length: int) -> None:
        start, factor = exponential_decay_length_penalty
        self.regulation_start = start + input_ids_seq_length
        self.regulation_factor = factor
        self.eos_token_id = _token_tensor(eos_token_id)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        length = input_ids.shape[-1]
        if length <= self.regulation_start:
            return scores
        eos = self.eos_token_id.to(scores.device)
        penalties = torch.zeros_like(scores)
        penalties[:, eos] = torch.abs(scores[:, eos]) * (pow(self.regulation_factor, length - self.regulation_start) - 1)
        return scores + penalties


class InfNanRemoveLogitsProcessor(LogitsProcessor):
    """Replace NaN by 0 and infinities by the dtype's extremes (so sampling never fails on them)."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        finfo = torch.finfo(scores.dtype)
        out = torch.where(scores != scores, 0.0, scores)
        out = torch.where(scores == math.inf, finfo.max, out)
        return torch.where(scores == NEG_INF, finfo.min, out)


class LogitNormalization(LogitsProcessor):
    """Turn the scores into log-probabilities (``log_softmax``): beam scores then add up as probabilities."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return scores.log_softmax(dim=-1)


class HammingDiversityLogitsProcessor(LogitsProcessor):
    """Group beam search's diversity term: a beam of group ``g`` loses ``diversity_penalty`` for each beam of
    groups ``0 .. g-1`` that picked the same token at this step (Vijayakumar et al., 2016). Called with
    ``current_tokens`` (this step's tokens of every beam so far, ``(batch * num_beams,)``) and
    ``beam_group_idx``; ``scores`` holds the rows of that group only."""

    def __init__(self, diversity_penalty: float, num_beams: int, num_beam_groups: int) -> None:
        if not isinstance(diversity_penalty, float) or not diversity_penalty > 0.0:
            raise ConfigurationError(f"diversity_penalty must be a float above 0, got {diversity_penalty!r}.")
        if not isinstance(num_beams, int) or num_beams < 2:
            raise ConfigurationError(f"num_beams must be an integer of 2 or more, got {num_beams!r}.")
        if not isinstance(num_beam_groups, int) or num_beam_groups < 2 or num_beam_groups > num_beams:
            raise ConfigurationError(
                f"num_beam_groups must be an integer from 2 to num_beams ({num_beams}), got {num_beam_groups!r}.")
        self.diversity_penalty = diversity_penalty
        self.num_beams = num_beams
        self.group_size = num_beams // num_beam_groups

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor,  # type: ignore[override]
                 current_tokens: torch.LongTensor, beam_group_idx: int) -> torch.FloatTensor:
        start = beam_group_idx * self.group_size
        if start == 0:
            return scores
        size = min(start + self.group_size, self.num_beams) - start
        batch = current_tokens.shape[0] // self.num_beams
        penalised = scores.clone()
        for row in range(batch):
            earlier = current_tokens[row * self.num_beams : row * self.num_beams + start]
            counts = torch.bincount(earlier, minlength=scores.shape[-1]).to(scores.device)
            penalised[row * size : (row + 1) * size] -= self.diversity_penalty * counts
        return penalised  # type: ignore[return-value]


class UnbatchedClassifierFreeGuidanceLogitsProcessor(LogitsProcessor):
    """Classifier-free guidance (``guidance_scale`` in ``generate()``): the scores become
    ``unconditional + guidance_scale * (conditional - unconditional)`` in log-probabilities, where the
    unconditional ones come from a second run of ``model`` on ``unconditional_ids`` (the negative prompt; by
    default the prompt's last token) followed by the generated tokens, with its own cache. ``guidance_scale``
    above 1 pushes the output towards the prompt and away from the negative prompt."""

    def __init__(self, guidance_scale: float, model: Any, unconditional_ids: torch.LongTensor | None = None,
                 unconditional_attention_mask: torch.LongTensor | None = None, use_cache: bool = True) -> None:
        self.guidance_scale = guidance_scale
        self.model = model
        self.unconditional_ids: torch.Tensor | None = unconditional_ids
        self.unconditional_mask: torch.Tensor | None = unconditional_attention_mask
        self.use_cache = use_cache
        self.past_key_values: Any = None
        self.first_pass = True

    def get_unconditional_logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The model's logits on the negative prompt plus what was generated since (one new token per call when
        the cache is used)."""
        last = input_ids[:, -1:]
        if self.first_pass:
            self.first_pass = False
            ids = self.unconditional_ids if self.unconditional_ids is not None else last
            mask = self.unconditional_mask if self.unconditional_mask is not None else torch.ones_like(
                ids, dtype=torch.long)
        else:
            assert self.unconditional_ids is not None and self.unconditional_mask is not None  # set by the first pass
            mask = torch.cat([self.unconditional_mask, torch.ones_like(last, dtype=torch.long)], dim=1)
            ids = last if self.use_cache else torch.cat([self.unconditional_ids, last], dim=1)
        self.unconditional_ids, self.unconditional_mask = ids, mask
        out = self.model(ids, attention_mask=mask, use_cache=self.use_cache, past_key_values=self.past_key_values)
        if isinstance(out, tuple):
            self.past_key_values = out[1] if len(out) > 1 else None
            return out[0]  # type: ignore[no-any-return]
        self.past_key_values = getattr(out, "past_key_values", None)
        return out.logits  # type: ignore[no-any-return]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores = torch.nn.functional.log_softmax(scores, dim=-1)  # type: ignore[assignment]
        if self.guidance_scale == 1:
            return scores
        unconditional = torch.nn.functional.log_softmax(self.get_unconditional_logits(input_ids)[:, -1], dim=-1)
        return self.guidance_scale * (scores - unconditional) + unconditional  # type: ignore[return-value]


__all__ = [
    "EpsilonLogitsWarper",
    "EtaLogitsWarper",
    "ExponentialDecayLengthPenalty",
    "ForcedBOSTokenLogitsProcessor",
    "ForcedEOSTokenLogitsProcessor",
    "HammingDiversityLogitsProcessor",
    "InfNanRemoveLogitsProcessor",
    "LogitNormalization",
    "LogitsProcessor",
    "LogitsProcessorList",
    "LogitsWarper",
    "MinLengthLogitsProcessor",
    "MinNewTokensLengthLogitsProcessor",
    "MinPLogitsWarper",
    "NoBadWordsLogitsProcessor",
    "NoRepeatNGramLogitsProcessor",
    "RepetitionPenaltyLogitsProcessor",
    "SequenceBiasLogitsProcessor",
    "SuppressTokensAtBeginLogitsProcessor",
    "SuppressTokensLogitsProcessor",
    "TemperatureLogitsWarper",
    "TopKLogitsWarper",
    "TopPLogitsWarper",
    "TypicalLogitsWarper",
    "UnbatchedClassifierFreeGuidanceLogitsProcessor",
]
