"""Decoding-mode fixtures: assisted decoding (an assistant model, prompt lookup) and the reference's answers
for the modes it moved to Hub repositories.

Writes `<out>/decoding/`:

  tiny_assistant/     an assistant for the tiny LM of generation/tiny_lm: its weights plus noise, so it agrees
                      with the model on some tokens only (config.json, model.safetensors, generation_config.json)
  assisted.json       for each case: model, assistant (or prompt lookup), prompt, settings, the assistant's
                      generation-config overrides, the reference's sequences (and scores where asked), the
                      assistant's num_assistant_tokens after the call, and for greedy cases the model's plain
                      greedy sequences (the reference's contract: equal)
  errors.json         the reference's exception type and message for settings it refuses (assisted decoding with
                      a batch, several return sequences or another vocabulary; the moved modes without
                      trust_remote_code)

  legacy_modes.json   group beam, contrastive and constrained beam search: `gen_decoding_legacy.py`, run in a subprocess
                      with the last release that still held them in the library (LEGACY_SITE); where that
                      release is not installed the committed file is kept (copied), with a note

Runs after `generation` and `decoders` (it reads generation/tiny_lm and models/{gpt2-lm-head-model,
llama-for-causal-lm}).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _common import DEFAULT_OUT, REPO_ROOT, reference_tag, write_json

# transformers 4.55.4 installed apart (`make reference` puts it here) for gen_decoding_legacy.py
LEGACY_SITE = Path(os.environ.get("MODELYARD_LEGACY_TRANSFORMERS", REPO_ROOT / ".venv-ref" / "legacy-transformers"))

NOISE_SEED = 17
NOISE = 0.12

ONE = [[1, 5, 7, 9]]
REPEATING = [[1, 5, 7, 9, 12, 5, 7, 9, 12, 5, 7]]  # prompt lookup finds earlier n-grams here
FAMILY_ONE = [[5, 9, 23, 7, 41, 9, 23]]
# the family checkpoints say use_cache=False in their config (their forward fixtures hold tensors only); the
# reference's generate() takes that over, and assisted decoding needs the cache
CACHED = {"use_cache": True}

ASSISTED_CASES: list[dict[str, Any]] = [
    {"name": "assisted_greedy", "model": "tiny", "assistant": "tiny_assistant", "prompts": ONE,
     "settings": {"max_new_tokens": 16}},
    {"name": "assisted_greedy_short_drafts", "model": "tiny", "assistant": "tiny_assistant", "prompts": ONE,
     "settings": {"max_new_tokens": 14}, "assistant_config": {"num_assistant_tokens": 3}},
    {"name": "assisted_greedy_heuristic", "model": "tiny", "assistant": "tiny_assistant", "prompts": ONE,
     "settings": {"max_new_tokens": 16},
     "assistant_config": {"num_assistant_tokens": 3, "num_assistant_tokens_schedule": "heuristic"}},
    {"name": "assisted_greedy_heuristic_transient", "model": "tiny", "assistant": "tiny_assistant", "prompts": ONE,
     "settings": {"max_new_tokens": 16},
     "assistant_config": {"num_assistant_tokens": 3, "num_assistant_tokens_schedule": "heuristic_transient"}},
    {"name": "assisted_greedy_no_confidence_stop", "model": "tiny", "assistant": "tiny_assistant", "prompts": ONE,
     "settings": {"max_new_tokens": 12},
     "assistant_config": {"num_assistant_tokens": 5, "assistant_confidence_threshold": 0.0,
                          "num_assistant_tokens_schedule": "heuristic"}},
    {"name": "assisted_greedy_self", "model": "tiny", "assistant": "tiny", "prompts": ONE,
     "settings": {"max_new_tokens": 12},
     "assistant_config": {"num_assistant_tokens": 4, "num_assistant_tokens_schedule": "heuristic"}},
    {"name": "assisted_greedy_eos", "model": "tiny", "assistant": "tiny_assistant", "prompts": ONE,
     "settings": {"max_new_tokens": 16, "eos_token_id": [11, 17]}},
    {"name": "assisted_greedy_processors", "model": "tiny", "assistant": "tiny_assistant", "prompts": ONE,
     "settings": {"max_new_tokens": 12, "repetition_penalty": 1.4, "no_repeat_ngram_size": 2}},
    {"name": "assisted_greedy_scores", "model": "tiny", "assistant": "tiny_assistant", "prompts": ONE,
     "settings": {"max_new_tokens": 8, "return_dict_in_generate": True, "output_scores": True,
                  "output_logits": True}},
    {"name": "assisted_sample", "model": "tiny", "assistant": "tiny_assistant", "prompts": ONE, "seed": 11,
     "settings": {"max_new_tokens": 12, "do_sample": True, "top_k": 8, "temperature": 0.8}},
    {"name": "assisted_sample_self", "model": "tiny", "assistant": "tiny", "prompts": ONE, "seed": 12,
     "settings": {"max_new_tokens": 12, "do_sample": True, "top_k": 0}},
    {"name": "prompt_lookup_greedy", "model": "tiny", "assistant": None, "prompts": REPEATING,
     "settings": {"max_new_tokens": 12, "prompt_lookup_num_tokens": 3}},
    {"name": "prompt_lookup_unigram", "model": "tiny", "assistant": None, "prompts": REPEATING,
     "settings": {"max_new_tokens": 12, "prompt_lookup_num_tokens": 5, "max_matching_ngram_size": 1}},
    {"name": "prompt_lookup_bad_words", "model": "tiny", "assistant": None, "prompts": REPEATING,
     "settings": {"max_new_tokens": 10, "prompt_lookup_num_tokens": 4, "bad_words_ids": [[9], [12]]}},
    {"name": "prompt_lookup_sample", "model": "tiny", "assistant": None, "prompts": REPEATING, "seed": 13,
     "settings": {"max_new_tokens": 12, "prompt_lookup_num_tokens": 3, "do_sample": True, "top_k": 6}},
    {"name": "llama_assisted_by_gpt2", "model": "llama", "assistant": "gpt2", "prompts": FAMILY_ONE,
     "settings": {"max_new_tokens": 8, **CACHED}, "assistant_config": {"num_assistant_tokens": 4}},
    {"name": "gpt2_assisted_by_itself", "model": "gpt2", "assistant": "gpt2", "prompts": FAMILY_ONE,
     "settings": {"max_new_tokens": 8, **CACHED}, "assistant_config": {"num_assistant_tokens_schedule": "heuristic",
                                                              "num_assistant_tokens": 2}},
    {"name": "llama_prompt_lookup", "model": "llama", "assistant": None, "prompts": FAMILY_ONE,
     "settings": {"max_new_tokens": 10, "prompt_lookup_num_tokens": 2, **CACHED}},
]

# classifier-free guidance (4.57 runs it itself, as a logits processor that calls the model)
GUIDANCE_CASES: list[dict[str, Any]] = [
    {"name": "guidance_greedy", "model": "tiny", "prompts": ONE, "settings": {"max_new_tokens": 10,
                                                                              "guidance_scale": 1.5}},
    {"name": "guidance_negative_prompt", "model": "tiny", "prompts": ONE, "negative": [[1, 12, 3]],
     "settings": {"max_new_tokens": 10, "guidance_scale": 2.0}},
    {"name": "guidance_no_cache", "model": "tiny", "prompts": ONE, "negative": [[1, 12, 3]],
     "settings": {"max_new_tokens": 8, "guidance_scale": 2.0, "use_cache": False}},
    {"name": "guidance_sample", "model": "tiny", "prompts": ONE, "negative": [[1, 4]], "seed": 21,
     "settings": {"max_new_tokens": 10, "guidance_scale": 3.0, "do_sample": True, "top_k": 10,
                  "return_dict_in_generate": True, "output_scores": True}},
    {"name": "guidance_llama", "model": "llama", "prompts": FAMILY_ONE, "negative": [[5, 9]],
     "settings": {"max_new_tokens": 8, "guidance_scale": 1.8, **CACHED}},
]

ERROR_CASES: list[dict[str, Any]] = [
    {"name": "assisted_batch", "assistant": "tiny_assistant", "prompts": [[1, 5, 7, 9], [1, 4, 6, 8]],
     "settings": {"max_new_tokens": 4}},
    {"name": "assisted_return_sequences", "assistant": "tiny_assistant", "prompts": ONE,
     "settings": {"max_new_tokens": 4, "do_sample": True, "num_return_sequences": 2}},
    {"name": "assisted_other_vocabulary", "assistant": "llama", "prompts": ONE, "settings": {"max_new_tokens": 4}},
    {"name": "group_beam_search_untrusted", "assistant": None, "prompts": ONE,
     "settings": {"max_new_tokens": 4, "num_beams": 4, "num_beam_groups": 2, "diversity_penalty": 1.0}},
    {"name": "contrastive_search_untrusted", "assistant": None, "prompts": ONE,
     "settings": {"max_new_tokens": 4, "penalty_alpha": 0.6, "top_k": 4}},
    {"name": "constrained_beam_search_untrusted", "assistant": None, "prompts": ONE,
     "settings": {"max_new_tokens": 4, "num_beams": 2, "force_words_ids": [[5]]}},
]


def _tiny_lib() -> SimpleNamespace:
    import transformers
    from gen_generation import _tiny_module

    lib = SimpleNamespace(PretrainedConfig=transformers.PretrainedConfig, PreTrainedModel=transformers.PreTrainedModel,
                          GenerationMixin=transformers.GenerationMixin, DynamicCache=transformers.DynamicCache,
                          CausalLMOutputWithPast=transformers.modeling_outputs.CausalLMOutputWithPast)
    return _tiny_module().make_classes(lib)


def _loaders(out: Path) -> dict[str, Any]:
    import transformers

    tiny = _tiny_lib().TinyForCausalLM
    return {
        "tiny": lambda: tiny.from_pretrained(out / "generation" / "tiny_lm").eval(),
        "tiny_assistant": lambda: tiny.from_pretrained(out / "decoding" / "tiny_assistant").eval(),
        "gpt2": lambda: transformers.GPT2LMHeadModel.from_pretrained(
            out / "models" / "gpt2-lm-head-model", attn_implementation="eager").eval(),
        "llama": lambda: transformers.LlamaForCausalLM.from_pretrained(
            out / "models" / "llama-for-causal-lm", attn_implementation="eager").eval(),
    }


def make_assistant(out: Path) -> None:
    """The tiny LM's weights plus N(0, NOISE) noise from a fixed generator."""
    import torch

    model = _tiny_lib().TinyForCausalLM.from_pretrained(out / "generation" / "tiny_lm")
    generator = torch.Generator().manual_seed(NOISE_SEED)
    with torch.no_grad():
        for _, parameter in sorted(model.named_parameters()):
            parameter.add_(torch.randn(parameter.shape, generator=generator) * NOISE)
    folder = out / "decoding" / "tiny_assistant"
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder)


