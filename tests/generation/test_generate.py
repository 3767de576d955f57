"""generate() on the tiny LM: every setting changes the output (so none is silently ignored), the cache and
batching invariants, bad input, streamers, stop strings, custom processors and criteria."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
import torch
from _tiny_lm import TINY, modelyard_classes
from common.tolerance import assert_close_kernels

from modelyard import PreTrainedTokenizerFast
from modelyard.errors import ConfigurationError, UnexpectedArgumentError
from modelyard.generation import (
    DynamicCache,
    LogitsProcessor,
    LogitsProcessorList,
    StaticCache,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
    TextStreamer,
)

PROMPT = torch.tensor([[1, 5, 7, 9]])
BATCH = [[1, 5, 7, 9], [1, 12, 3], [1, 4, 6, 8, 10, 14]]
WORDS = ["<pad>", "<s>", "</s>", "a", "b", "c", "d", "e", "f", "g", "h", "st", "op", "s", "to", "pped", "la",
         "topper", "x", "y", "z", "<e>", "w", "q"]


@pytest.fixture(scope="module")
def model() -> Any:
    classes = modelyard_classes()
    torch.manual_seed(20261207)
    return classes.TinyForCausalLM(classes.TinyConfig(**TINY)).eval()


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<pad>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", bos_token="<s>", eos_token="</s>")


def left_padded(prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, prompts))
    ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def run(model: Any, seed: int | None = 0, prompts: list[list[int]] | None = None, **settings: Any) -> Any:
    ids, mask = left_padded(prompts or BATCH)
    if seed is not None:
        torch.manual_seed(seed)
    return model.generate(ids, attention_mask=mask, return_dict_in_generate=True, output_scores=True, **settings)


def same_result(a: Any, b: Any) -> bool:
    if a.sequences.shape != b.sequences.shape or not torch.equal(a.sequences, b.sequences):
        return False
    if len(a.scores) != len(b.scores):
        return False
    if not all(torch.equal(x, y) for x, y in zip(a.scores, b.scores, strict=True)):
        return False
    sa, sb = a.get("sequences_scores"), b.get("sequences_scores")
    return sa is None and sb is None or (sa is not None and sb is not None and torch.equal(sa, sb))


# -- each setting changes the result -----------------------------------------------------------------------------
GREEDY = {"max_new_tokens": 8, "eos_token_id": None}
BEAM = {"max_new_tokens": 8, "num_beams": 3, "eos_token_id": [11, 17]}
SAMPLE = {"max_new_tokens": 6, "do_sample": True, "top_k": 0, "eos_token_id": None}
SETTINGS = [
    ("max_new_tokens", GREEDY, {"max_new_tokens": 5}),
    ("max_length", GREEDY, {"max_new_tokens": None, "max_length": 9}),
    ("eos_token_id", GREEDY, {"eos_token_id": 11}),
    ("eos_token_id_several", {**GREEDY, "eos_token_id": 11}, {"eos_token_id": [11, 19]}),
    ("pad_token_id", {**GREEDY, "eos_token_id": 11}, {"pad_token_id": 23}),
    ("min_new_tokens", {**GREEDY, "eos_token_id": 11}, {"min_new_tokens": 4}),
    ("min_length", {**GREEDY, "eos_token_id": 11}, {"min_length": 10}),
    ("repetition_penalty", GREEDY, {"repetition_penalty": 1.6}),
    ("no_repeat_ngram_size", GREEDY, {"no_repeat_ngram_size": 2}),
    ("bad_words_ids", GREEDY, {"bad_words_ids": [[11]]}),
    ("sequence_bias", GREEDY, {"sequence_bias": {(11,): -10.0}}),
    ("suppress_tokens", GREEDY, {"suppress_tokens": [11]}),
    ("num_beams", GREEDY, {"num_beams": 3}),
    ("length_penalty", BEAM, {"length_penalty": 0.2}),
    ("early_stopping", BEAM, {"early_stopping": "never", "length_penalty": 2.0}),
    ("num_return_sequences_beam", BEAM, {"num_return_sequences": 2}),
    ("num_return_sequences_sample", SAMPLE, {"num_return_sequences": 2}),
    ("do_sample", GREEDY, {"do_sample": True, "top_k": 0}),
    ("temperature", SAMPLE, {"temperature": 0.5}),
    ("top_k", SAMPLE, {"top_k": 3}),
    ("top_p", SAMPLE, {"top_p": 0.6}),
    ("min_p", SAMPLE, {"min_p": 0.3}),
    ("typical_p", SAMPLE, {"typical_p": 0.5}),
    ("epsilon_cutoff", SAMPLE, {"epsilon_cutoff": 0.05}),
    ("eta_cutoff", SAMPLE, {"eta_cutoff": 0.05}),
    ("renormalize_logits", GREEDY, {"renormalize_logits": True}),
    ("forced_eos_token_id", GREEDY, {"forced_eos_token_id": 23}),
]


@pytest.mark.parametrize(("name", "base", "change"), SETTINGS, ids=[s[0] for s in SETTINGS])
def test_each_setting_changes_the_result(model: Any, name: str, base: dict[str, Any], change: dict[str, Any]) -> None:
    assert not same_result(run(model, **base), run(model, **{**base, **change})), name


def test_pad_token_id_fills_finished_rows(model: Any) -> None:
    out = run(model, **GREEDY | {"eos_token_id": 11, "pad_token_id": 23}).sequences
    for row in out.tolist():
        generated = row[-8:]
        if 11 in generated:
            assert set(generated[generated.index(11) + 1:]) <= {23}
    assert (out == 23).any()


def test_min_new_tokens_holds_eos_back(model: Any) -> None:
    out = run(model, **GREEDY | {"eos_token_id": 11, "min_new_tokens": 4}).sequences[:, -8:]
    assert not (out[:, :4] == 11).any()


def test_output_flags(model: Any) -> None:
    plain = model.generate(PROMPT, max_new_tokens=3)
    assert isinstance(plain, torch.Tensor) and plain.shape == (1, 7)
    out = model.generate(PROMPT, max_new_tokens=3, return_dict_in_generate=True, output_scores=True,
                         output_logits=True)
    assert torch.equal(out.sequences, plain) and len(out.scores) == len(out.logits) == 3
    assert out.scores[0].shape == (1, 24) and isinstance(out.past_key_values, DynamicCache)
    bare = model.generate(PROMPT, max_new_tokens=3, return_dict_in_generate=True)
    assert bare.scores is None and bare.logits is None
    # repetition penalty: processed scores differ from the raw logits, which are the model's
    processed = model.generate(PROMPT, max_new_tokens=2, repetition_penalty=2.0, return_dict_in_generate=True,
                               output_scores=True, output_logits=True)
    assert not torch.equal(processed.scores[0], processed.logits[0])
    direct = model(PROMPT).logits[:, -1]
    assert_close_kernels(processed.logits[0], direct, depth=4, width=16)


def test_beam_outputs(model: Any) -> None:
    out = run(model, seed=None, **BEAM | {"num_return_sequences": 2})
    assert out.sequences.shape[0] == 6 and out.sequences_scores.shape == (6,)
    assert out.beam_indices.shape[0] == 6
    # the returned beams come best first
    scores = out.sequences_scores.view(3, 2)
    assert bool((scores[:, 0] >= scores[:, 1]).all())


# -- invariants ----------------------------------------------------------------------------------------------
def test_cache_and_no_cache_agree(model: Any) -> None:
    cached = run(model, seed=None, **GREEDY, output_logits=True)
    uncached = run(model, seed=None, **GREEDY, output_logits=True, use_cache=False)
    assert torch.equal(cached.sequences, uncached.sequences) and uncached.past_key_values is None
    for a, b in zip(cached.logits, uncached.logits, strict=True):
        assert_close_kernels(a, b, depth=4, width=16)


@pytest.mark.parametrize("settings", [GREEDY, BEAM, {**GREEDY, "repetition_penalty": 1.5, "no_repeat_ngram_size": 3}],
                         ids=["greedy", "beam", "penalties"])
def test_left_padded_batch_equals_each_prompt_alone(model: Any, settings: dict[str, Any]) -> None:
    batch = run(model, seed=None, **settings).sequences
    per_row = batch.shape[0] // len(BATCH)
    for index, prompt in enumerate(BATCH):
        alone = run(model, seed=None, prompts=[prompt], **settings).sequences
        rows = batch[index * per_row:(index + 1) * per_row]
        for got, want in zip(rows.tolist(), alone.tolist(), strict=True):
            unpadded = got[got.index(1):]  # prompts start with bos=1
            # a row that ends before the longest is filled with the pad token (beam search, like the reference,
            # fills with the first end token when pad_token_id is 0)
            assert unpadded[:len(want)] == want and set(unpadded[len(want):]) <= {0, 11}


def test_static_cache_equals_dynamic(model: Any) -> None:
    dynamic = run(model, seed=None, **GREEDY, output_logits=True)
    static = run(model, seed=None, **GREEDY, output_logits=True, cache_implementation="static")
    assert isinstance(static.past_key_values, StaticCache)
    assert torch.equal(dynamic.sequences, static.sequences)
    for a, b in zip(dynamic.logits, static.logits, strict=True):
        assert_close_kernels(a, b, depth=4, width=16)


@pytest.mark.slow
def test_static_cache_under_torch_compile_equals_eager(model: Any) -> None:
    eager = model.generate(PROMPT, max_new_tokens=6, eos_token_id=None, cache_implementation="static")
    compiled = modelyard_classes().TinyForCausalLM(model.config).eval()
    compiled.load_state_dict(model.state_dict())
    compiled.forward = torch.compile(compiled.forward, dynamic=False, fullgraph=False)
    out = compiled.generate(PROMPT, max_new_tokens=6, eos_token_id=None, cache_implementation="static")
    assert torch.equal(out, eager)


def test_continuing_from_a_cache_equals_one_call(model: Any) -> None:
    whole = model.generate(PROMPT, max_new_tokens=8, eos_token_id=None)
    first = model.generate(PROMPT, max_new_tokens=4, eos_token_id=None, return_dict_in_generate=True)
    legacy = first.past_key_values.to_legacy_cache()
    # the cache holds every token but the last one generated; continue from the sequences with it
    rest = model.generate(first.sequences, past_key_values=DynamicCache.from_legacy_cache(legacy), max_new_tokens=4,
                          eos_token_id=None)
    assert torch.equal(rest, whole)


def test_inputs_embeds_generate_the_new_tokens(model: Any) -> None:
    from_ids = model.generate(PROMPT, max_new_tokens=5, eos_token_id=None)
    from_embeds = model.generate(inputs_embeds=model.wte(PROMPT), max_new_tokens=5, eos_token_id=None)
    assert torch.equal(from_embeds, from_ids[:, PROMPT.shape[1]:])


def test_prepare_inputs_slices_by_cache_position_and_counts_positions_without_padding(model: Any) -> None:
    ids, mask = left_padded([[1, 5, 7], [1, 2, 3, 4]])
    cache = DynamicCache.from_legacy_cache(((torch.zeros(2, 2, 4, 8), torch.zeros(2, 2, 4, 8)),))
    full = torch.cat([ids, torch.tensor([[9], [9]])], dim=1)
    full_mask = torch.cat([mask, torch.ones(2, 1, dtype=torch.long)], dim=1)
    inputs = model.prepare_inputs_for_generation(full, past_key_values=cache, attention_mask=full_mask,
                                                 cache_position=torch.tensor([4]), use_cache=True)
    assert inputs["input_ids"].tolist() == [[9], [9]]
    assert inputs["position_ids"].tolist() == [[3], [4]]
    assert inputs["use_cache"] is True and inputs["past_key_values"] is cache
    prefill = model.prepare_inputs_for_generation(ids, attention_mask=mask, cache_position=torch.arange(4))
    assert prefill["position_ids"].tolist() == [[1, 0, 1, 2], [0, 1, 2, 3]]


# -- bad input -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"max_new_tokens": 0}, ConfigurationError, "max_new_tokens.*positive"),
    ({"top_p": 1.5, "do_sample": True}, ConfigurationError, "top_p"),
    ({"num_beams": 0}, ConfigurationError, "num_beams"),
    ({"temperature": 0.0, "do_sample": True}, ConfigurationError, "do_sample=False"),
    ({"num_beams": 2, "num_return_sequences": 3}, ConfigurationError, "at most num_beams"),
    ({"num_return_sequences": 2}, ConfigurationError, "do_sample=True"),
    ({"max_new_token": 3}, UnexpectedArgumentError, "did you mean 'max_new_tokens'"),
    ({"max_length": 3}, ConfigurationError, "leaves no room"),
    ({"stop_strings": "x"}, ConfigurationError, "tokenizer"),
    ({"bad_words_ids": [5]}, ConfigurationError, "bad_words_ids"),
    ({"cache_implementation": "paged"}, ConfigurationError, "cache_implementation"),
    ({"num_beam_groups": 3, "num_beams": 4}, ConfigurationError, "multiple of num_beam_groups"),
    ({"dola_layers": "low"}, ConfigurationError, "dola_layers"),
    ({"generation_config": {"max_new_tokens": 3}}, ConfigurationError, "GenerationConfig"),
])
def test_bad_settings_are_clear_errors(model: Any, kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        model.generate(PROMPT, **kwargs)


def test_bad_inputs_are_clear_errors(model: Any) -> None:
    with pytest.raises(ConfigurationError, match="empty batch"):
        model.generate(torch.zeros((0, 4), dtype=torch.long), max_new_tokens=2)
    with pytest.raises(ConfigurationError, match="batch dimension"):
        model.generate(torch.tensor([1, 2, 3]), max_new_tokens=2)
    with pytest.raises(ConfigurationError, match="return_tensors='pt'"):
        model.generate([[1, 2, 3]], max_new_tokens=2)
    with pytest.raises(ConfigurationError, match="cannot tell padding"):
        model.generate(torch.tensor([[1, 2, 3], [1, 4, 5]]), max_new_tokens=2, pad_token_id=None)
    with pytest.raises(ConfigurationError, match="streamer"):
        model.generate(PROMPT, max_new_tokens=2, num_beams=2, streamer=TextStreamer(None))


def test_batched_input_without_mask_infers_it_from_the_pad_token(model: Any) -> None:
    ids, mask = left_padded(BATCH)
    assert torch.equal(model.generate(ids, max_new_tokens=4), model.generate(ids, attention_mask=mask, max_new_tokens=4))


def test_sampling_flags_without_do_sample_warn(model: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="modelyard.generation"):
        greedy = model.generate(PROMPT, max_new_tokens=3, temperature=0.5, top_p=0.9)
    assert "temperature" in caplog.text and "top_p" in caplog.text and "do_sample" in caplog.text
    assert torch.equal(greedy, model.generate(PROMPT, max_new_tokens=3))


def test_right_padding_warns(model: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="modelyard.generation"):
        model.generate(torch.tensor([[1, 5, 0], [1, 5, 7]]), attention_mask=torch.tensor([[1, 1, 0], [1, 1, 1]]),
                       max_new_tokens=1)
    assert "right-padding" in caplog.text


def test_the_models_generation_config_is_not_changed_by_a_call(model: Any) -> None:
    before = model.generation_config.to_dict()
    model.generate(PROMPT, max_new_tokens=2, repetition_penalty=1.3)
    assert model.generation_config.to_dict() == before


# -- stop strings, streamers, custom processors and criteria -----------------------------------------------------
def test_stop_strings_stop_when_the_text_reaches_the_last_token(model: Any, tokenizer: Any) -> None:
    full = model.generate(PROMPT, max_new_tokens=8, eos_token_id=None)
    new = full[0, 4:].tolist()
    assert [WORDS[t] for t in new[:2]] == ["h", "st"]  # what this model writes first
    # "hs" ends inside the token "st" (which runs past it): generation stops there
    out = model.generate(PROMPT, max_new_tokens=8, eos_token_id=None, stop_strings=["zz", "hs"], tokenizer=tokenizer)
    assert out[0, 4:].tolist() == new[:2]
    # a stop string the text never holds changes nothing
    assert torch.equal(model.generate(PROMPT, max_new_tokens=8, eos_token_id=None, stop_strings="qqq",
                                      tokenizer=tokenizer), full)


def test_text_streamer_writes_the_new_text(model: Any, tokenizer: Any, capsys: pytest.CaptureFixture[str]) -> None:
    out = model.generate(PROMPT, max_new_tokens=6, eos_token_id=None, streamer=TextStreamer(tokenizer, skip_prompt=True))
    written = capsys.readouterr().out
    assert written == tokenizer.decode(out[0, 4:]) + "\n"


def test_text_iterator_streamer_yields_while_generating(model: Any, tokenizer: Any) -> None:
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, timeout=30)
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(
        out=model.generate(PROMPT, max_new_tokens=6, eos_token_id=None, streamer=streamer)))
    thread.start()
    pieces = list(streamer)
    thread.join()
    assert "".join(pieces) == tokenizer.decode(result["out"][0, 4:])


def test_custom_logits_processor_and_stopping_criteria(model: Any) -> None:
    class OnlyToken(LogitsProcessor):
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            forced = torch.full_like(scores, -float("inf"))
            forced[:, 13] = 0
            return forced

    class AfterThree(StoppingCriteria):
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
            return torch.full((input_ids.shape[0],), input_ids.shape[1] >= 7, dtype=torch.bool)

    out = model.generate(PROMPT, max_new_tokens=8, eos_token_id=None, logits_processor=LogitsProcessorList([OnlyToken()]),
                         stopping_criteria=StoppingCriteriaList([AfterThree()]))
    assert out[0, 4:].tolist() == [13, 13, 13]


def test_processor_list_passes_extra_keywords_to_processors_that_take_them() -> None:
    class Shift(LogitsProcessor):
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, shift: float) -> torch.Tensor:
            return scores + shift

    scores = torch.zeros(1, 4)
    assert torch.equal(LogitsProcessorList([Shift()])(torch.zeros(1, 1, dtype=torch.long), scores, shift=2.0),
                       scores + 2)
    with pytest.raises(ConfigurationError, match="shift"):
        LogitsProcessorList([Shift()])(torch.zeros(1, 1, dtype=torch.long), scores)


def test_keywords_the_model_does_not_take_are_refused() -> None:
    class Strict(modelyard_classes().TinyForCausalLM):  # a forward without **kwargs
        def forward(self, input_ids: Any = None, attention_mask: Any = None, position_ids: Any = None,
                    past_key_values: Any = None, inputs_embeds: Any = None, use_cache: Any = None,
                    cache_position: Any = None, return_dict: Any = None) -> Any:
            return super().forward(input_ids, attention_mask, position_ids, past_key_values, inputs_embeds,
                                   use_cache, cache_position)

    strict = Strict(Strict.config_class(**TINY)).eval()
    with pytest.raises(UnexpectedArgumentError, match="frobnicate"):
        strict.generate(PROMPT, max_new_tokens=2, frobnicate=3)
    assert strict.generate(PROMPT, max_new_tokens=2).shape == (1, 6)


def test_a_given_generation_config_keeps_the_models_defaults(model: Any) -> None:
    from modelyard import GenerationConfig

    given = GenerationConfig(max_new_tokens=3)  # eos_token_id unset: the model's (21) applies, as in the reference
    assert model.generation_config.eos_token_id == 21
    out = model.generate(PROMPT, generation_config=given, return_dict_in_generate=True, output_scores=True,
                         min_new_tokens=3)
    assert all(torch.isinf(step[0, 21]) for step in out.scores)  # min_new_tokens bans the model's eos
    bare = model.generate(PROMPT, generation_config=given, use_model_defaults=False, return_dict_in_generate=True,
                          output_scores=True, min_new_tokens=3)
    assert all(torch.isinf(step[0, 21]) for step in bare.scores)  # special tokens are taken either way
    assert given.eos_token_id is None  # the caller's object is left as it was
