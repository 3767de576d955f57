"""ProcessorMixin and Wav2Vec2Processor: routing, forwarding, saving and loading all parts, AutoProcessor."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fe_subprocess import run_reference

from modelyard import AutoProcessor, ProcessorMixin, Wav2Vec2FeatureExtractor, Wav2Vec2Processor
from modelyard.errors import ConfigurationError, FeatureExtractionError, UnexpectedArgumentError


class FakeTokenizer:
    """Just the public tokenizer API a processor relies on (characters -> ids)."""

    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab: dict[str, int] | None = None) -> None:
        self.vocab = vocab or {"<pad>": 0, "a": 1, "b": 2, " ": 3}
        self.processor_class: str | None = None

    def __call__(self, text: str | list[str], padding: bool = False, return_tensors: str | None = None) -> dict:
        texts = [text] if isinstance(text, str) else text
        ids = [[self.vocab[c] for c in t] for t in texts]
        if padding:
            longest = max(map(len, ids))
            ids = [i + [0] * (longest - len(i)) for i in ids]
        return {"input_ids": ids[0] if isinstance(text, str) else ids}

    def decode(self, ids: list[int]) -> str:
        inverse = {v: k for k, v in self.vocab.items()}
        return "".join(inverse[i] for i in ids if i)

    def batch_decode(self, batch: list[list[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    def pad(self, encoded: dict, **kwargs: Any) -> dict:
        longest = max(len(ids) for ids in encoded["input_ids"])
        return {"input_ids": [ids + [0] * (longest - len(ids)) for ids in encoded["input_ids"]]}

    def _set_processor_class(self, name: str) -> None:
        self.processor_class = name

    def save_pretrained(self, directory: str | Path) -> list[Path]:
        path = Path(directory) / "tokenizer_config.json"
        path.write_text(json.dumps({"vocab": self.vocab, "processor_class": self.processor_class}))
        return [path]

    @classmethod
    def from_pretrained(cls, source: Any, **kwargs: Any) -> FakeTokenizer:
        return cls(read_vocab(source))


def read_vocab(source: Any) -> dict[str, int]:
    return json.loads(Path(source.get("tokenizer_config.json")).read_text())["vocab"]


class SpeechProcessor(ProcessorMixin):
    attributes = ["feature_extractor", "tokenizer"]
    optional_attributes = ["language"]
    feature_extractor_class = "Wav2Vec2FeatureExtractor"
    tokenizer_class = "FakeTokenizer"


@pytest.fixture
def processor() -> SpeechProcessor:
    return SpeechProcessor(Wav2Vec2FeatureExtractor(return_attention_mask=True), FakeTokenizer())


AUDIO = [np.linspace(-1, 1, 40, dtype=np.float32), np.linspace(0, 1, 25, dtype=np.float32)]


def test_routing(processor: SpeechProcessor) -> None:
    features = processor(AUDIO, sampling_rate=16000, padding=True, return_tensors="np")
    assert features["input_values"].shape == (2, 40) and "labels" not in features
    assert processor(text="ab")["input_ids"] == [1, 2]
    both = processor(AUDIO, text=["ab", "b"], sampling_rate=16000, padding=True, return_tensors="np")
    assert both["input_values"].shape == (2, 40) and both["labels"] == [[1, 2], [2, 0]]
    split = processor(AUDIO, text=["ab", "b"], sampling_rate=16000, audio_kwargs={"padding": True},
                      text_kwargs={"padding": False})
    assert split["labels"] == [[1, 2], [2]]
    assert processor.decode([1, 2, 0]) == "ab" and processor.batch_decode([[1], [2]]) == ["a", "b"]
    # a generic processor lists its parts' names in order, as the reference does (Wav2Vec2Processor overrides it)
    assert processor.model_input_names == ["input_values", "attention_mask", "input_ids", "attention_mask"]


def test_routing_errors(processor: SpeechProcessor) -> None:
    with pytest.raises(FeatureExtractionError, match="needs an input"):
        processor()
    with pytest.raises(UnexpectedArgumentError, match="'add_special_tokens'.*text_kwargs="):
        processor(text="ab", add_special_tokens=False)
    with pytest.raises(FeatureExtractionError, match="no part for images"):
        processor(images=np.zeros((4, 4, 3)))


def test_pad_and_target_processor(processor: SpeechProcessor) -> None:
    padded = processor.pad([{"input_values": a} for a in AUDIO], labels={"input_ids": [[1], [1, 2]]}, padding=True)
    assert padded["input_values"].shape == (2, 40) and padded["labels"] == [[1, 0], [1, 2]]
    with pytest.warns(FutureWarning, match="as_target_processor"):
        with processor.as_target_processor():
            assert processor("ab")["input_ids"] == [1, 2]
    assert processor(AUDIO[0], sampling_rate=16000)["input_values"][0].shape == (40,)


def test_construction_errors() -> None:
    with pytest.raises(ConfigurationError, match="needs tokenizer: pass tokenizer=<FakeTokenizer>"):
        SpeechProcessor(feature_extractor=Wav2Vec2FeatureExtractor())
    with pytest.raises(ConfigurationError, match="tokenizer must be a tokenizer.*lacks __call__, decode"):
        SpeechProcessor(Wav2Vec2FeatureExtractor(), object())
    with pytest.raises(ConfigurationError, match="feature_extractor must be a feature extractor"):
        SpeechProcessor(FakeTokenizer(), FakeTokenizer())
    with pytest.raises(UnexpectedArgumentError, match="'image_processor'"):
        SpeechProcessor(Wav2Vec2FeatureExtractor(), FakeTokenizer(), image_processor=None)


def test_save_and_load(processor: SpeechProcessor, tmp_path: Path) -> None:
    files = processor.save_pretrained(tmp_path / "plain")
    assert sorted(p.name for p in files) == ["preprocessor_config.json", "tokenizer_config.json"]
    saved = json.loads((tmp_path / "plain" / "preprocessor_config.json").read_text())
    assert saved["processor_class"] == "SpeechProcessor"
    assert json.loads((tmp_path / "plain" / "tokenizer_config.json").read_text())["processor_class"] == "SpeechProcessor"
    again = SpeechProcessor.from_pretrained(tmp_path / "plain")
    assert again.feature_extractor.return_attention_mask is True and again.tokenizer.vocab == processor.tokenizer.vocab

    processor.language = "pt"  # a setting of the processor itself: processor_config.json appears
    processor.save_pretrained(tmp_path / "with_settings")
    assert json.loads((tmp_path / "with_settings" / "processor_config.json").read_text()) == {
        "language": "pt", "processor_class": "SpeechProcessor"}
    loaded = SpeechProcessor.from_pretrained(tmp_path / "with_settings", feature_extractor_kwargs={"padding_value": 2.0})
    assert loaded.language == "pt" and loaded.feature_extractor.padding_value == 2.0
    assert "SpeechProcessor" in repr(loaded) and '"language": "pt"' in repr(loaded)
    # Formerly refused: a plain setting goes to every part that takes it, as the reference gives it to all parts.
    routed = SpeechProcessor.from_pretrained(tmp_path / "plain", padding_value=3.0, do_normalize=False)
    assert routed.feature_extractor.padding_value == 3.0 and routed.feature_extractor.do_normalize is False
    with pytest.raises(UnexpectedArgumentError, match=r"\['not_a_setting'\] that no part.*feature_extractor_kwargs"):
        SpeechProcessor.from_pretrained(tmp_path / "plain", not_a_setting=2.0)


def test_auto_processor_finds_a_registered_processor(processor: SpeechProcessor, tmp_path: Path) -> None:
    from modelyard.auto.processing_auto import PROCESSOR_TABLE

    processor.save_pretrained(tmp_path)
    AutoProcessor.register("speech-toy", SpeechProcessor)
    try:
        assert type(AutoProcessor.from_pretrained(tmp_path)) is SpeechProcessor
    finally:
        PROCESSOR_TABLE.unregister("speech-toy")


CUSTOM_PROCESSOR = textwrap.dedent(
    '''
    import json
    from pathlib import Path
    from modelyard import ProcessorMixin

    class CharTokenizer:
        def __init__(self, chars="ab"):
            self.chars = chars
        def __call__(self, text):
            return {"input_ids": [self.chars.index(c) for c in text]}
        def decode(self, ids):
            return "".join(self.chars[i] for i in ids)
        def batch_decode(self, batch):
            return [self.decode(i) for i in batch]
        def save_pretrained(self, directory):
            path = Path(directory) / "tokenizer_config.json"
            path.write_text(json.dumps({"chars": self.chars}))
            return [path]
        @classmethod
        def from_pretrained(cls, source, **kwargs):
            return cls(json.loads(Path(source.get("tokenizer_config.json")).read_text())["chars"])

    class CharProcessor(ProcessorMixin):
        attributes = ["feature_extractor", "tokenizer"]
        feature_extractor_class = "Wav2Vec2FeatureExtractor"
        tokenizer_class = "CharTokenizer"
    '''
)


def test_custom_processor_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "char_processing.py").write_text(CUSTOM_PROCESSOR)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    from char_processing import CharProcessor, CharTokenizer  # type: ignore[import-not-found]

    CharProcessor.register_for_auto_class()
    try:
        CharProcessor(Wav2Vec2FeatureExtractor(), CharTokenizer("xyz")).save_pretrained(tmp_path / "saved")
    finally:
        CharProcessor._auto_class = None
    reference = "char_processing.CharProcessor"
    assert json.loads((tmp_path / "saved" / "processor_config.json").read_text())["auto_map"] == {"AutoProcessor": reference}
    assert json.loads((tmp_path / "saved" / "preprocessor_config.json").read_text())["auto_map"] == {
        "AutoProcessor": reference}
    loaded = AutoProcessor.from_pretrained(tmp_path / "saved", trust_remote_code=True)
    assert type(loaded).__name__ == "CharProcessor" and loaded(text="zx")["input_ids"] == [2, 0]
    with pytest.raises(ConfigurationError, match="only for 'AutoProcessor'"):
        CharProcessor.register_for_auto_class("AutoTokenizer")


# ---------------------------------------------------------------------------------------------- the real one
VOCAB = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "A": 5, "B": 6, "C": 7}


@pytest.fixture
def wav2vec2_processor(tmp_path: Path) -> Wav2Vec2Processor:
    tokenization = pytest.importorskip("modelyard.models.wav2vec2.tokenization_wav2vec2")
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB))
    tokenizer = tokenization.Wav2Vec2CTCTokenizer(vocab_file=str(tmp_path / "vocab.json"))
    return Wav2Vec2Processor(feature_extractor=Wav2Vec2FeatureExtractor(padding_value=1.0), tokenizer=tokenizer)


def test_wav2vec2_processor_round_trip(wav2vec2_processor: Wav2Vec2Processor, tmp_path: Path) -> None:
    out = wav2vec2_processor(AUDIO, text=["AB", "C"], sampling_rate=16000, padding=True, return_tensors="np")
    assert out["input_values"].shape == (2, 40) and out["labels"].shape == (2, 2)
    wav2vec2_processor.save_pretrained(tmp_path / "saved")
    assert not (tmp_path / "saved" / "processor_config.json").exists()
    for name in ("tokenizer_config.json", "preprocessor_config.json"):  # either file names the processor
        assert json.loads((tmp_path / "saved" / name).read_text())["processor_class"] == "Wav2Vec2Processor"
    loaded = AutoProcessor.from_pretrained(tmp_path / "saved")
    assert type(loaded) is Wav2Vec2Processor and loaded.feature_extractor.padding_value == 1.0
    assert loaded.batch_decode([[5, 6], [7, 0]]) == wav2vec2_processor.batch_decode([[5, 6], [7, 0]])


@pytest.mark.reference
def test_wav2vec2_processor_files_are_shared_with_the_reference(wav2vec2_processor: Wav2Vec2Processor,
                                                                tmp_path: Path) -> None:
    wav2vec2_processor.save_pretrained(tmp_path / "ours")
    script = textwrap.dedent(
        """
        import json, transformers as tr
        p = tr.AutoProcessor.from_pretrained("ours")
        print(json.dumps([type(p).__name__, p.feature_extractor.padding_value, p.tokenizer("AB C")["input_ids"]]))
        fe = tr.Wav2Vec2FeatureExtractor(do_normalize=False)
        tok = tr.Wav2Vec2CTCTokenizer("vocab.json")
        tr.Wav2Vec2Processor(feature_extractor=fe, tokenizer=tok).save_pretrained("theirs")
        """
    )
    name, padding_value, ids = json.loads(run_reference(script, cwd=tmp_path).strip().splitlines()[-1])
    assert (name, padding_value) == ("Wav2Vec2Processor", 1.0)
    assert ids == wav2vec2_processor.tokenizer("AB C")["input_ids"]
    theirs = AutoProcessor.from_pretrained(tmp_path / "theirs")
    assert type(theirs) is Wav2Vec2Processor and theirs.feature_extractor.do_normalize is False