def _floats(tensor: Any) -> list[Any]:
    return [[v if math.isfinite(v) else ("-inf" if v < 0 else "inf") for v in row] for row in tensor.tolist()]


def _min_gap(scores: Any) -> float:
    import torch

    gaps = []
    for step in scores:
        finite = torch.where(torch.isfinite(step), step, torch.full_like(step, -1e30))
        top = torch.topk(finite, 2, dim=-1).values
        gaps.append(float((top[:, 0] - top[:, 1]).min()))
    return min(gaps)


def assisted_cases(out: Path) -> list[dict[str, Any]]:
    import torch

    loaders = _loaders(out)
    records = []
    for case in ASSISTED_CASES:
        model = loaders[case["model"]]()
        assistant = loaders[case["assistant"]]() if case["assistant"] else None
        if assistant is not None:
            for key, value in case.get("assistant_config", {}).items():
                setattr(assistant.generation_config, key, value)
        ids = torch.tensor(case["prompts"])
        settings = dict(case["settings"])
        if "seed" in case:
            torch.manual_seed(case["seed"])
        result = model.generate(ids, attention_mask=torch.ones_like(ids), assistant_model=assistant, **settings)
        sequences = result if isinstance(result, torch.Tensor) else result.sequences
        entry: dict[str, Any] = {k: case[k] for k in ("name", "model", "assistant", "prompts", "settings")}
        entry["assistant_config"] = case.get("assistant_config", {})
        entry["sequences"] = sequences.tolist()
        if "seed" in case:
            entry["seed"] = case["seed"]
        if assistant is not None:
            entry["num_assistant_tokens_after"] = assistant.generation_config.num_assistant_tokens
        if settings.get("output_scores"):
            entry["scores"] = [_floats(step) for step in result.scores]
            entry["logits"] = [_floats(step) for step in result.logits]
        if not settings.get("do_sample"):
            plain_settings = {k: v for k, v in settings.items()
                              if k not in ("prompt_lookup_num_tokens", "max_matching_ngram_size")}
            plain = model.generate(ids, attention_mask=torch.ones_like(ids), return_dict_in_generate=True,
                                   output_scores=True, **{k: v for k, v in plain_settings.items()
                                                          if k not in ("return_dict_in_generate", "output_scores")})
            entry["greedy_sequences"] = plain.sequences.tolist()
            entry["min_top2_gap"] = round(_min_gap(plain.scores), 6)
            if entry["min_top2_gap"] < 1e-3:
                raise SystemExit(f"case {case['name']}: a greedy step is a near tie; change the case")
        records.append(entry)
        print(f"  decoding/{case['name']}: {len(sequences[0]) - ids.shape[1]} new tokens")
    return records


