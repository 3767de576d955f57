"""Generation fixtures: the reference's logits processors and generate() on a tiny causal LM.

Writes `<out>/generation/`:

  tiny_lm/            the tiny LM of tests/generation/_tiny_lm.py built on transformers, saved by the reference
                      (config.json, model.safetensors, generation_config.json)
  processors.json     each logits processor's output on fixed inputs (exactly representable scores)
  generate.json       for each case: prompts, attention mask, settings, the reference's sequences; with a seed
                      (sampling) also the processed scores of every step

Greedy and beam cases are recorded only when every step's winning score leads the runner-up by a clear margin,
so a reordered float sum on another CPU cannot flip a token.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _common import REPO_ROOT, write_json

SEED = 20261207


def _tiny_module() -> Any:
    path = REPO_ROOT / "tests" / "generation" / "_tiny_lm.py"
    spec = importlib.util.spec_from_file_location("_tiny_lm", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _floats(tensor: Any) -> list[Any]:
    return [[v if math.isfinite(v) else ("-inf" if v < 0 else "inf") for v in row] for row in tensor.tolist()]


def processor_inputs() -> tuple[Any, Any]:
    """input_ids (3, 6) and scores (3, 24): distinct, exactly representable values."""
    import torch

    input_ids = torch.tensor([[1, 5, 7, 5, 7, 9], [3, 3, 3, 3, 4, 2], [0, 0, 1, 8, 9, 8]])
    j = torch.arange(24)
    scores = torch.stack([((j * 7 + b * 3) % 24 - 12).float() / 4 for b in range(3)])
    return input_ids, scores


PROCESSORS: list[tuple[str, str, dict[str, Any]]] = [
    ("temperature", "TemperatureLogitsWarper", {"temperature": 0.7}),
    ("top_k", "TopKLogitsWarper", {"top_k": 5}),
    ("top_k_keep", "TopKLogitsWarper", {"top_k": 2, "min_tokens_to_keep": 4}),
    ("top_p", "TopPLogitsWarper", {"top_p": 0.8}),
    ("top_p_keep", "TopPLogitsWarper", {"top_p": 0.1, "min_tokens_to_keep": 3}),
    ("min_p", "MinPLogitsWarper", {"min_p": 0.1}),
    ("typical", "TypicalLogitsWarper", {"mass": 0.9}),
    ("epsilon", "EpsilonLogitsWarper", {"epsilon": 0.02}),
    ("eta", "EtaLogitsWarper", {"epsilon": 0.05}),
    ("repetition", "RepetitionPenaltyLogitsProcessor", {"penalty": 1.5}),
    ("repetition_reward", "RepetitionPenaltyLogitsProcessor", {"penalty": 0.7}),
    ("no_repeat_2", "NoRepeatNGramLogitsProcessor", {"ngram_size": 2}),
    ("no_repeat_3", "NoRepeatNGramLogitsProcessor", {"ngram_size": 3}),
    ("no_repeat_1", "NoRepeatNGramLogitsProcessor", {"ngram_size": 1}),
    ("bad_words", "NoBadWordsLogitsProcessor", {"bad_words_ids": [[5], [7, 9], [2], [3, 3, 4]], "eos_token_id": 2}),
    ("min_length", "MinLengthLogitsProcessor", {"min_length": 10, "eos_token_id": [2, 3]}),
    ("min_length_reached", "MinLengthLogitsProcessor", {"min_length": 6, "eos_token_id": 2}),
    ("min_new_tokens", "MinNewTokensLengthLogitsProcessor",
     {"prompt_length_to_skip": 4, "min_new_tokens": 3, "eos_token_id": 2}),
    ("forced_eos", "ForcedEOSTokenLogitsProcessor", {"max_length": 7, "eos_token_id": 2}),
    ("suppress", "SuppressTokensLogitsProcessor", {"suppress_tokens": [1, 4, 23]}),
    ("decay", "ExponentialDecayLengthPenalty",
     {"exponential_decay_length_penalty": [2, 1.5], "eos_token_id": 2, "input_ids_seq_length": 2}),
    ("normalise", "LogitNormalization", {}),
]


def generate_processors(out: Path) -> None:
    import transformers.generation as reference

    input_ids, scores = processor_inputs()
    cases = []
    for name, class_name, kwargs in PROCESSORS:
        processor = getattr(reference, class_name)(**kwargs)
        result = processor(input_ids.clone(), scores.clone())
        cases.append({"name": name, "class": class_name, "kwargs": kwargs, "output": _floats(result)})
    write_json(out / "processors.json", {"input_ids": input_ids.tolist(), "scores": _floats(scores), "cases": cases})


def _left_pad(prompts: list[list[int]], pad: int = 0) -> tuple[list[list[int]], list[list[int]]]:
    width = max(len(p) for p in prompts)
    ids = [[pad] * (width - len(p)) + p for p in prompts]
    mask = [[0] * (width - len(p)) + [1] * len(p) for p in prompts]
    return ids, mask


ONE = [[1, 5, 7, 9]]
BATCH = [[1, 5, 7, 9], [1, 12, 3], [1, 4, 6, 8, 10, 14]]

CASES: list[dict[str, Any]] = [
    {"name": "greedy", "prompts": ONE, "settings": {"max_new_tokens": 12}},
    {"name": "greedy_batch_left_padded", "prompts": BATCH, "settings": {"max_new_tokens": 10}},
    {"name": "greedy_max_length", "prompts": ONE, "settings": {"max_length": 9}},
    {"name": "greedy_eos_several", "prompts": BATCH, "settings": {"max_new_tokens": 10, "eos_token_id": [11, 17]}},
    {"name": "greedy_min_new_tokens", "prompts": BATCH,
     "settings": {"max_new_tokens": 10, "eos_token_id": [11, 17], "min_new_tokens": 4}},
    {"name": "greedy_min_length", "prompts": ONE, "settings": {"max_new_tokens": 10, "eos_token_id": 11,
                                                               "min_length": 9}},
    {"name": "greedy_repetition_penalty", "prompts": BATCH, "settings": {"max_new_tokens": 10,
                                                                         "repetition_penalty": 1.6}},
    {"name": "greedy_no_repeat_ngram", "prompts": BATCH, "settings": {"max_new_tokens": 10, "no_repeat_ngram_size": 2}},
    {"name": "greedy_bad_words", "prompts": BATCH, "settings": {"max_new_tokens": 10,
                                                                "bad_words_ids": [[11], [19, 15], [20]]}},
    {"name": "greedy_scores", "prompts": BATCH, "settings": {"max_new_tokens": 4, "return_dict_in_generate": True,
                                                             "output_scores": True, "repetition_penalty": 1.3}},
    {"name": "beam", "prompts": ONE, "settings": {"max_new_tokens": 8, "num_beams": 3}},
    {"name": "beam_return_sequences", "prompts": BATCH,
     "settings": {"max_new_tokens": 8, "num_beams": 4, "num_return_sequences": 3, "eos_token_id": 11}},
    {"name": "beam_length_penalty", "prompts": BATCH,
     "settings": {"max_new_tokens": 8, "num_beams": 3, "length_penalty": 0.2, "eos_token_id": [11, 17],
                  "num_return_sequences": 2}},
    {"name": "beam_early_stopping", "prompts": BATCH,
     "settings": {"max_new_tokens": 8, "num_beams": 3, "early_stopping": True, "eos_token_id": [11, 17],
                  "num_return_sequences": 3}},
    {"name": "beam_never", "prompts": BATCH,
     "settings": {"max_new_tokens": 8, "num_beams": 3, "early_stopping": "never", "eos_token_id": [11, 17],
                  "length_penalty": 2.0}},
    {"name": "beam_scores", "prompts": BATCH,
     "settings": {"max_new_tokens": 5, "num_beams": 2, "eos_token_id": 11, "return_dict_in_generate": True,
                  "output_scores": True}},
    {"name": "sample_top_k", "prompts": ONE, "seed": 3,
     "settings": {"max_new_tokens": 8, "do_sample": True, "top_k": 6, "temperature": 0.7,
                  "return_dict_in_generate": True, "output_scores": True}},
    {"name": "sample_top_p", "prompts": BATCH, "seed": 4,
     "settings": {"max_new_tokens": 8, "do_sample": True, "top_k": 0, "top_p": 0.7,
                  "return_dict_in_generate": True, "output_scores": True}},
    {"name": "sample_min_p", "prompts": BATCH, "seed": 5,
     "settings": {"max_new_tokens": 8, "do_sample": True, "top_k": 0, "min_p": 0.2, "temperature": 1.5,
                  "return_dict_in_generate": True, "output_scores": True}},
    {"name": "sample_typical", "prompts": ONE, "seed": 6,
     "settings": {"max_new_tokens": 8, "do_sample": True, "typical_p": 0.6,
                  "return_dict_in_generate": True, "output_scores": True}},
    {"name": "sample_return_sequences", "prompts": BATCH, "seed": 7,
     "settings": {"max_new_tokens": 6, "do_sample": True, "num_return_sequences": 2, "eos_token_id": [11, 17],
                  "return_dict_in_generate": True, "output_scores": True}},
    {"name": "beam_sample", "prompts": ONE, "seed": 8,
     "settings": {"max_new_tokens": 6, "do_sample": True, "num_beams": 2, "top_k": 8}},
]


def _margins_ok(scores: Any, *, beams: bool) -> bool:
    """The chosen token leads the next one clearly at every step (greedy), or the kept beams are clearly apart."""
    import torch

    for step in scores:
        finite = torch.where(torch.isfinite(step), step, torch.full_like(step, -1e30))
        top = torch.topk(finite, 2, dim=-1).values
        gap = (top[:, 0] - top[:, 1]).abs()
        live = top[:, 1] > -1e29
        if bool((gap[live] < 1e-3).any()):
            return False
    return True


def generate_runs(out: Path) -> None:
    import torch
    import transformers

    lib = SimpleNamespace(PretrainedConfig=transformers.PretrainedConfig, PreTrainedModel=transformers.PreTrainedModel,
                          GenerationMixin=transformers.GenerationMixin, DynamicCache=transformers.DynamicCache,
                          CausalLMOutputWithPast=transformers.modeling_outputs.CausalLMOutputWithPast)
    tiny = _tiny_module()
    classes = tiny.make_classes(lib)
    torch.manual_seed(SEED)
    model = classes.TinyForCausalLM(classes.TinyConfig(**tiny.TINY)).eval()
    folder = out / "tiny_lm"
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder)
    results = []
    for case in CASES:
        ids, mask = _left_pad(case["prompts"])
        settings = dict(case["settings"])
        greedy_like = "seed" not in case
        if greedy_like:  # record the scores to check the margins, whether or not the case keeps them
            settings_run = {**settings, "return_dict_in_generate": True, "output_scores": True}
        else:
            settings_run = settings
            torch.manual_seed(case["seed"])
        result = model.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), **settings_run)
        sequences = result if isinstance(result, torch.Tensor) else result.sequences
        entry: dict[str, Any] = {"name": case["name"], "input_ids": ids, "attention_mask": mask,
                                 "settings": settings, "sequences": sequences.tolist()}
        if "seed" in case:
            entry["seed"] = case["seed"]
        if greedy_like and not settings.get("num_beams", 1) > 1 and not _margins_ok(result.scores, beams=False):
            raise SystemExit(f"case {case['name']}: a greedy step is a near tie; change the case or SEED")
        keep_scores = settings.get("output_scores") and settings.get("return_dict_in_generate")
        if keep_scores:
            entry["scores"] = [_floats(step) for step in result.scores]
            if getattr(result, "sequences_scores", None) is not None:
                entry["sequences_scores"] = result.sequences_scores.tolist()
            if getattr(result, "beam_indices", None) is not None:
                entry["beam_indices"] = result.beam_indices.tolist()
        results.append(entry)
    write_json(out / "generate.json", {"seed": SEED, "tiny": tiny.TINY, "cases": results})


def generate(out: Path) -> None:
    target = out / "generation"
    target.mkdir(parents=True, exist_ok=True)
    generate_processors(target)
    generate_runs(target)
