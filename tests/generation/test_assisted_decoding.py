"""Assisted decoding (an assistant model, prompt lookup) against the reference (fixtures of
tools/reference/gen_decoding.py): the same tokens (greedy: the model's plain greedy output; sampling: the same
draws for a seed), the same processed scores, the assistant's draft-length schedule, and the reference's
refusals; plus the invariants the fixtures do not cover."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
import torch
from _tiny_lm import modelyard_classes
from common.parity import load_json_fixture, parity_dir
from common.tolerance import assert_close_kernels

import modelyard
from modelyard.errors import ConfigurationError
from modelyard.generation import DynamicCache, GenerationConfig, StaticCache, TextStreamer
from modelyard.generation.assisted import PromptLookupCandidateGenerator

ASSISTED = load_json_fixture("decoding/assisted.json")
ERRORS = load_json_fixture("decoding/errors.json")


def _load(name: str) -> Any:
    if name in ("tiny", "tiny_assistant"):
        folder = parity_dir() / ("generation/tiny_lm" if name == "tiny" else "decoding/tiny_assistant")
        return modelyard_classes().TinyForCausalLM.from_pretrained(folder).eval()
    if name == "gpt2":
        return modelyard.GPT2LMHeadModel.from_pretrained(parity_dir() / "models" / "gpt2-lm-head-model").eval()
    return modelyard.LlamaForCausalLM.from_pretrained(parity_dir() / "models" / "llama-for-causal-lm").eval()


def _tensor(rows: list[list[Any]]) -> torch.Tensor:
    return torch.tensor([[-float("inf") if v == "-inf" else float("inf") if v == "inf" else v for v in row]
                         for row in rows])


def _same_scores(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert torch.equal(torch.isinf(actual), torch.isinf(expected))
    finite = torch.isfinite(expected)
    assert_close_kernels(actual[finite], expected[finite], depth=4, width=24)


@pytest.mark.parametrize("case", ASSISTED["cases"], ids=lambda c: c["name"])
def test_assisted_decoding_parity(case: dict[str, Any]) -> None:
    model = _load(case["model"])
    assistant = _load(case["assistant"]) if case["assistant"] else None
    if assistant is not None:
        for key, value in case["assistant_config"].items():
            setattr(assistant.generation_config, key, value)
    ids = torch.tensor(case["prompts"])
    if "seed" in case:
        torch.manual_seed(case["seed"])
    result = model.generate(ids, attention_mask=torch.ones_like(ids), assistant_model=assistant, **case["settings"])
    sequences = result if isinstance(result, torch.Tensor) else result.sequences
    assert sequences.tolist() == case["sequences"]
    if assistant is not None:
        assert assistant.generation_config.num_assistant_tokens == case["num_assistant_tokens_after"]
    if "greedy_sequences" in case:  # the reference's contract, on both sides: the model's own greedy tokens
        # (prompt lookup may accept a last draft past max_length, in the reference too: compare what both hold)
        width = len(case["greedy_sequences"][0])
        assert [row[:width] for row in case["sequences"]] == case["greedy_sequences"]
        settings = {k: v for k, v in case["settings"].items()
                    if k not in ("prompt_lookup_num_tokens", "max_matching_ngram_size")}
        plain = model.generate(ids, attention_mask=torch.ones_like(ids), **settings)
        plain = plain if isinstance(plain, torch.Tensor) else plain.sequences
        assert plain.tolist() == case["greedy_sequences"]
    if "scores" in case:
        assert len(result.scores) == len(case["scores"]) == len(result.logits)
        for actual, expected in zip(result.scores, case["scores"], strict=True):
            _same_scores(actual, _tensor(expected))
        for actual, expected in zip(result.logits, case["logits"], strict=True):
            _same_scores(actual, _tensor(expected))


@pytest.mark.parametrize("case", ERRORS["cases"], ids=lambda c: c["name"])
def test_refusals_match_the_reference(case: dict[str, Any]) -> None:
    model = _load("tiny")
    assistant = _load(case["assistant"]) if case["assistant"] else None
    ids = torch.tensor(case["prompts"])
    assert case["error"] == "ValueError"
    with pytest.raises(ValueError) as caught:
        model.generate(ids, attention_mask=torch.ones_like(ids), assistant_model=assistant, **case["settings"])
    if case["name"].endswith("_untrusted"):  # the moved modes: the reference's message, word for word
        assert case["message"] in str(caught.value)


@pytest.fixture(scope="module")
def tiny() -> Any:
    return _load("tiny")


class CountingForward:
    """Counts the model's forward calls (assisted decoding needs fewer than one per token when drafts hit)."""

    def __init__(self, model: Any) -> None:
        self.calls = 0
        self.handle = model.register_forward_hook(self._hook)

    def _hook(self, *args: Any) -> None:
        self.calls += 1


def test_a_perfect_assistant_needs_few_forwards_and_changes_nothing(tiny: Any) -> None:
    ids = torch.tensor([[1, 5, 7, 9]])
    plain = tiny.generate(ids, max_new_tokens=12)
    assistant = _load("tiny")
    assistant.generation_config.num_assistant_tokens = 6
    assistant.generation_config.assistant_confidence_threshold = 0.0
    counter = CountingForward(tiny)
    assisted = tiny.generate(ids, max_new_tokens=12, assistant_model=assistant)
    counter.handle.remove()
    assert assisted.tolist() == plain.tolist()
    assert counter.calls <= 3  # 12 tokens in rounds of 6 drafted + 1