def guidance_cases(out: Path) -> list[dict[str, Any]]:
    import torch

    loaders = _loaders(out)
    records = []
    for case in GUIDANCE_CASES:
        model = loaders[case["model"]]()
        ids = torch.tensor(case["prompts"])
        negative = torch.tensor(case["negative"]) if "negative" in case else None
        if "seed" in case:
            torch.manual_seed(case["seed"])
        result = model.generate(ids, attention_mask=torch.ones_like(ids), negative_prompt_ids=negative,
                                **case["settings"])
        sequences = result if isinstance(result, torch.Tensor) else result.sequences
        entry = {**case, "sequences": sequences.tolist()}
        if case["settings"].get("output_scores"):
            entry["scores"] = [_floats(step) for step in result.scores]
        records.append(entry)
    return records


def error_cases(out: Path) -> list[dict[str, Any]]:
    import torch

    loaders = _loaders(out)
    records = []
    for case in ERROR_CASES:
        model = loaders["tiny"]()
        assistant = loaders[case["assistant"]]() if case["assistant"] else None
        ids = torch.tensor(case["prompts"])
        try:
            model.generate(ids, attention_mask=torch.ones_like(ids), assistant_model=assistant, **case["settings"])
        except Exception as err:  # noqa: BLE001 - the reference's refusal is what is recorded
            records.append({**case, "error": type(err).__name__, "message": str(err)})
        else:
            raise SystemExit(f"error case {case['name']}: the reference accepted it")
    return records


