"""The "sharing custom models" flow for a decoder: write a small GPT, train it, share it with its code, sample.

    python examples/custom_decoder/walkthrough.py [--workdir DIR] [--steps N]

1. defines ``TinyGPTConfig`` and ``TinyGPTForCausalLM`` (in ``tinygpt/``, a package of the user's own) and
   trains it with the Trainer on a small byte-level corpus until it has learnt the text;
2. registers both for the Auto classes (``register_for_auto_class("AutoModelForCausalLM")``) and saves them:
   the code is copied next to the weights and ``config.json`` gets an ``auto_map``;
3. loads the folder back with ``AutoModelForCausalLM.from_pretrained(..., trust_remote_code=True)`` and
   generates greedily from a prompt (the same tokens as the model in memory);
4. when ``HF_ENDPOINT`` names a hub and a token is available, pushes model and code there and prints
   ``pushed to <repo> at commit <hash>`` and the tokens, so ``examples/decoder_demo.py`` can load it
   elsewhere pinned to that commit and check that it generates the same.

Token ids are bytes (0-255) plus an end-of-text id (256): no tokenizer is needed to follow the flow.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the user's package, importable from the working directory as in the guide
    sys.path.insert(0, str(HERE))

from tinygpt.configuration_tinygpt import TinyGPTConfig  # noqa: E402
from tinygpt.modeling_tinygpt import TinyGPTForCausalLM  # noqa: E402

from modelyard import AutoModelForCausalLM, Trainer, TrainingArguments  # noqa: E402

CORPUS = "modelyard shares models with their code. " * 3
PROMPT = "modelyard sh"


def encode(text: str) -> list[int]:
    return list(text.encode("utf-8"))


def decode(ids: list[int]) -> str:
    return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


def training_rows(block: int = 48) -> list[dict[str, torch.Tensor]]:
    ids = encode(CORPUS)
    rows = []
    for start in range(0, len(ids) - block):
        window = torch.tensor(ids[start:start + block])
        rows.append({"input_ids": window, "labels": window.clone()})
    return rows


def greedy(model: torch.nn.Module, prompt: str, new_tokens: int = 24) -> list[int]:
    inputs = torch.tensor([encode(prompt)])
    with torch.no_grad():
        out = model.generate(inputs, max_new_tokens=new_tokens, do_sample=False, pad_token_id=256)
    return out[0, inputs.shape[1]:].tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="modelyard-decoder-"))
    workdir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    print("=== 1. A small GPT of our own, trained with the Trainer")
    config = TinyGPTConfig()
    model = TinyGPTForCausalLM(config)
    training = TrainingArguments(output_dir=str(workdir / "runs"), max_steps=args.steps, learning_rate=3e-3,
                                 per_device_train_batch_size=16, save_strategy="no", logging_steps=50,
                                 report_to="none", disable_tqdm=True, seed=0)
    result = Trainer(model=model, args=training, train_dataset=training_rows()).train()
    print(f"trained {args.steps} steps, final loss {result.training_loss:.3f}")
    model.eval()
    tokens = greedy(model, PROMPT)
    print(f"greedy from {PROMPT!r}: {decode(tokens)!r}")

    print("\n=== 2. Registered for the Auto classes and saved with its code")
    TinyGPTConfig.register_for_auto_class()
    TinyGPTForCausalLM.register_for_auto_class("AutoModelForCausalLM")
    folder = workdir / "tinygpt-shared"
    model.save_pretrained(folder)
    print(f"saved to {folder}: {sorted(p.name for p in folder.iterdir())}")

    print("\n=== 3. Loaded back through AutoModelForCausalLM with trust_remote_code=True")
    loaded = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
    again = greedy(loaded, PROMPT)
    print(f"{type(loaded).__name__} from {type(loaded).__module__}; same tokens: {again == tokens}")
    if again != tokens:
        raise SystemExit("the loaded model generates other tokens than the one in memory")

    if os.environ.get("HF_ENDPOINT") and (os.environ.get("HF_TOKEN") or os.environ.get("MODELYARD_TOKEN")):
        print("\n=== 4. Pushed to the hub with its code")
        url = model.push_to_hub("tinygpt-shared")
        commit = getattr(url, "oid", None)
        repo_id = getattr(url, "repo_url", None)
        repo_name = getattr(repo_id, "repo_id", None) or "tinygpt-shared"
        print(f"pushed to {repo_name} at commit {commit}")
        print(f"tokens: {' '.join(map(str, tokens))}")
    else:
        print("\n(no hub configured: set HF_ENDPOINT and HF_TOKEN to push; see examples/decoder_demo.py)")


if __name__ == "__main__":
    main()
