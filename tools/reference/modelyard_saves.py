"""Checkpoints written by modelyard's own `save_pretrained`, for fixtures that check the reference reads them.

The one script under tools/reference/ that runs in modelyard's environment, not the reference's: `gen_heads.py`
starts it (with `src/` first on the path) and then has the reference load and run what it wrote.

    .venv/bin/python tools/reference/modelyard_saves.py OUT_FOLDER

Writes `OUT_FOLDER/` as modelyard saves it, except the `modelyard_version` entry of the JSON files (the one value
that changes with every release; the reference ignores it either way), so a regeneration gives the same bytes.
The model: a BERT decoder (`BertLMHeadModel`, hidden 16) with cross-attention and `relative_key_query` positions,
so every kind of key a BERT decoder has is in the file; initialised by modelyard from a fixed seed, then every
weight nudged as the reference generators do (N(0, 0.05)), so a key read into the wrong place cannot pass.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path
from typing import Any

import torch

NAME = "bert-lm-head-model-saved-by-modelyard"
CONFIG: dict[str, Any] = dict(
    vocab_size=99, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=16, is_decoder=True, add_cross_attention=True, position_embedding_type="relative_key_query",
    pad_token_id=0, eos_token_id=2,
)
NUDGE_STD = 0.05


def save_bert_decoder(folder: Path) -> None:
    from modelyard import BertConfig, BertLMHeadModel

    seed = zlib.crc32(NAME.encode("utf-8")) & 0x7FFFFFFF
    torch.manual_seed(seed)
    model = BertLMHeadModel(BertConfig(**CONFIG))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, param in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            param.add_(torch.randn(param.shape, generator=g) * NUDGE_STD)
    model.save_pretrained(folder)
    for name in ("config.json", "generation_config.json"):
        path = folder / name
        if path.is_file():
            values = json.loads(path.read_text(encoding="utf-8"))
            values.pop("modelyard_version", None)
            path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {Path(sys.argv[0]).name} OUT_FOLDER")
    torch.set_num_threads(1)
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    save_bert_decoder(folder)


if __name__ == "__main__":
    main()
