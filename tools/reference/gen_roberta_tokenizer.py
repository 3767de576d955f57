"""RoBERTa tokenizer parity: a tiny RoBERTa vocabulary and the reference's slow and fast outputs on it.

Writes `<out>/roberta_tokenizer/`: `vocab.json` + `merges.txt` (the byte-level BPE of
`bpe_tokenizers/gpt2` with RoBERTa's special tokens `<s>`, `<pad>`, `</s>`, `<unk>` first and `<mask>` last)
and `expected.json`: per variant (`add_prefix_space`, `trim_offsets`) and implementation (slow, fast), the
encodings of single texts, pairs and pre-split words, with the tokens, special-token masks, offsets (fast) and
decoded text.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from _common import DEFAULT_OUT, check_reference, fresh_dir, quiet_reference, reference_tag, write_json

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
TEXTS = [
    "Hello world",
    " Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "lower newer  spaced\ttabs\nnew line",
    "Fill the <mask> here and <mask>.",
    "naïve café — déjà vu 😀",
    "",
]
PAIRS = [["Hello world", "How are you?"], ["The fox", "<mask> dog"]]
WORDS = [["Hello", "world", "again"], ["naïve", "café"]]
VARIANTS = {"default": {}, "prefix_space": {"add_prefix_space": True}, "untrimmed": {"trim_offsets": False}}


def build_folder(folder: Path, gpt2_folder: Path) -> None:
    gpt2_vocab = json.loads((gpt2_folder / "vocab.json").read_text(encoding="utf-8"))
    tokens = SPECIALS + [t for t, _ in sorted(gpt2_vocab.items(), key=lambda item: item[1]) if t not in SPECIALS]
    vocab = {token: index for index, token in enumerate(tokens)}
    vocab["<mask>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=0), encoding="utf-8")
    (folder / "merges.txt").write_text((gpt2_folder / "merges.txt").read_text(encoding="utf-8"), encoding="utf-8")


def encode_record(tok: Any, fast: bool, first: Any, second: Any = None, words: bool = False) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"return_special_tokens_mask": True, "return_token_type_ids": True}
    if fast:
        kwargs["return_offsets_mapping"] = True
    try:
        enc = tok(first, second, is_split_into_words=words, **kwargs)
    except Exception as err:  # recorded: the reference refuses this one
        return {"error": type(err).__name__}
    record = {key: list(map(list, value)) if key == "offset_mapping" else list(value) for key, value in enc.items()}
    record["tokens"] = tok.convert_ids_to_tokens(enc["input_ids"])
    record["decoded"] = tok.decode(enc["input_ids"])
    record["decoded_skip"] = tok.decode(enc["input_ids"], skip_special_tokens=True)
    return record


def generate(out: Path) -> None:
    import transformers

    folder = fresh_dir(out / "roberta_tokenizer")
    build_folder(folder, out / "bpe_tokenizers" / "gpt2")
    expected: dict[str, Any] = {"reference": reference_tag(), "texts": TEXTS, "pairs": PAIRS, "words": WORDS,
                                "variants": VARIANTS, "results": {}}
    for variant, options in VARIANTS.items():
        for impl, klass in (("slow", transformers.RobertaTokenizer), ("fast", transformers.RobertaTokenizerFast)):
            tok = klass(str(folder / "vocab.json"), str(folder / "merges.txt"), **options)
            fast = impl == "fast"
            expected["results"][f"{variant}/{impl}"] = {
                "texts": [encode_record(tok, fast, text) for text in TEXTS],
                "pairs": [encode_record(tok, fast, a, b) for a, b in PAIRS],
                "words": [encode_record(tok, fast, w, words=True) for w in WORDS],
            }
    write_json(folder / "expected.json", expected)
    print("  roberta_tokenizer/expected.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--allow-other-version", action="store_true")
    args = parser.parse_args()
    check_reference(args.allow_other_version)
    quiet_reference()
    generate(args.out)


if __name__ == "__main__":
    main()
