"""Constrained beam search beyond the reference fixtures (tests/generation/test_group_beam_and_contrastive.py
holds those): the forced words appear, the constraint classes follow their contract, and bad settings are
clear errors."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from _tiny_lm import modelyard_classes
from common.parity import parity_dir

from modelyard.errors import ConfigurationError, TrustRemoteCodeError
from modelyard.generation import (
    ConstraintListState,
    DisjunctiveConstraint,
    GenerationConfig,
    PhrasalConstraint,
)

PROMPT = torch.tensor([[1, 5, 7, 9]])


@pytest.fixture(scope="module")
def tiny() -> Any:
    return modelyard_classes().TinyForCausalLM.from_pretrained(parity_dir() / "generation" / "tiny_lm").eval()


def _contains(row: list[int], words: list[int]) -> bool:
    return any(row[i : i + len(words)] == words for i in range(len(row) - len(words) + 1))


def test_forced_words_appear_and_change_the_output(tiny: Any) -> None:
    plain = tiny.generate(PROMPT, max_new_tokens=8, num_beams=3)
    forced = tiny.generate(PROMPT, max_new_tokens=8, num_beams=3, force_words_ids=[[13, 4], [6]],
                           trust_remote_code=True)
    assert forced.tolist() != plain.tolist()
    new = forced[0, 4:].tolist()
    assert _contains(new, [13, 4]) and 6 in new
    either = tiny.generate(PROMPT, max_new_tokens=8, num_beams=3, force_words_ids=[[[19, 2], [22]]],
                           custom_generate="transformers-community/constrained-beam-search")
    new = either[0, 4:].tolist()
    assert _contains(new, [19, 2]) or 22 in new


def test_constraint_objects_track_progress() -> None:
    phrase = PhrasalConstraint([3, 4])
    assert phrase.advance() == 3 and phrase.update(3) == (True, False, False) and phrase.remaining() == 1
    assert phrase.update(4) == (True, True, False) and phrase.advance() is None
    either = DisjunctiveConstraint([[1, 2], [5]])
    assert sorted(either.advance()) == [1, 5]
    assert either.update(5) == (True, True, False) and either.remaining() == 0
    state = ConstraintListState([PhrasalConstraint([3, 4]), DisjunctiveConstraint([[1, 2], [5]])])
    state.reset([9, 3, 4, 7])
    assert not state.completed and state.get_bank() == 2
    state.add(5)
    assert state.completed


def test_bad_constraints_are_clear_errors(tiny: Any) -> None:
    with pytest.raises(ConfigurationError, match="non-empty list of token ids"):
        PhrasalConstraint([])
    with pytest.raises(ConfigurationError, match="prefix"):
        DisjunctiveConstraint([[1, 2], [1]])
    with pytest.raises(ConfigurationError, match="does not sample"):
        GenerationConfig(force_words_ids=[[3]], do_sample=True, num_beams=2)
    with pytest.raises(ConfigurationError, match="num_beams > 1"):
        tiny.generate(PROMPT, max_new_tokens=3, force_words_ids=[[3]], trust_remote_code=True)
    with pytest.raises(ConfigurationError, match="force_words_ids must be"):
        tiny.generate(PROMPT, max_new_tokens=3, num_beams=2, force_words_ids=[], trust_remote_code=True)
    with pytest.raises(TrustRemoteCodeError, match="Constrained Beam Search requires `trust_remote_code=True`"):
        tiny.generate(PROMPT, max_new_tokens=3, num_beams=2, force_words_ids=[[3]])
