"""Saving and loading: reference-made folders load here, our saves are byte-identical to the reference's,
round trips are exact, and (with .venv-ref) the reference loads what we save."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from tokenizer_helpers import EXTRA_FIXTURES, REF_PYTHON, minilm_dir

import modelyard
from modelyard import (
    AddedToken,
    AutoTokenizer,
    BertTokenizer,
    BertTokenizerFast,
    DistilBertTokenizer,
    Wav2Vec2CTCTokenizer,
)
from modelyard.errors import MissingFileError, TokenizerError

FOLDERS = EXTRA_FIXTURES / "folders"
EXPECTED = json.loads((EXTRA_FIXTURES / "folders.json").read_text(encoding="utf-8"))["folders"]
CTC_VOCAB = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "E": 5, "T": 6, "A": 7, "O": 8, "H": 9, "L": 10, "W": 11, "R": 12, "D": 13}


def describe(tok, texts: list[dict], with_pair: bool) -> dict:
    out = {
        "class": type(tok).__name__,
        "len": len(tok),
        "vocab_size": tok.vocab_size,
        "model_max_length": tok.model_max_length,
        "padding_side": tok.padding_side,
        "special_tokens_map": tok.special_tokens_map,
        "added_vocab": dict(sorted(tok.get_added_vocab().items())),
        "texts": [],
    }
    for row in texts:
        ids = tok(row["text"])["input_ids"]
        out["texts"].append({"text": row["text"], "input_ids": ids, "tokens": tok.convert_ids_to_tokens(ids), "decode": tok.decode(ids)})
    if with_pair:
        out["pair"] = {k: list(v) for k, v in sorted(tok("hello world", "the quick fox").items())}
    return out


def sha256s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("label", ["auto_fast", "auto_slow"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reference_folder_loads_and_resaves_identically(name: str, label: str, tmp_path: Path) -> None:
    """AutoTokenizer picks the reference's class, encodes the same, and saves the reference's exact bytes."""
    expected = EXPECTED[name][label]
    use_fast = label == "auto_fast"
    if "error" in expected:
        with pytest.raises((TokenizerError, MissingFileError)):
            AutoTokenizer.from_pretrained(FOLDERS / name, use_fast=use_fast)
        return
    tok = AutoTokenizer.from_pretrained(FOLDERS / name, use_fast=use_fast)
    got = describe(tok, expected["texts"], "pair" in expected)
    assert got == {k: v for k, v in expected.items() if k != "resaved_sha256"}
    tok.save_pretrained(tmp_path)
    assert sha256s(tmp_path) == expected["resaved_sha256"]


def _build_like_reference(name: str, vocab: str):
    """The constructions tools/reference/tokenizers_extra.py used to write the reference folders."""
    if name == "bert_fast_json_only":
        return BertTokenizerFast(vocab, do_lower_case=False), {"legacy_format": False}
    cls, kwargs = {
        "bert_slow": (BertTokenizer, {}),
        "bert_fast": (BertTokenizerFast, {}),
        "bert_cased_slow": (BertTokenizer, {"do_lower_case": False, "padding_side": "left", "model_max_length": 16}),
    }[name]
    tok = cls(vocab, **kwargs)
    tok.add_tokens(["newword", AddedToken("<lstrip>", lstrip=True)])
    tok.add_special_tokens({"additional_special_tokens": [AddedToken("<special>", special=True)]})
    return tok, {}


@pytest.mark.parametrize("name", ["bert_slow", "bert_fast", "bert_cased_slow", "bert_fast_json_only"])
def test_fresh_save_is_byte_identical_to_reference(name: str, tmp_path: Path) -> None:
    tok, options = _build_like_reference(name, str(FOLDERS / "bert_slow" / "vocab.txt"))
    tok.save_pretrained(tmp_path, **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (FOLDERS / name).iterdir())
    for path in tmp_path.iterdir():
        assert path.read_bytes() == (FOLDERS / name / path.name).read_bytes(), path.name


def test_ctc_vocab_txt_is_json_and_saves_like_reference(tmp_path: Path) -> None:
    vocab = tmp_path / "my_vocab_file.txt"  # the guide's file name; the content is JSON
    vocab.write_text(json.dumps(CTC_VOCAB))
    Wav2Vec2CTCTokenizer(vocab_file=str(vocab), do_lower_case=True).save_pretrained(tmp_path / "saved")
    for path in (tmp_path / "saved").iterdir():
        assert path.read_bytes() == (FOLDERS / "wav2vec2" / path.name).read_bytes(), path.name


@pytest.mark.parametrize("cls", [BertTokenizer, BertTokenizerFast])
def test_round_trip_is_exact(cls, tmp_path: Path) -> None:
    """load -> save -> load -> save: same behaviour and same files; the vocabulary file stays byte-identical.

    The one file that may change on the first re-save is special_tokens_map.json, a legacy file read only when
    tokenizer_config.json has no added_tokens_decoder: additional special tokens given as AddedToken objects
    come back as plain strings, exactly as in the reference. From then on saving is a fixed point.
    """
    tok = cls.from_pretrained(minilm_dir(), do_lower_case=False, padding_side="left")
    tok.add_tokens(["brandnewword", AddedToken("<x>", single_word=True)])
    tok.add_special_tokens({"additional_special_tokens": ["<extra>"], "bos_token": "<bos>"})
    tok("warm up the backend", padding="max_length", max_length=16, truncation=True)  # per-call backend state
    tok.save_pretrained(tmp_path / "a")
    again = cls.from_pretrained(tmp_path / "a")
    again.save_pretrained(tmp_path / "b")
    cls.from_pretrained(tmp_path / "b").save_pretrained(tmp_path / "c")
    first, second = sha256s(tmp_path / "a"), sha256s(tmp_path / "b")
    assert {k: v for k, v in first.items() if k != "special_tokens_map.json"} == {
        k: v for k, v in second.items() if k != "special_tokens_map.json"
    }
    assert sha256s(tmp_path / "c") == second
    assert (tmp_path / "a" / "vocab.txt").read_bytes() == (minilm_dir() / "vocab.txt").read_bytes()
    text = "Hello <x> brandnewword <extra> <bos> world"
    assert again(text).data == tok(text).data
    assert again.padding_side == "left" and again.bos_token == "<bos>"
    assert again.added_tokens_decoder == tok.added_tokens_decoder
    assert again.special_tokens_map == tok.special_tokens_map


def test_fast_save_keeps_the_loaded_backend_settings(tmp_path: Path) -> None:
    """Calls configure padding/truncation on the Rust tokenizer; saving writes the settings it was loaded with."""
    tok = BertTokenizerFast.from_pretrained(minilm_dir())
    tok(["a b", "c"], padding=True, truncation=True, max_length=7)
    tok.save_pretrained(tmp_path)
    from tokenizers import Tokenizer

    saved = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    original = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    assert (saved.truncation, saved.padding) == (original.truncation, original.padding)
    assert original.padding["length"] == 128  # the file pads to 128; the call above padded to the longest


def test_slow_loads_folder_with_only_tokenizer_json_fails_clearly() -> None:
    with pytest.raises(MissingFileError, match="vocab"):
        BertTokenizer.from_pretrained(FOLDERS / "bert_fast_json_only")


def test_from_pretrained_overrides_and_model_type_fallback(tmp_path: Path) -> None:
    tok = AutoTokenizer.from_pretrained(FOLDERS / "distilbert_legacy", use_fast=False, model_max_length=8)
    assert isinstance(tok, DistilBertTokenizer) and tok.model_max_length == 8
    assert "token_type_ids" not in tok("hello")


def test_save_then_reference_class_name_recorded(tmp_path: Path) -> None:
    BertTokenizerFast.from_pretrained(minilm_dir()).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "BertTokenizer"  # fast classes record their slow name, as the reference
    assert set(config["added_tokens_decoder"]) == {"0", "100", "101", "102", "103"}


def test_save_into_a_file_path_fails(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(TokenizerError, match="folder"):
        BertTokenizer(str(minilm_dir() / "vocab.txt")).save_pretrained(target)


@pytest.mark.reference
@pytest.mark.skipif(not REF_PYTHON.exists(), reason="needs the reference library in .venv-ref (make reference)")
def test_reference_loads_our_saves(tmp_path: Path) -> None:
    texts = ["Hello <x> brandnewword, world!", "Café 東京 <extra>", ""]
    ours = {}
    for name, cls in (("slow", BertTokenizer), ("fast", BertTokenizerFast)):
        tok = cls.from_pretrained(minilm_dir(), do_lower_case=False)
        tok.add_tokens(["brandnewword", AddedToken("<x>", lstrip=True)])
        tok.add_special_tokens({"additional_special_tokens": ["<extra>"]})
        tok.save_pretrained(tmp_path / name)
        ours[name] = [tok(t)["input_ids"] for t in texts]
    vocab = tmp_path / "v.json"
    vocab.write_text(json.dumps(CTC_VOCAB))
    Wav2Vec2CTCTokenizer(str(vocab), do_lower_case=True).save_pretrained(tmp_path / "ctc")
    ours["ctc"] = [Wav2Vec2CTCTokenizer.from_pretrained(tmp_path / "ctc")(t)["input_ids"] for t in ("HELLO world", "")]
    script = textwrap.dedent(
        f"""
        import json, sys
        from transformers import AutoTokenizer, BertTokenizer, BertTokenizerFast
        texts = {texts!r}
        out = {{}}
        out["slow"] = [BertTokenizer.from_pretrained({str(tmp_path / 'slow')!r})(t)["input_ids"] for t in texts]
        fast = AutoTokenizer.from_pretrained({str(tmp_path / 'fast')!r})
        assert type(fast).__name__ == "BertTokenizerFast", type(fast)
        out["fast"] = [fast(t)["input_ids"] for t in texts]
        ctc = AutoTokenizer.from_pretrained({str(tmp_path / 'ctc')!r})
        out["ctc"] = [ctc(t)["input_ids"] for t in ("HELLO world", "")]
        print(json.dumps(out))
        """
    )
    run = subprocess.run([str(REF_PYTHON), "-c", script], capture_output=True, text=True, timeout=120,
                         env={"TRANSFORMERS_VERBOSITY": "error", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == ours


def test_loads_through_a_file_source_and_from_hub_layout(tmp_path: Path) -> None:
    """from_pretrained accepts a FileSource (how AutoTokenizer passes one source to the class)."""
    from modelyard.hub.files import FileSource

    folder = tmp_path / "repo" / "sub"
    shutil.copytree(FOLDERS / "bert_slow", folder)
    source = FileSource.open(tmp_path / "repo", subfolder="sub")
    tok = modelyard.BertTokenizer.from_pretrained(source)
    assert tok("hello <special>")["input_ids"][-2] == EXPECTED["bert_slow"]["auto_slow"]["added_vocab"]["<special>"]
