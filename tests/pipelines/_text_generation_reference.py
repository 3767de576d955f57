"""Run by the reference environment's Python (never imported by the suite): the reference's text-generation
pipeline on a checkpoint folder, for the calls in a JSON file; prints the outputs (or the error) as JSON.

Usage: ``python _text_generation_reference.py FOLDER CALLS.json``. A call is ``{"inputs": ..., "options": {...},
"left_pad": bool}``; ``left_pad`` sets the tokenizer to pad on the left with its end-of-sequence token, which
the reference needs for batches (modelyard's pipeline left-pads on its own).
"""

from __future__ import annotations

import json
import sys

import torch
from transformers import pipeline


def main() -> None:
    folder, calls_path = sys.argv[1], sys.argv[2]
    calls = json.loads(open(calls_path, encoding="utf-8").read())
    pipe = pipeline("text-generation", model=folder)
    results = []
    for call in calls:
        if call.get("left_pad"):
            pipe.tokenizer.padding_side = "left"
            if pipe.tokenizer.pad_token is None:
                pipe.tokenizer.pad_token = pipe.tokenizer.eos_token
        torch.manual_seed(0)
        try:
            results.append({"output": pipe(call["inputs"], **call["options"])})
        except Exception as err:  # recorded: modelyard must refuse the same call
            results.append({"error": type(err).__name__, "message": str(err)})
    print(json.dumps({"task": pipe.task, "results": results}))


if __name__ == "__main__":
    main()
