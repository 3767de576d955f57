"""The sharing flow for a decoder against a hub of our own: push a small GPT with its code, load it
elsewhere pinned to the commit, and generate the same tokens.

    python examples/decoder_demo.py [--steps N]

1. starts the embedded hub on a free loopback port with a fresh data folder, a user and a write token;
2. runs ``examples/custom_decoder/walkthrough.py``: trains the user's ``TinyGPTForCausalLM``, registers it
   for ``AutoModelForCausalLM`` and pushes it with its code;
3. in a fresh process with an empty cache, where the user's ``tinygpt`` package is not importable, loads it
   with ``AutoModelForCausalLM.from_pretrained(repo, trust_remote_code=True, revision=<commit>)`` and checks
   that greedy generation gives the tokens the walkthrough printed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from hub_demo import demo_hub, run

HERE = Path(__file__).resolve().parent

FRESH_PROCESS_GENERATE = """
import sys, torch
from modelyard import AutoModelForCausalLM
repo_id, commit, expected = sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3].split()]
try:
    import tinygpt  # noqa: F401
    raise SystemExit("the user's tinygpt package should not be importable here")
except ImportError:
    pass
model = AutoModelForCausalLM.from_pretrained(repo_id, trust_remote_code=True, revision=commit)
prompt = torch.tensor([list("modelyard sh".encode())])
with torch.no_grad():
    tokens = model.generate(prompt, max_new_tokens=len(expected), do_sample=False, pad_token_id=256)[0, prompt.shape[1]:]
text = bytes(t for t in tokens.tolist() if t < 256).decode("utf-8", errors="replace")
same = tokens.tolist() == expected
print(f"fresh process: {type(model).__name__} at {commit[:12]} generates {text!r}; same tokens: {same}")
sys.exit(0 if same else 1)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150, help="training steps of the small GPT")
    args = parser.parse_args()
    print("=== 1. Starting the embedded hub")
    with demo_hub("modelyard-decoder-demo-") as hub:
        print("\n=== 2. A small GPT of the user's own, trained and pushed with its code")
        walk = [sys.executable, str(HERE / "custom_decoder" / "walkthrough.py"), "--workdir", str(hub.root / "work"),
                "--steps", str(args.steps)]
        output = run(walk, hub.env, timeout=900)
        print(output)
        pushed = re.search(r"pushed to (\S+) at commit ([0-9a-f]{40})", output)
        tokens = re.search(r"^tokens: ([0-9 ]+)$", output, flags=re.M)
        if pushed is None or tokens is None:
            raise SystemExit("the walkthrough did not push to the hub")
        repo_id, commit = pushed.groups()

        print("=== 3. Loaded by commit hash in a fresh process, generating")
        cmd = [sys.executable, "-c", FRESH_PROCESS_GENERATE, repo_id, commit, tokens.group(1)]
        print(run(cmd, hub.fresh_env(), cwd=str(hub.root), timeout=600).strip())
    print("\ndecoder demo finished")


if __name__ == "__main__":
    main()
