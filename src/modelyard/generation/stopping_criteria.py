"""Stopping criteria: each takes ``(input_ids, scores)`` and says, per row, whether that row is finished.

``generate()`` builds ``MaxLengthCriteria`` (from ``max_length`` / ``max_new_tokens``), ``MaxTimeCriteria``,
``StopStringCriteria`` (``stop_strings``, with the ``tokenizer`` argument) and ``EosTokenCriteria``
(``eos_token_id``), then any the caller passes (``stopping_criteria=``). A finished row is padded from then on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import torch

from modelyard.errors import ConfigurationError

logger = logging.getLogger(__name__)


class StoppingCriteria:
    """Base class: ``__call__(input_ids, scores, **kwargs)`` returns a ``(batch,)`` bool tensor (true: done)."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(input_ids, scores)")


class StoppingCriteriaList(list):  # type: ignore[type-arg]
    """A row is done when any criterion says so."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for criterion in self:
            done = done | criterion(input_ids, scores, **kwargs)
        return done

    @property
    def max_length(self) -> int | None:
        for criterion in self:
            if isinstance(criterion, MaxLengthCriteria):
                return criterion.max_length
        return None


class MaxLengthCriteria(StoppingCriteria):
    """Done once the sequence (prompt included) holds ``max_length`` tokens."""

    def __init__(self, max_length: int, max_position_embeddings: int | None = None) -> None:
        self.max_length = max_length
        self.max_position_embeddings = max_position_embeddings
        self._warned = False

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        length = input_ids.shape[1]
        done = length >= self.max_length
        if (self.max_position_embeddings is not None and not done and length > self.max_position_embeddings
                and not self._warned):
            self._warned = True
            logger.warning("The sequence is now %d tokens long, past the model's max_position_embeddings (%d): the "
                           "model may fail or degrade beyond it.", length, self.max_position_embeddings)
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


class MaxTimeCriteria(StoppingCriteria):
    """Done once ``max_time`` seconds have passed since ``initial_timestamp`` (default: construction)."""

    def __init__(self, max_time: float, initial_timestamp: float | None = None) -> None:
        self.max_time = max_time
        self.initial_timestamp = time.time() if initial_timestamp is None else initial_timestamp

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        done = time.time() - self.initial_timestamp > self.max_time
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


class EosTokenCriteria(StoppingCriteria):
    """Done when the last token is one of ``eos_token_id``."""

    def __init__(self, eos_token_id: int | list[int] | torch.Tensor) -> None:
        if not isinstance(eos_token_id, torch.Tensor):
            eos_token_id = torch.tensor([eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id))
        self.eos_token_id = eos_token_id

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        if self.eos_token_id.device != input_ids.device:
            self.eos_token_id = self.eos_token_id.to(input_ids.device)
        last = input_ids[:, -1]
        if self.eos_token_id.numel() == 1:
            return last == self.eos_token_id[0]
        return torch.isin(last, self.eos_token_id)


class StopStringCriteria(StoppingCriteria):
    """Done when the text of the tokens ends with one of ``stop_strings``, the stop string reaching into the
    last token (the reference's rule).

    A stop string matches when it starts at or before the start of the last token and ends inside it, so
    the last token may run on past it (``"stop"`` matches the tokens ``["st", "opped"]`` and ``["la", "stop"]``),
    but a stop string that ended before the last token does not stop again. Token texts are read once from the
    tokenizer (with its word-start markers resolved, as decoding them after other text gives).
    """

    def __init__(self, tokenizer: Any, stop_strings: str | Iterable[str]) -> None:
        if isinstance(stop_strings, str):
            stop_strings = [stop_strings]
        self.stop_strings: tuple[str, ...] = tuple(stop_strings)
        if not self.stop_strings or not all(isinstance(s, str) and s for s in self.stop_strings):
            raise ConfigurationError(f"stop_strings must be non-empty strings, got {stop_strings!r}.")
        if tokenizer is None:
            raise ConfigurationError(
                "There are stop strings, but no tokenizer to read the tokens' text: pass the model's tokenizer to "
                "generate(..., tokenizer=tokenizer) when generating with stop_strings."
            )
        self.tokenizer = tokenizer
        self.maximum_token_len = max(len(s) for s in self.stop_strings)
        self._texts: dict[int, str] = {}
        self._prefix_ids, self._prefix_tokens = self._static_prefix(tokenizer)

    _PREFIX = "abcdef"

    @classmethod
    def _static_prefix(cls, tokenizer: Any) -> tuple[list[int], list[str]]:
        ids = tokenizer(cls._PREFIX, add_special_tokens=False)["input_ids"]
        return ids, list(tokenizer.convert_ids_to_tokens(ids))

    def _text(self, token_id: int) -> str:
        """The text a token adds after other text (computed once per token)."""
        text = self._texts.get(token_id)
        if text is None:
            token = self.tokenizer.convert_ids_to_tokens(token_id)
            if token is None:
                text = ""
            else:
                joined = self.tokenizer.convert_tokens_to_string([*self._prefix_tokens, token])
                at = joined.find(self._PREFIX)
                # the prefix is gone when the vocabulary cannot spell it: read the token on its own then
                text = (joined[at + len(self._PREFIX):] if at >= 0
                        else self.tokenizer.convert_tokens_to_string([token]))
            self._texts[token_id] = text
        return text

    def _row_done(self, ids: list[int]) -> bool:
        last = self._text(ids[-1])
        if not last:
            return False
        before = []
        length = 0
        for token_id in reversed(ids[:-1]):  # enough text before the last token for the longest stop string
            if length >= self.maximum_token_len:
                break
            piece = self._text(token_id)
            before.append(piece)
            length += len(piece)
        previous = "".join(reversed(before))
        for stop in self.stop_strings:
            for overlap in range(1, min(len(stop), len(last)) + 1):
                if last[:overlap] == stop[len(stop) - overlap:] and previous.endswith(stop[: len(stop) - overlap]):
                    return True
        return False

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        window = input_ids[:, -(self.maximum_token_len + 1):].tolist()
        return torch.tensor([self._row_done(row) for row in window], dtype=torch.bool, device=input_ids.device)


def validate_stopping_criteria(stopping_criteria: StoppingCriteriaList, max_length: int) -> StoppingCriteriaList:
    """A copy of ``stopping_criteria`` that stops at ``max_length`` too."""
    criteria = StoppingCriteriaList(stopping_criteria)
    if criteria.max_length is None:
        criteria.append(MaxLengthCriteria(max_length=max_length))
    return criteria


class ConfidenceCriteria(StoppingCriteria):
    """Assisted generation's draft stop: done when the assistant gives its own last token a probability below
    ``assistant_confidence_threshold`` (from the last step's processed scores), so a doubtful draft is not extended."""

    def __init__(self, assistant_confidence_threshold: float) -> None:
        self.assistant_confidence_threshold = assistant_confidence_threshold

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        last = scores if isinstance(scores, torch.Tensor) else scores[-1]  # this step's scores, or all steps'
        probability = last.softmax(-1)[0, input_ids[0, -1]].item()
        return bool(probability < self.assistant_confidence_threshold)  # type: ignore[return-value]


__all__ = [
    "ConfidenceCriteria",
    "EosTokenCriteria",
    "MaxLengthCriteria",
    "MaxTimeCriteria",
    "StopStringCriteria",
    "StoppingCriteria",
    "StoppingCriteriaList",
    "validate_stopping_criteria",
]