def generate(out: Path) -> None:
    import torch

    torch.set_num_threads(1)
    (out / "decoding").mkdir(parents=True, exist_ok=True)
    make_assistant(out)
    write_json(out / "decoding" / "assisted.json", {"reference": reference_tag(), "noise": NOISE,
                                                     "cases": assisted_cases(out)})
    write_json(out / "decoding" / "guidance.json", {"reference": reference_tag(), "cases": guidance_cases(out)})
    write_json(out / "decoding" / "errors.json", {"reference": reference_tag(), "cases": error_cases(out)})
    legacy_modes(out)


def legacy_modes(out: Path) -> None:
    target = out / "decoding" / "legacy_modes.json"
    if (LEGACY_SITE / "transformers").is_dir():
        env = dict(os.environ, PYTHONPATH=str(LEGACY_SITE))
        script = Path(__file__).with_name("gen_decoding_legacy.py")
        subprocess.run([sys.executable, str(script), "--out", str(out)], env=env, check=True)
        return
    committed = DEFAULT_OUT / "decoding" / "legacy_modes.json"
    if target.resolve() != committed.resolve():
        shutil.copyfile(committed, target)
    print(f"  decoding/legacy_modes.json kept: no legacy release at {LEGACY_SITE} (`make reference` installs it)")
