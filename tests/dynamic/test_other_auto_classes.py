"""Custom tokenizers and feature extractors travel with their code too (tokenizer_config.json /
preprocessor_config.json ``auto_map``), behind the same trust gate."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from _dynamic_helpers import write_files

from modelyard import AutoFeatureExtractor, AutoTokenizer
from modelyard.errors import TrustRemoteCodeError

TOKENIZATION = '''
from modelyard import BertTokenizer, BertTokenizerFast


class ToyTokenizer(BertTokenizer):
    pass


class ToyTokenizerFast(BertTokenizerFast):
    slow_tokenizer_class = ToyTokenizer
'''

FEATURE_EXTRACTION = '''
from modelyard import FeatureExtractionMixin


class ToyFeatureExtractor(FeatureExtractionMixin):
    def __init__(self, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
'''


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = "prepkg_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    write_files(
        tmp_path / "src" / name,
        {"__init__.py": "", "tokenization_toy.py": TOKENIZATION, "feature_extraction_toy.py": FEATURE_EXTRACTION},
    )
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    importlib.invalidate_caches()
    return name


def test_custom_tokenizers_slow_and_fast(tmp_path: Path, package: str) -> None:
    module = importlib.import_module(f"{package}.tokenization_toy")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world"]))
    for klass, expected in (
        (module.ToyTokenizer, ["tokenization_toy.ToyTokenizer", None]),
        (module.ToyTokenizerFast, ["tokenization_toy.ToyTokenizer", "tokenization_toy.ToyTokenizerFast"]),
    ):
        klass.register_for_auto_class("AutoTokenizer")
        folder = tmp_path / klass.__name__
        klass(str(vocab)).save_pretrained(folder)
        assert (folder / "tokenization_toy.py").is_file()
        assert json.loads((folder / "tokenizer_config.json").read_text())["auto_map"] == {"AutoTokenizer": expected}
        with pytest.raises(TrustRemoteCodeError, match=f"AutoTokenizer.*{klass.__name__}"):
            AutoTokenizer.from_pretrained(folder)
        loaded = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        assert type(loaded).__name__ == klass.__name__ and type(loaded).__module__.startswith("modelyard_modules.")
        assert loaded("hello world")["input_ids"] == [2, 5, 6, 3]


def test_custom_feature_extractor_round_trip(tmp_path: Path, package: str) -> None:
    klass = importlib.import_module(f"{package}.feature_extraction_toy").ToyFeatureExtractor
    klass.register_for_auto_class()
    klass(scale=3.0).save_pretrained(tmp_path / "fe")
    saved = json.loads((tmp_path / "fe" / "preprocessor_config.json").read_text())
    assert saved["auto_map"] == {"AutoFeatureExtractor": "feature_extraction_toy.ToyFeatureExtractor"}
    with pytest.raises(TrustRemoteCodeError, match="ToyFeatureExtractor"):
        AutoFeatureExtractor.from_pretrained(tmp_path / "fe")
    loaded = AutoFeatureExtractor.from_pretrained(tmp_path / "fe", trust_remote_code=True)
    assert type(loaded).__module__.startswith("modelyard_modules.") and loaded.scale == 3.0
    loaded.save_pretrained(tmp_path / "again")  # a remote-code object saves its code again
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == ["feature_extraction_toy.py", "preprocessor_config.json"]
