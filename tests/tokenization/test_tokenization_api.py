"""The shared tokenizer API: calling conventions, BatchEncoding, tensors, errors, warnings, AutoTokenizer."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tokenizer_helpers import EXTRA_FIXTURES, minilm_dir

from modelyard import (
    AutoTokenizer,
    BatchEncoding,
    BertTokenizer,
    BertTokenizerFast,
    DistilBertTokenizer,
    DistilBertTokenizerFast,
    PreTrainedTokenizer,
    PreTrainedTokenizerFast,
    Wav2Vec2CTCTokenizer,
)
from modelyard.errors import RegistrationError, TokenizerError, UnknownModelTypeError

VOCAB = str(minilm_dir() / "vocab.txt")


@pytest.fixture(scope="module", params=["slow", "fast"])
def tok(request: pytest.FixtureRequest):
    cls = BertTokenizer if request.param == "slow" else BertTokenizerFast
    return cls.from_pretrained(minilm_dir())


def test_no_torch_import_for_tokenizers() -> None:
    """Tokenizing (slow, fast, CTC, Auto) never imports torch; only return_tensors='pt' does."""
    program = textwrap.dedent(
        f"""
        import json, sys, tempfile, pathlib
        from modelyard import AutoTokenizer, BertTokenizer, BertTokenizerFast, Wav2Vec2CTCTokenizer
        BertTokenizer({VOCAB!r})("hi")
        fast = BertTokenizerFast({VOCAB!r})
        fast(["hi", "there you"], padding=True, return_tensors="np")
        AutoTokenizer.from_pretrained({str(minilm_dir())!r}, use_fast=False)("hi")
        vocab = pathlib.Path(tempfile.mkdtemp()) / "v.json"
        vocab.write_text(json.dumps({{"<pad>": 0, "|": 1, "H": 2, "I": 3}}))
        Wav2Vec2CTCTokenizer(str(vocab)).decode([2, 2, 0, 3])
        before = "torch" in sys.modules
        fast("hi", return_tensors="pt")
        print(json.dumps([before, "torch" in sys.modules]))
        """
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, True]


def test_call_shapes(tok) -> None:
    single = tok("Hello world")
    assert isinstance(single, BatchEncoding) and isinstance(single["input_ids"][0], int)
    pair = tok("Hello", "world")
    assert pair["token_type_ids"] == [0, 0, 0, 1, 1]
    batch = tok(["a", "b c"])
    assert [len(r) for r in batch["input_ids"]] == [3, 4]
    batch_pairs = tok(["a", "b"], ["c", "d e"], padding=True)
    assert batch_pairs["attention_mask"] == [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]
    words = tok(["Hello", "world"], is_split_into_words=True)
    assert words["input_ids"] == tok("Hello world")["input_ids"]
    assert tok([["a", "b"], ["c"]], is_split_into_words=True)["input_ids"][1] == tok("c")["input_ids"]
    assert tok.encode("Hello world") == single["input_ids"]
    assert tok.encode("Hello world", add_special_tokens=False) == single["input_ids"][1:-1]
    assert tok("Hello", return_length=True)["length"] in (3, [3])
    targets = tok("question", text_target="answer")
    assert targets["labels"] == tok("answer")["input_ids"]


def test_padding_truncation_options(tok) -> None:
    out = tok(["a", "b c d"], padding="max_length", max_length=8, pad_to_multiple_of=4, padding_side="left")
    assert out["input_ids"][0] == [0, 0, 0, 0, 0, 101, 1037, 102]
    assert tok("a b c d e f", truncation=True, max_length=4)["input_ids"] == [101, 1037, 1038, 102]
    assert tok("a b c", max_length=3)["input_ids"] == [101, 1037, 102]  # max_length alone truncates (with a warning)
    longest = tok(["a", "a b"], padding="longest", return_special_tokens_mask=True)
    assert longest["special_tokens_mask"][0] == [1, 0, 1, 1]
    with pytest.raises(TokenizerError, match="pad_to_multiple_of"):
        tok("a", padding=True, truncation=True, max_length=10, pad_to_multiple_of=4)
    with pytest.raises(TokenizerError, match="'longest'"):
        tok("a", padding="everything")
    with pytest.raises(TokenizerError, match="only_second"):
        tok("a", truncation="middle_out")


def test_return_tensors(tok) -> None:
    import numpy as np
    import torch

    out = tok(["a b", "c"], padding=True, return_tensors="pt")
    assert out["input_ids"].dtype == torch.int64 and tuple(out["input_ids"].shape) == (2, 4)
    assert out.to("cpu") is out and out["attention_mask"].device.type == "cpu"
    assert tok("a b", return_tensors="np")["input_ids"].shape == (1, 4)
    assert tok(["a", "b c"], return_tensors="np")["input_ids"].dtype == object  # ragged rows -> object array
    with pytest.raises(TokenizerError, match="padding=True"):
        tok(["a", "b c"], return_tensors="pt")
    with pytest.raises(TokenizerError, match="'pt'"):
        tok("a", return_tensors="tf")
    padded = tok.pad({"input_ids": [np.array([101, 102]), np.array([101, 1037, 102])]}, return_tensors="np")
    assert padded["input_ids"].tolist() == [[101, 102, 0], [101, 1037, 102]]


def test_batch_encoding_is_dict_like(tok) -> None:
    out = tok(["a b", "c"], padding=True)
    assert set(out.keys()) == {"input_ids", "token_type_ids", "attention_mask"}
    assert out.input_ids == out["input_ids"] and dict(out) == out.data
    assert out[:1] == {k: v[:1] for k, v in out.items()}
    assert "input_ids" in out and len(out) == 3
    with pytest.raises(AttributeError):
        out.nope  # noqa: B018
    assert out.is_fast is tok.is_fast


def test_alignment_fast_only() -> None:
    fast = BertTokenizerFast.from_pretrained(minilm_dir())
    text = "Hello unaffable world"
    enc = fast(text, return_offsets_mapping=True)
    assert enc.word_ids() == [None, 0, 1, 1, 1, 2, None]
    assert enc.char_to_token(7) == 2 and enc.token_to_chars(2) == (6, 9)
    assert enc.word_to_tokens(1) == (2, 5) and enc.token_to_word(-2) == 2
    assert enc["offset_mapping"][2] == (6, 9)
    assert enc.tokens() == ["[CLS]", "hello", "una", "##ffa", "##ble", "world", "[SEP]"]
    assert enc[0].ids == enc["input_ids"]
    batch = fast(["a b", "c"], ["d", "e f"])
    assert batch.sequence_ids(1) == [None, 0, None, 1, 1, None] and batch.char_to_token(1, 0, sequence_index=1) == 3
    slow = BertTokenizer.from_pretrained(minilm_dir())
    with pytest.raises(TokenizerError, match="Fast"):
        slow(text).word_ids()
    with pytest.raises(TokenizerError, match="BertTokenizerFast"):
        slow(text, return_offsets_mapping=True)


def test_overflowing_tokens() -> None:
    fast = BertTokenizerFast.from_pretrained(minilm_dir())
    out = fast(["a b c d e f g"], truncation=True, max_length=5, stride=1, return_overflowing_tokens=True)
    assert out["overflow_to_sample_mapping"] == [0, 0, 0]
    assert out["input_ids"][1] == [101, 1039, 1040, 1041, 102]  # windows overlap by the stride
    slow = BertTokenizer.from_pretrained(minilm_dir())
    single = slow("a b c d e f g", truncation=True, max_length=5, stride=1, return_overflowing_tokens=True)
    assert single["overflowing_tokens"] == [1039, 1040, 1041, 1042, 1043] and single["num_truncated_tokens"] == 4


def test_vocab_and_conversions(tok) -> None:
    assert len(tok) == tok.vocab_size == 30522 and tok.get_vocab()["hello"] == 7592
    assert tok.convert_tokens_to_ids("hello") == 7592 and tok.convert_tokens_to_ids(["[CLS]", "zzzzzz"]) == [101, 100]
    assert tok.convert_ids_to_tokens(7592) == "hello" and tok.convert_ids_to_tokens([101, 7592], skip_special_tokens=True) == ["hello"]
    assert tok.convert_tokens_to_string(["un", "##aff", "##able"]) == "unaffable"
    assert tok.decode(tok.encode("Hello, world!"), skip_special_tokens=True) == "hello, world!"
    assert tok.batch_decode([[101, 7592, 102], [101, 102]], skip_special_tokens=True) == ["hello", ""]
    assert (tok.cls_token, tok.cls_token_id, tok.pad_token_id, tok.mask_token) == ("[CLS]", 101, 0, "[MASK]")
    assert tok.bos_token is None and tok.bos_token_id is None
    assert tok.special_tokens_map == {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                                      "cls_token": "[CLS]", "mask_token": "[MASK]"}
    assert tok.num_special_tokens_to_add() == 2 and tok.num_special_tokens_to_add(pair=True) == 3
    assert tok.max_len_single_sentence == 510 and tok.get_special_tokens_mask([101, 7, 102], already_has_special_tokens=True) == [1, 0, 1]


def test_special_tokens_management() -> None:
    for cls in (BertTokenizer, BertTokenizerFast):
        tok = cls(VOCAB)
        assert tok.add_special_tokens({"bos_token": "<bos>", "additional_special_tokens": ["<a>", "<b>"]}) == 3
        assert tok.bos_token_id == 30522 and tok.additional_special_tokens == ["<a>", "<b>"]
        assert tok.tokenize("x<a>y <bos>") == ["x", "<a>", "y", "<bos>"]
        assert tok.decode(tok.encode("x <a> y"), skip_special_tokens=True) == "x y"
        tok.pad_token_id = 102
        assert tok.pad_token == "[SEP]"
        tok.pad_token = None
        with pytest.raises(TokenizerError, match="pad_token"):
            tok(["a", "b c"], padding=True)
        with pytest.raises(TokenizerError, match="not a special-token attribute"):
            tok.add_special_tokens({"begin_token": "<x>"})
        # Already in the vocabulary: the slow count is 0, the Rust backend counts it (both as the reference).
        assert tok.add_tokens([]) == 0 and tok.add_tokens("hello") == int(tok.is_fast)
        assert tok.add_tokens(["hello world"]) == 1 and len(tok) == 30526


def test_model_max_length_warning(tok, caplog: pytest.LogCaptureFixture) -> None:
    text = "word " * 600
    tok.deprecation_warnings.pop("too-long", None)  # re-armed, as code written for the reference does
    with caplog.at_level(logging.WARNING):
        assert len(tok(text)["input_ids"]) == 602
        tok(text)
    messages = [r.getMessage() for r in caplog.records if "longer than the specified maximum" in r.getMessage()]
    assert len(messages) == 1 and "602 > 512" in messages[0]
    assert len(tok(text, truncation=True)["input_ids"]) == 512


def test_input_errors(tok) -> None:
    with pytest.raises(TokenizerError, match="text must be"):
        tok(42)
    with pytest.raises(TokenizerError, match="Nothing to encode"):
        tok()
    with pytest.raises(TokenizerError, match="must match"):
        tok(["a", "b"], ["c"])
    with pytest.raises(TokenizerError, match="not a str"):
        tok(["a"], "b")
    with pytest.raises(TokenizerError, match="padding_side"):
        type(tok).from_pretrained(minilm_dir(), padding_side="middle")
    assert issubclass(TokenizerError, ValueError)


def test_empty_inputs(tok) -> None:
    assert tok("")["input_ids"] == [101, 102]
    assert tok([])["input_ids"] == []
    assert tok("", add_special_tokens=False)["input_ids"] == []


def test_constructor_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="vocab_file"):
        BertTokenizer(str(tmp_path / "missing.txt"))
    bad = tmp_path / "vocab.json"
    bad.write_text("not json")
    with pytest.raises(TokenizerError, match="JSON"):
        Wav2Vec2CTCTokenizer(str(bad))
    with pytest.raises(TokenizerError, match="backend"):
        PreTrainedTokenizerFast()


def test_distilbert_has_no_token_types() -> None:
    for cls in (DistilBertTokenizer, DistilBertTokenizerFast):
        out = cls(VOCAB)("a", "b")
        assert set(out) == {"input_ids", "attention_mask"}
    assert DistilBertTokenizerFast.slow_tokenizer_class is DistilBertTokenizer


def test_fast_converted_from_vocab_equals_tokenizer_json() -> None:
    converted = BertTokenizerFast(VOCAB)
    loaded = BertTokenizerFast.from_pretrained(minilm_dir())
    text = "Héllo, WORLD! 東京 unaffable 🙂 [MASK]"
    assert converted(text).data == loaded(text).data
    cased = BertTokenizerFast(VOCAB, do_lower_case=False, strip_accents=False)
    assert cased.tokenize("Héllo") == BertTokenizer(VOCAB, do_lower_case=False, strip_accents=False).tokenize("Héllo")
    assert BertTokenizerFast.from_pretrained(minilm_dir(), do_lower_case=False).tokenize("Hello") == ["[UNK]"]


def test_max_input_chars_per_word() -> None:
    slow = BertTokenizer(VOCAB, max_input_chars_per_word=5)
    fast = BertTokenizerFast(VOCAB, max_input_chars_per_word=5)
    assert slow.tokenize("hello worlds") == fast.tokenize("hello worlds") == ["hello", "[UNK]"]


def test_basic_tokenizer_never_split() -> None:
    tok = BertTokenizer(VOCAB, never_split=["[foo]"])  # compared after lower-casing, as in the reference
    assert tok.tokenize("a [FOO] b") == ["a", "[foo]", "b"]
    tok.basic_tokenizer.never_split.add("[bar]")  # changes after construction are honoured (cache keyed on them)
    assert tok.tokenize("[bar]") == ["[bar]"]
    assert tok.basic_tokenizer.tokenize("Hello, Wörld!") == ["hello", ",", "world", "!"]


# ------------------------------------------------------------------------------------------ AutoTokenizer
def test_auto_tokenizer_picks_classes(tmp_path: Path) -> None:
    assert type(AutoTokenizer.from_pretrained(minilm_dir())) is BertTokenizerFast
    assert type(AutoTokenizer.from_pretrained(minilm_dir(), use_fast=False)) is BertTokenizer
    assert type(AutoTokenizer.from_pretrained(minilm_dir(), tokenizer_type="distilbert")) is DistilBertTokenizerFast
    ctc = EXTRA_FIXTURES / "folders" / "wav2vec2"
    assert type(AutoTokenizer.from_pretrained(ctc)) is Wav2Vec2CTCTokenizer  # no fast class: the slow one
    # No tokenizer_class anywhere: config.json's model_type decides.
    folder = tmp_path / "m"
    BertTokenizer(VOCAB).save_pretrained(folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    del config["tokenizer_class"]
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "config.json").write_text(json.dumps({"model_type": "distilbert"}))
    assert type(AutoTokenizer.from_pretrained(folder, use_fast=False)) is DistilBertTokenizer
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt-unknown"}))
    with pytest.raises(UnknownModelTypeError, match="gpt-unknown"):
        AutoTokenizer.from_pretrained(folder)
    (folder / "config.json").unlink()
    with pytest.raises(TokenizerError, match="tokenizer_class"):
        AutoTokenizer.from_pretrained(folder)
    with pytest.raises(OSError, match="from_pretrained"):
        AutoTokenizer()


class _NewConfig:
    model_type = "new-model-for-tokenizer-tests"


class NewTokenizer(BertTokenizer):
    pass


class NewTokenizerFast(BertTokenizerFast):
    slow_tokenizer_class = NewTokenizer


def test_auto_tokenizer_register(tmp_path: Path) -> None:
    from modelyard.auto.tokenization_auto import TOKENIZER_TABLE

    with pytest.raises(RegistrationError, match="slow_tokenizer_class"):
        AutoTokenizer.register(_NewConfig)
    with pytest.raises(RegistrationError, match="fast tokenizer"):
        AutoTokenizer.register(_NewConfig, slow_tokenizer_class=NewTokenizerFast)
    with pytest.raises(RegistrationError, match="slow tokenizer"):
        AutoTokenizer.register(_NewConfig, fast_tokenizer_class=NewTokenizer)
    with pytest.raises(RegistrationError, match="slow_tokenizer_class"):
        AutoTokenizer.register(_NewConfig, slow_tokenizer_class=BertTokenizer, fast_tokenizer_class=NewTokenizerFast)
    with pytest.raises(RegistrationError, match="already used"):
        AutoTokenizer.register("bert", slow_tokenizer_class=NewTokenizer)
    try:
        AutoTokenizer.register(_NewConfig, slow_tokenizer_class=NewTokenizer)
        AutoTokenizer.register(_NewConfig, fast_tokenizer_class=NewTokenizerFast)  # fills the other side
        assert TOKENIZER_TABLE.get(_NewConfig.model_type) == (NewTokenizer, NewTokenizerFast)
        with pytest.raises(RegistrationError):
            AutoTokenizer.register(_NewConfig, slow_tokenizer_class=DistilBertTokenizer)
        NewTokenizer(VOCAB).save_pretrained(tmp_path)
        assert type(AutoTokenizer.from_pretrained(tmp_path)) is NewTokenizerFast
        assert type(AutoTokenizer.from_pretrained(tmp_path, use_fast=False)) is NewTokenizer
    finally:
        TOKENIZER_TABLE.unregister(_NewConfig.model_type)
    with pytest.raises(UnknownModelTypeError, match="NewTokenizer"):
        AutoTokenizer.from_pretrained(tmp_path)


CUSTOM_MODULE = '''
from modelyard import BertTokenizer


class ShoutTokenizer(BertTokenizer):
    """Upper-cases every decoded text."""

    def _decode(self, token_ids, **kwargs):
        return super()._decode(token_ids, **kwargs).upper()
'''


def test_custom_code_save_and_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """register_for_auto_class: saving copies the module and writes auto_map; loading needs trust."""
    package = tmp_path / "src"
    package.mkdir()
    (package / "tokenization_shout.py").write_text(CUSTOM_MODULE)
    monkeypatch.syspath_prepend(str(package))
    import tokenization_shout

    cls = tokenization_shout.ShoutTokenizer
    cls.register_for_auto_class("AutoTokenizer")
    cls(VOCAB).save_pretrained(tmp_path / "saved")
    config = json.loads((tmp_path / "saved" / "tokenizer_config.json").read_text())
    assert config["auto_map"] == {"AutoTokenizer": ["tokenization_shout.ShoutTokenizer", None]}
    assert config["tokenizer_class"] == "ShoutTokenizer"
    assert (tmp_path / "saved" / "tokenization_shout.py").read_text() == CUSTOM_MODULE
    from modelyard.errors import TrustRemoteCodeError

    with pytest.raises(TrustRemoteCodeError):
        AutoTokenizer.from_pretrained(tmp_path / "saved", trust_remote_code=False)
    loaded = AutoTokenizer.from_pretrained(tmp_path / "saved", trust_remote_code=True)
    assert type(loaded).__name__ == "ShoutTokenizer" and type(loaded) is not cls
    assert loaded.decode(loaded.encode("hello")) == "[CLS] HELLO [SEP]"
    with pytest.raises(TokenizerError, match="AutoTokenizer"):
        cls.register_for_auto_class("AutoModel")


def test_preTrainedTokenizer_subclass_minimal(tmp_path: Path) -> None:
    """A tiny custom slow tokenizer only implements the vocabulary hooks; the base does the rest."""

    class CharTokenizer(PreTrainedTokenizer):
        def __init__(self, **kwargs):
            self.vocab = {c: i for i, c in enumerate("<>abc ")}
            super().__init__(pad_token="<", unk_token=">", **kwargs)

        @property
        def vocab_size(self):
            return len(self.vocab)

        def get_vocab(self):
            return {**self.vocab, **self._added_tokens_encoder}

        def _tokenize(self, text, **kwargs):
            return list(text)

        def _convert_token_to_id(self, token):
            return self.vocab.get(token, 1)

        def _convert_id_to_token(self, index):
            return {i: c for c, i in self.vocab.items()}.get(index, ">")

    tok = CharTokenizer()
    out = tok(["ab", "c"], padding=True)
    assert out["input_ids"] == [[2, 3], [4, 0]] and out["attention_mask"] == [[1, 1], [1, 0]]
    assert tok.decode([2, 3, 9]) == "a b >"
    assert tok.add_tokens(["abc"]) == 1 and tok.tokenize("xabcx") == ["x", "abc", "x"]


def test_generic_fast_tokenizer_from_a_tokenizers_object(tmp_path: Path) -> None:
    """Any tokenizers.Tokenizer works through PreTrainedTokenizerFast (saved as tokenizer.json only)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    backend = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2, "[PAD]": 3}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]")
    out = tok(["hello world", "hello there"], padding=True)
    assert out["input_ids"] == [[1, 2], [1, 0]] and "token_type_ids" in out
    tok.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(loaded) is PreTrainedTokenizerFast and loaded(["hello world"]).data == tok(["hello world"]).data
    with pytest.raises(TokenizerError, match="legacy"):
        tok.save_pretrained(tmp_path / "legacy", legacy_format=True)


