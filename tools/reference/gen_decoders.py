"""Decoder families (GPT-2, Llama, Mistral, Qwen2): tiny random checkpoints, expected forward outputs and
generated tokens from the reference library.

Forward cases use the layout of `gen_models.py` (`<out>/models/<case>/`, read by `tests/common/parity.py`):
every head of every family, Llama's `rope_scaling` kinds (variants of one checkpoint loaded with
`config_overrides`), GPT-2's head mask and attention-scaling switches, Mistral's sliding window and Qwen2's
sliding-window layers. All bodies are hidden 16, 2 layers, 4 heads, vocabulary 48 (Llama with 2 key/value
heads and head_dim 8), with `use_cache=False` in the config so outputs hold tensors only.

`<out>/decoders/generation.json`: greedy and beam-search tokens of the GPT-2 and Llama causal-LM
checkpoints, for one prompt and for a left-padded batch, with the smallest top-1/top-2 logit gap seen on the
greedy path (recorded so a failure from a near tie is told apart from a bug).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from _common import (
    reference_tag,
    run_case_generator,
    write_json,
)
from gen_models import (
    TEXT_OPTIONS,
    Case,
    qa_labels,
    single_label,
    text_inputs,
    token_labels,
    with_head_mask,
    with_labels,
    write_cases,
)

GPT2 = dict(vocab_size=48, n_embd=16, n_layer=2, n_head=4, n_inner=20, n_positions=16, use_cache=False,
            pad_token_id=0, bos_token_id=1, eos_token_id=2)
LLAMA = dict(vocab_size=48, hidden_size=16, intermediate_size=20, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, head_dim=8, max_position_embeddings=32, use_cache=False, pad_token_id=0,
             bos_token_id=1, eos_token_id=2)
MISTRAL = dict(LLAMA, sliding_window=4)
QWEN2 = {k: v for k, v in LLAMA.items() if k != "head_dim"} | dict(use_sliding_window=True, sliding_window=4,
                                                                   max_window_layers=1)
TEXT = text_inputs(token_types=False)
TEXT_OPTIONS_NO_ATTN = {"output_hidden_states": True}

# rope_scaling kinds, each a variant of the Llama causal-LM checkpoint (positions run to 8 > max 6 where a
# kind depends on the length)
ROPE_VARIANTS: dict[str, dict[str, Any]] = {
    "linear": {"rope_scaling": {"rope_type": "linear", "factor": 2.0}},
    "dynamic": {"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}, "max_position_embeddings": 6},
    "yarn": {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 8}},
    "longrope": {"rope_scaling": {"rope_type": "longrope", "factor": 2.0, "short_factor": [1.0, 1.5, 2.0, 2.5],
                                  "long_factor": [2.0, 3.0, 4.0, 5.0]}, "max_position_embeddings": 6},
    "llama3": {"rope_scaling": {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 8}},
}


def lm_labels(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What DataCollatorForLanguageModeling(mlm=False) gives: the inputs, -100 on padding."""
    return {"labels": x["input_ids"].masked_fill(x["attention_mask"] == 0, -100)}


def left_padded(g: torch.Generator, config: Any) -> dict[str, torch.Tensor]:
    flipped = TEXT(g, config)
    return {k: v.flip(-1).contiguous() for k, v in flipped.items()}


def multiple_choice(g: torch.Generator, config: Any) -> dict[str, torch.Tensor]:
    """Two examples of three choices of 7 tokens, each choice's classification token given, both losses."""
    ids = torch.randint(3, config.vocab_size, (2, 3, 7), generator=g)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "mc_token_ids": torch.tensor([[6, 4, 5], [3, 6, 6]]),
            "labels": ids.clone(), "mc_labels": torch.tensor([1, 2])}


