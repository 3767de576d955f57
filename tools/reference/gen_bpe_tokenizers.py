"""Byte-level BPE, sentencepiece and chat-template parity fixtures, from tokenizers made here.

Writes `<out>/bpe_tokenizers/`:
  gpt2/, qwen2/, llama/   tiny tokenizers trained on tokenizer_corpus.bpe_training_corpus() (a byte-level BPE
                          with the `tokenizers` library, Qwen2's pre-tokeniser for qwen2, a sentencepiece BPE
                          model with byte fallback for llama), saved by the reference's fast classes
  expected.json           per family, variant (constructor keywords) and implementation (slow/fast): the
                          reference's ids, tokens, decodes (and offsets for fast) of the BPE corpus
  chat_templates.json     templates (tools/reference/chat_templates/*.jinja), conversations, and the
                          reference's renders (or its error), ids and assistant masks, and how it saves them
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_OUT,
    check_reference,
    fresh_dir,
    jsonable,
    quiet_reference,
    reference_tag,
    write_json,
)
from gen_tokenizers import attempt
from tokenizer_corpus import BPE_ADDED_TEXTS, BPE_TEXTS, bpe_training_corpus

TEMPLATES_DIR = Path(__file__).resolve().parent / "chat_templates"
PAIRS = [("Hello world", "How are you?"), ("  spaced  ", "x<|endoftext|>y"), ("first", "")]
ADDED_TOKENS = [
    {"content": "newword"},
    {"content": "lstriptok", "lstrip": True},
    {"content": "rstriptok", "rstrip": True},
]
ADDED_SPECIAL = {"pad_token": "<pad>", "additional_special_tokens": ["<extra_1>"]}
# (family, variant name, keywords for from_pretrained, whether the added tokens are added after loading)
VARIANTS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("gpt2", "default", {}, False),
    ("gpt2", "prefix_space", {"add_prefix_space": True}, False),
    ("gpt2", "bos", {"add_bos_token": True}, False),
    ("gpt2", "added", {}, True),
    ("qwen2", "default", {}, False),
    ("qwen2", "added", {}, True),
    ("qwen2", "split_special", {"split_special_tokens": True}, False),
    ("llama", "default", {}, False),
    ("llama", "non_legacy", {"legacy": False}, False),
    ("llama", "non_legacy_no_prefix", {"legacy": False, "add_prefix_space": False}, False),
    ("llama", "eos", {"add_eos_token": True}, False),
    ("llama", "no_bos", {"add_bos_token": False}, False),
    ("llama", "added", {}, True),
]
CLASSES = {
    "gpt2": ("GPT2Tokenizer", "GPT2TokenizerFast"),
    "qwen2": ("Qwen2Tokenizer", "Qwen2TokenizerFast"),
    "llama": ("LlamaTokenizer", "LlamaTokenizerFast"),
}


# ---------------------------------------------------------------------------------------------------- training
def train_byte_level(folder: Path, *, qwen2: bool) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    if qwen2:
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(
                r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
            ), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        specials: list[str] = []  # Qwen2's special tokens live outside vocab.json
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        specials = ["<|endoftext|>"]
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(bpe_training_corpus(), trainer)
    tok.model.save(str(folder))


def train_sentencepiece(folder: Path) -> Path:
    import sentencepiece as spm

    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(bpe_training_corpus()), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(folder / "tokenizer"), vocab_size=800, model_type="bpe",
        byte_fallback=True, character_coverage=0.995, num_threads=1, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        user_defined_symbols=["<tool>"], normalization_rule_name="identity", remove_extra_whitespaces=False,
        split_digits=True, allow_whitespace_only_pieces=True, minloglevel=2,
    )
    # The model records the training file and output paths (temporary folders): blank them, so a second run
    # writes the same bytes.
    from sentencepiece import sentencepiece_model_pb2

    path = folder / "tokenizer.model"
    proto = sentencepiece_model_pb2.ModelProto.FromString(path.read_bytes())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.model_prefix = ""
    path.write_bytes(proto.SerializeToString())
    return path


def build_folders(root: Path) -> None:
    import transformers

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for name, qwen2 in (("gpt2", False), ("qwen2", True)):
            (scratch / name).mkdir()
            train_byte_level(scratch / name, qwen2=qwen2)
            fast_class = getattr(transformers, CLASSES[name][1])
            extra = {"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]} if qwen2 else {}
            fast = fast_class(vocab_file=str(scratch / name / "vocab.json"), merges_file=str(scratch / name / "merges.txt"),
                              **extra)
            fast.save_pretrained(root / name)
        (scratch / "llama").mkdir()
        model = train_sentencepiece(scratch / "llama")
        fast = transformers.LlamaTokenizerFast(vocab_file=str(model), add_prefix_space=True, legacy=True)
        fast.save_pretrained(root / "llama")
        # A Llama folder as published: no add_prefix_space key (giving one re-converts from tokenizer.model).
        config_path = root / "llama" / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config.pop("add_prefix_space", None)
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------------- records
def load(root: Path, family: str, impl: str, kwargs: dict[str, Any], added: bool) -> Any:
    import transformers
    from transformers import AddedToken

    cls = getattr(transformers, CLASSES[family][impl == "fast"])
    tok = cls.from_pretrained(root / family, **kwargs)
    if added:
        tok.add_tokens([AddedToken(t.pop("content"), **t) for t in (dict(x) for x in ADDED_TOKENS)])
        tok.add_special_tokens(dict(ADDED_SPECIAL))
    return tok


def text_record(tok: Any, impl: str, text: str, full: bool) -> dict[str, Any]:
    enc = tok(text, return_offsets_mapping=impl == "fast" and full)
    ids = enc["input_ids"]
    rec: dict[str, Any] = {
        "text": text,
        "ids": ids,
        "decode": tok.decode(ids),
        "decode_skip": tok.decode(ids, skip_special_tokens=True),
    }
    if full and impl == "slow":
        rec["tokens"] = tok.convert_ids_to_tokens(ids)
        rec["decode_clean"] = tok.decode(ids, clean_up_tokenization_spaces=True)
    if full and impl == "fast":
        rec["offsets"] = [list(o) for o in enc["offset_mapping"]]
    return rec


def variant_records(root: Path, family: str, variant: str, kwargs: dict[str, Any], added: bool) -> dict[str, Any]:
    # The default settings get every other text of the corpus, the variants a sample: the fixture stays small.
    texts = BPE_TEXTS[::2] + BPE_TEXTS[-26:] if variant == "default" else BPE_TEXTS[:-26:10] + BPE_TEXTS[-14:]
    if added:
        texts = BPE_TEXTS[-14:] + BPE_ADDED_TEXTS
    return {impl: impl_rows(load(root, family, impl, kwargs, added), impl, texts, variant == "default")
            for impl in ("slow", "fast")}


def impl_rows(tok: Any, impl: str, texts: list[str], full: bool) -> list[Any]:
    rows = [attempt(lambda t=text: text_record(tok, impl, t, full)) for text in texts]
    rows.append({"pairs": [attempt(lambda p=p: tok(*p)["input_ids"]) for p in PAIRS]})
    rows.append({"split_words": attempt(lambda: tok(["Hello", "big", "world"], is_split_into_words=True)["input_ids"])})
    rows.append({"vocab_size": tok.vocab_size, "len": len(tok), "special_tokens_map": tok.special_tokens_map,
                 "all_special_ids": tok.all_special_ids})
    return rows


# ---------------------------------------------------------------------------------------------------- chat
CONVERSATIONS: dict[str, list[dict[str, Any]]] = {
    "basic": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi there!"},
        {"role": "assistant", "content": "  Hello. How can I help?  "},
        {"role": "user", "content": "Name a prime — in ünïcödé 🙂"},
    ],
    "no_system": [
        {"role": "user", "content": "Hi there!"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Again?"},
    ],
    "to_continue": [
        {"role": "user", "content": "Count to three."},
        {"role": "assistant", "content": "One, two,"},
    ],
    "not_alternating": [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
    ],
    "tool_round": [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {
            "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]},
        {"role": "tool", "content": {"temperature": 21, "sky": "clear"}},
    ],
}
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather — with ünïcödé",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "f"]}},
                   "required": ["city"]}}}]
DOCUMENTS = [{"title": "Tides", "text": "The moon pulls the sea."}, {"title": "Sky", "text": "Blue <b>light</b> & more."}]
# (template, conversation(s), keywords of apply_chat_template; tokenize=False unless given)
CHAT_CASES: list[tuple[str, str | list[str], dict[str, Any]]] = [
    *[(t, "basic", {}) for t in ("llama3", "qwen2_chatml", "chatml_generation", "documents", "llama31_tools")],
    *[(t, "basic", {"add_generation_prompt": True}) for t in ("llama3", "qwen2_chatml", "llama31_tools")],
    *[(t, "no_system", {"add_generation_prompt": True}) for t in ("mistral", "gemma", "qwen2_chatml", "llama3")],
    *[(t, "to_continue", {"continue_final_message": True}) for t in ("llama3", "qwen2_chatml", "mistral", "gemma")],
    ("mistral", "basic", {}),
    ("gemma", "basic", {}),
    ("mistral", "not_alternating", {}),
    ("llama31_tools", "tool_round", {"tools": TOOLS}),
    ("llama31_tools", "no_system", {"tools": TOOLS, "tools_in_user_message": False, "date_string": "1 Jan 2025"}),
    ("documents", "no_system", {"documents": DOCUMENTS, "add_generation_prompt": True, "extra_note": "[note]"}),
    ("qwen2_chatml", ["basic", "no_system"], {"add_generation_prompt": True}),
    ("qwen2_chatml", "to_continue", {"continue_final_message": True, "add_generation_prompt": True}),
    ("qwen2_chatml", "basic", {"tokenize": True}),
    ("qwen2_chatml", ["basic", "no_system"], {"tokenize": True, "return_dict": True, "padding": True}),
    ("chatml_generation", "basic", {"tokenize": True, "return_dict": True, "return_assistant_tokens_mask": True}),
    ("chatml_generation", ["basic", "no_system"],
     {"tokenize": True, "return_dict": True, "return_assistant_tokens_mask": True}),
    ("qwen2_chatml", "basic", {"tokenize": False, "return_dict": True}),
]


def chat_fixture(root: Path) -> dict[str, Any]:
    import transformers

    templates = {path.stem: path.read_text(encoding="utf-8") for path in sorted(TEMPLATES_DIR.glob("*.jinja"))}
    tok = transformers.Qwen2TokenizerFast.from_pretrained(root / "qwen2")
    tok.bos_token = "<|im_start|>"
    cases = []
    for template, conversation, kwargs in CHAT_CASES:
        conv = [CONVERSATIONS[c] for c in conversation] if isinstance(conversation, list) else CONVERSATIONS[conversation]
        call = {"tokenize": False, **kwargs}
        result = attempt(lambda c=conv, t=templates[template], k=call: tok.apply_chat_template(c, chat_template=t, **k))
        if hasattr(result, "data"):
            result = {"encoding": jsonable(dict(result.data))}
        named = {k: f"${k}" if k in ("tools", "documents") else v for k, v in call.items()}
        cases.append({"template": template, "conversation": conversation, "kwargs": named, "result": result})
    no_template = attempt(lambda: tok.apply_chat_template(CONVERSATIONS["basic"], tokenize=False))
    # Conversations, tools and documents as JSON text: their key order reaches the renders (tojson), and the
    # fixture file sorts keys.
    return {"templates": templates, "conversations_json": json.dumps(CONVERSATIONS, ensure_ascii=True),
            "tools_json": json.dumps(TOOLS, ensure_ascii=True), "documents_json": json.dumps(DOCUMENTS, ensure_ascii=True),
            "bos_token": "<|im_start|>", "cases": cases, "no_template_error": no_template, "saving": saving_fixture(root)}


def saving_fixture(root: Path) -> dict[str, Any]:
    """What the reference writes for a single and for named templates, with and without .jinja files."""
    import transformers

    out = {}
    for name, template in (("single", "{{ messages[0]['content'] }}\n"),
                           ("named", {"default": "D{{ 1 }}", "tool_use": "T{{ tools | length }}"}),
                           ("named_no_default", {"rag": "R", "tool_use": "T"})):
        for as_files in (True, False):
            tok = transformers.GPT2TokenizerFast.from_pretrained(root / "gpt2")
            tok.chat_template = template
            with tempfile.TemporaryDirectory() as tmp:
                tok.save_pretrained(tmp, save_jinja_files=as_files)
                files = sorted(str(p.relative_to(tmp)) for p in Path(tmp).rglob("*") if p.is_file())
                config = json.loads((Path(tmp) / "tokenizer_config.json").read_text(encoding="utf-8"))
                contents = {f: (Path(tmp) / f).read_text(encoding="utf-8") for f in files if f.endswith(".jinja")}
                reloaded = transformers.GPT2TokenizerFast.from_pretrained(tmp).chat_template
            out[f"{name}-{'files' if as_files else 'config'}"] = {
                "template": template, "files": files, "config_chat_template": config.get("chat_template"),
                "jinja": contents, "reloaded": reloaded,
            }
    return out


def generate(out: Path) -> None:
    root = fresh_dir(out / "bpe_tokenizers")
    build_folders(root)
    expected: dict[str, Any] = {"reference": reference_tag()}
    for family, variant, kwargs, added in VARIANTS:
        expected[f"{family}/{variant}"] = {"kwargs": kwargs, "added": added,
                                           **variant_records(root, family, variant, kwargs, added)}
    expected["added_tokens"] = ADDED_TOKENS
    expected["added_special"] = ADDED_SPECIAL
    lines = [json.dumps({"key": key, "value": value}, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
             for key, value in expected.items()]
    (root / "expected.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_json(root / "chat_templates.json", chat_fixture(root))
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(f"  bpe_tokenizers/ ({size // 1024} KB)")


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