def test_prompt_lookup_setting_is_used(tiny: Any) -> None:
    ids = torch.tensor([[1, 5, 7, 9, 12, 5, 7, 9, 12, 5, 7]])
    counter = CountingForward(tiny)
    plain = tiny.generate(ids, max_new_tokens=10)
    plain_calls, counter.calls = counter.calls, 0
    looked_up = tiny.generate(ids, max_new_tokens=10, prompt_lookup_num_tokens=4)
    counter.handle.remove()
    assert looked_up.tolist() == plain.tolist()
    assert counter.calls != plain_calls  # drafts were checked, several tokens per forward or fewer hits


def test_prompt_lookup_drafts() -> None:
    generator = PromptLookupCandidateGenerator(eos_token_id=torch.tensor([9]), num_output_tokens=3,
                                               max_matching_ngram_size=2, max_length=30, logits_processor=None,
                                               vocab_size=24)
    ids = torch.tensor([[1, 5, 7, 2, 3, 4, 5, 7]])
    candidates, scores = generator.get_candidates(ids)
    assert scores is None
    assert candidates[0, ids.shape[1]:].tolist() == [2, 3, 4]  # what followed the earlier "5 7"
    ids = torch.tensor([[1, 5, 7, 2, 9, 4, 5, 7]])
    assert generator.get_candidates(ids)[0][0, ids.shape[1]:].tolist() == [2]  # cut before the end token
    assert generator.get_candidates(torch.tensor([[1, 2, 3, 4]]))[0].shape[1] == 4  # no match: no draft


def test_heuristic_schedule_persists_only_when_asked(tiny: Any) -> None:
    ids = torch.tensor([[1, 5, 7, 9]])
    for schedule, persists in (("heuristic", True), ("heuristic_transient", False), ("constant", False)):
        assistant = _load("tiny")  # a perfect drafter: every round accepted, +2 each time
        assistant.generation_config.num_assistant_tokens = 2
        assistant.generation_config.num_assistant_tokens_schedule = schedule
        tiny.generate(ids, max_new_tokens=9, assistant_model=assistant)
        after = assistant.generation_config.num_assistant_tokens
        assert (after > 2) is persists, (schedule, after)


def test_generate_warns_that_num_assistant_tokens_belongs_to_the_assistant(
        tiny: Any, caplog: pytest.LogCaptureFixture) -> None:
    assistant = _load("tiny_assistant")
    with caplog.at_level(logging.WARNING):
        tiny.generate(torch.tensor([[1, 5, 7, 9]]), max_new_tokens=3, assistant_model=assistant,
                      num_assistant_tokens=5)
    assert "assistant_model.generation_config.num_assistant_tokens" in caplog.text


def test_assisted_streams_every_token(tiny: Any) -> None:
    seen: list[list[int]] = []

    class Collect(TextStreamer):
        def __init__(self) -> None:
            pass

        def put(self, value: torch.Tensor) -> None:
            seen.append(value.reshape(-1).tolist())

        def end(self) -> None:
            seen.append([])

    ids = torch.tensor([[1, 5, 7, 9]])
    out = tiny.generate(ids, max_new_tokens=8, assistant_model=_load("tiny_assistant"), streamer=Collect())
    assert seen[0] == [1, 5, 7, 9] and seen[-1] == []
    assert sum(seen[1:-1], []) == out[0, 4:].tolist()


def test_assisted_with_a_passed_cache_and_hidden_states(tiny: Any) -> None:
    ids = torch.tensor([[1, 5, 7, 9]])
    plain = tiny.generate(ids, max_new_tokens=6)
    out = tiny.generate(ids, max_new_tokens=6, assistant_model=_load("tiny_assistant"),
                        past_key_values=DynamicCache(), return_dict_in_generate=True, output_scores=True)
    assert out.sequences.tolist() == plain.tolist()
    assert len(out.scores) == 6
    assert out.past_key_values.get_seq_length() == out.sequences.shape[1] - 1


def test_assisted_refuses_bad_settings(tiny: Any) -> None:
    ids = torch.tensor([[1, 5, 7, 9]])
    assistant = _load("tiny_assistant")
    with pytest.raises(ConfigurationError, match="use_cache=True"):
        tiny.generate(ids, max_new_tokens=3, assistant_model=assistant, use_cache=False)
    with pytest.raises(ConfigurationError, match="StaticCache"):
        tiny.generate(ids, max_new_tokens=3, assistant_model=assistant,
                      past_key_values=StaticCache(config=tiny.config, max_cache_len=16))
    with pytest.raises(ConfigurationError, match=re.escape("another vocabulary (48 tokens, the model 24)")):
        tiny.generate(ids, max_new_tokens=3, assistant_model=_load("llama"))
    with pytest.raises(ConfigurationError, match="prompt_lookup_num_tokens"):
        GenerationConfig(prompt_lookup_num_tokens=0)
    with pytest.raises(ConfigurationError, match="num_assistant_tokens_schedule"):
        GenerationConfig(num_assistant_tokens_schedule="adaptive")
