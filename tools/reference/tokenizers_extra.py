"""Extra tokenizer fixtures: reference-saved folders and added-token splitting (run with .venv-ref/bin/python).

Writes `tests/fixtures/tokenizers_extra/` (outside tests/fixtures/parity, which holds exactly what
tools/reference/generate.py writes):
  folders/<name>/   tokenizer folders written by the reference's save_pretrained (plus one hand-written
                    legacy folder), built on a tiny WordPiece vocabulary or the CTC vocabulary
  folders.json      per folder: what the reference loads from it (class via AutoTokenizer, fast and slow)
                    and its outputs on a few texts
  trie_splits.json  the reference's added-token split (its Trie) on random texts, overlapping tokens included

    .venv-ref/bin/python tools/reference/tokenizers_extra.py [--out tests/fixtures]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, check_reference, fresh_dir, quiet_reference, reference_tag, write_json

DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures"

TINY_VOCAB = (
    ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + list("abcdefghijklmnopqrstuvwxyz")
    + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
    + list("0123456789.,!?'-()[]<>:;\"/")
    + ["the", "quick", "brown", "fox", "hello", "world", "un", "##aff", "##able", "token", "##ization", "cafe"]
    + ["Hello", "World", "The", "Café", "é", "東", "京", "##ed", "##ing", "new", "##tok"]
)
TEXTS = [
    "Hello, world!",
    "The quick brown fox.",
    "unaffable tokenization",
    "Café 東京 cafe",
    "hello newtok <special> world",
    "x   <lstrip>   y",
    "[MASK] the [SEP] fox",
    "",
]
PAIR = ("hello world", "the quick fox")
CTC_VOCAB = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "E": 5, "T": 6, "A": 7, "O": 8, "H": 9, "L": 10, "W": 11, "R": 12, "D": 13}
CTC_TEXTS = ["HELLO WORLD", "hello world", "a <unk> b", ""]


def bert_folders(folders: Path, vocab_file: Path) -> list[str]:
    from transformers import AddedToken, BertTokenizer, BertTokenizerFast

    names = []
    for name, cls, kwargs in (
        ("bert_slow", BertTokenizer, {}),
        ("bert_fast", BertTokenizerFast, {}),
        ("bert_cased_slow", BertTokenizer, {"do_lower_case": False, "padding_side": "left", "model_max_length": 16}),
    ):
        tok = cls(str(vocab_file), **kwargs)
        tok.add_tokens(["newword", AddedToken("<lstrip>", lstrip=True)])
        tok.add_special_tokens({"additional_special_tokens": [AddedToken("<special>", special=True)]})
        tok.save_pretrained(folders / name)
        names.append(name)
    # Only tokenizer.json (no vocab.txt): loads with the fast class only.
    tok = BertTokenizerFast(str(vocab_file), do_lower_case=False)
    tok.save_pretrained(folders / "bert_fast_json_only", legacy_format=False)
    names.append("bert_fast_json_only")
    # A legacy folder as older libraries wrote it: no added_tokens_decoder, no tokenizer_class, model_type in config.json.
    legacy = folders / "distilbert_legacy"
    legacy.mkdir()
    shutil.copy(vocab_file, legacy / "vocab.txt")
    (legacy / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True, "model_max_length": 512}) + "\n")
    (legacy / "special_tokens_map.json").write_text(
        json.dumps({"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}) + "\n"
    )
    (legacy / "added_tokens.json").write_text(json.dumps({"newword": len(TINY_VOCAB)}) + "\n")
    (legacy / "config.json").write_text(json.dumps({"model_type": "distilbert", "vocab_size": len(TINY_VOCAB) + 1}) + "\n")
    names.append("distilbert_legacy")
    return names


def ctc_folder(folders: Path, tmp: Path) -> str:
    from transformers import Wav2Vec2CTCTokenizer

    vocab = tmp / "my_vocab_file.txt"  # JSON content, .txt name, as in the guide
    vocab.write_text(json.dumps(CTC_VOCAB))
    Wav2Vec2CTCTokenizer(str(vocab), do_lower_case=True).save_pretrained(folders / "wav2vec2")
    return "wav2vec2"


def describe(tok: Any, texts: list[str], pair: tuple[str, str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "class": type(tok).__name__,
        "len": len(tok),
        "vocab_size": tok.vocab_size,
        "model_max_length": tok.model_max_length,
        "padding_side": tok.padding_side,
        "special_tokens_map": tok.special_tokens_map,
        "added_vocab": dict(sorted(tok.get_added_vocab().items())),
        "texts": [],
    }
    for text in texts:
        enc = tok(text)
        out["texts"].append({"text": text, "input_ids": enc["input_ids"], "tokens": tok.convert_ids_to_tokens(enc["input_ids"]),
                             "decode": tok.decode(enc["input_ids"])})
    if pair is not None:
        enc = tok(*pair)
        out["pair"] = {key: list(value) for key, value in sorted(enc.items())}
    return out


def folders_fixture(out: Path) -> None:
    import tempfile

    from transformers import AutoTokenizer

    root = fresh_dir(out / "tokenizers_extra")
    folders = root / "folders"
    folders.mkdir()
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file = Path(tmp) / "vocab.txt"
        vocab_file.write_text("".join(t + "\n" for t in TINY_VOCAB), encoding="utf-8")
        names = bert_folders(folders, vocab_file)
        names.append(ctc_folder(folders, Path(tmp)))
    result: dict[str, Any] = {"reference": reference_tag(), "folders": {}}
    for name in names:
        folder = folders / name
        ctc = name.startswith("wav2vec2")
        texts, pair = (CTC_TEXTS, None) if ctc else (TEXTS, PAIR)
        entry: dict[str, Any] = {"files": sorted(p.name for p in folder.iterdir())}
        for label, use_fast in (("auto_fast", True), ("auto_slow", False)):
            try:
                tok = AutoTokenizer.from_pretrained(folder, use_fast=use_fast)
            except Exception as err:  # recorded: the reference cannot load it this way
                entry[label] = {"error": type(err).__name__}
                continue
            entry[label] = describe(tok, texts, pair)
            # What the reference writes when it saves what it loaded: the sha256 of each file.
            with tempfile.TemporaryDirectory() as tmp:
                tok.save_pretrained(tmp)
                entry[label]["resaved_sha256"] = {
                    p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(tmp).iterdir())
                }
        result["folders"][name] = entry
    write_json(root / "folders.json", result)


def trie_fixture(out: Path) -> None:
    from transformers.tokenization_utils import Trie

    rng = random.Random(20240611)
    cases = []
    for i in range(400):
        alphabet = rng.choice(["ab", "abc", "ab<>", "abcd "])
        tokens = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 5))})
        text = "".join(rng.choice(alphabet + " x") for _ in range(rng.randint(0, 18)))
        trie = Trie()
        for token in tokens:
            trie.add(token)
        cases.append({"tokens": tokens, "text": text, "split": trie.split(text), "i": i})
    path = out / "tokenizers_extra" / "trie_splits.json"
    path.write_text(
        json.dumps({"reference": reference_tag(), "cases": cases}, sort_keys=True, ensure_ascii=True, separators=(",", ":")) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--allow-other-version", action="store_true")
    args = parser.parse_args()
    check_reference(args.allow_other_version)
    quiet_reference()
    folders_fixture(args.out)
    trie_fixture(args.out)
    print(f"wrote {args.out / 'tokenizers_extra'}")


if __name__ == "__main__":
    main()