def all_cases() -> list[Case]:
    lm = with_labels(TEXT, lm_labels)
    cases = [
        Case("gpt2-model", "gpt2", "GPT2Model", "GPT2Config", GPT2, TEXT, TEXT_OPTIONS),
        Case("gpt2-model-head-mask", "gpt2", "GPT2Model", "GPT2Config", GPT2, with_head_mask(TEXT), TEXT_OPTIONS,
             notes="head_mask (layers, heads) with zeros and one 0.5 entry", checkpoint="gpt2-model"),
        Case("gpt2-lm-head-model", "gpt2", "GPT2LMHeadModel", "GPT2Config", GPT2, lm, TEXT_OPTIONS_NO_ATTN,
             notes="labels = input_ids with -100 on padding (the mlm=False collator); lm_head tied to wte"),
        Case("gpt2-lm-head-model-scaled", "gpt2", "GPT2LMHeadModel", "GPT2Config", GPT2, lm, {},
             notes="scale_attn_by_inverse_layer_idx and reorder_and_upcast_attn on (eager attention)",
             checkpoint="gpt2-lm-head-model",
             overrides={"scale_attn_by_inverse_layer_idx": True, "reorder_and_upcast_attn": True}),
        Case("gpt2-double-heads-model", "gpt2", "GPT2DoubleHeadsModel", "GPT2Config", GPT2, multiple_choice,
             TEXT_OPTIONS_NO_ATTN, notes="(batch, choices, seq) inputs; the multiple-choice head at mc_token_ids; "
             "lm and mc losses (summary dropout off in eval)"),
        Case("gpt2-for-sequence-classification", "gpt2", "GPT2ForSequenceClassification", "GPT2Config",
             dict(GPT2, num_labels=3), with_labels(TEXT, single_label), {},
             notes="pooled at the last non-padding token (pad_token_id=0)"),
        Case("gpt2-for-token-classification", "gpt2", "GPT2ForTokenClassification", "GPT2Config",
             dict(GPT2, num_labels=5), with_labels(TEXT, token_labels), {}),
        Case("gpt2-for-question-answering", "gpt2", "GPT2ForQuestionAnswering", "GPT2Config", GPT2,
             with_labels(TEXT, qa_labels), {}),
        Case("llama-model", "llama", "LlamaModel", "LlamaConfig", dict(LLAMA, attention_bias=True, mlp_bias=True),
             TEXT, TEXT_OPTIONS, notes="attention_bias and mlp_bias on; grouped-query (4 heads, 2 kv heads), head_dim 8"),
        Case("llama-for-causal-lm", "llama", "LlamaForCausalLM", "LlamaConfig", LLAMA, lm, TEXT_OPTIONS_NO_ATTN,
             notes="labels = input_ids with -100 on padding; untied lm_head"),
        Case("llama-for-causal-lm-left-padded", "llama", "LlamaForCausalLM", "LlamaConfig", LLAMA,
             with_labels(left_padded, lm_labels), {}, notes="left padding (positions from cache_position)",
             checkpoint="llama-for-causal-lm"),
        Case("llama-for-sequence-classification", "llama", "LlamaForSequenceClassification", "LlamaConfig",
             dict(LLAMA, num_labels=3), with_labels(TEXT, single_label), {}),
        Case("llama-for-token-classification", "llama", "LlamaForTokenClassification", "LlamaConfig",
             dict(LLAMA, num_labels=5), with_labels(TEXT, token_labels), {}),
        Case("llama-for-question-answering", "llama", "LlamaForQuestionAnswering", "LlamaConfig", LLAMA,
             with_labels(TEXT, qa_labels), {}, notes="base model under `transformer` (the reference's prefix)"),
        Case("mistral-model", "mistral", "MistralModel", "MistralConfig", MISTRAL, TEXT, TEXT_OPTIONS,
             notes="sliding_window=4 on every layer, sequences of 9"),
        Case("mistral-for-causal-lm", "mistral", "MistralForCausalLM", "MistralConfig", MISTRAL, lm, {}),
        Case("qwen2-model", "qwen2", "Qwen2Model", "Qwen2Config", QWEN2, TEXT, TEXT_OPTIONS,
             notes="q/k/v biases; layer 0 full attention, layer 1 a sliding window of 4 (max_window_layers=1)"),
        Case("qwen2-for-causal-lm", "qwen2", "Qwen2ForCausalLM", "Qwen2Config", QWEN2, lm, {}),
    ]
    # the shared heads on the other two bodies
    for family, prefix, config in (("mistral", "Mistral", MISTRAL), ("qwen2", "Qwen2", QWEN2)):
        cases += [
            Case(f"{family}-for-sequence-classification", family, f"{prefix}ForSequenceClassification",
                 f"{prefix}Config", dict(config, num_labels=3), with_labels(TEXT, single_label), {}),
            Case(f"{family}-for-token-classification", family, f"{prefix}ForTokenClassification", f"{prefix}Config",
                 dict(config, num_labels=5), with_labels(TEXT, token_labels), {}),
            Case(f"{family}-for-question-answering", family, f"{prefix}ForQuestionAnswering", f"{prefix}Config",
                 config, with_labels(TEXT, qa_labels), {}),
        ]
    for kind, overrides in ROPE_VARIANTS.items():
        cases.append(Case(f"llama-for-causal-lm-rope-{kind}", "llama", "LlamaForCausalLM", "LlamaConfig", LLAMA, lm,
                          {}, notes=f"rope_scaling kind {kind!r} as config overrides at load time",
                          checkpoint="llama-for-causal-lm", overrides=overrides))
    return cases


