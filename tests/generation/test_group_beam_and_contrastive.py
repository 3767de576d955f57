"""Group (diverse) beam search, contrastive search and constrained beam search against the reference's implementations (fixture of
tools/reference/gen_decoding_legacy.py: the in-library code the reference now serves from its
transformers-community Hub repositories), the reference's opt-in rule, the settings' errors, and settings that
must change the output."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from _tiny_lm import modelyard_classes
from common.parity import load_json_fixture, parity_dir
from common.tolerance import assert_close_kernels

import modelyard
from modelyard.errors import ConfigurationError, TrustRemoteCodeError
from modelyard.generation import (
    DisjunctiveConstraint,
    DynamicCache,
    GenerationConfig,
    HammingDiversityLogitsProcessor,
    PhrasalConstraint,
)

LEGACY = load_json_fixture("decoding/legacy_modes.json")


def _load(name: str) -> Any:
    if name == "tiny":
        return modelyard_classes().TinyForCausalLM.from_pretrained(parity_dir() / "generation" / "tiny_lm").eval()
    if name == "gpt2":
        return modelyard.GPT2LMHeadModel.from_pretrained(parity_dir() / "models" / "gpt2-lm-head-model").eval()
    return modelyard.LlamaForCausalLM.from_pretrained(parity_dir() / "models" / "llama-for-causal-lm").eval()


# the family checkpoints say use_cache=False in their config (as in the reference, generate() takes it over)
CACHED = {"use_cache": True}


def _tensor(rows: list[list[Any]]) -> torch.Tensor:
    return torch.tensor([[-float("inf") if v == "-inf" else float("inf") if v == "inf" else v for v in row]
                         for row in rows])


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return {name: _load(name) for name in ("tiny", "gpt2", "llama")}


@pytest.mark.parametrize("case", LEGACY["cases"], ids=lambda c: c["name"])
def test_parity_with_the_reference_implementation(models: dict[str, Any], case: dict[str, Any]) -> None:
    model = models[case["model"]]
    settings = dict(case["settings"])
    if "constraints" in case:
        settings["constraints"] = [PhrasalConstraint(spec["phrasal"]) if "phrasal" in spec
                                   else DisjunctiveConstraint(spec["disjunctive"]) for spec in case["constraints"]]
    result = model.generate(torch.tensor(case["input_ids"]), attention_mask=torch.tensor(case["attention_mask"]),
                            trust_remote_code=True, **settings)
    sequences = result if isinstance(result, torch.Tensor) else result.sequences
    assert sequences.tolist() == case["sequences"]
    if "scores" in case:
        assert len(result.scores) == len(case["scores"])
        for actual, expected in zip(result.scores, case["scores"], strict=True):
            expected_t = _tensor(expected)
            assert torch.equal(torch.isinf(actual), torch.isinf(expected_t))
            finite = torch.isfinite(expected_t)
            assert_close_kernels(actual[finite], expected_t[finite], depth=6, width=48)
    if "sequences_scores" in case:
        assert_close_kernels(result.sequences_scores, torch.tensor(case["sequences_scores"]), depth=12, width=48)
    if "beam_indices" in case:
        assert result.beam_indices.tolist() == case["beam_indices"]


def test_custom_generate_names_the_same_built_in_mode(models: dict[str, Any]) -> None:
    ids = torch.tensor([[5, 9, 23, 7, 41]])
    llama = models["llama"]
    trusted = llama.generate(ids, max_new_tokens=6, penalty_alpha=0.6, top_k=4, trust_remote_code=True,
                             **CACHED)
    named = llama.generate(ids, max_new_tokens=6, penalty_alpha=0.6, top_k=4, **CACHED,
                           custom_generate="transformers-community/contrastive-search")
    assert trusted.tolist() == named.tolist()
    with pytest.raises(ConfigurationError, match="runs group beam search"):
        llama.generate(ids, max_new_tokens=3, penalty_alpha=0.6, top_k=4,
                       custom_generate="transformers-community/group-beam-search")
    with pytest.raises(ConfigurationError, match="does not load generation code"):
        llama.generate(ids, max_new_tokens=3, custom_generate="someone/my-decoder")


def test_the_moved_modes_ask_for_the_reference_opt_in(models: dict[str, Any]) -> None:
    ids = torch.tensor([[1, 5, 7, 9]])
    with pytest.raises(TrustRemoteCodeError, match="Group Beam Search requires `trust_remote_code=True`"):
        models["tiny"].generate(ids, max_new_tokens=3, num_beams=4, num_beam_groups=2, diversity_penalty=1.0)
    with pytest.raises(TrustRemoteCodeError, match="Contrastive Search requires `trust_remote_code=True`"):
        models["llama"].generate(ids, max_new_tokens=3, penalty_alpha=0.5, top_k=3)


def test_bad_settings_are_clear_errors(models: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="multiple of num_beam_groups"):
        GenerationConfig(num_beams=5, num_beam_groups=2)
    with pytest.raises(ConfigurationError, match="multiple of num_beam_groups"):
        GenerationConfig(num_beams=2, num_beam_groups=3)
    with pytest.raises(ConfigurationError, match="does not sample"):
        GenerationConfig(num_beams=4, num_beam_groups=2, do_sample=True)
    with pytest.raises(ConfigurationError, match="diversity_penalty"):
        GenerationConfig(diversity_penalty=-1.0)
    with pytest.raises(ConfigurationError, match="penalty_alpha"):
        GenerationConfig(penalty_alpha=1.5)
    ids = torch.tensor([[5, 9, 23, 7, 41]])
    with pytest.raises(ConfigurationError, match="top_k to 2 or more"):
        models["llama"].generate(ids, max_new_tokens=3, penalty_alpha=0.6, top_k=1, trust_remote_code=True)
    with pytest.raises(ConfigurationError, match="use_cache=True"):
        models["llama"].generate(ids, max_new_tokens=3, penalty_alpha=0.6, top_k=4, use_cache=False,
                                 trust_remote_code=True)
    with pytest.raises(ConfigurationError, match="diversity_penalty must be a float above 0"):
        HammingDiversityLogitsProcessor(0.0, num_beams=4, num_beam_groups=2)


def test_diversity_penalty_changes_the_groups(models: dict[str, Any]) -> None:
    ids = torch.tensor([[1, 5, 7, 9]])
    tiny = models["tiny"]
    settings = dict(max_new_tokens=6, num_beams=4, num_beam_groups=2, num_return_sequences=4, trust_remote_code=True)
    mild = tiny.generate(ids, diversity_penalty=1e-4, **settings)
    strong = tiny.generate(ids, diversity_penalty=5.0, **settings)
    assert mild.tolist() != strong.tolist()
    # a negligible penalty leaves both groups searching the same way: each finds the same best pair
    rows = sorted(map(tuple, mild.tolist()))
    assert rows[0] == rows[1] and rows[2] == rows[3]
    with pytest.raises(ConfigurationError, match="needs diversity_penalty > 0"):
        tiny.generate(ids, **settings)


def test_penalty_alpha_changes_the_output_and_zero_is_greedy(models: dict[str, Any]) -> None:
    llama = models["llama"]
    ids = torch.tensor([[5, 9, 23, 7, 41]])
    greedy = llama.generate(ids, max_new_tokens=10, **CACHED)
    outputs = {alpha: llama.generate(ids, max_new_tokens=10, penalty_alpha=alpha, top_k=6, trust_remote_code=True,
                                    **CACHED)
               for alpha in (0.9, 0.3)}
    assert outputs[0.9].tolist() != greedy.tolist() or outputs[0.3].tolist() != greedy.tolist()
    assert llama.generate(ids, max_new_tokens=10, penalty_alpha=0.0, top_k=6, **CACHED).tolist() == greedy.tolist()


def test_contrastive_batched_rows_equal_each_prompt_alone(models: dict[str, Any]) -> None:
    llama = models["llama"]
    batch = torch.tensor([[0, 0, 12, 33, 8], [17, 4, 46, 30, 21]])
    out = llama.generate(batch, attention_mask=(batch != 0).long(), max_new_tokens=6, penalty_alpha=0.6, top_k=4,
                         pad_token_id=0, trust_remote_code=True, **CACHED)
    for row, prompt in enumerate(([12, 33, 8], [17, 4, 46, 30, 21])):
        alone = llama.generate(torch.tensor([prompt]), max_new_tokens=6, penalty_alpha=0.6, top_k=4,
                               trust_remote_code=True, pad_token_id=0, **CACHED)
        assert out[row, -6:].tolist() == alone[0, -6:].tolist()


def test_contrastive_cache_holds_the_sequence(models: dict[str, Any]) -> None:
    llama = models["llama"]
    ids = torch.tensor([[5, 9, 23, 7, 41]])
    out = llama.generate(ids, max_new_tokens=5, penalty_alpha=0.6, top_k=4, trust_remote_code=True,
                         past_key_values=DynamicCache(), return_dict_in_generate=True, **CACHED)
    assert out.past_key_values.get_seq_length() == out.sequences.shape[1] - 1


def test_group_beam_search_batched_rows_equal_each_prompt_alone(models: dict[str, Any]) -> None:
    gpt2 = models["gpt2"]
    batch = torch.tensor([[0, 0, 12, 33, 8], [17, 4, 46, 30, 21]])
    settings = dict(max_new_tokens=5, num_beams=4, num_beam_groups=2, diversity_penalty=1.0, pad_token_id=0,
                    trust_remote_code=True, num_return_sequences=2)
    out = gpt2.generate(batch, attention_mask=(batch != 0).long(), **settings)
    for row, prompt in enumerate(([12, 33, 8], [17, 4, 46, 30, 21])):
        alone = gpt2.generate(torch.tensor([prompt]), **settings)
        assert out[2 * row : 2 * row + 2, -5:].tolist() == alone[:, -5:].tolist()