@pytest.mark.parametrize("impl", ["slow", "fast"])
def test_prepare_seq2seq_batch_cuts_sources_and_targets(impl: str) -> None:
    from tokenizer_helpers import load_bert

    tok = load_bert(impl, "uncased")
    src, tgt = ["a short text", "a much longer source text than the other"], ["one target", "another target text that is long enough to be cut"]
    batch = tok.prepare_seq2seq_batch(src, tgt_texts=tgt, max_length=4, max_target_length=6, return_tensors="pt",
                                      src_lang="en_XX")
    assert batch["input_ids"].shape == (2, 4) and batch["labels"].shape == (2, 6)
    assert batch["labels"][1].tolist() == tok(tgt[1], max_length=6, truncation=True)["input_ids"]
    alone = tok.prepare_seq2seq_batch(src, max_length=4)
    assert "labels" not in alone and [len(row) for row in alone["input_ids"]] == [4, 4]


def test_fast_pad_advises_call_once_per_tokenizer(caplog: pytest.LogCaptureFixture) -> None:
    """As in the reference: padding already-encoded text with a fast tokenizer logs (once) that __call__ is faster;
    the slow tokenizer, and code padding on purpose (data collators), get no such advice."""
    from modelyard.tokenization.padding import pad_without_fast_tokenizer_warning

    fast = BertTokenizerFast.from_pretrained(minilm_dir())
    slow = BertTokenizer.from_pretrained(minilm_dir())
    advice = "with a fast tokenizer, using the `__call__` method is faster"
    with caplog.at_level(logging.WARNING):
        pad_without_fast_tokenizer_warning(fast, fast("a b c"))
        slow.pad(slow("a b c"))
    assert advice not in caplog.text
    with caplog.at_level(logging.WARNING):
        fast.pad(fast("a b c"))
        fast.pad(fast("a b"))
    assert caplog.text.count(advice) == 1


def test_pair_overflow_with_longest_first_is_refused_with_the_reference_sentence() -> None:
    slow = BertTokenizer.from_pretrained(minilm_dir())
    with pytest.raises(TokenizerError, match="^Not possible to return overflowing tokens for pair of sequences"):
        slow("a b c d", "e f g h", max_length=5, truncation="longest_first", return_overflowing_tokens=True,
             add_special_tokens=False)


def test_wordpiece_vocabulary_without_its_unknown_token_loads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The reference loads it (every word may be in the vocabulary); a word that is not fails when encoded."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[CLS]\n[SEP]\nhello\nworld\n")
    with caplog.at_level(logging.WARNING):
        fast = BertTokenizerFast(str(vocab))
    assert "'[UNK]' is not in the vocabulary" in caplog.text
    assert fast("hello world")["input_ids"] == [1, 3, 4, 2]
    with pytest.raises(Exception, match=r"Missing \[UNK\] token"):
        fast("goodbye")