GENERATION_CHECKPOINTS = (("gpt2-lm-head-model", "GPT2LMHeadModel"), ("llama-for-causal-lm", "LlamaForCausalLM"))


def generation_fixture(root: Path, checkpoints: tuple[tuple[str, str], ...] = GENERATION_CHECKPOINTS,
                       name: str = "generation.json") -> dict[str, Any]:
    """Greedy and beam-search tokens of each ``(case, class)`` causal-LM checkpoint, written to ``decoders/<name>``."""
    import transformers

    prompts = {"single": [[5, 9, 23, 7, 41]], "left_padded": [[0, 0, 12, 33, 8], [17, 4, 46, 30, 21]]}
    records = []
    for case_name, cls in checkpoints:
        model = getattr(transformers, cls).from_pretrained(root / "models" / case_name, attn_implementation="eager")
        model.eval()
        for prompt_name, rows in prompts.items():
            ids = torch.tensor(rows)
            mask = (ids != 0).long()
            for mode, options in (
                ("greedy", {"do_sample": False, "max_new_tokens": 8}),
                ("beam", {"do_sample": False, "num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 6,
                          "length_penalty": 1.0, "early_stopping": True}),
            ):
                with torch.no_grad():
                    out = model.generate(ids, attention_mask=mask, pad_token_id=0, eos_token_id=2,
                                         output_scores=True, return_dict_in_generate=True, **options)
                margin = min(float((s.topk(2).values[:, 0] - s.topk(2).values[:, 1]).min()) for s in out.scores)
                records.append({"checkpoint": case_name, "class": cls, "prompt": prompt_name, "input_ids": rows,
                                "attention_mask": mask.tolist(), "mode": mode, "options": options,
                                "sequences": out.sequences.tolist(), "min_top2_gap": round(margin, 6)})
    fixture = {"reference": reference_tag(), "pad_token_id": 0, "eos_token_id": 2, "cases": records}
    write_json(root / "decoders" / name, fixture)
    return fixture


def generate(out: Path, only: list[str] | None = None) -> list[str]:
    names = write_cases(all_cases(), out / "models", only)
    if not only:
        generation_fixture(out)
        print("  decoders/generation.json")
    return names


def main() -> None:
    run_case_generator(__doc__ or "", generate)


if __name__ == "__main__":
    main()
