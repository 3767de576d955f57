"""Tokens of the decoding modes the reference moved out of the library: group (diverse) beam search,
contrastive search and constrained beam search.

transformers 4.57.6 (the pinned reference) no longer runs them itself: it loads them from the Hub repositories
`transformers-community/group-beam-search`, `transformers-community/contrastive-search` and
`transformers-community/constrained-beam-search` (with
`trust_remote_code=True`), which this machine cannot reach. Those repositories hold the implementations the
library shipped until it moved them, so this script records them from the last release that still held them
in the library, run on the reference virtualenv's torch (`make reference` installs it; `gen_decoding.py`, part
of `generate.py`, runs this script with it):

    .venv-ref/bin/pip install --no-deps --target .venv-ref/legacy-transformers transformers==4.55.4 tokenizers==0.21.4
    PYTHONPATH=.venv-ref/legacy-transformers .venv-ref/bin/python tools/reference/gen_decoding_legacy.py

Writes `tests/fixtures/parity/decoding/legacy_modes.json` (run after `gen_decoding.py`/`generate.py`: it reads
generation/tiny_lm and models/{gpt2-lm-head-model,llama-for-causal-lm}) and records the smallest top-2 gap of
each case's scores, to tell a near tie from a bug.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_OUT, quiet_reference, reference_tag, write_json  # noqa: E402

LEGACY_VERSION = "4.55.4"

ONE = [[1, 5, 7, 9]]
BATCH = [[1, 5, 7, 9], [1, 12, 3], [1, 4, 6, 8, 10, 14]]
FAMILY_ONE = [[5, 9, 23, 7, 41]]
FAMILY_BATCH = [[0, 0, 12, 33, 8], [17, 4, 46, 30, 21]]

CASES: list[dict[str, Any]] = [
    {"name": "group_beam", "model": "tiny", "prompts": ONE,
     "settings": {"max_new_tokens": 8, "num_beams": 4, "num_beam_groups": 2, "diversity_penalty": 1.5,
                  "num_return_sequences": 4}},
    {"name": "group_beam_batch", "model": "tiny", "prompts": BATCH,
     "settings": {"max_new_tokens": 8, "num_beams": 6, "num_beam_groups": 3, "diversity_penalty": 0.8,
                  "num_return_sequences": 3, "eos_token_id": [11, 17], "length_penalty": 0.7}},
    {"name": "group_beam_early_stopping", "model": "tiny", "prompts": BATCH,
     "settings": {"max_new_tokens": 8, "num_beams": 4, "num_beam_groups": 4, "diversity_penalty": 2.0,
                  "early_stopping": True, "eos_token_id": [11, 17], "num_return_sequences": 2}},
    {"name": "group_beam_scores", "model": "tiny", "prompts": BATCH,
     "settings": {"max_new_tokens": 5, "num_beams": 4, "num_beam_groups": 2, "diversity_penalty": 1.0,
                  "eos_token_id": 11, "return_dict_in_generate": True, "output_scores": True}},
    {"name": "group_beam_repetition", "model": "tiny", "prompts": BATCH,
     "settings": {"max_new_tokens": 6, "num_beams": 4, "num_beam_groups": 2, "diversity_penalty": 1.0,
                  "repetition_penalty": 1.3, "num_return_sequences": 2}},
    # contrastive search reads the last hidden states: the decoder families (the tiny LM returns none)
    {"name": "contrastive", "model": "llama", "prompts": FAMILY_ONE,
     "settings": {"max_new_tokens": 12, "penalty_alpha": 0.6, "top_k": 4, "use_cache": True}},
    {"name": "contrastive_batch_left_padded", "model": "llama", "prompts": FAMILY_BATCH,
     "settings": {"max_new_tokens": 10, "penalty_alpha": 0.5, "top_k": 5, "pad_token_id": 0, "use_cache": True}},
    {"name": "contrastive_eos", "model": "gpt2", "prompts": FAMILY_BATCH,
     "settings": {"max_new_tokens": 8, "penalty_alpha": 0.4, "top_k": 3, "pad_token_id": 0, "use_cache": True, "eos_token_id": [2, 7]}},
    {"name": "contrastive_processors", "model": "llama", "prompts": FAMILY_BATCH,
     "settings": {"max_new_tokens": 8, "penalty_alpha": 0.6, "top_k": 4, "repetition_penalty": 1.5,
                  "pad_token_id": 0, "use_cache": True}},
    {"name": "contrastive_scores", "model": "llama", "prompts": FAMILY_BATCH,
     "settings": {"max_new_tokens": 5, "penalty_alpha": 0.6, "top_k": 4, "pad_token_id": 0, "use_cache": True,
                  "return_dict_in_generate": True, "output_scores": True, "output_logits": True}},
    # constrained beam search: `constraints` are given as specs ({"phrasal": ids} / {"disjunctive": [ids, ...]})
    {"name": "constrained_phrase", "model": "tiny", "prompts": ONE,
     "settings": {"max_new_tokens": 8, "num_beams": 3, "force_words_ids": [[13, 4]]}},
    {"name": "constrained_two_words_batch", "model": "tiny", "prompts": BATCH,
     "settings": {"max_new_tokens": 10, "num_beams": 4, "force_words_ids": [[13], [6, 8]], "num_return_sequences": 2,
                  "eos_token_id": [11, 17]}},
    {"name": "constrained_disjunctive", "model": "tiny", "prompts": BATCH,
     "settings": {"max_new_tokens": 8, "num_beams": 3, "force_words_ids": [[[19, 2], [22], [3, 3, 5]]],
                  "eos_token_id": 11}},
    {"name": "constrained_objects", "model": "tiny", "prompts": ONE,
     "constraints": [{"phrasal": [20, 20]}, {"disjunctive": [[15, 16], [14]]}],
     "settings": {"max_new_tokens": 10, "num_beams": 4, "num_return_sequences": 2, "length_penalty": 0.5}},
    {"name": "constrained_scores", "model": "tiny", "prompts": BATCH,
     "settings": {"max_new_tokens": 6, "num_beams": 3, "force_words_ids": [[9, 10]], "eos_token_id": 11,
                  "return_dict_in_generate": True, "output_scores": True}},
    {"name": "llama_constrained", "model": "llama", "prompts": FAMILY_BATCH,
     "settings": {"max_new_tokens": 8, "num_beams": 3, "force_words_ids": [[40, 41]], "pad_token_id": 0,
                  "use_cache": True, "eos_token_id": 2}},
    {"name": "gpt2_group_beam", "model": "gpt2", "prompts": FAMILY_BATCH,
     "settings": {"max_new_tokens": 6, "num_beams": 4, "num_beam_groups": 2, "diversity_penalty": 1.0,
                  "num_return_sequences": 2, "pad_token_id": 0, "use_cache": True, "eos_token_id": 2}},
    {"name": "llama_group_beam", "model": "llama", "prompts": FAMILY_BATCH,
     "settings": {"max_new_tokens": 6, "num_beams": 4, "num_beam_groups": 2, "diversity_penalty": 1.0,
                  "num_return_sequences": 2, "pad_token_id": 0, "use_cache": True, "eos_token_id": 2}},
    {"name": "gpt2_contrastive", "model": "gpt2", "prompts": FAMILY_BATCH,
     "settings": {"max_new_tokens": 8, "penalty_alpha": 0.6, "top_k": 4, "pad_token_id": 0, "use_cache": True, "eos_token_id": 2}},
]


def _floats(tensor: Any) -> list[Any]:
    return [[v if math.isfinite(v) else ("-inf" if v < 0 else "inf") for v in row] for row in tensor.tolist()]


def _left_pad(prompts: list[list[int]]) -> tuple[list[list[int]], list[list[int]]]:
    width = max(len(p) for p in prompts)
    if all(len(p) == width for p in prompts):  # already padded with 0 (the family prompts)
        return prompts, [[int(t != 0) for t in p] for p in prompts]
    return ([[0] * (width - len(p)) + p for p in prompts], [[0] * (width - len(p)) + [1] * len(p) for p in prompts])


def run(out: Path) -> dict[str, Any]:
    import torch
    import transformers
    from gen_decoding import _loaders

    if transformers.__version__ != LEGACY_VERSION:
        raise SystemExit(f"Run with transformers {LEGACY_VERSION} first on PYTHONPATH (see the module doc); this "
                         f"interpreter has {transformers.__version__}.")
    torch.set_num_threads(1)
    loaders = _loaders(out)
    records = []
    for case in CASES:
        model = loaders[case["model"]]()
        ids, mask = _left_pad(case["prompts"])
        settings = dict(case["settings"])
        run_settings = {**settings, "return_dict_in_generate": True, "output_scores": True}
        if "constraints" in case:
            run_settings["constraints"] = [
                transformers.PhrasalConstraint(spec["phrasal"]) if "phrasal" in spec
                else transformers.DisjunctiveConstraint(spec["disjunctive"]) for spec in case["constraints"]]
        result = model.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), **run_settings)
        entry: dict[str, Any] = {"name": case["name"], "model": case["model"], "input_ids": ids,
                                 "attention_mask": mask, "settings": settings, "sequences": result.sequences.tolist()}
        if "constraints" in case:
            entry["constraints"] = case["constraints"]
        gaps = []
        for step in result.scores:
            finite = torch.where(torch.isfinite(step), step, torch.full_like(step, -1e30))
            top = torch.topk(finite, 2, dim=-1).values
            live = top[:, 1] > -1e29
            if bool(live.any()):
                gaps.append(float((top[:, 0] - top[:, 1])[live].min()))
        entry["min_top2_gap"] = round(min(gaps), 6) if gaps else None
        if settings.get("output_scores"):
            entry["scores"] = [_floats(step) for step in result.scores]
            if getattr(result, "logits", None) is not None and settings.get("output_logits"):
                entry["logits"] = [_floats(step) for step in result.logits]
            if getattr(result, "sequences_scores", None) is not None:
                entry["sequences_scores"] = result.sequences_scores.tolist()
            if getattr(result, "beam_indices", None) is not None:
                entry["beam_indices"] = result.beam_indices.tolist()
        records.append(entry)
        print(f"  decoding/legacy {case['name']}")
    return {"reference": reference_tag(), "note": "in-library implementations of the modes 4.57 serves from "
            "transformers-community/group-beam-search and transformers-community/contrastive-search",
            "cases": records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    quiet_reference()
    write_json(args.out / "decoding" / "legacy_modes.json", run(args.out.resolve()))


if __name__ == "__main__":
    main()
