"""The OPT family: tiny random checkpoints, expected forward outputs and generated tokens from the reference.

Forward cases use the layout of `gen_models.py` (`<out>/models/<case>/`, read by `tests/common/parity.py`):
the pre-norm body (opt-125m and up: final norm, no projections) under every class, a left-padded batch (OPT
counts positions over the attention mask), the opt-350m shape (post-norm blocks, token embeddings narrower
than the layers: `project_in` / `project_out`, heads at the narrow width) and the switches of old or pruned
checkpoints (`_remove_final_layer_norm`, `enable_bias=False`, GELU; the reference cannot build a model with
`layer_norm_elementwise_affine=False`: its weight initialisation fails on the norms without weights).
Bodies are hidden 16, 2 layers, 4 heads, feed-forward 20, vocabulary 48 (the 350m shape: embeddings of 8).

`<out>/decoders/opt_generation.json`: greedy and beam-search tokens of both causal-LM checkpoints, for one
prompt and a left-padded batch (the format of `gen_decoders.py`'s generation.json).
"""

from __future__ import annotations

from pathlib import Path

from _common import run_case_generator
from gen_decoders import TEXT, TEXT_OPTIONS_NO_ATTN, generation_fixture, left_padded, lm_labels
from gen_models import TEXT_OPTIONS, Case, qa_labels, single_label, with_labels, write_cases

OPT = dict(vocab_size=48, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, ffn_dim=20,
           max_position_embeddings=32, use_cache=False, pad_token_id=0, bos_token_id=1, eos_token_id=2)
OPT_350M = dict(OPT, word_embed_proj_dim=8, do_layer_norm_before=False)
OPT_SWITCHES = dict(OPT, _remove_final_layer_norm=True, enable_bias=False,
                    activation_function="gelu")


def all_cases() -> list[Case]:
    lm = with_labels(TEXT, lm_labels)
    return [
        Case("opt-model", "opt", "OPTModel", "OPTConfig", OPT, TEXT, TEXT_OPTIONS,
             notes="pre-norm, final norm, no projections; right-padded rows"),
        Case("opt-model-switches", "opt", "OPTModel", "OPTConfig", OPT_SWITCHES, TEXT, TEXT_OPTIONS,
             notes="_remove_final_layer_norm, enable_bias=False, gelu"),
        Case("opt-for-causal-lm", "opt", "OPTForCausalLM", "OPTConfig", OPT, lm, TEXT_OPTIONS_NO_ATTN,
             notes="labels = input_ids with -100 on padding; lm_head tied to embed_tokens"),
        Case("opt-for-causal-lm-left-padded", "opt", "OPTForCausalLM", "OPTConfig", OPT,
             with_labels(left_padded, lm_labels), {}, checkpoint="opt-for-causal-lm",
             notes="left padding: positions counted over the attention mask (no position_ids given)"),
        Case("opt-350m-for-causal-lm", "opt", "OPTForCausalLM", "OPTConfig", OPT_350M, lm, TEXT_OPTIONS,
             notes="post-norm blocks, word_embed_proj_dim 8 < hidden 16 (project_in / project_out), tied lm_head"),
        Case("opt-350m-for-sequence-classification", "opt", "OPTForSequenceClassification", "OPTConfig",
             dict(OPT_350M, num_labels=3), with_labels(TEXT, single_label), {},
             notes="score at the embedding width, pooled at the last non-padding token (pad_token_id=0)"),
        Case("opt-for-question-answering", "opt", "OPTForQuestionAnswering", "OPTConfig", OPT,
             with_labels(TEXT, qa_labels), {}),
    ]


GENERATION_CHECKPOINTS = (("opt-for-causal-lm", "OPTForCausalLM"), ("opt-350m-for-causal-lm", "OPTForCausalLM"))


def generate(out: Path, only: list[str] | None = None) -> list[str]:
    names = write_cases(all_cases(), out / "models", only)
    if not only:
        generation_fixture(out, GENERATION_CHECKPOINTS, "opt_generation.json")
        print("  decoders/opt_generation.json")
    return names


def main() -> None:
    run_case_generator(__doc__ or "", generate)


if __name__ == "__main__":
    main()
